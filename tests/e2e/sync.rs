//! A node pushes its log to its tambon hub: verified, resumable, restorable.

use crate::support::*;
use sajja_proto::v1;

#[test]
fn a_node_with_ten_thousand_events_syncs_to_an_empty_hub_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let mut hub = Hub::init(&dir.path().join("hub"), "230101", "tambon");
    hub.start();
    let node = enrolled_node(&dir.path().join("node"), &hub, "230101-007");
    import_activity(&node, dir.path(), 50, 10_000 - 52);
    let out = node.cli(&["sync", "--once"]);
    assert!(out.contains("hub holds seq 10000"), "{out}");
    assert_eq!(hub_event_bytes(&hub, "230101-007"), node.event_bytes());
    let status = node.cli(&["status"]);
    assert!(status.contains("pending         0"), "{status}");
}

const GROUP: &str = "230101-007";

/// A started tambon hub and an enrolled, connected node of `GROUP` holding the
/// two events `init` writes plus `members` joins and `contributions`.
fn hub_and_node(dir: &std::path::Path, members: u32, contributions: u32) -> (Hub, Node) {
    let mut hub = Hub::init(&dir.join("hub"), "230101", "tambon");
    hub.start();
    let node = enrolled_node(&dir.join("node"), &hub, GROUP);
    if members > 0 {
        import_activity(&node, dir, members, contributions);
    }
    (hub, node)
}

// A batch offered beyond the hub's log commits nothing and is answered "gap,
// send from 1"; delivered in order afterwards, the hub's head is the in-order head.
#[test]
fn out_of_order_batches_commit_nothing_and_the_hub_asks_for_the_first_missing_seq() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, node) = hub_and_node(dir.path(), 3, 10);
    let log = GroupLog::read(&node, GROUP);
    let mut raw = RawHub::as_group(&hub, &node, GROUP);
    let mut push = raw.open();

    let welcome = push.hello(&log.checkpoint_at(9));
    assert_eq!(welcome.directive, v1::Directive::SendFrom as i32);
    assert_eq!(welcome.send_from, 1);
    let empty = hub.dump();
    let refused = refusal(push.push(&log, 5, 9));
    assert_eq!((refused.check.as_str(), refused.send_from), ("gap", 1));
    assert_eq!(refused.seq, 5, "the refusal names the batch's first seq");
    assert_eq!(hub.dump(), empty, "nothing of 5..9 is committed");

    let first = ack(push.push(&log, 1, 4));
    assert_eq!((first.from_seq, first.to_seq), (1, 4));
    let second = ack(push.push(&log, 5, 9));
    assert_eq!((second.from_seq, second.to_seq), (5, 9));
    // The node's own stored hash at 9 is the head of in-order delivery.
    assert_eq!(second.head, log.head_at(9).as_bytes());
    assert_eq!(hub_event_bytes(&hub, GROUP), log.range(1, 9));
    drop(push);
    let welcome = raw.open().hello(&log.checkpoint_at(9));
    assert_eq!(welcome.directive, v1::Directive::UpToDate as i32);
    let position = welcome.position.expect("a position");
    assert_eq!(
        (position.seq, position.head),
        (9, log.head_at(9).as_bytes().to_vec())
    );
}

// Re-sending acknowledged batches, in the same session or a new one, changes
// no row of the hub database and is answered with the very same ack.
#[test]
fn a_replayed_batch_changes_no_row_and_gets_the_same_ack() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, node) = hub_and_node(dir.path(), 3, 10);
    let log = GroupLog::read(&node, GROUP);
    let mut raw = RawHub::as_group(&hub, &node, GROUP);
    let (first, second, after) = {
        let mut push = raw.open();
        push.hello(&log.checkpoint_at(9));
        let first = ack(push.push(&log, 1, 4));
        let second = ack(push.push(&log, 5, 9));
        let after = hub.dump();
        assert_eq!(ack(push.push(&log, 1, 4)), first);
        assert_eq!(ack(push.push(&log, 5, 9)), second);
        assert_eq!(
            hub.dump(),
            after,
            "a replay in the same session changes nothing"
        );
        (first, second, after)
    };
    let mut push = raw.open();
    let welcome = push.hello(&log.checkpoint_at(9));
    assert_eq!(welcome.directive, v1::Directive::UpToDate as i32);
    assert_eq!(ack(push.push(&log, 5, 9)), second);
    assert_eq!(ack(push.push(&log, 1, 4)), first);
    assert_eq!(
        hub.dump(),
        after,
        "a replay in a new session changes nothing"
    );
}

