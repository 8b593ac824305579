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

#[test]
fn the_same_file_imported_twice_is_refused_in_one_line_and_changes_nothing() {
    // Proves the import records what it brought in: the same bytes again
    // (under any file name) are refused with when they were imported and
    // what to do, the ledger and its import records stay exactly as they
    // were, a changed file imports, and --again records the same entries a
    // second time on purpose.
    let node = Node::opened();
    let file = node.dir.path().join("book.csv");
    std::fs::write(&file, GOOD).unwrap();
    node.ok(&["import", file.to_str().unwrap()]);
    let events = node.event_count();
    let log = node.ok(&["log"]);
    let imports = import_records(&node);
    assert_eq!(imports.len(), 1);
    assert_eq!(imports[0].0, "book.csv");
    assert_eq!((imports[0].1, imports[0].2, imports[0].3), (9, 3, 11));

    let copy = node.dir.path().join("book (copy).csv");
    std::fs::write(&copy, GOOD).unwrap();
    for path in [&file, &copy] {
        let error = node.fails(&["import", path.to_str().unwrap()], 1);
        assert_eq!(error.lines().count(), 1, "{error}");
        assert!(
            error.contains("was imported before, on 20")
                && error.contains("(as book.csv, seq 3..=11)")
                && error.contains("if these are new entries, change the file")
                && error.contains("--again"),
            "{error}"
        );
        assert_eq!(node.event_count(), events);
        assert_eq!(node.ok(&["log"]), log);
        assert_eq!(import_records(&node), imports);
    }

    // In Thai display the time is in the Buddhist era.
    let thai = node
        .command(&["import", file.to_str().unwrap()])
        .env("SAJJA_LANG", "th")
        .output()
        .unwrap();
    let thai = String::from_utf8(thai.stderr).unwrap();
    assert!(thai.contains("was imported before, on 25"), "{thai}");

    let more = node.dir.path().join("february.csv");
    std::fs::write(&more, "date,kind,member,amount\n2024-02-03,save,2,100\n").unwrap();
    assert!(
        node.ok(&["import", more.to_str().unwrap()])
            .contains("imported 1 events")
    );
    let error = node.fails(&["import", more.to_str().unwrap()], 1);
    assert!(
        error.contains("february.csv was imported before"),
        "{error}"
    );
    let out = node.ok(&["import", more.to_str().unwrap(), "--again"]);
    assert!(out.contains("imported 1 events"), "{out}");
    let statement = node.ok(&["statement", "2"]);
    assert!(statement.contains("savings 700.00"), "{statement}");
    assert_eq!(import_records(&node).len(), 3);
    assert!(node.ok(&["verify"]).starts_with("ok:"));
}

#[test]
fn a_ledger_from_before_import_records_migrates_and_then_remembers_imports() {
    // Proves a schema 2 ledger (no imports table) opens, keeps its log, and
    // from then on refuses a second import of the same file.
    let node = Node::opened();
    node.ok(&[
        "member",
        "add",
        "--name",
        "a",
        "--birth-year",
        "1960",
        "--joined-on",
        "2024-01-02",
    ]);
    let conn = rusqlite::Connection::open(node.database()).unwrap();
    conn.execute_batch("DROP TABLE imports; PRAGMA user_version = 2;")
        .unwrap();
    drop(conn);
    let file = node.dir.path().join("book.csv");
    std::fs::write(&file, "date,kind,member,amount\n2024-01-03,save,1,100\n").unwrap();
    node.ok(&["import", file.to_str().unwrap()]);
    let conn = rusqlite::Connection::open(node.database()).unwrap();
    let version: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, sajja_node::store::SCHEMA_VERSION);
    drop(conn);
    node.fails(&["import", file.to_str().unwrap()], 1);
    assert_eq!(node.event_count(), 4);
    assert!(node.ok(&["verify"]).starts_with("ok:"));
}

/// (file name, events, first seq, last seq) of each recorded import.
fn import_records(node: &Node) -> Vec<(String, i64, i64, i64)> {
    let conn = rusqlite::Connection::open(node.database()).unwrap();
    let mut statement = conn
        .prepare("SELECT file_name, events, first_seq, last_seq FROM imports ORDER BY id")
        .unwrap();
    statement
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn errors_name_the_spreadsheet_row_in_crlf_files_and_after_blank_lines() {
    // Proves the row named is the one a spreadsheet shows for a file saved
    // on Windows (CRLF, byte-order mark), with a blank line above the bad
    // row and a note cell with a line break inside.
    let node = Node::opened();
    let good = GOOD.replace("from the 2023 book", "\"from the\n2023 book\"");
    let bad = format!("{good}\n2024-02-01,save,2,,,,5.005,,,,,,,,,,,,,,\n");
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(bad.replace('\n', "\r\n").as_bytes());
    let file = node.dir.path().join("windows.csv");
    std::fs::write(&file, bytes).unwrap();
    let error = node.fails(&["import", file.to_str().unwrap()], 1);
    // Header 1, nine rows (2..=10), a blank row 11: the bad row is 12.
    assert!(
        error.contains("row 12, column amount: '5.005' has more than 2 decimal places"),
        "{error}"
    );
    assert_eq!(node.event_count(), 2);
}
