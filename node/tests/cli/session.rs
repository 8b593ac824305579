use crate::Node;

/// Adds three members with Thai names, joined on 2024-01-02.
fn three_members(node: &Node) {
    for (name, year, sex) in [
        ("สมหญิง ใจดี", "1960", "f"),
        ("สมชาย รักถิ่น", "1955", "m"),
        ("บุญมี ศรีสุข", "1988", "f"),
    ] {
        node.ok(&[
            "member",
            "add",
            "--name",
            name,
            "--birth-year",
            year,
            "--sex",
            sex,
            "--phone",
            "0812345678",
            "--id-number",
            "3100500123456",
            "--joined-on",
            "2024-01-02",
        ]);
    }
}

#[test]
fn a_treasurers_session_records_refuses_and_reports() {
    // Proves the everyday commands work end to end, a refusal changes nothing,
    // and balances, passbooks and CSV show the exact figures.
    let node = Node::opened();
    three_members(&node);
    for member in ["1", "2", "3"] {
        node.ok(&["contribute", member, "30", "--date", "2024-01-05"]);
    }
    node.ok(&[
        "contribute",
        "-",
        "90",
        "--source",
        "national",
        "--bank",
        "--date",
        "2024-01-06",
    ]);
    node.ok(&["save", "1", "1,250", "--date", "2024-01-06"]);
    node.ok(&["save", "2", "100.50", "--date", "2024-01-06"]);

    let log_before = node.ok(&["log"]);
    let count_before = node.event_count();
    let refused = node.fails(&["withdraw", "2", "500", "--date", "2024-01-07"], 1);
    assert_eq!(refused.lines().count(), 1, "{refused}");
    assert!(
        refused.contains("beyond member 2's savings of 100.50"),
        "{refused}"
    );
    assert_eq!(node.ok(&["log"]), log_before);
    assert_eq!(node.event_count(), count_before);

    node.ok(&["withdraw", "2", "50", "--date", "2024-02-01"]);
    let balance = node.ok(&["balance"]);
    assert!(balance.contains("1,300.50"), "member savings: {balance}");
    assert!(
        balance_line(&balance, "cash").ends_with(" 1,390.50"),
        "{balance}"
    );
    assert!(
        balance_line(&balance, "bank").ends_with(" 90.00"),
        "{balance}"
    );
    assert!(
        balance_line(&balance, "welfare_fund").ends_with(" 180.00"),
        "{balance}"
    );
    assert!(
        balance_line(&balance, "active_members").ends_with(" 3"),
        "{balance}"
    );

    // As of January, the February withdrawal has not happened yet.
    let january = node.ok(&["balance", "--as-of", "2024-01-31"]);
    assert!(
        balance_line(&january, "member_savings").ends_with(" 1,350.50"),
        "{january}"
    );

    // Each row says whose books and as of when, so pasted sheets stay apart.
    let csv = node.ok(&["balance", "--csv"]);
    let today = node_today();
    assert!(
        csv.starts_with("group,as_of,section,item,debit,credit,amount\n"),
        "{csv}"
    );
    assert!(
        csv.contains(&format!(
            "\n230101-007,{today},trial_balance,cash,1390.50,0.00,\n"
        )),
        "{csv}"
    );
    assert!(
        csv.contains(&format!(
            "\n230101-007,{today},summary,member_savings,,,1300.50\n"
        )),
        "{csv}"
    );
    let january_csv = node.ok(&["balance", "--as-of", "2024-01-31", "--csv"]);
    assert!(
        january_csv.contains("\n230101-007,2024-01-31,summary,member_savings,,,1350.50\n"),
        "{january_csv}"
    );
    assert!(
        january_csv
            .lines()
            .skip(1)
            .all(|l| l.starts_with("230101-007,2024-01-31,")),
        "{january_csv}"
    );

    let statement = node.ok(&["statement", "2"]);
    assert!(statement.contains("สมชาย รักถิ่น"), "{statement}");
    assert!(
        statement.contains("savings 50.50, own contributions 30.00"),
        "{statement}"
    );
    let statement_csv = node.ok(&["statement", "2", "--csv"]);
    let rows: Vec<&str> = statement_csv.lines().collect();
    assert_eq!(
        rows[0],
        "seq,date,kind,amount,savings_change,savings_balance,note"
    );
    assert!(
        rows.last()
            .unwrap()
            .contains("SavingsWithdrawn,50.00,-50.00,50.50"),
        "{statement_csv}"
    );
    assert!(
        !statement_csv.contains("สมชาย"),
        "names stay off CSV exports"
    );

    let members = node.ok(&["member", "list"]);
    assert!(members.contains("บุญมี ศรีสุข"), "{members}");

    // Names, phones and ID numbers never enter an event or the log.
    let log = node.ok(&["log"]);
    for private in ["สมหญิง", "0812345678", "3100500123456"] {
        assert!(!log.contains(private));
    }
    let conn = rusqlite::Connection::open(node.database()).unwrap();
    let mut statement = conn.prepare("SELECT bytes FROM events").unwrap();
    let all: Vec<Vec<u8>> = statement
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for bytes in &all {
        for private in ["สมหญิง".as_bytes(), b"0812345678", b"3100500123456"] {
            assert!(!bytes.windows(private.len()).any(|w| w == private));
        }
    }
    assert!(node.ok(&["verify"]).starts_with("ok:"));
}