// Each kind of tampering on the wire is refused by its own named check and
// seq, and the hub's stored log (indeed its whole database) stays as it was.
#[test]
fn tampered_batches_are_refused_by_a_named_check_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, node) = hub_and_node(dir.path(), 3, 10);
    let other = enrolled_node(&dir.path().join("other"), &hub, "230101-008");
    other.cli(&[
        "member",
        "add",
        "--name",
        "x",
        "--birth-year",
        "1970",
        "--joined-on",
        "2025-01-01",
    ]);
    let log = GroupLog::read(&node, GROUP);
    let other_log = GroupLog::read(&other, "230101-008");
    let mut raw = RawHub::as_group(&hub, &node, GROUP);
    let mut push = raw.open();
    push.hello(&log.checkpoint_at(8));
    ack(push.push(&log, 1, 4));
    let stored = hub_event_bytes(&hub, GROUP);
    let database = hub.dump();

    let checkpoint = log.checkpoint_at(8);
    // Another group's key can only produce that group's checkpoints: the
    // other group's genuine, validly signed checkpoint.
    let foreign = other_log.checkpoint_at(3);
    // (what, events 5..=8 as offered, checkpoint, expected check, expected seq)
    type Case<'a> = (
        &'a str,
        Vec<Vec<u8>>,
        sajja_common::SignedCheckpoint,
        &'a str,
        u64,
    );
    let mut cases: Vec<Case> = sajja_testkit::tamper::batches(5, &log.range(5, 8), &checkpoint)
        .into_iter()
        .map(|t| (t.what, t.events, t.checkpoint, t.check, t.seq))
        .collect();
    cases.push((
        "a checkpoint signed by another group's key",
        log.range(5, 8),
        foreign,
        "checkpoint_wrong_group",
        8,
    ));
    let mut checks = std::collections::BTreeSet::new();
    for (what, events, checkpoint, check, seq) in cases {
        let refused = refusal(push.batch(5, events, &checkpoint));
        assert_eq!(
            (refused.check.as_str(), refused.seq),
            (check, seq),
            "{what}: {refused:?}"
        );
        assert!(
            refused.message.contains(&seq.to_string()),
            "{what}: {}",
            refused.message
        );
        assert_eq!(refused.send_from, 5, "{what}");
        assert_eq!(
            hub_event_bytes(&hub, GROUP),
            stored,
            "{what} must store nothing"
        );
        assert_eq!(hub.dump(), database, "{what} must change no row");
        checks.insert(refused.check);
    }
    assert_eq!(
        checks.len(),
        5,
        "each tampering has its own check: {checks:?}"
    );

    // Naming this group but signed with the other group's key is, to the hub,
    // a forgery: an Ed25519 signature does not say who made it.
    let signed_by_other = checkpoint.checkpoint.clone().sign(&other_log.key);
    let refused = refusal(push.batch(5, log.range(5, 8), &signed_by_other));
    assert_eq!((refused.check.as_str(), refused.seq), ("bad_signature", 8));
    assert_eq!(hub.dump(), database);

    // Nothing was poisoned: the genuine batch is accepted in the same session.
    assert_eq!(ack(push.push(&log, 5, 8)).to_seq, 8);
    assert_eq!(hub_event_bytes(&hub, GROUP), log.range(1, 8));
}

