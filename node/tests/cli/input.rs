//! What a treasurer types: amounts, dates, numbers and words as people write
//! them, read exactly or refused with the form to write; and two processes
//! writing at once.

use std::process::Stdio;

use crate::Node;

/// A node opened on 2024-01-01 with member 1 (joined that day).
fn with_member() -> Node {
    let node = Node::opened();
    node.ok(&[
        "member",
        "add",
        "--name",
        "สมศรี ใจดี",
        "--birth-year",
        "1960",
        "--joined-on",
        "2024-01-01",
    ]);
    node
}

#[test]
fn misread_amounts_are_refused_not_recorded() {
    // Proves 30,5 / 1,05 / 1e3 / 0.5e1 / ,,30 / 3,0,0 are refused (exit 64, one line, the form to write) and nothing is recorded.
    let node = with_member();
    let before = node.event_count();
    for (typed, says) in [
        (
            "30,5",
            "write 30.50 (a comma only between thousands, like 1,250.50)",
        ),
        ("1,05", "write 1.05"),
        ("1e3", "like 30 or 30.50"),
        ("0.5e1", "like 30 or 30.50"),
        (",,30", "like 30 or 30.50"),
        ("3,0,0", "like 30 or 30.50"),
    ] {
        let err = node.fails(&["contribute", "1", typed, "--date", "2024-02-01"], 64);
        assert!(err.contains(says), "{typed}: {err}");
        assert!(
            err.contains(&format!("'{typed}' is not an amount in baht")),
            "{err}"
        );
    }
    assert_eq!(node.event_count(), before);
    let out = node.ok(&["contribute", "1", "1,250.50", "--date", "2024-02-01"]);
    assert!(out.contains("1,250.50"), "{out}");
    let out = node.ok(&["save", "๑", "๓๐.๕๐", "--date", "2024-02-01"]);
    assert!(out.contains("30.50"), "{out}");
}

#[test]
fn a_negative_amount_is_refused_by_the_ledger() {
    // Proves `save 1 -5` reaches the ledger, which refuses it with its own rule (exit 1), not clap's "unexpected argument".
    let node = with_member();
    let err = node.fails(&["save", "1", "-5", "--date", "2024-02-01"], 1);
    assert!(!err.contains("unexpected argument"), "{err}");
    assert!(err.contains("refused"), "{err}");
    assert!(err.contains("-5.00"), "{err}");
}

#[test]
fn csv_import_refuses_a_misread_amount_with_its_row() {
    // Proves the import uses the same parser: 30,5 in row 3 is refused naming the row and column, and nothing is imported.
    let node = with_member();
    let before = node.event_count();
    let file = node.dir.path().join("sheet.csv");
    std::fs::write(
        &file,
        "date,kind,member,amount\n2024-02-01,contribute,1,30\n2024-03-01,contribute,1,\"30,5\"\n",
    )
    .unwrap();
    let err = node.fails(&["import", file.to_str().unwrap()], 1);
    assert!(err.contains("row 3, column amount"), "{err}");
    assert!(err.contains("write 30.50"), "{err}");
    assert_eq!(node.event_count(), before);
}

#[test]
fn dates_in_the_buddhist_era_and_thai_digits_are_accepted() {
    // Proves --date 1/2/2567, 2567-03-01 and ๑/๔/๒๕๖๗ are 2024-02-01, 2024-03-01 and 2024-04-01; 1/2/67 is refused as ambiguous.
    let node = with_member();
    for (typed, iso) in [
        ("1/2/2567", "2024-02-01"),
        ("2567-03-01", "2024-03-01"),
        ("๑/๔/๒๕๖๗", "2024-04-01"),
        ("01/05/2024", "2024-05-01"),
    ] {
        let out = node.ok(&["save", "1", "10", "--date", typed]);
        assert!(out.contains(iso), "{typed}: {out}");
    }
    let err = node.fails(&["save", "1", "10", "--date", "1/2/67"], 64);
    assert!(err.contains("ambiguous"), "{err}");
    let err = node.fails(&["save", "1", "10", "--date", "31/2/2567"], 64);
    assert!(
        err.contains("7/12/2569 (day/month/year, either era)"),
        "{err}"
    );
    // The import reads dates the same way; CSV output stays ISO.
    let file = node.dir.path().join("be.csv");
    std::fs::write(&file, "date,kind,member,amount\n1/6/2567,save,1,5\n").unwrap();
    node.ok(&["import", file.to_str().unwrap()]);
    let out = node.ok(&["statement", "1", "--csv"]);
    assert!(out.contains("2024-06-01"), "{out}");
}

#[test]
fn benefit_kinds_in_thai() {
    // Proves `benefit 1 ป่วย …` and `benefit 1 old_age …` are read as sickness and old-age (the ledger then decides).
    let node = with_member();
    node.ok(&["contribute", "1", "30", "--date", "2024-02-01"]);
    let out = node.ok(&[
        "benefit",
        "1",
        "ป่วย",
        "20",
        "--nights",
        "1",
        "--override",
        "committee",
        "--date",
        "2024-03-01",
    ]);
    assert!(out.contains("sickness"), "{out}");
    let err = node.run(&["benefit", "1", "old_age", "100", "--date", "2024-03-01"]);
    let err = String::from_utf8_lossy(&err.stderr).to_string();
    assert!(!err.contains("is not a benefit kind"), "{err}");
}

