//! Benchmark 1, Hub ingest: many nodes push their logs at once over gRPC + TLS into a
//! real hub; events/s against the raw ceiling of the same event bytes
//! inserted into a bare SQLite table (WAL, synchronous=FULL), one transaction
//! per batch. Also measured in the same run, to show where time goes: the
//! same batches through `Ingest::batch` directly (no gRPC, TLS or zstd), and
//! the accept rule's phases (decode + chain, signature, ledger, books clone)
//! timed one at a time.

use crate::generate::Batches;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, ensure};
use sajja_common::ledger::reversal_target;
use sajja_common::verify::ChainVerifier;
use sajja_common::{Books, Event, SignedCheckpoint};
use sajja_hub::ingest::accept::{BatchOutcome, Ingest};
use sajja_proto::convert;
use sajja_proto::v1;

use crate::generate::{self, GroupLog, Stop};
use crate::rig::{self, Hub, Pusher, median};
use crate::{Options, Scale, repetitions};

/// The direct path and the phase timings use at most this many events, so a
/// full-scale run does not spend its time re-measuring what a subset shows.
pub const MAX_DIRECT_EVENTS: usize = 2_000_000;

#[derive(Clone, Debug, Default)]
pub struct Phases {
    pub events: u64,
    pub decode_and_chain_seconds: f64,
    pub signature_seconds: f64,
    pub ledger_seconds: f64,
    pub books_clone_seconds: f64,
}

#[derive(Clone, Debug)]
pub struct IngestReport {
    pub groups: usize,
    pub events_per_group: usize,
    pub events: u64,
    pub event_bytes: u64,
    pub batches: u64,
    pub clients: usize,
    pub generate_seconds: f64,
    pub grpc_seconds: Vec<f64>,
    pub raw_seconds: Vec<f64>,
    pub direct_events: u64,
    pub direct_seconds: f64,
    pub phases: Phases,
    pub refused_while_generating: u64,
}

impl IngestReport {
    pub fn grpc_events_per_second(&self) -> f64 {
        self.events as f64 / median(&self.grpc_seconds)
    }

    pub fn raw_events_per_second(&self) -> f64 {
        self.events as f64 / median(&self.raw_seconds)
    }

    pub fn print(&self) {
        let grpc = self.grpc_events_per_second();
        let raw = self.raw_events_per_second();
        let direct = self.direct_events as f64 / self.direct_seconds;
        println!("== 1. hub ingest (gRPC + TLS + zstd, full verification) ==");
        println!(
            "  load: {} groups x {} events = {} events, {} event bytes ({:.1} B/event), {} batches, {} concurrent pushers; generated in {:.1} s",
            self.groups,
            self.events_per_group,
            self.events,
            self.event_bytes,
            self.event_bytes as f64 / self.events as f64,
            self.batches,
            self.clients,
            self.generate_seconds
        );
        println!(
            "  hub ingest over gRPC: {:.0} events/s (median of {} runs: {:?} s)",
            grpc,
            self.grpc_seconds.len(),
            rounded(&self.grpc_seconds)
        );
        println!(
            "  raw ceiling (bare SQLite, WAL, synchronous=FULL, 1 tx/batch): {:.0} events/s (median of {}: {:?} s)",
            raw,
            self.raw_seconds.len(),
            rounded(&self.raw_seconds)
        );
        println!(
            "  ratio to ceiling: {:.3} (aim >= 0.25); target >= 100000 events/s: {}",
            grpc / raw,
            if grpc >= 100_000.0 { "met" } else { "MISSED" }
        );
        println!(
            "  same batches through Ingest::batch directly (no gRPC/TLS/zstd), {} events: {:.0} events/s",
            self.direct_events, direct
        );
        let p = &self.phases;
        let per = |s: f64| s * 1e6 / p.events.max(1) as f64;
        println!(
            "  accept-rule phases over {} events (us/event): decode+chain {:.2}, checkpoint signature {:.2}, ledger apply {:.2}, books clone {:.2}; whole direct ingest {:.2}",
            p.events,
            per(p.decode_and_chain_seconds),
            per(p.signature_seconds),
            per(p.ledger_seconds),
            per(p.books_clone_seconds),
            self.direct_seconds * 1e6 / self.direct_events.max(1) as f64
        );
        println!(
            "  check: every group's hub position equals its log's seq and head; {} events refused while generating",
            self.refused_while_generating
        );
    }
}

fn rounded(values: &[f64]) -> Vec<f64> {
    values.iter().map(|v| (v * 100.0).round() / 100.0).collect()
}

pub fn sizes(options: &Options) -> (usize, usize) {
    let (groups, events) = match options.scale {
        Scale::Full => (2_000, 5_000),
        Scale::Smoke => (4, 400),
    };
    (
        options.groups.unwrap_or(groups),
        options.events.unwrap_or(events),
    )
}