/// Copies a node's SQLite files (`ledger.sqlite*`) into a new directory, as a
/// treasurer backing up an SD card would. No process may be writing.
fn copy_node(node: &Node, to: &std::path::Path) -> Node {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(&node.dir).unwrap() {
        let entry = entry.unwrap();
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with("ledger.sqlite")
        {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
    Node::new(to)
}

// A node restored from an old copy that writes a different history gets a
// FORK on both sides with the evidence; the hub overwrites nothing; resolving
// keeps the accepted branch, which syncs on, while the copy stays refused.
#[test]
fn a_restored_old_copy_that_writes_new_events_is_a_fork_reported_with_evidence_and_resolved() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, node) = hub_and_node(dir.path(), 5, 20);
    node.cli(&["sync", "--once"]);
    let old_copy = copy_node(&node, &dir.path().join("old-copy"));

    for _ in 0..3 {
        node.cli(&["contribute", "1", "30", "--date", "2025-03-01", "--extra"]);
    }
    let out = node.cli(&["sync", "--once"]);
    assert!(out.contains("hub holds seq 30"), "{out}");
    let accepted = hub_event_bytes(&hub, GROUP);
    assert_eq!(accepted, node.event_bytes());

    // The old copy writes two different events at seqs the hub already holds.
    old_copy.cli(&["save", "2", "45", "--date", "2025-03-02"]);
    old_copy.cli(&["save", "3", "45", "--date", "2025-03-02"]);
    let (ok, out) = old_copy.try_cli(&["sync", "--once"]);
    assert!(!ok, "a forked push must fail: {out}");
    assert!(out.contains("FORK") && out.contains(GROUP), "{out}");
    assert_eq!(
        hub_event_bytes(&hub, GROUP),
        accepted,
        "nothing overwritten"
    );

    let list = hub.admin(&["fork", "list"]);
    assert!(
        list.contains(GROUP) && list.contains("UNRESOLVED"),
        "{list}"
    );
    let show = hub.admin(&["fork", "show", GROUP]);
    assert!(
        show.contains("accepted checkpoint: seq 30")
            && show.contains("offered checkpoint:  seq 29"),
        "both signed heads are kept as evidence: {show}"
    );
    // Until an operator decides, the group is frozen, whichever branch pushes.
    node.cli(&["contribute", "2", "30", "--date", "2025-03-03"]);
    let (ok, out) = node.try_cli(&["sync", "--once"]);
    assert!(!ok && out.contains("FORK"), "{out}");
    assert_eq!(hub_event_bytes(&hub, GROUP), accepted);

    let resolved = hub.admin(&["fork", "resolve", GROUP, "--keep", "accepted"]);
    assert!(resolved.contains("fork epoch is now 1"), "{resolved}");
    assert!(hub.admin(&["fork", "list"]).contains("no forks"));
    let out = node.cli(&["sync", "--once"]);
    assert!(out.contains("hub holds seq 31"), "{out}");
    assert_eq!(hub_event_bytes(&hub, GROUP), node.event_bytes());

    let (ok, out) = old_copy.try_cli(&["sync", "--once"]);
    assert!(
        !ok && out.contains("abandoned_branch") && !out.contains("FORK"),
        "{out}"
    );
    assert!(
        hub.admin(&["fork", "list"]).contains("no forks"),
        "not a new fork"
    );
    assert_eq!(hub_event_bytes(&hub, GROUP), node.event_bytes());
}

// A lost node rebuilt from its hub with its key backup holds a log byte for
// byte identical to the lost one, which verifies.
#[test]
fn a_lost_node_is_restored_from_its_hub_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, node) = hub_and_node(dir.path(), 10, 300);
    node.cli(&["sync", "--once"]);
    let key = dir.path().join("key-backup.txt");
    node.cli(&["key-export", path_arg(&key)]);
    let lost = node.event_bytes();
    let lost_status = node.cli(&["status"]);
    // The group's own bundle: a rebuilt Pi connects as the group.
    let bundle = hub.enrol(&["group", GROUP, "--key", &public_key(&node)]);
    std::fs::remove_dir_all(&node.dir).unwrap();

    let out = node.cli(&[
        "restore",
        "--bundle",
        path_arg(&bundle),
        "--key",
        path_arg(&key),
    ]);
    assert!(
        out.contains("not restored"),
        "says member names stay in the village: {out}"
    );
    assert_eq!(node.event_bytes(), lost);
    let verified = node.cli(&["verify"]);
    assert!(verified.starts_with("ok:"), "{verified}");
    let status = node.cli(&["status"]);
    for line in ["public key", "local head"] {
        let pick = |s: &str| s.lines().find(|l| l.starts_with(line)).map(str::to_string);
        assert_eq!(pick(&status), pick(&lost_status), "{line}");
    }
    assert!(status.contains("pending         0"), "{status}");
    // The names never left the village: `member list` says who has none and
    // how to re-enter it, and re-entering writes no event.
    let members = node.cli(&["member", "list"]);
    assert!(
        members.contains("10 members have no name in this node's register")
            && members.contains("sajja-node member edit N --name NAME"),
        "{members}"
    );
    node.cli(&[
        "member",
        "edit",
        "1",
        "--name",
        "สมหญิง ใจดี",
        "--phone",
        "081",
    ]);
    assert_eq!(
        node.event_bytes(),
        lost,
        "a register correction is not an event"
    );
    let members = node.cli(&["member", "list"]);
    assert!(
        members.contains("สมหญิง ใจดี") && members.contains("9 members have no name"),
        "{members}"
    );
    // The restored node carries on: a new event syncs.
    node.cli(&["contribute", "1", "30", "--date", "2025-03-01"]);
    node.cli(&["sync", "--once"]);
    assert_eq!(hub_event_bytes(&hub, GROUP), node.event_bytes());
    let status = node.cli(&["status"]);
    assert!(
        status.contains(" (Thailand time)\n") && !status.contains("unix"),
        "the last sync in Thai clock time: {status}"
    );
}

