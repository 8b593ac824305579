//! Faults the field brings, with real processes and real files: each test
//! damages a stopped process's file, restarts it, and checks that the fault
//! is reported, that nothing acknowledged is lost or changed, and that the
//! system converges once a good copy is offered.

use std::time::Duration;

use serde_json::Value;

use crate::support::*;

const GROUP: &str = "230101-007";

fn restart(hub: &mut Hub) -> String {
    let _ = std::fs::remove_file(hub.dir.join("data/metrics.addr"));
    hub.start();
    metrics_addr(hub)
}

fn query_json(hub: &Hub, args: &[&str]) -> Value {
    let output = run(hub.command(args));
    assert!(output.status.success(), "{args:?}: {}", text(&output));
    serde_json::from_slice(&output.stdout).expect("JSON")
}

/// The group's status in `query groups 230101`.
fn group_status(hub: &Hub) -> String {
    let answer = query_json(hub, &["query", "groups", "230101", "--json"]);
    let line = answer["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["group"] == GROUP)
        .cloned()
        .expect("the group is listed");
    line["status"].as_str().expect("status").to_string()
}

/// The `damaged` alerts of `query alerts 230101`.
fn damaged_alerts(hub: &Hub) -> Vec<Value> {
    let answer = query_json(hub, &["query", "alerts", "230101", "--json"]);
    answer["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .filter(|a| a["kind"] == "damaged")
        .cloned()
        .collect()
}

/// Flips one bit in the middle of the stored bytes of `seq` of the group's
/// log, in the file of a stopped hub: what a failing SD card or disk does.
fn flip_stored_byte(hub: &Hub, seq: u64) {
    let conn = rusqlite::Connection::open(hub.database()).expect("open the hub's database");
    let mut bytes: Vec<u8> = conn
        .query_row(
            "SELECT e.bytes FROM events e JOIN groups g ON g.gid = e.gid
             WHERE g.group_id = ?1 AND e.seq = ?2",
            rusqlite::params![GROUP, seq],
            |r| r.get(0),
        )
        .expect("the stored event");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    let changed = conn
        .execute(
            "UPDATE events SET bytes = ?3 WHERE seq = ?2
             AND gid = (SELECT gid FROM groups WHERE group_id = ?1)",
            rusqlite::params![GROUP, seq, bytes],
        )
        .expect("flip the byte");
    assert_eq!(changed, 1);
}

// A byte of event 10 flips in a tambon hub's database while it is down. At
// restart the hub says so everywhere: `/health` 503 naming group and seq,
// `query groups` damaged, a `damaged` alert, the damaged gauge; a push of
// new events that skips the damaged range is held by name, and a restore
// from this hub refuses the damaged log instead of serving bad bytes. The
// node's next sync is asked to send from seq 10; its bytes hash to the
// hub's chain, so they repair it: byte-identical to the node, healthy,
// status ok, and the event written meanwhile accepted too.
#[test]
fn a_byte_flipped_in_a_hubs_database_is_reported_held_and_repaired_by_the_nodes_next_push() {
    let dir = tempfile::tempdir().unwrap();
    let mut hub = Hub::init(&dir.path().join("hub"), "230101", "tambon");
    enable_metrics(&hub);
    let _ = restart(&mut hub);
    hub.pin_port();
    let node = enrolled_node(&dir.path().join("node"), &hub, GROUP);
    import_activity(&node, dir.path(), 5, 20);
    node.cli(&["sync", "--once"]);
    let acknowledged = node.event_bytes();
    assert!(acknowledged.len() > 10);
    assert_eq!(hub_event_bytes(&hub, GROUP), acknowledged);
    let key = dir.path().join("key-backup.txt");
    node.cli(&["key-export", path_arg(&key)]);

    hub.kill();
    flip_stored_byte(&hub, 10);
    let addr = restart(&mut hub);

    let (code, body) = get(&addr, "/health");
    assert_eq!(code, 503, "{body}");
    assert!(
        body.contains("group 230101-007 is damaged from seq 10"),
        "names group and seq: {body}"
    );
    assert_eq!(group_status(&hub), "damaged");
    let alerts = damaged_alerts(&hub);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["subject"], GROUP);
    assert_eq!(alerts[0]["seq"], 10);
    let (_, metrics) = get(&addr, "/metrics");
    assert!(
        metrics.contains("sajja_groups{status=\"damaged\"} 1"),
        "{metrics}"
    );
    assert!(hub.log().contains("log damaged"), "{}", hub.log());

    // A new event, pushed on its own past the damaged range: held.
    node.cli(&["contribute", "1", "30", "--date", "2025-03-01"]);
    let log = GroupLog::read(&node, GROUP);
    let head = log.events.len() as u64;
    let mut raw = RawHub::as_group(&hub, &node, GROUP);
    let mut push = raw.open();
    let welcome = push.hello(&log.checkpoint_at(head));
    let position = welcome.position.expect("position");
    assert_eq!(position.seq, 9, "the hub holds the verified part");
    assert_eq!(welcome.send_from, 10, "and asks for the damaged range");
    let held = refusal(push.push(&log, head, head));
    assert_eq!(held.check, "damaged", "{held:?}");
    assert!(
        held.message
            .contains("group 230101-007 is damaged at this hub from seq 10"),
        "{}",
        held.message
    );
    assert_eq!(held.send_from, 10);
    drop(push);
    drop(raw);
    assert_eq!(hub.seq(GROUP), head - 1, "nothing was stored");

    // A restore from the damaged hub refuses the log rather than serve it.
    let rebuilt = Node::new(&dir.path().join("rebuilt"));
    let bundle = hub.enrol(&["group", GROUP, "--key", &public_key(&node)]);
    let (ok, out) = rebuilt.try_cli(&[
        "restore",
        "--bundle",
        path_arg(&bundle),
        "--key",
        path_arg(&key),
    ]);
    assert!(!ok, "{out}");
    assert!(out.contains("damaged from seq 10"), "{out}");

    // The node's own sync repairs the log and delivers the new event.
    node.cli(&["sync", "--once"]);
    assert_eq!(hub_event_bytes(&hub, GROUP), node.event_bytes());
    assert_eq!(node.event_bytes()[..acknowledged.len()], acknowledged[..]);
    let (code, body) = get(&addr, "/health");
    assert_eq!(code, 200, "{body}");
    // Repaired: no longer damaged (its figures, unpaid dues, make it at risk).
    assert!(
        ["ok", "at_risk"].contains(&group_status(&hub).as_str()),
        "{}",
        group_status(&hub)
    );
    assert!(damaged_alerts(&hub).is_empty());
    assert!(hub.log().contains("damaged log repaired"), "{}", hub.log());
    let verified: u64 = rusqlite::Connection::open(hub.database())
        .unwrap()
        .query_row("SELECT count(*) FROM repairs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(verified, 1, "the repair is recorded");
}

// Damage the start-up pass does not reach (it reads only each log's last
// event here): a restore from the hub meanwhile fails naming the damage,
// never with a ledger error about bytes it was handed, and the background
// scrub marks the log within its first pass.
#[test]
fn damage_beyond_the_start_up_pass_is_never_served_and_the_background_scrub_finds_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut hub = Hub::init(&dir.path().join("hub"), "230101", "tambon");
    enable_metrics(&hub);
    let mut config = std::fs::read_to_string(hub.config()).expect("read hub.toml");
    config.push_str("\n[scrub]\nstartup_events = 1\nevents_per_second = 1000\n");
    std::fs::write(hub.config(), config).expect("write hub.toml");
    let _ = restart(&mut hub);
    hub.pin_port();
    let node = enrolled_node(&dir.path().join("node"), &hub, GROUP);
    import_activity(&node, dir.path(), 5, 20);
    node.cli(&["sync", "--once"]);
    let key = dir.path().join("key-backup.txt");
    node.cli(&["key-export", path_arg(&key)]);

    hub.kill();
    flip_stored_byte(&hub, 10);
    let addr = restart(&mut hub);

    let rebuilt = Node::new(&dir.path().join("rebuilt"));
    let bundle = hub.enrol(&["group", GROUP, "--key", &public_key(&node)]);
    let (ok, out) = rebuilt.try_cli(&[
        "restore",
        "--bundle",
        path_arg(&bundle),
        "--key",
        path_arg(&key),
    ]);
    assert!(!ok, "{out}");
    // The hub's own check of the bytes it serves, or the scrub's mark if it
    // came first: either names the damage.
    assert!(
        out.contains("does not hash to its head") || out.contains("damaged from seq 10"),
        "names the damage: {out}"
    );

    let body = wait_for("the background scrub", Duration::from_secs(60), || {
        let (code, body) = get(&addr, "/health");
        (code == 503).then_some(body)
    });
    assert!(
        body.contains("group 230101-007 is damaged from seq 10"),
        "{body}"
    );
    assert_eq!(group_status(&hub), "damaged");
}

/// Finding 8: a tambon hub whose relay is in backoff (the province was down
/// for a while) relays a new commit as soon as the province is back, not
/// when the backoff timer ends.
#[test]
fn a_relay_in_backoff_is_woken_by_a_commit_once_the_province_returns() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut province = Hub::init(&root.join("province"), "23", "province");
    let mut tambon = Hub::init(&root.join("tambon"), "230101", "tambon");
    province.add_child(&tambon);
    province.start();
    province.pin_port();
    tambon.set_parent(&province);
    tambon.start();
    let group = "230101-001";
    let node = enrolled_node(&root.join("node"), &tambon, group);
    node.cli(&["sync", "--once"]);
    let relayed = |hub: &Hub| hub.seq(group) == node.event_bytes().len() as u64;
    wait_for(
        "the province to hold the log",
        Duration::from_secs(20),
        || relayed(&province).then_some(()),
    );

    province.kill();
    node.cli(&[
        "member",
        "add",
        "--name",
        "สมหญิง",
        "--birth-year",
        "1960",
        "--joined-on",
        "2025-01-01",
    ]);
    node.cli(&["sync", "--once"]);
    // Failures double the wait: 1, 2, 4, 8, then 16 s before the next try.
    wait_for(
        "the relay to back off 16 s",
        Duration::from_secs(60),
        || tambon.log().contains("retry_in_s=16").then_some(()),
    );
    let backed_off = std::time::Instant::now();
    province.start();
    node.cli(&[
        "member",
        "add",
        "--name",
        "สมชาย",
        "--birth-year",
        "1962",
        "--joined-on",
        "2025-01-01",
    ]);
    node.cli(&["sync", "--once"]);
    wait_for("the province to catch up", Duration::from_secs(30), || {
        relayed(&province).then_some(())
    });
    assert!(
        backed_off.elapsed() < Duration::from_secs(10),
        "caught up {:?} after the relay scheduled a retry in 16 s: a commit must wake it",
        backed_off.elapsed()
    );
}