pub fn run(options: &Options) -> anyhow::Result<IngestReport> {
    let (groups, events_per_group) = sizes(options);
    let specs = generate::province(groups, 7);
    // A small group's 5,000 events run for years: opened early enough that
    // none is dated after today, which hubs refuse.
    let (logs, generate_seconds) = rig::seconds(|| {
        generate::province_logs_opened(
            &specs,
            Stop::Events(events_per_group),
            generate::day_of(generate::LONG_HISTORY_OPENED_ON),
        )
    });
    generate::ensure_past(&logs)?;
    let events: u64 = logs.iter().map(|l| l.events.len() as u64).sum();
    let event_bytes: u64 = logs.iter().map(|l| l.bytes() as u64).sum();
    let refused: u64 = logs.iter().map(|l| l.refused).sum();
    ensure!(
        events == (groups * events_per_group) as u64,
        "the generator made {events} events, not {groups} x {events_per_group}"
    );
    let batches_per_group: Vec<Vec<v1::Batch>> = logs
        .iter()
        .map(|l| l.batches(1, l.events.len() as u64))
        .collect();
    let batches: u64 = batches_per_group.iter().map(|b| b.len() as u64).sum();
    drop(batches_per_group);

    let mut grpc_seconds = Vec::new();
    let mut raw_seconds = Vec::new();
    let first = grpc_run(options, &logs)?;
    grpc_seconds.push(first);
    raw_seconds.push(raw_run(options, &logs)?);
    for _ in 1..repetitions(options.scale, first) {
        grpc_seconds.push(grpc_run(options, &logs)?);
        raw_seconds.push(raw_run(options, &logs)?);
    }

    // The direct path and phases over a prefix of the groups.
    let mut subset = 0;
    let mut subset_events = 0;
    for log in &logs {
        if subset > 0 && subset_events + log.events.len() > MAX_DIRECT_EVENTS {
            break;
        }
        subset += 1;
        subset_events += log.events.len();
    }
    let (direct_events, direct_seconds) = direct_run(options, &logs[..subset])?;
    let phases = phases(&logs[..subset])?;
    Ok(IngestReport {
        groups,
        events_per_group,
        events,
        event_bytes,
        batches,
        clients: options.clients,
        generate_seconds,
        grpc_seconds,
        raw_seconds,
        direct_events,
        direct_seconds,
        phases,
        refused_while_generating: refused,
    })
}

type Work = Mutex<Option<(SignedCheckpoint, Vec<v1::Batch>)>>;

/// Pushes every log through a fresh real hub; returns the seconds from the
/// first connection to the last acknowledgement, after checking the hub holds
/// every log exactly.
fn grpc_run(options: &Options, logs: &[GroupLog]) -> anyhow::Result<f64> {
    let dir = options.workdir("ingest")?;
    let enrol: Vec<_> = logs
        .iter()
        .map(|l| (l.spec.group.clone(), l.spec.key().public()))
        .collect();
    let work: Arc<Vec<Work>> = Arc::new(
        logs.iter()
            .map(|l| {
                let head = l.checkpoint_at(&l.spec.key(), l.events.len() as u64);
                Mutex::new(Some((head, l.batches(1, l.events.len() as u64))))
            })
            .collect(),
    );
    let runtime = rig::runtime()?;
    runtime.block_on(async {
        let hub = Hub::start(dir.path(), &enrol).await?;
        // Each group's node has its own certificate, issued before the clock starts.
        let links = Arc::new(
            logs.iter()
                .map(|l| hub.link(&l.spec.group))
                .collect::<anyhow::Result<Vec<_>>>()?,
        );
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let mut workers = Vec::new();
        for _ in 0..options.clients.max(1) {
            let (work, next, links) = (work.clone(), next.clone(), links.clone());
            workers.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(slot) = work.get(i) else {
                        return anyhow::Ok(());
                    };
                    let (head, batches) = slot
                        .lock()
                        .map_err(|_| anyhow::anyhow!("poisoned"))?
                        .take()
                        .context("each group is pushed once")?;
                    let mut pusher = Pusher::open(&links[i]).await?;
                    let from = pusher.hello(&head).await?;
                    ensure!(from == 1, "a fresh hub asked for seq {from}");
                    for batch in batches {
                        pusher.batch(batch).await?;
                    }
                }
            }));
        }
        for worker in workers {
            worker.await??;
        }
        let elapsed = started.elapsed().as_secs_f64();
        for log in logs {
            let ingest = hub.ingest.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
            let position = ingest.position(&log.spec.group)?;
            ensure!(
                position.seq == log.events.len() as u64 && position.head == log.head(),
                "hub holds {} of group {}'s {} events",
                position.seq,
                log.spec.group,
                log.events.len()
            );
        }
        hub.stop().await?;
        Ok(elapsed)
    })
}

