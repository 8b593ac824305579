//! The hub's operations endpoint (`metrics_listen`): `/metrics` in the
//! Prometheus text format counts what really happened on the wire, and
//! `/health` answers while the database does.

use std::io::{Read, Write};
use std::time::Duration;

use crate::support::*;

/// The value of the sample named exactly `series` (name and labels).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

fn value(text: &str, series: &str) -> f64 {
    sample(text, series).unwrap_or_else(|| panic!("{series} missing:\n{text}"))
}

// Events ingested equal the events pushed (a re-sent batch adds none), a
// tampered batch is counted under its check, every batch is timed, groups are
// counted by status, and /health answers 200 while the database does.
#[test]
fn metrics_count_pushed_events_refusals_and_groups() {
    let dir = tempfile::tempdir().unwrap();
    let mut hub = Hub::init(&dir.path().join("hub"), "230101", "tambon");
    enable_metrics(&hub);
    hub.start();
    let addr = metrics_addr(&hub);

    // A real node pushes its whole log.
    let node = enrolled_node(&dir.path().join("node-007"), &hub, "230101-007");
    import_activity(&node, dir.path(), 5, 40);
    node.cli(&["sync", "--once"]);
    let pushed = node.event_bytes().len() as f64;
    assert_eq!(hub.seq("230101-007") as f64, pushed);

    // Another group's log goes over the raw protocol: one good batch, one
    // with a flipped byte, then the good batch again.
    let other = enrolled_node(&dir.path().join("node-008"), &hub, "230101-008");
    import_activity(&other, &dir.path().join("node-008"), 3, 6);
    let log = GroupLog::read(&other, "230101-008");
    let mut raw = RawHub::as_group(&hub, &other, "230101-008");
    let mut push = raw.open();
    push.hello(&log.checkpoint_at(8));
    ack(push.push(&log, 1, 4));
    let mut flipped = log.range(5, 8);
    // The first byte of the business date's varint: still decodes, one day
    // off, so only the chain can tell.
    flipped[1][15] ^= 0x01;
    let refused = refusal(push.batch(5, flipped, &log.checkpoint_at(8)));
    assert_eq!(refused.check, "hash_mismatch", "{refused:?}");
    ack(push.push(&log, 1, 4));

    let (status, text) = get(&addr, "/metrics");
    assert_eq!(status, 200, "{text}");
    assert_eq!(value(&text, "sajja_events_ingested_total"), pushed + 4.0);
    assert_eq!(
        value(
            &text,
            "sajja_batches_refused_total{check=\"hash_mismatch\"}"
        ),
        1.0
    );
    let refusals: f64 = text
        .lines()
        .filter(|l| l.starts_with("sajja_batches_refused_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    let acked = value(&text, "sajja_batches_acked_total");
    // The node's batches (at least one) and the raw client's two.
    assert!(acked >= 3.0, "{text}");
    assert_eq!(
        value(&text, "sajja_ingest_batch_seconds_count"),
        acked + refusals,
        "every batch is timed, acked or refused:\n{text}"
    );
    assert_eq!(
        value(&text, "sajja_ingest_batch_seconds_bucket{le=\"+Inf\"}"),
        acked + refusals
    );
    assert!(
        value(&text, "sajja_ingest_batch_seconds_sum") > 0.0,
        "{text}"
    );
    // In contact and not forked: ok, or at risk by their figures (these
    // test groups pay none of the dues their rules set).
    assert_eq!(
        value(&text, "sajja_groups{status=\"ok\"}")
            + value(&text, "sajja_groups{status=\"at_risk\"}"),
        2.0
    );
    assert_eq!(value(&text, "sajja_groups{status=\"forked\"}"), 0.0);
    assert_eq!(value(&text, "sajja_groups{status=\"stale\"}"), 0.0);
    assert!(
        !text.contains("sajja_relay"),
        "a hub without a parent has no relay metrics:\n{text}"
    );
    // When the server certificate and the CA expire, as the files say: in
    // the future (read back from the PEM the hub serves).
    let expiry = value(
        &text,
        "sajja_tls_certificate_expiry_timestamp_seconds{certificate=\"server\"}",
    );
    assert!(expiry > 1.8e9, "{text}");
    assert!(
        value(
            &text,
            "sajja_tls_certificate_expiry_timestamp_seconds{certificate=\"ca\"}"
        ) > 1.8e9
    );

    assert_eq!(get(&addr, "/health"), (200, "ok\n".to_string()));
    assert_eq!(get(&addr, "/nothing").0, 404);
}

// The endpoint bounds what it reads: a request head over 8 KiB is answered
// 431 without waiting for its end, and clients that connect and say nothing
// are cut off after the read timeout, so they cannot hold every connection
// slot: a request behind a full set of them is still answered.
#[test]
fn the_metrics_endpoint_bounds_requests() {
    let dir = tempfile::tempdir().unwrap();
    let mut hub = Hub::init(&dir.path().join("hub"), "230101", "tambon");
    enable_metrics(&hub);
    hub.start();
    let addr = metrics_addr(&hub);

    let mut stream = std::net::TcpStream::connect(&addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    let long = format!(
        "GET /metrics HTTP/1.1\r\nX-Padding: {}\r\n",
        "a".repeat(9_000)
    );
    stream.write_all(long.as_bytes()).expect("send request");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    assert!(response.starts_with("HTTP/1.1 431 "), "{response:?}");

    // As many silent clients as the endpoint serves at once (MAX_CONNECTIONS).
    let mut silent: Vec<std::net::TcpStream> = (0..16)
        .map(|_| std::net::TcpStream::connect(&addr).expect("connect"))
        .collect();
    let started = std::time::Instant::now();
    assert_eq!(get(&addr, "/health").0, 200);
    assert!(started.elapsed() < Duration::from_secs(15));
    let first = &mut silent[0];
    first
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    let mut nothing = Vec::new();
    assert_eq!(
        first.read_to_end(&mut nothing).expect("closed by the hub"),
        0,
        "a silent client is closed without an answer"
    );
}

// A tambon hub reports, per log, how far its province hub lags behind it,
// which reaches 0 once the relay has delivered everything, and when the last
// clean relay round was.
#[test]
fn a_tambon_hub_reports_relay_lag_per_log() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut province = Hub::init(&root.join("province"), "23", "province");
    let mut tambon = Hub::init(&root.join("tambon"), "230101", "tambon");
    province.add_child(&tambon);
    province.start();
    enable_metrics(&tambon);
    tambon.set_parent(&province);
    tambon.start();
    let addr = metrics_addr(&tambon);
    let node = enrolled_node(&root.join("node"), &tambon, "230101-007");
    import_activity(&node, root, 5, 30);
    node.cli(&["sync", "--once"]);
    let events = node.event_bytes().len();

    let text = wait_for(
        "the relay lag of 230101-007 to reach 0",
        Duration::from_secs(30),
        || {
            let (_, text) = get(&addr, "/metrics");
            (hub_event_bytes(&province, "230101-007").len() == events
                && sample(&text, "sajja_relay_lag_events{log=\"230101-007\"}") == Some(0.0))
            .then_some(text)
        },
    );
    assert_eq!(
        value(&text, "sajja_relay_lag_events{log=\"230101-000\"}"),
        0.0,
        "the hub's own log is relayed and measured too:\n{text}"
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    let last = value(&text, "sajja_relay_last_success_timestamp_seconds");
    assert!(now - last < 60.0, "last success {last}, now {now}");
}