fn balance_line<'a>(output: &'a str, item: &str) -> &'a str {
    output
        .lines()
        .rfind(|l| l.split_whitespace().next() == Some(item))
        .unwrap_or_else(|| panic!("no line {item} in {output}"))
}

#[test]
fn loans_benefits_pools_reversals_and_closes_keep_a_valid_ledger() {
    // Proves every remaining money-moving command appends what it says and the
    // ledger still verifies and balances afterwards.
    let node = Node::opened();
    three_members(&node);
    node.ok(&["contribute", "1", "5000", "--date", "2024-01-05"]);
    node.ok(&["save", "3", "2000", "--date", "2024-01-05"]);
    let refused = node.fails(
        &[
            "benefit",
            "1",
            "sickness",
            "200",
            "--nights",
            "2",
            "--date",
            "2024-02-01",
        ],
        1,
    );
    assert!(refused.contains("waiting period"), "{refused}");
    node.ok(&[
        "benefit",
        "1",
        "sickness",
        "200",
        "--nights",
        "2",
        "--override",
        "flood",
        "--date",
        "2024-02-01",
    ]);
    node.ok(&[
        "loan",
        "disburse",
        "2",
        "1000",
        "--rate",
        "1.5",
        "--term",
        "10",
        "--guarantor",
        "1",
        "--date",
        "2024-02-01",
    ]);
    node.ok(&[
        "loan",
        "repay",
        "1",
        "100",
        "--interest",
        "15",
        "--date",
        "2024-03-01",
    ]);
    node.ok(&["loan", "write-off", "1", "--date", "2024-12-01"]);
    node.fails(&["loan", "write-off", "7", "--date", "2024-12-01"], 1);
    let loans = node.ok(&["loan", "list", "--date", "2024-12-31"]);
    assert!(
        loans.lines().nth(1).unwrap().contains("1,000.00"),
        "{loans}"
    );
    node.ok(&["bank", "1000", "--date", "2024-03-02"]);
    node.ok(&["bank", "200", "--draw", "--date", "2024-03-03"]);
    node.ok(&[
        "income",
        "bank-interest",
        "12.34",
        "--bank",
        "--date",
        "2024-03-31",
    ]);
    node.ok(&["expense", "meeting", "50", "--date", "2024-03-31"]);
    node.ok(&["pool", "deposit", "230101", "500", "--date", "2024-04-01"]);
    node.ok(&[
        "pool",
        "pledge",
        "230101-RES",
        "1000",
        "--date",
        "2024-04-01",
    ]);
    node.ok(&[
        "pool",
        "release",
        "230101-RES",
        "400",
        "--date",
        "2024-04-02",
    ]);
    node.ok(&[
        "pool",
        "borrow",
        "23",
        "3000",
        "--bank",
        "--date",
        "2024-04-03",
    ]);
    node.ok(&[
        "pool",
        "repay",
        "23",
        "1000",
        "--interest",
        "20",
        "--bank",
        "--date",
        "2024-05-03",
    ]);
    node.ok(&["pool", "withdraw", "230101", "100", "--date", "2024-05-04"]);
    let saved = node.ok(&["save", "2", "70", "--date", "2024-05-05"]);
    let seq = saved.split_whitespace().next().unwrap().to_string();
    node.ok(&[
        "reverse",
        &seq,
        "--reason",
        "wrong member",
        "--date",
        "2024-05-06",
    ]);
    node.fails(
        &["reverse", &seq, "--reason", "again", "--date", "2024-05-06"],
        1,
    );
    node.ok(&[
        "member",
        "leave",
        "3",
        "--reason",
        "moved",
        "--date",
        "2024-05-07",
    ]);
    node.ok(&["close-month", "2024-05", "--date", "2024-06-01"]);
    node.fails(&["close-month", "2024-04", "--date", "2024-06-01"], 1);

    let log = node.ok(&["log", "--limit", "1000"]);
    assert!(log.contains("[reversed]"), "{log}");
    assert!(
        log.contains("member 3 moved, savings refund 2,000.00 cash"),
        "{log}"
    );
    let balance = node.ok(&["balance"]);
    assert!(
        balance_line(&balance, "active_members").ends_with(" 2"),
        "{balance}"
    );
    assert!(
        balance_line(&balance, "reserve_pledged").ends_with(" 600.00"),
        "{balance}"
    );
    assert!(
        balance_line(&balance, "pool_loans").ends_with(" 2,000.00"),
        "{balance}"
    );
    let total = balance_line(&balance, "total");
    let figures: Vec<&str> = total.split_whitespace().skip(1).collect();
    assert_eq!(
        figures[0], figures[1],
        "the trial balance balances: {total}"
    );
    let verified = node.ok(&["verify"]);
    assert!(
        verified.starts_with("ok:") && !verified.contains("warning"),
        "{verified}"
    );

    let rules = node.dir.path().join("rules.toml");
    std::fs::write(&rules, "waiting_days = 90\ncontribution_amount = \"365\"\n").unwrap();
    let shown = node.ok(&[
        "rules",
        "--set",
        rules.to_str().unwrap(),
        "--date",
        "2024-06-02",
    ]);
    assert!(
        shown.contains("waiting_days                   90"),
        "{shown}"
    );
    std::fs::write(&rules, "contribution_amount = 30.5\n").unwrap();
    node.fails(&["rules", "--set", rules.to_str().unwrap()], 64);
}

#[test]
fn bad_usage_exits_64_and_writes_nothing() {
    // Proves malformed input is refused before it reaches the ledger.
    let node = Node::opened();
    three_members(&node);
    let before = node.event_count();
    node.fails(&["save", "1", "1.005", "--date", "2024-01-05"], 64);
    node.fails(&["save", "0", "10"], 64);
    node.fails(&["save", "1", "10", "--date", "2024-13-01"], 64);
    node.fails(&["frobnicate"], 64);
    node.fails(&["contribute", "x", "30"], 64);
    assert_eq!(node.event_count(), before);
    assert!(node.ok(&["--help"]).contains("treasurer"));

    // A command on a directory with no ledger says so instead of creating one.
    let empty = Node::empty();
    let missing = empty.fails(&["balance"], 1);
    assert!(missing.contains("sajja-node init"), "{missing}");
    assert!(!empty.database().exists());
}

/// Today in Thailand, as the node dates its books.
fn node_today() -> String {
    sajja_edge::clock::today().to_string()
}
