//! "Stale" means no contact: an idle node says hello every `[sync]
//! heartbeat_s`, its tambon hub records the contact, and the relay carries
//! it to the province, so a group that simply recorded nothing stays ok at
//! both levels, and a group whose node is down turns stale at both. Only a
//! child hub may state a contact time, and only for its own tambon's groups.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use sajja_common::SignedCheckpoint;
use sajja_edge::enrolment::Enrolment;
use sajja_proto::v1;
use serde_json::Value;
use tonic::Code;

use crate::support::*;

const GROUP: &str = "230101-007";
const DAY: i64 = 86_400;
/// Long enough for the relay's full pass (60 s), which would repair any
/// missed change, so a slow machine is slow rather than wrong.
const WAIT: Duration = Duration::from_secs(90);

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// A province hub 23 and a tambon hub 230101 relaying to it, both running.
fn province_and_tambon(root: &Path) -> (Hub, Hub) {
    let mut province = Hub::init(&root.join("province"), "23", "province");
    let mut tambon = Hub::init(&root.join("tambon"), "230101", "tambon");
    province.add_child(&tambon);
    province.start();
    tambon.set_parent(&province);
    tambon.start();
    (province, tambon)
}

/// (last contact, last batch) of `group` as `hub` stores them.
fn times(hub: &Hub, group: &str) -> (Option<i64>, Option<i64>) {
    let conn = rusqlite::Connection::open_with_flags(
        hub.database(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open hub database");
    conn.busy_timeout(Duration::from_secs(10))
        .expect("busy timeout");
    conn.query_row(
        "SELECT last_contact_at, last_sync_at FROM groups WHERE group_id = ?1",
        [group],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .expect("the group's row")
}

fn contact(hub: &Hub, group: &str) -> Option<i64> {
    times(hub, group).0
}

/// Rewinds both of `group`'s times at a running hub to `at`, as if nothing,
/// not even a hello, had arrived since.
fn rewind(hub: &Hub, group: &str, at: i64) {
    let conn = rusqlite::Connection::open(hub.database()).expect("open hub database");
    conn.busy_timeout(Duration::from_secs(10))
        .expect("busy timeout");
    conn.execute(
        "UPDATE groups SET last_sync_at = ?2, last_contact_at = ?2 WHERE group_id = ?1",
        rusqlite::params![group, at],
    )
    .expect("rewind the group's times");
}

/// The group's line in `query groups 230101 [extra] --json` at `hub`, if listed.
fn group_line(hub: &Hub, extra: &[&str]) -> Option<Value> {
    let mut args = vec!["query", "groups", "230101", "--json"];
    args.extend_from_slice(extra);
    let output = run(hub.command(&args));
    assert!(output.status.success(), "{args:?}: {}", text(&output));
    let answer: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    answer["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["group"] == GROUP)
        .cloned()
}

/// Asserts how both hubs report the group: `status`, with the contact time
/// each stores, and whether `--stale` lists it.
fn assert_reported(hubs: [&Hub; 2], status: &str) {
    for hub in hubs {
        let line = group_line(hub, &[]).expect("the group is listed");
        // In contact is ok, or at risk by its figures: this group has paid
        // none of this year's dues (collection 0%), which contact cannot change.
        let reported = line["status"].as_str().unwrap_or_default();
        let in_contact = status == "ok" && reported == "at_risk";
        assert!(
            reported == status || in_contact,
            "{}: {line:#}",
            hub.dir.display()
        );
        assert_eq!(
            line["last_contact_at"].as_i64(),
            contact(hub, GROUP),
            "{}",
            hub.dir.display()
        );
        assert_eq!(
            group_line(hub, &["--stale"]).is_some(),
            status == "stale",
            "{}: --stale",
            hub.dir.display()
        );
    }
}

/// `sajja-node run` with `config` (the daemon's `[sync]` timing).
fn start_daemon(node: &mut Node, config: &Path) {
    let log = std::fs::File::options()
        .create(true)
        .append(true)
        .open(node.dir.with_extension("daemon.log"))
        .expect("log file");
    let mut command = node.command(&["run"]);
    command
        .env("SAJJA_NODE_CONFIG", config)
        .env("SAJJA_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    node.daemon = Some(command.spawn().expect("spawn daemon"));
}

/// A log without its terminal colours.
fn plain(log: &str) -> String {
    let mut out = String::new();
    let mut chars = log.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|&c| c == 'm');
        } else {
            out.push(c);
        }
    }
    out
}

fn stop_daemon(node: &mut Node) {
    if let Some(mut child) = node.daemon.take() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

// An idle node's heartbeat is contact: across a month with no new batch, the
// hello alone keeps the group ok at its tambon hub and, relayed with the
// tambon's time, at the province; with the node down, no contact advances
// anywhere and the group turns stale at both, until the node is back.
#[test]
fn an_idle_node_stays_in_contact_at_its_tambon_and_its_province() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let (province, tambon) = province_and_tambon(root);
    let mut node = enrolled_node(&root.join("node"), &tambon, GROUP);
    import_activity(&node, root, 3, 6);
    let head = node.event_bytes().len() as u64;
    let config = root.join("node.toml");
    std::fs::write(&config, "[sync]\npoll_interval_s = 1\nheartbeat_s = 2\n").unwrap();
    node.cli(&["check-config", path_arg(&config)]);
    start_daemon(&mut node, &config);
    wait_for(
        "both hubs to hold the log and agree on its contact",
        WAIT,
        || {
            let at = contact(&tambon, GROUP)?;
            (province.seq(GROUP) == head && contact(&province, GROUP) == Some(at)).then_some(())
        },
    );
    // The contact time is kept to the minute: make sure the next one differs.
    std::thread::sleep(Duration::from_millis(1_100));

    // A month without a batch, as if the treasurer had recorded nothing:
    // the daemon, neither restarted nor given anything to push, says hello.
    let month_ago = now() - 30 * DAY;
    rewind(&province, GROUP, month_ago);
    rewind(&tambon, GROUP, month_ago);
    let rewound = now();
    let at = wait_for("a heartbeat to reach both hubs", WAIT, || {
        let at = contact(&tambon, GROUP).filter(|&at| at >= rewound)?;
        (contact(&province, GROUP) == Some(at)).then_some(at)
    });
    assert!(at <= now(), "never in the future");
    for hub in [&tambon, &province] {
        assert_eq!(hub.seq(GROUP), head, "nothing new was pushed");
        assert_eq!(
            times(hub, GROUP).1,
            Some(month_ago),
            "no batch arrived: only a hello"
        );
    }
    assert_reported([&tambon, &province], "ok");
    let log = plain(&node.daemon_log());
    assert!(log.contains("pushed=0 pulled=0 heartbeat=true"), "{log}");

    // The node is down: weeks pass with no hello, and no contact moves.
    stop_daemon(&mut node);
    rewind(&province, GROUP, month_ago);
    rewind(&tambon, GROUP, month_ago);
    std::thread::sleep(Duration::from_secs(7));
    for hub in [&tambon, &province] {
        assert_eq!(
            contact(hub, GROUP),
            Some(month_ago),
            "{}",
            hub.dir.display()
        );
    }
    assert_reported([&tambon, &province], "stale");

    // Back up: the first hello brings it back at both levels.
    let restarted = now();
    start_daemon(&mut node, &config);
    wait_for("the restarted node's contact at both hubs", WAIT, || {
        let at = contact(&tambon, GROUP).filter(|&at| at >= restarted)?;
        (contact(&province, GROUP) == Some(at)).then_some(())
    });
    assert_reported([&tambon, &province], "ok");
    stop_daemon(&mut node);
}

/// Opens a push as the holder of `bundle` and says hello with `checkpoint`,
/// stating `last_contact_at`: the welcome, or the status that ended the call.
fn hello(
    bundle: &Path,
    checkpoint: &SignedCheckpoint,
    relayed_by: &str,
    last_contact_at: Option<i64>,
) -> Result<v1::Welcome, tonic::Status> {
    let bundle = Enrolment::read(bundle).expect("bundle");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut client = sajja_proto::client::connect(&bundle.hub_url, &bundle.client_tls())
            .await
            .expect("connect over mutual TLS");
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        tx.send(v1::PushRequest {
            message: Some(v1::push_request::Message::Hello(v1::Hello {
                checkpoint: Some(checkpoint.into()),
                relayed_by: relayed_by.to_string(),
                last_contact_at,
            })),
        })
        .await
        .expect("queue hello");
        let mut answers = client
            .push(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await?
            .into_inner();
        let answer = answers.message().await?;
        drop(tx);
        match answer {
            Some(v1::PushResponse {
                message: Some(v1::push_response::Message::Welcome(welcome)),
            }) => Ok(welcome),
            other => panic!("expected a welcome or a status, got {other:?}"),
        }
    })
}

fn denied(result: Result<v1::Welcome, tonic::Status>, says: &str) {
    match result {
        Err(status) if status.code() == Code::PermissionDenied => {
            assert!(status.message().contains(says), "{status:?}");
        }
        other => panic!("expected PERMISSION_DENIED saying {says:?}, got {other:?}"),
    }
}

// Only a child hub states when a group was last in contact, and only for its
// own tambon's groups: a node's certificate cannot state it for its own group
// or touch another's, a tambon hub cannot state it for another tambon's group
// (PERMISSION_DENIED, nothing changes); what a hub states is clamped to the
// receiving hub's clock and never moves a contact time backwards.
#[test]
fn only_a_tambon_hub_states_the_contact_of_its_own_groups() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let (province, tambon) = province_and_tambon(root);
    let mut logs = Vec::new();
    for group in [GROUP, "230101-008"] {
        let node = enrolled_node(&root.join(group), &tambon, group);
        import_activity(&node, &node.dir, 3, 6);
        node.cli(&["sync", "--once"]);
        let held = node.event_bytes().len() as u64;
        wait_for("the province to hold the log", WAIT, || {
            (province.seq(group) == held && contact(&province, group).is_some()).then_some(())
        });
        let log = GroupLog::read(&node, group);
        logs.push((group, log.checkpoint_at(held)));
    }
    let (own_head, other_head) = (&logs[0].1, &logs[1].1);
    // A group of another tambon, enrolled at the province directly.
    let stranger = Node::new(&root.join("230102-001"));
    stranger.cli(&["init", "--group", "230102-001", "--name", "กลุ่มอื่น"]);
    province.enrol(&["group", "230102-001", "--key", &public_key(&stranger)]);
    let stranger_log = GroupLog::read(&stranger, "230102-001");
    let stranger_head = stranger_log.checkpoint_at(stranger_log.events.len() as u64);

    let key = public_key(&Node::new(&root.join(GROUP)));
    let group_bundle = tambon.enrol(&["group", GROUP, "--key", &key]);
    let hub_bundle = province.enrol(&["hub", "230101"]);
    let month_ago = now() - 30 * DAY;
    let before = [
        contact(&tambon, GROUP),
        contact(&tambon, "230101-008"),
        contact(&province, "230102-001"),
    ];

    denied(
        hello(&group_bundle, own_head, "", Some(now())),
        "group 230101-007 may not state the last contact of 230101-007",
    );
    denied(
        hello(&group_bundle, other_head, "", Some(now())),
        "group 230101-007 may not write the log of 230101-008",
    );
    denied(
        hello(&hub_bundle, &stranger_head, "230101", Some(now())),
        "hub 230101 may not write the log of 230102-001",
    );
    assert_eq!(
        [
            contact(&tambon, GROUP),
            contact(&tambon, "230101-008"),
            contact(&province, "230102-001"),
        ],
        before,
        "no refused hello moved a contact time"
    );
    assert_eq!(before[2], None, "the stranger was never in contact");

    // The tambon hub's own certificate, for its own group: a time in the
    // future is clamped to the province's clock.
    rewind(&province, GROUP, month_ago);
    let asked = now();
    let welcome = hello(&hub_bundle, own_head, "230101", Some(asked + DAY)).expect("welcomed");
    assert_eq!(welcome.directive, v1::Directive::UpToDate as i32);
    let at = contact(&province, GROUP).expect("a contact");
    assert!(at > month_ago && at <= now(), "{at}: never in the future");
    // An older time never moves it back.
    hello(&hub_bundle, own_head, "230101", Some(month_ago)).expect("welcomed");
    assert_eq!(contact(&province, GROUP), Some(at));
}