// A node cut off from its hub for weeks keeps recording; `sync --once` fails
// clearly while the hub is down and completes when it returns; the daemon
// then pushes an event appended by the CLI within seconds.
#[test]
fn a_node_offline_for_weeks_catches_up_when_its_hub_returns() {
    let dir = tempfile::tempdir().unwrap();
    let (mut hub, mut node) = hub_and_node(dir.path(), 0, 0);
    hub.pin_port();
    node.cli(&["sync", "--once"]);
    hub.kill();

    // 1,000 events in four sittings, business dates spread over eight weeks.
    // Two sittings a month: the second payment of a month is extra.
    let header = "date,kind,member,name,birth_year,amount,extra";
    for sitting in 0..4u32 {
        let mut rows = Vec::new();
        for i in 0..250u32 {
            let day = 2 + sitting * 14 + i / 20; // two weeks a sitting
            let date = format!("2025-{:02}-{:02}", 2 + (day - 1) / 28, 1 + (day - 1) % 28);
            rows.push(if sitting == 0 && i < 20 {
                format!("{date},member-join,{},member {},1965,,", i + 1, i + 1)
            } else if i % 5 == 4 {
                format!("{date},save,{},,,100,", i % 20 + 1)
            } else {
                format!("{date},contribute,{},,,30,yes", i % 20 + 1)
            });
        }
        import_rows(
            &node,
            dir.path(),
            &format!("sitting-{sitting}.csv"),
            header,
            &rows,
        );
        let (ok, out) = node.try_cli(&["sync", "--once"]);
        assert!(!ok, "the hub is down: {out}");
        assert!(out.contains("cannot reach the hub"), "a clear error: {out}");
    }
    assert!(node.cli(&["status"]).contains("pending         1000"));

    hub.start();
    let out = node.cli(&["sync", "--once"]);
    assert!(out.contains("hub holds seq 1002"), "{out}");
    assert_eq!(hub_event_bytes(&hub, GROUP), node.event_bytes());

    node.start_daemon();
    node.cli(&["contribute", "1", "30", "--date", "2025-04-01"]);
    let appended = std::time::Instant::now();
    wait_for(
        "the daemon to push the new event",
        std::time::Duration::from_secs(10),
        || (hub.seq(GROUP) == 1003).then_some(()),
    );
    let took = appended.elapsed();
    assert!(
        took < std::time::Duration::from_secs(5),
        "took {took:?}: {}",
        node.daemon_log()
    );
    assert_eq!(hub_event_bytes(&hub, GROUP), node.event_bytes());
}

