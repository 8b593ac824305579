use crate::Node;

const GOOD: &str = "\
date,kind,member,name,birth_year,sex,amount,source,channel,category,nights,override,loan,rate,term,guarantors,pool,seq,reason,month,note
2024-01-02,member-join,,สมหญิง ใจดี,1960,f,,,,,,,,,,,,,,,from the 2023 book
2024-01-02,member-join,,สมชาย รักถิ่น,1955,m,,,,,,,,,,,,,,,
2024-01-05,contribute,1,,,,30,,,,,,,,,,,,,,
2024-01-05,contribute,-,,,,60,local,bank,,,,,,,,,,,,
2024-01-06,save,2,,,,500,,,,,,,,,,,,,,
2024-01-07,loan-disburse,1,,,,300,,,,,,,1.5,6,2,,,,,
2024-01-08,benefit,2,,,,50,,,other,,roof blown off,,,,,,,,,
2024-01-09,pool-deposit,,,,,20,,,,,,,,,,230101,,,,
2024-01-31,close-month,,,,,,,,,,,,,,,,,,2024-01,
";

#[test]
fn a_paper_ledger_imports_in_one_go() {
    // Proves a valid CSV becomes one event per row, names land in the register only.
    let node = Node::opened();
    let file = node.dir.path().join("book.csv");
    std::fs::write(&file, GOOD).unwrap();
    let out = node.ok(&["import", file.to_str().unwrap()]);
    assert!(out.contains("imported 9 events: seq 3..=11"), "{out}");
    let members = node.ok(&["member", "list"]);
    assert!(members.contains("สมชาย รักถิ่น"), "{members}");
    let log = node.ok(&["log"]);
    assert!(log.contains("committee override: roof blown off"), "{log}");
    assert!(!log.contains("สมชาย"));
    assert!(node.ok(&["verify"]).starts_with("ok:"));
}

#[test]
fn an_import_with_one_bad_row_imports_nothing_and_names_row_and_column() {
    // Proves all-or-nothing: a bad cell or a refused row leaves the ledger as it
    // was, and the error names the spreadsheet row (header = row 1) and column.
    let node = Node::opened();
    let before = node.event_count();
    let log_before = node.ok(&["log"]);
    let file = node.dir.path().join("book.csv");
    let check = |csv: &str, expected: &str| {
        std::fs::write(&file, csv).unwrap();
        let error = node.fails(&["import", file.to_str().unwrap()], 1);
        assert!(error.contains(expected), "expected {expected:?} in {error}");
        assert_eq!(error.lines().count(), 1, "{error}");
        assert_eq!(node.event_count(), before);
        assert_eq!(node.ok(&["log"]), log_before);
    };
    let mut bad_amount = GOOD.to_string();
    bad_amount = bad_amount.replace("2024-01-06,save,2,,,,500,", "2024-01-06,save,2,,,,5.005,");
    check(
        &bad_amount,
        "row 6, column amount: '5.005' has more than 2 decimal places",
    );

    let overdrawn = format!("{GOOD}2024-02-01,withdraw,2,,,,900,,,,,,,,,,,,,,\n");
    check(
        &overdrawn,
        "row 11, column amount: withdrawal of 900.00 is beyond member 2's savings",
    );

    let unknown_member = GOOD.replace("2024-01-05,contribute,1,", "2024-01-05,contribute,7,");
    check(
        &unknown_member,
        "row 4, column member: member 7 is not a member",
    );

    let bad_date = GOOD.replace("2024-01-09,pool-deposit", "2024-02-30,pool-deposit");
    check(&bad_date, "row 9, column date:");

    let bad_kind = GOOD.replace("2024-01-09,pool-deposit", "2024-01-09,pool-deposits");
    check(
        &bad_kind,
        "row 9, column kind: 'pool-deposits' is not a kind",
    );

    check(
        "date,kind,colour\n2024-01-02,save,red\n",
        "row 1, column colour: unknown column",
    );
    check(
        "kind,amount\nsave,10\n",
        "row 1, column date: the header must have this column",
    );
}
