//! Benchmark 3, Catch-up: a node offline for a year (20,000 events) brought up to date
//! by `sajja_node::sync::sync_once` over loopback, through the counting
//! proxy; the time at 64 kbit/s is computed from the bytes counted.

use std::path::Path;
use std::time::Instant;

use anyhow::ensure;
use sajja_node::Store;

use crate::generate::{self, GroupLog, Stop};
use crate::rig::{self, Bytes, Hub, Proxy, median};
use crate::{Options, Scale};

pub const UPLINK_BITS_PER_SECOND: f64 = 64_000.0;

#[derive(Clone, Debug)]
pub struct CatchupReport {
    pub events: u64,
    pub batches: u64,
    pub seconds: Vec<f64>,
    pub bytes: Bytes,
}

impl CatchupReport {
    pub fn uplink_seconds(&self) -> f64 {
        self.bytes.total() as f64 * 8.0 / UPLINK_BITS_PER_SECOND
    }

    pub fn print(&self) {
        let local = median(&self.seconds);
        let slow = self.uplink_seconds();
        println!("== 3. catch-up (sync_once of a year offline) ==");
        println!(
            "  {} events in {} batches: {:.3} s on loopback (median of {}: {:?}); target < 2 s: {} (ratio {:.2})",
            self.events,
            self.batches,
            local,
            self.seconds.len(),
            self.seconds
                .iter()
                .map(|s| (s * 1000.0).round() / 1000.0)
                .collect::<Vec<_>>(),
            if local < 2.0 { "met" } else { "MISSED" },
            local / 2.0
        );
        println!(
            "  bytes: {} up, {} down ({:.1} B/event); at 64 kbit/s: {:.1} s (bytes only, no latency); target < 60 s: {} (ratio {:.2})",
            self.bytes.up,
            self.bytes.down,
            self.bytes.total() as f64 / self.events as f64,
            slow,
            if slow < 60.0 { "met" } else { "MISSED" },
            slow / 60.0
        );
    }
}

/// Writes a node ledger holding `log` exactly (as a node that wrote it would).
pub fn node_store(path: &Path, log: &GroupLog) -> anyhow::Result<Store> {
    let mut store = Store::create_empty(path, log.spec.group.clone(), log.spec.key())?;
    let mut batch = store.begin()?;
    for bytes in &log.events {
        batch.push_bytes(bytes.clone())?;
    }
    batch.commit()?;
    ensure!(store.head() == (log.events.len() as u64, log.head()));
    Ok(store)
}

pub fn run(options: &Options) -> anyhow::Result<CatchupReport> {
    let (members, events) = match options.scale {
        Scale::Full => (1_000, 20_000),
        Scale::Smoke => (60, 500),
    };
    let mut spec = generate::province(1, 3).remove(0);
    spec.members = members;
    let log = generate::group_log(&spec, Stop::Events(events));
    ensure!(log.refused == 0 && log.events.len() == events);
    let dir = options.workdir("catchup")?;
    let mut store = node_store(&dir.path().join("ledger.sqlite"), &log)?;
    let enrol = vec![(spec.group.clone(), spec.key().public())];
    let reps = match options.scale {
        Scale::Full => 5,
        Scale::Smoke => 1,
    };
    let runtime = rig::runtime()?;
    let mut seconds = Vec::new();
    let mut bytes = Bytes::default();
    let mut batches = 0;
    for rep in 0..reps {
        // A fresh hub each time: the node is a year ahead of it.
        let report = runtime.block_on(async {
            let hub = Hub::start(&dir.path().join(format!("hub-{rep}")), &enrol).await?;
            let proxy = Proxy::start(hub.addr).await?;
            let started = Instant::now();
            let report =
                sajja_node::sync::sync_once(&mut store, &proxy.link(&hub, &spec.group)?).await?;
            let elapsed = started.elapsed().as_secs_f64();
            ensure!(
                hub.seq(&spec.group)? == events as u64 && report.pushed_events == events as u64,
                "the hub did not catch up"
            );
            let counted = proxy.bytes();
            drop(proxy);
            hub.stop().await?;
            anyhow::Ok((elapsed, counted, report.batches))
        })?;
        seconds.push(report.0);
        bytes = report.1;
        batches = report.2;
    }
    Ok(CatchupReport {
        events: events as u64,
        batches,
        seconds,
        bytes,
    })
}
