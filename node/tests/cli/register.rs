//! The member register on the node: corrections, names after a restore, and
//! the contribution sheet for the next meeting.

use crate::Node;

fn add(node: &Node, name: &str, extra: &[&str]) {
    let mut args = vec![
        "member",
        "add",
        "--name",
        name,
        "--birth-year",
        "1960",
        "--joined-on",
        "2024-01-02",
    ];
    args.extend_from_slice(extra);
    node.ok(&args);
}

fn register_row(node: &Node, member: u32) -> Option<(String, Option<String>, Option<String>)> {
    let conn = rusqlite::Connection::open(node.database()).unwrap();
    conn.query_row(
        "SELECT name, phone, national_id FROM member_register WHERE member = ?1",
        [member],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .ok()
}

#[test]
fn member_edit_corrects_the_register_and_never_the_log() {
    // Proves a misspelt name, a new phone and an ID number are corrected in
    // the register alone: no event, the log and its head unchanged, the
    // fields not given kept, an empty value clearing a field.
    let node = Node::opened();
    add(&node, "สมหญง ใจดี", &["--phone", "081-000-0000"]);
    let events = node.event_count();
    let log = node.ok(&["log"]);
    let head = node
        .ok(&["status"])
        .lines()
        .find(|l| l.starts_with("local head"))
        .unwrap()
        .to_string();

    let out = node.ok(&[
        "member",
        "edit",
        "1",
        "--name",
        "สมหญิง ใจดี",
        "--id-number",
        "3-1001-00001-00-1",
    ]);
    assert!(out.contains("not in the log"), "{out}");
    assert_eq!(
        register_row(&node, 1),
        Some((
            "สมหญิง ใจดี".into(),
            Some("081-000-0000".into()),
            Some("3-1001-00001-00-1".into())
        ))
    );
    node.ok(&["member", "edit", "1", "--phone", ""]);
    assert_eq!(register_row(&node, 1).unwrap().1, None);
    assert!(node.ok(&["member", "list"]).contains("สมหญิง ใจดี"));
    assert!(node.ok(&["statement", "1"]).contains("สมหญิง ใจดี"));

    assert_eq!(node.event_count(), events);
    assert_eq!(node.ok(&["log"]), log);
    assert!(node.ok(&["status"]).contains(&head));
    assert!(node.ok(&["verify"]).starts_with("ok:"));
}

#[test]
fn member_edit_refuses_in_one_line_what_it_cannot_do() {
    // Proves each refusal is one line saying what to do, and changes nothing.
    let node = Node::opened();
    add(&node, "สมหญิง ใจดี", &[]);
    let before = register_row(&node, 1);
    let unknown = node.fails(&["member", "edit", "7", "--name", "x"], 1);
    assert!(unknown.contains("member 7 is not a member"), "{unknown}");
    let nothing = node.fails(&["member", "edit", "1"], 64);
    assert!(
        nothing.contains("--name, --phone or --id-number"),
        "{nothing}"
    );
    let empty = node.fails(&["member", "edit", "1", "--name", " "], 64);
    assert!(empty.contains("--name must not be empty"), "{empty}");
    for error in [unknown, nothing, empty] {
        assert_eq!(error.lines().count(), 1, "{error}");
    }
    assert_eq!(register_row(&node, 1), before);
}

#[test]
fn names_lost_with_a_restore_are_listed_and_re_entered_with_member_edit() {
    // Proves what a restore leaves (the log's members, no register: names
    // never leave the village) is shown in `member list` with the command to
    // fix it, that a phone alone cannot stand for a missing name, and that
    // `member edit --name` re-enters it.
    let node = Node::opened();
    add(&node, "สมหญิง ใจดี", &[]);
    add(&node, "สมชาย รักถิ่น", &[]);
    // A restored ledger: the same log, an empty register.
    let conn = rusqlite::Connection::open(node.database()).unwrap();
    conn.execute("DELETE FROM member_register", []).unwrap();
    drop(conn);

    let list = node.ok(&["member", "list"]);
    assert!(
        list.contains("2 members have no name in this node's register (1, 2)")
            && list.contains("sajja-node member edit N --name NAME"),
        "{list}"
    );
    let error = node.fails(&["member", "edit", "2", "--phone", "089"], 1);
    assert!(
        error.contains("member 2 has no name in this node's register")
            && error.contains("sajja-node member edit 2 --name NAME"),
        "{error}"
    );
    assert_eq!(error.lines().count(), 1, "{error}");
    assert_eq!(register_row(&node, 2), None);

    node.ok(&["member", "edit", "1", "--name", "สมหญิง ใจดี"]);
    node.ok(&[
        "member",
        "edit",
        "2",
        "--name",
        "สมชาย รักถิ่น",
        "--phone",
        "089",
    ]);
    let list = node.ok(&["member", "list"]);
    assert!(
        list.contains("สมชาย รักถิ่น") && !list.contains("no name"),
        "{list}"
    );
    assert!(node.ok(&["verify"]).starts_with("ok:"));
}

#[test]
fn the_meeting_sheet_filled_in_imports_straight_back() {
    // Proves `member list --csv` writes the columns `import` reads: one row
    // per active member on the meeting date, amounts blank; filled in and
    // saved the way Excel saves CSV (BOM, CRLF), it imports as is, members
    // left blank are reported as not paid, and names appear only on request.
    let node = Node::opened();
    add(&node, "สมหญิง ใจดี", &[]);
    add(&node, "สมชาย รักถิ่น", &[]);
    add(&node, "สมศรี มีสุข", &[]);
    node.ok(&["contribute", "1", "30", "--date", "2024-01-05"]);
    node.ok(&[
        "member",
        "leave",
        "3",
        "--reason",
        "moved",
        "--date",
        "2024-01-06",
    ]);

    let sheet = node.ok(&["member", "list", "--csv", "--date", "2024-02-03"]);
    assert_eq!(
        sheet,
        "date,kind,member,amount,period,note\n\
         2024-02-03,contribute,1,,,last paid 2024-01\n\
         2024-02-03,contribute,2,,,never paid\n"
    );
    assert!(!sheet.contains("สม"), "no names unless asked");
    let named = node.ok(&[
        "member",
        "list",
        "--csv",
        "--date",
        "2024-02-03",
        "--with-names",
    ]);
    assert!(
        named.contains("2024-02-03,contribute,2,,,สมชาย รักถิ่น; never paid\n"),
        "{named}"
    );

    // At the meeting: member 1 pays February, member 2 pays nothing.
    let filled = sheet
        .replace("contribute,1,,,", "contribute,1,30,,")
        .replace('\n', "\r\n");
    let file = node.dir.path().join("meeting.csv");
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(filled.as_bytes());
    std::fs::write(&file, bytes).unwrap();
    let out = node.ok(&["import", file.to_str().unwrap()]);
    assert!(out.contains("imported 1 events"), "{out}");
    assert!(
        out.contains("not recorded: 1 contribute rows with no amount (rows 3)"),
        "{out}"
    );
    let list = node.ok(&["member", "list"]);
    let member_1 = list
        .lines()
        .find(|l| l.trim_start().starts_with("1 "))
        .unwrap();
    assert!(member_1.contains("60.00"), "{list}");
    let next = node.ok(&["member", "list", "--csv", "--date", "2024-03-02"]);
    assert!(
        next.contains("2024-03-02,contribute,1,,,last paid 2024-02\n"),
        "{next}"
    );

    // A sheet with nothing filled in records nothing and says why.
    std::fs::write(&file, &next).unwrap();
    let error = node.fails(&["import", file.to_str().unwrap()], 1);
    assert!(
        error.contains("no row has an amount: fill in what each member paid"),
        "{error}"
    );
}
