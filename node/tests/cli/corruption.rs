use crate::Node;

#[test]
fn a_flipped_byte_in_a_stored_event_is_found_and_named() {
    // Proves `verify` (and every other command) refuses a ledger whose stored
    // event bytes were changed on disk, naming that event's seq.
    let node = Node::opened();
    node.ok(&[
        "member",
        "add",
        "--name",
        "ก",
        "--birth-year",
        "1970",
        "--joined-on",
        "2024-01-02",
    ]);
    for day in 3..=9 {
        node.ok(&["save", "1", "100", "--date", &format!("2024-01-0{day}")]);
    }
    let count = node.event_count();
    assert_eq!(count, 10);
    let conn = rusqlite::Connection::open(node.database()).unwrap();
    let read = |seq: i64| -> Vec<u8> {
        conn.query_row("SELECT bytes FROM events WHERE seq = ?1", [seq], |r| {
            r.get(0)
        })
        .unwrap()
    };
    let write = |seq: i64, bytes: &[u8]| {
        conn.execute(
            "UPDATE events SET bytes = ?1 WHERE seq = ?2",
            rusqlite::params![bytes, seq],
        )
        .unwrap();
    };
    // The first byte of the first event, the middle of a middle one, the last
    // byte of the last one.
    for (seq, pick) in [(1, 0usize), (6, 1), (10, 2)] {
        let original = read(seq);
        let mut damaged = original.clone();
        let at = [0, damaged.len() / 2, damaged.len() - 1][pick];
        damaged[at] ^= 0x20;
        write(seq, &damaged);

        let out = node.run(&["verify"]);
        assert_ne!(out.status.code(), Some(0));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("first bad seq {seq}:")),
            "seq {seq} byte {at}: {stderr}"
        );
        let balance = node.run(&["balance"]);
        assert_ne!(balance.status.code(), Some(0));
        assert!(
            String::from_utf8_lossy(&balance.stderr).contains(&format!("first bad seq {seq}:"))
        );

        write(seq, &original);
        assert!(node.ok(&["verify"]).starts_with("ok:"));
    }
}

#[test]
fn a_damaged_ledger_still_gives_its_status_key_backup_and_copy_and_says_how_to_restore() {
    // Proves issue 15's finding 4: a damaged ledger locked the treasurer out
    // of every command, `key-export` and `status` included, with no hint of
    // `restore`.
    let node = Node::opened();
    node.ok(&[
        "member",
        "add",
        "--name",
        "ก",
        "--birth-year",
        "1970",
        "--joined-on",
        "2024-01-02",
    ]);
    node.ok(&["save", "1", "100", "--date", "2024-01-03"]);
    let key_line = node
        .ok(&["status"])
        .lines()
        .find(|l| l.starts_with("public key"))
        .map(str::to_string)
        .expect("public key line");
    let conn = rusqlite::Connection::open(node.database()).unwrap();
    let mut bytes: Vec<u8> = conn
        .query_row("SELECT bytes FROM events WHERE seq = 2", [], |r| r.get(0))
        .unwrap();
    bytes[3] ^= 0x01;
    conn.execute(
        "UPDATE events SET bytes = ?1 WHERE seq = 2",
        rusqlite::params![bytes],
    )
    .unwrap();
    drop(conn);

    // Writing is refused, naming the seq and the way out.
    let refused = node.run(&["save", "1", "50", "--date", "2024-01-04"]);
    assert_ne!(refused.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("first bad seq 2:"), "{stderr}");
    assert!(stderr.contains("restore --bundle"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");

    // Status still names the group, its key and the damage.
    let status = node.run(&["status"]);
    assert_eq!(status.status.code(), Some(0));
    let out = String::from_utf8_lossy(&status.stdout);
    assert!(
        out.contains("230101-007") && out.contains(&key_line),
        "{out}"
    );
    assert!(out.contains("DAMAGED: first bad seq 2:"), "{out}");
    assert!(String::from_utf8_lossy(&status.stderr).contains("key-export"));

    // The key backup a restore needs, and a copy kept as evidence.
    let backup = node.dir.path().join("key-backup.txt");
    let export = node.run(&["key-export", backup.to_str().unwrap()]);
    assert_eq!(export.status.code(), Some(0), "{:?}", export);
    let keys = std::fs::read_to_string(&backup).unwrap();
    assert!(
        keys.contains("PRIVATE key backup of group 230101-007"),
        "{keys}"
    );
    let copy = node.dir.path().join("evidence.sqlite");
    let copied = node.run(&["backup", copy.to_str().unwrap()]);
    assert_eq!(copied.status.code(), Some(0), "{:?}", copied);
    assert!(copy.is_file());
    assert!(String::from_utf8_lossy(&copied.stdout).contains("DAMAGED"));
}