/// Finding 6: a hub whose writes fail (here a file-size limit stands in for
/// a full disk) says so on `/health` instead of "ok", acknowledges nothing it
/// did not store, and takes the rest once it has room again.
#[test]
fn a_hub_that_cannot_write_answers_503_and_catches_up_once_it_can() {
    let dir = tempfile::tempdir().unwrap();
    let mut hub = Hub::init(&dir.path().join("hub"), "230101", "tambon");
    enable_metrics(&hub);
    let _ = restart(&mut hub);
    hub.pin_port();
    let node = enrolled_node(&dir.path().join("node"), &hub, GROUP);
    node.cli(&["sync", "--once"]);
    hub.kill();
    // No file the hub writes may grow past 1 MiB: its WAL fills up first.
    let _ = std::fs::remove_file(hub.dir.join("data/metrics.addr"));
    hub.start_with(|command| {
        use std::os::unix::process::CommandExt;
        // SAFETY: setrlimit is async-signal-safe; nothing else runs here.
        unsafe {
            command.pre_exec(|| {
                let limit = rustix::process::Rlimit {
                    current: Some(1024 * 1024),
                    maximum: Some(1024 * 1024),
                };
                rustix::process::setrlimit(rustix::process::Resource::Fsize, limit)
                    .map_err(std::io::Error::from)
            });
        }
    });
    let addr = metrics_addr(&hub);
    assert_eq!(get(&addr, "/health").0, 200);
    let mut rng = rng_from_env("SAJJA_FAULT_SEED", 15);
    import_long_history(&node, dir.path(), 8_000, &mut rng);
    let pushed = run(node.command(&["sync", "--once"]));
    assert!(
        !pushed.status.success(),
        "the hub could not take it all: {}",
        text(&pushed)
    );
    let (code, body) = get(&addr, "/health");
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("writes failing since"), "{body}");
    // The probe a container HEALTHCHECK runs says the same, and fails.
    let probe = run(hub.command(&["health"]));
    assert_eq!(probe.status.code(), Some(1), "{}", text(&probe));
    assert!(
        text(&probe).contains("writes failing since"),
        "{}",
        text(&probe)
    );
    let held = hub.seq(GROUP);
    assert!(held < node.event_bytes().len() as u64, "held {held}");
    assert_eq!(
        hub_event_bytes(&hub, GROUP)[..],
        node.event_bytes()[..held as usize],
        "what the hub holds is exactly what the node sent"
    );

    // Room again: a restart without the limit, and the node's next sync.
    hub.kill();
    let addr = restart(&mut hub);
    node.cli(&["sync", "--once"]);
    assert_eq!(hub_event_bytes(&hub, GROUP), node.event_bytes());
    assert_eq!(get(&addr, "/health").0, 200);
    let probe = run(hub.command(&["health"]));
    assert!(probe.status.success(), "{}", text(&probe));
}