// Sync by USB stick: a bundle goes through the same accept rule as a push; a
// repeated bundle is harmless; a later bundle imported first is skipped with a
// message and stores nothing; then both, in order, are accepted.
#[test]
fn bundles_imported_twice_or_out_of_order_are_harmless() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::init(&dir.path().join("hub"), "230101", "tambon");
    let node = Node::new(&dir.path().join("node"));
    node.cli(&[
        "init",
        "--group",
        GROUP,
        "--name",
        "กลุ่มไม่มีสัญญาณ",
        "--opened-on",
        "2025-01-01",
    ]);
    hub.enrol(&["group", GROUP, "--key", &public_key(&node)]);
    import_activity(&node, dir.path(), 5, 20);
    let file = |name: &str| dir.path().join(name);
    let import = |bundle: &str| {
        let output = run(hub.command(&["import", path_arg(&file(bundle))]));
        (output.status.success(), text(&output))
    };

    node.cli(&["export", "--to", path_arg(&file("b1"))]);
    let (ok, out) = import("b1");
    assert!(
        ok && out.contains("accepted 230101-007 seq 1..=27"),
        "{out}"
    );
    let out = node.cli(&["import-receipt", path_arg(&file("b1.receipt"))]);
    assert!(out.contains("up to seq 27"), "{out}");
    assert!(node.cli(&["status"]).contains("pending         0"));
    let database = hub.dump();
    let (ok, out) = import("b1");
    assert!(ok, "the same bundle again is harmless: {out}");
    assert_eq!(hub.dump(), database, "and changes nothing");

    for i in 0..5 {
        node.cli(&[
            "contribute",
            &(i + 1).to_string(),
            "30",
            "--date",
            "2025-03-01",
        ]);
    }
    node.cli(&["export", "--to", path_arg(&file("b2"))]);
    for i in 0..5 {
        node.cli(&["save", &(i + 1).to_string(), "20", "--date", "2025-03-02"]);
    }
    node.cli(&["export", "--to", path_arg(&file("b3")), "--from", "33"]);

    let (ok, out) = import("b3");
    assert!(!ok, "a bundle imported too early is not accepted: {out}");
    assert!(
        out.contains("skipped") && out.contains("import the earlier bundle first"),
        "{out}"
    );
    assert_eq!(hub.dump(), database, "and stores nothing");

    let (ok, out) = import("b2");
    assert!(ok && out.contains("seq 28..=32"), "{out}");
    let (ok, out) = import("b2");
    assert!(ok, "{out}");
    let (ok, out) = import("b3");
    assert!(ok && out.contains("seq 33..=37"), "{out}");
    let out = node.cli(&["import-receipt", path_arg(&file("b3.receipt"))]);
    assert!(out.contains("up to seq 37"), "{out}");
    // An old receipt read late does not move the acknowledged seq back.
    node.cli(&["import-receipt", path_arg(&file("b1.receipt"))]);
    assert_eq!(node.acked_seq(), 37);
    assert_eq!(hub_event_bytes(&hub, GROUP), node.event_bytes());
}

/// The batches a `sync --once` run says it put on the wire, as (from, to,
/// event bytes), read from its `sending batch` debug lines.
fn sent_batches(output: &str) -> Vec<(u64, u64, u64)> {
    // Strip the ANSI colours of the log format before reading `key=value`.
    let mut plain = String::with_capacity(output.len());
    let mut chars = output.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
        .lines()
        .filter(|line| line.contains("sending batch"))
        .map(|line| {
            let field = |name: &str| -> u64 {
                line.split_whitespace()
                    .find_map(|w| w.strip_prefix(name))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| panic!("no {name} in {line}"))
            };
            (field("from="), field("to="), field("bytes="))
        })
        .collect()
}

fn total_bytes(events: &[Vec<u8>]) -> u64 {
    events.iter().map(|e| e.len() as u64).sum()
}