/// The same event bytes and hashes, one transaction per batch, into a bare table.
fn raw_run(options: &Options, logs: &[GroupLog]) -> anyhow::Result<f64> {
    let dir = options.workdir("ingest-raw")?;
    let mut conn = rig::raw_sqlite(&dir.path().join("raw.sqlite"))?;
    let cuts: Vec<Vec<(u64, usize)>> = logs
        .iter()
        .map(|l| {
            l.batches(1, l.events.len() as u64)
                .iter()
                .map(|b| (b.from_seq, b.events.len()))
                .collect()
        })
        .collect();
    let started = Instant::now();
    for (gid, (log, cuts)) in logs.iter().zip(&cuts).enumerate() {
        for &(from, count) in cuts {
            let start = from as usize - 1;
            rig::raw_insert(
                &mut conn,
                (start..start + count).map(|i| {
                    (
                        gid as i64,
                        i as u64 + 1,
                        &log.events[i],
                        log.hashes[i].as_bytes(),
                    )
                }),
            )?;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let stored: i64 = conn.query_row("SELECT count(*) FROM events", [], |r| r.get(0))?;
    let expected: usize = logs.iter().map(|l| l.events.len()).sum();
    ensure!(
        stored as usize == expected,
        "raw table holds {stored} of {expected}"
    );
    Ok(elapsed)
}

/// The accept rule without the network: `Ingest::batch` on a fresh store.
fn direct_run(options: &Options, logs: &[GroupLog]) -> anyhow::Result<(u64, f64)> {
    let dir = options.workdir("ingest-direct")?;
    let config = rig::hub_config(dir.path())?;
    let enrol: Vec<_> = logs
        .iter()
        .map(|l| (l.spec.group.clone(), l.spec.key().public()))
        .collect();
    let mut ingest = Ingest::new(rig::hub_store(&config, &enrol)?);
    let mut work = Vec::new();
    for log in logs {
        for batch in log.batches(1, log.events.len() as u64) {
            let checkpoint = convert::checkpoint(batch.checkpoint.as_ref(), "checkpoint")?;
            work.push((batch.from_seq, batch.events, checkpoint));
        }
    }
    let events: u64 = logs.iter().map(|l| l.events.len() as u64).sum();
    let started = Instant::now();
    for (from, events, checkpoint) in &work {
        match ingest.batch(*from, events, checkpoint)? {
            BatchOutcome::Acked { .. } => {}
            other => anyhow::bail!("direct ingest answered {other:?}"),
        }
    }
    Ok((events, started.elapsed().as_secs_f64()))
}

/// Times each step of the accept rule on its own, over the same batches.
fn phases(logs: &[GroupLog]) -> anyhow::Result<Phases> {
    let mut p = Phases::default();
    for log in logs {
        let key = log.spec.key().public();
        let mut books = Books::new(log.spec.group.clone());
        let mut decoded_all: Vec<Event> = Vec::new();
        for batch in log.batches(1, log.events.len() as u64) {
            let checkpoint = convert::checkpoint(batch.checkpoint.as_ref(), "checkpoint")?;
            let started = Instant::now();
            let head = if batch.from_seq == 1 {
                sajja_common::chain::genesis(&log.spec.group)
            } else {
                log.hashes[batch.from_seq as usize - 2]
            };
            let mut verifier =
                ChainVerifier::resume(log.spec.group.clone(), batch.from_seq - 1, head, key);
            let mut decoded = Vec::with_capacity(batch.events.len());
            for bytes in &batch.events {
                decoded.push(verifier.push(bytes)?);
            }
            p.decode_and_chain_seconds += started.elapsed().as_secs_f64();
            let started = Instant::now();
            ensure!(checkpoint.verify(&key), "checkpoint signature");
            p.signature_seconds += started.elapsed().as_secs_f64();
            let started = Instant::now();
            let copy = books.clone();
            p.books_clone_seconds += started.elapsed().as_secs_f64();
            drop(copy);
            let started = Instant::now();
            for event in &decoded {
                let original = reversal_target(event).and_then(|t| {
                    decoded
                        .iter()
                        .chain(decoded_all.iter())
                        .find(|e| e.seq == t)
                        .cloned()
                });
                books.apply(event, original.as_ref())?;
            }
            p.ledger_seconds += started.elapsed().as_secs_f64();
            // Reversals here target recent events; keep a short tail only.
            decoded_all.extend(decoded);
            let keep = decoded_all.len().saturating_sub(64);
            decoded_all.drain(..keep);
            p.events += batch.events.len() as u64;
        }
    }
    Ok(p)
}