#[test]
fn loan_list_on_a_past_date_shows_the_books_of_that_date() {
    // Proves `loan list --date D` shows what was outstanding on D and no loan disbursed after D (issue 12, bug 2).
    let node = with_member();
    node.ok(&["save", "1", "5000", "--date", "2024-01-02"]);
    node.ok(&[
        "loan",
        "disburse",
        "1",
        "1000",
        "--rate",
        "1",
        "--term",
        "10",
        "--date",
        "2024-02-01",
    ]);
    node.ok(&["loan", "repay", "1", "400", "--date", "2024-03-01"]);
    node.ok(&[
        "loan",
        "disburse",
        "1",
        "700",
        "--rate",
        "1",
        "--term",
        "10",
        "--date",
        "2024-04-01",
    ]);
    let out = node.ok(&["loan", "list", "--date", "2024-02-15"]);
    let rows: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "only loan 1 existed on 2024-02-15: {out}");
    assert!(rows[0].contains("1,000.00"), "{out}");
    assert_eq!(
        rows[0].matches("1,000.00").count(),
        2,
        "principal and outstanding both 1,000.00 then: {out}"
    );
    let out = node.ok(&["loan", "list", "--date", "2024-04-15"]);
    assert!(out.contains("600.00") && out.contains("700.00"), "{out}");
}

#[test]
fn the_key_backup_is_marked_private_and_still_restores_keys() {
    // Proves key-export and keygen write `sajja-private-key-v1:` lines, never a bare seed that looks like a public key.
    let node = Node::opened();
    let backup = node.dir.path().join("backup.txt");
    node.ok(&["key-export", backup.to_str().unwrap()]);
    let text = std::fs::read_to_string(&backup).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(lines[0].starts_with("sajja-private-key-v1:"), "{text}");
    let key = node.dir.path().join("new.key");
    node.ok(&["keygen", key.to_str().unwrap()]);
    let text = std::fs::read_to_string(&key).unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("sajja-private-key-v1:")),
        "{text}"
    );
}

#[test]
fn four_processes_appending_at_once_all_succeed() {
    // Proves 4 concurrent CLI processes x 50 appends on one ledger all succeed: 200 new events, chain valid (issue 15, finding 7).
    let node = with_member();
    let before = node.event_count();
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let data = node.data_dir();
            std::thread::spawn(move || {
                let mut failures = Vec::new();
                for _ in 0..50 {
                    let out = std::process::Command::new(crate::BIN)
                        .args(["save", "1", "1", "--date", "2024-02-01"])
                        .env("SAJJA_NODE_DATA", &data)
                        .env_remove("SAJJA_LOG")
                        .stdout(Stdio::null())
                        .output()
                        .unwrap();
                    if !out.status.success() {
                        failures.push(String::from_utf8_lossy(&out.stderr).to_string());
                    }
                }
                failures
            })
        })
        .collect();
    let failures: Vec<String> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        failures.first()
    );
    assert_eq!(node.event_count(), before + 200);
    let out = node.ok(&["verify"]);
    assert!(out.starts_with("ok"), "{out}");
    let list = node.ok(&["member", "list"]);
    assert!(
        list.contains("200.00"),
        "member 1 saved 200 x 1 baht: {list}"
    );
}

#[test]
fn a_month_paid_twice_is_refused_unless_the_treasurer_says_extra() {
    // Proves issue 12's duplicate rule at the command line: one line naming
    // the member, the month and what to do; `--extra` records it, marked.
    let node = with_member();
    node.ok(&["contribute", "1", "30", "--date", "2024-02-01"]);
    let before = node.event_count();
    let err = node.fails(&["contribute", "1", "30", "--date", "2024-02-03"], 1);
    assert!(
        err.contains("member 1 already paid for 2024-02; record it as an extra payment"),
        "{err}"
    );
    assert_eq!(node.event_count(), before, "a refusal records nothing");
    node.ok(&["contribute", "1", "30", "--date", "2024-02-03", "--extra"]);
    let log = node.ok(&["log"]);
    assert!(log.contains("extra payment"), "{log}");
}

#[test]
fn a_loan_can_carry_its_plan_and_a_flexible_one_needs_its_due_date() {
    let node = with_member();
    node.ok(&["save", "1", "5000", "--date", "2024-01-02"]);
    let disburse = |extra: &[&str]| {
        let mut args = vec![
            "loan",
            "disburse",
            "1",
            "1000",
            "--rate",
            "1",
            "--term",
            "6",
            "--date",
            "2024-02-01",
        ];
        args.extend_from_slice(extra);
        args.into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    let args = disburse(&["--plan", "flexible"]);
    let err = node.fails(&args.iter().map(String::as_str).collect::<Vec<_>>(), 64);
    assert!(
        err.contains("a flexible loan needs its final due date"),
        "{err}"
    );
    let args = disburse(&["--plan", "ครบกำหนด"]);
    node.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let args = disburse(&["--plan", "flexible", "--due", "31/12/2567"]);
    node.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let log = node.ok(&["log"]);
    assert!(log.contains("principal at maturity"), "{log}");
    assert!(log.contains("flexible, all due by 2024-12-31"), "{log}");
}
