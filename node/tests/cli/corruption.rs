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
