//! Benchmark 2, Wire cost: bytes a node's uplink carries per event, counted by a TCP
//! proxy between the pusher and the real hub — TLS records of the
//! zstd-compressed gRPC frames, exactly what a 2G/3G modem would send.
//!
//! - A month-end batch of contributions: the group's earlier history is
//!   already at the hub; one session pushes that month's contribution day
//!   (one `ContributionReceived` per member, plus the two matching legs).
//! - A year of mixed activity: a fresh group's whole first year in one session.
//!
//! Each is reported for the batches alone (after the hello) and for the whole
//! session (TLS handshake, HTTP/2 set-up and hello included).

use crate::generate::Batches;
use anyhow::ensure;

use crate::generate::{self, GroupLog, GroupSpec, Stop};
use crate::rig::{self, Bytes, Hub, Proxy, Pusher};
use crate::{Options, Scale};

/// The target for contribution batches, in bytes per event.
pub const TARGET_BYTES_PER_EVENT: f64 = 24.0;

#[derive(Clone, Debug)]
pub struct WireCase {
    pub name: String,
    pub members: u32,
    pub events: u64,
    pub event_bytes: u64,
    pub batches: u64,
    /// Bytes counted while the batches were sent and acknowledged.
    pub batches_bytes: Bytes,
    /// Bytes of the whole session, from TCP connect to the last ack.
    pub session_bytes: Bytes,
}

impl WireCase {
    pub fn up_per_event(&self) -> f64 {
        self.batches_bytes.up as f64 / self.events as f64
    }

    pub fn session_up_per_event(&self) -> f64 {
        self.session_bytes.up as f64 / self.events as f64
    }
}

#[derive(Clone, Debug)]
pub struct WireReport {
    pub cases: Vec<WireCase>,
}

impl WireReport {
    pub fn print(&self) {
        println!("== 2. wire cost (TLS payload after zstd, counted by a TCP proxy) ==");
        for c in &self.cases {
            println!(
                "  {} ({} members): {} events in {} batches; raw event bytes {:.1} B/event",
                c.name,
                c.members,
                c.events,
                c.batches,
                c.event_bytes as f64 / c.events as f64
            );
            println!(
                "    batches: {:.1} B/event up ({} B), {:.1} B/event down; ratio to the 24 B/event target {:.2}{}",
                c.up_per_event(),
                c.batches_bytes.up,
                c.batches_bytes.down as f64 / c.events as f64,
                c.up_per_event() / TARGET_BYTES_PER_EVENT,
                if c.up_per_event() <= TARGET_BYTES_PER_EVENT {
                    " (met)"
                } else {
                    " (MISSED)"
                }
            );
            println!(
                "    whole session incl. TLS handshake and hello: {:.1} B/event up ({} B up, {} B down)",
                c.session_up_per_event(),
                c.session_bytes.up,
                c.session_bytes.down
            );
        }
    }
}

/// Pushes `log` from `from` through `proxy`; the hub must already hold `..from`.
async fn measure(
    name: &str,
    proxy: &Proxy,
    hub: &Hub,
    log: &GroupLog,
    from: u64,
    to: u64,
) -> anyhow::Result<WireCase> {
    let key = log.spec.key();
    let batches = log.batches(from, to);
    let batch_count = batches.len() as u64;
    let start = proxy.bytes();
    let mut pusher = Pusher::open(&proxy.link(hub, &log.spec.group)?).await?;
    let send_from = pusher.hello(&log.checkpoint_at(&key, to)).await?;
    ensure!(
        send_from == from,
        "hub asked for {send_from}, expected {from}"
    );
    let after_hello = proxy.bytes();
    for batch in batches {
        pusher.batch(batch).await?;
    }
    let end = proxy.bytes();
    drop(pusher);
    ensure!(
        hub.seq(&log.spec.group)? == to,
        "hub did not store the batch"
    );
    let range = from as usize - 1..to as usize;
    Ok(WireCase {
        name: name.to_string(),
        members: log.spec.members,
        events: to - from + 1,
        event_bytes: log.events[range].iter().map(|e| e.len() as u64).sum(),
        batches: batch_count,
        batches_bytes: end.since(after_hello),
        session_bytes: end.since(start),
    })
}

pub fn run(options: &Options) -> anyhow::Result<WireReport> {
    let sizes: &[u32] = match options.scale {
        Scale::Full => &[300, 2_000],
        Scale::Smoke => &[60],
    };
    let mut specs: Vec<GroupSpec> = generate::province(2 * sizes.len(), 11);
    for (i, members) in sizes.iter().enumerate() {
        specs[2 * i].members = *members;
        specs[2 * i + 1].members = *members;
    }
    let logs: Vec<GroupLog> = specs
        .iter()
        .map(|s| generate::group_log(s, Stop::Months(12)))
        .collect();
    for log in &logs {
        ensure!(log.refused == 0, "generator produced refused events");
    }
    let dir = options.workdir("wire")?;
    let enrol: Vec<_> = specs
        .iter()
        .map(|s| (s.group.clone(), s.key().public()))
        .collect();
    rig::runtime()?.block_on(async {
        let hub = Hub::start(dir.path(), &enrol).await?;
        let proxy = Proxy::start(hub.addr).await?;
        let mut cases = Vec::new();
        for pair in logs.chunks(2) {
            let (month, year) = (&pair[0], &pair[1]);
            // The history before the seventh month's contribution day, unmeasured.
            let month_index = 6.min(month.month_starts.len() - 1);
            let from = month.month_starts[month_index];
            let mut pusher = Pusher::open(&hub.link(&month.spec.group)?).await?;
            pusher
                .hello(&month.checkpoint_at(&month.spec.key(), from - 1))
                .await?;
            for batch in month.batches(1, from - 1) {
                pusher.batch(batch).await?;
            }
            drop(pusher);
            // The contribution day: one per active member plus two matching legs.
            let contributions = month.events[from as usize - 1..]
                .iter()
                .take_while(|bytes| {
                    matches!(
                        sajja_common::Event::decode(bytes).map(|e| e.body),
                        Ok(sajja_common::Body::ContributionReceived { .. })
                    )
                })
                .count() as u64;
            let to = from + contributions - 1;
            cases.push(
                measure(
                    "month-end contribution batch",
                    &proxy,
                    &hub,
                    month,
                    from,
                    to,
                )
                .await?,
            );
            cases.push(
                measure(
                    "a year of mixed activity",
                    &proxy,
                    &hub,
                    year,
                    1,
                    year.events.len() as u64,
                )
                .await?,
            );
        }
        drop(proxy);
        hub.stop().await?;
        Ok(WireReport { cases })
    })
}