// Fifty cuts at random byte offsets during a 5,000-event push lose nothing
// and duplicate nothing: the hub's log ends byte-identical, and each cut
// costs at most the one batch that was in flight.
#[test]
fn a_push_cut_fifty_times_at_random_offsets_completes_and_resends_at_most_a_batch_per_cut() {
    const CUTS: u32 = 50;
    const MAX_BATCH_BYTES: u64 = sajja_proto::MAX_BATCH_BYTES as u64;
    let mut rng = rng_from_env("SAJJA_CUT_SEED", 0x5a_77a);
    let dir = tempfile::tempdir().unwrap();
    let (hub, node) = hub_and_node(dir.path(), 0, 0);
    let proxy = Proxy::start(hub.addr.as_deref().unwrap());
    let through_proxy = hub.enrol(&[
        "group",
        GROUP,
        "--key",
        &public_key(&node),
        "--url",
        &proxy.url(),
    ]);
    node.cli(&["init", "--bundle", path_arg(&through_proxy)]);
    // The bytes of a whole session around a tiny push (TLS handshake, HTTP/2,
    // hello, ack, close), pushing the two events `init` wrote.
    node.cli(&["sync", "--once"]);
    let session = *proxy.connections().last().unwrap();
    let overhead = (session.up_bytes + session.down_bytes) as f64;
    import_long_history(&node, dir.path(), 5_000, &mut rng);
    let log = node.event_bytes();
    assert_eq!(log.len(), 5_000);
    // Wire bytes per event byte, as zstd (which the node's gRPC uses) packs them.
    let pending = log[2..].concat();
    let ratio = zstd::bulk::compress(&pending, 3).unwrap().len() as f64 / pending.len() as f64;
    println!("session overhead {overhead} bytes; {ratio:.3} wire bytes per event byte");

    let (mut cuts, mut attempts) = (0u32, 0u32);
    let (mut resent_total, mut resent_max) = (0u64, 0u64);
    loop {
        attempts += 1;
        assert!(attempts <= 4 * CUTS, "the push makes no progress");
        let hub_before = hub.seq(GROUP) as usize;
        let remaining = total_bytes(&log[hub_before..]) as f64;
        let cut = (cuts < CUTS).then(|| {
            // Far from the end, anywhere in a session of about one batch and a
            // quarter, so an attempt moves the hub on by one batch at most.
            // Near the end, below what the rest needs on the wire (0.85 of the
            // estimate), so the push cannot finish before all fifty cuts.
            let far = overhead + 1.25 * ratio * MAX_BATCH_BYTES as f64;
            let near = overhead / 2.0 + 0.85 * ratio * remaining;
            rng.between(1, far.min(near) as u64)
        });
        proxy.cut_after(cut);
        let seen = proxy.connections().len();
        let mut command = node.command(&["sync", "--once"]);
        command.env("SAJJA_LOG", "warn,sajja_node::sync=debug");
        let output = run(command);
        let out = text(&output);
        let hub_after = hub.seq(GROUP) as usize;
        let batches = sent_batches(&out);

        // The hub's committed position is where every attempt starts (the
        // hello's "send from"), so the event bytes an attempt put on the wire
        // beyond what the hub committed are exactly the bytes a later attempt
        // sends again. A batch logged but cut before it left counts as sent:
        // the measure can only overstate.
        let sent: u64 = batches.iter().map(|b| b.2).sum();
        let committed = total_bytes(&log[hub_before..hub_after]);
        assert!(
            sent >= committed,
            "attempt {attempts}: the hub committed unsent events"
        );
        let resent = sent - committed;
        let uncommitted = batches.iter().filter(|b| b.1 as usize > hub_after).count();
        assert!(
            uncommitted <= 1 && resent <= MAX_BATCH_BYTES,
            "attempt {attempts}: {uncommitted} batches, {resent} bytes lost to the cut: {out}"
        );
        resent_total += resent;
        resent_max = resent_max.max(resent);
        assert_eq!(
            hub_event_bytes(&hub, GROUP),
            log[..hub_after],
            "attempt {attempts}: the hub holds a prefix of the node's log"
        );
        let was_cut = proxy.connections()[seen..].iter().any(|c| c.cut);
        if output.status.success() {
            assert_eq!(
                cuts, CUTS,
                "the push finished early, after {cuts} cuts: {out}"
            );
            assert!(!was_cut);
            break;
        }
        assert!(was_cut, "attempt {attempts} failed without a cut: {out}");
        cuts += 1;
        println!(
            "cut {cuts} after {} bytes: hub seq {hub_before} -> {hub_after}, {resent} event bytes to re-send",
            cut.unwrap_or_default()
        );
    }
    assert_eq!(
        hub_event_bytes(&hub, GROUP),
        log,
        "complete and byte-identical"
    );
    assert_eq!(node.acked_seq(), 5_000);
    println!(
        "{cuts} cuts in {attempts} attempts: {resent_total} event bytes re-sent in all \
         ({} per cut on average, {resent_max} at most; one batch is at most {MAX_BATCH_BYTES})",
        resent_total / u64::from(cuts)
    );
    assert!(resent_total <= u64::from(CUTS) * MAX_BATCH_BYTES);
}

// A hub killed with SIGKILL at random moments while ingesting never loses an
// event it acknowledged, and the node then finishes at the same head.
#[test]
fn a_hub_killed_repeatedly_while_ingesting_loses_nothing_it_acknowledged() {
    let mut rng = rng_from_env("SAJJA_CRASH_SEED", 0xc_2a54);
    let dir = tempfile::tempdir().unwrap();
    let (mut hub, node) = hub_and_node(dir.path(), 0, 0);
    hub.pin_port();
    // Sixteen batches: more than the kills below can let through.
    import_long_history(&node, dir.path(), 15_000, &mut rng);
    let log = node.event_bytes();
    let kills = rng.between(5, 8);
    for kill in 1..=kills {
        let start = hub.seq(GROUP);
        let mut push = node
            .command(&["sync", "--once"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // A fault, not a wait for readiness: half the kills land anywhere from
        // the node's first byte on, half just after the hub commits a batch.
        if rng.next_u64().is_multiple_of(2) {
            std::thread::sleep(std::time::Duration::from_millis(rng.between(0, 80)));
        } else {
            wait_for(
                "the hub to commit a batch",
                std::time::Duration::from_secs(30),
                || (hub.seq(GROUP) > start || push.try_wait().unwrap().is_some()).then_some(()),
            );
            std::thread::sleep(std::time::Duration::from_millis(rng.between(0, 30)));
        }
        assert!(
            push.try_wait().unwrap().is_none(),
            "kill {kill}: the push ended before the kill"
        );
        hub.kill();
        let status = push.wait().unwrap();
        hub.start();
        let acked = node.acked_seq();
        let held = hub_event_bytes(&hub, GROUP);
        println!(
            "kill {kill} (push exited {status}): hub holds seq {} after restart, node acked {acked}",
            held.len()
        );
        assert!(
            held.len() as u64 >= acked,
            "kill {kill}: the node holds an ack for seq {acked} but the hub only seq {}",
            held.len()
        );
        assert_eq!(
            held,
            log[..held.len()],
            "kill {kill}: the hub holds a prefix of the node's log"
        );
    }
    let out = node.cli(&["sync", "--once"]);
    assert!(out.contains("hub holds seq 15000"), "{out}");
    assert_eq!(hub_event_bytes(&hub, GROUP), log);
    assert!(node.cli(&["status"]).contains("pending         0"));
}

// An append by the treasurer's CLI reaches the hub at once: the daemon is
// nudged over its socket, so it need not wait for its poll (set here to ten
// minutes, so only the nudge can explain the push).
#[test]
fn the_daemon_pushes_a_cli_append_without_waiting_for_its_poll() {
    let dir = tempfile::tempdir().unwrap();
    let mut hub = Hub::init(&dir.path().join("hub"), "230101", "tambon");
    hub.start();
    let node_dir = dir.path().join("node");
    let mut node = enrolled_node(&node_dir, &hub, GROUP);
    node.cli(&[
        "member",
        "add",
        "--name",
        "สมชาย",
        "--birth-year",
        "1970",
        "--joined-on",
        "2025-01-01",
    ]);
    node.cli(&["sync", "--once"]);
    let config = dir.path().join("node.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = \"{}\"\n\n[sync]\npoll_interval_s = 600\n",
            node_dir.display()
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.path().join("daemon.log")).unwrap();
    let mut command = std::process::Command::new(bin("sajja-node"));
    command
        .arg("--config")
        .arg(&config)
        .arg("run")
        .env("SAJJA_LOG", "info");
    command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(log);
    node.daemon = Some(command.spawn().unwrap());
    // The daemon's first sync at start-up, then it sleeps on its long poll.
    wait_for(
        "the daemon's start-up sync",
        std::time::Duration::from_secs(20),
        || {
            std::fs::read_to_string(dir.path().join("daemon.log"))
                .unwrap_or_default()
                .contains("synced")
                .then_some(())
        },
    );
    let before = hub.seq(GROUP);
    node.cli(&["contribute", "1", "30", "--date", "2025-04-01"]);
    wait_for(
        "the nudged daemon to push the new event",
        std::time::Duration::from_secs(30),
        || (hub.seq(GROUP) == before + 1).then_some(()),
    );
    assert_eq!(hub_event_bytes(&hub, GROUP), node.event_bytes());
}
