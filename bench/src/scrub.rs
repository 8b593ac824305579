//! Scrub cost: how fast a hub re-verifies what it stores (issue 15), next to
//! the ceiling of hashing the same bytes in memory.
//!
//! A province's logs are committed through the accept rule into a real
//! SQLite file; then every log is scrubbed (`Store::scrub_log`: read each
//! event's bytes and stored hash, re-hash the chain, compare with the head
//! and the latest signed checkpoint), and the start-up pass
//! (`scrub::startup_pass`, quick_check plus each log's tail) is timed. The
//! check: every event was read and no log is reported damaged; then one
//! flipped byte is found at its seq.

use crate::generate::Batches;
use std::time::Instant;

use anyhow::ensure;
use sajja_common::chain;
use sajja_hub::config::ScrubConfig;
use sajja_hub::ingest::accept::{BatchOutcome, Ingest};
use sajja_hub::ingest::scrub::{ScrubState, startup_pass};
use sajja_hub::store::Store;
use sajja_proto::convert;

use crate::generate::{self, Stop};
use crate::{Options, Scale, rig};

pub struct ScrubReport {
    pub groups: usize,
    pub events: u64,
    pub bytes: u64,
    /// Median seconds of a full scrub of every log.
    pub scrub_seconds: f64,
    /// Median seconds of hashing the same bytes in memory.
    pub hash_seconds: f64,
    pub startup_seconds: f64,
    pub startup_events: u64,
    pub runs: Vec<f64>,
}

impl ScrubReport {
    pub fn print(&self) {
        let rate = self.events as f64 / self.scrub_seconds;
        let ceiling = self.events as f64 / self.hash_seconds;
        println!("== scrub (re-verify every stored event) ==");
        println!(
            "  {} groups, {} events, {:.1} MiB of event bytes",
            self.groups,
            self.events,
            self.bytes as f64 / (1024.0 * 1024.0)
        );
        println!(
            "  full scrub: {:.2} s = {:.0} events/s; in-memory chain hash ceiling {:.0} events/s; ratio {:.2}",
            self.scrub_seconds,
            rate,
            ceiling,
            rate / ceiling
        );
        println!("  runs (s): {:?}", self.runs);
        println!(
            "  start-up pass (quick_check + last {} events of each log): {:.2} s",
            self.startup_events, self.startup_seconds
        );
        println!(
            "  at the default {} events/s the background scrub uses {:.2}% of one core",
            sajja_hub::config::DEFAULT_EVENTS_PER_SECOND,
            100.0 * f64::from(sajja_hub::config::DEFAULT_EVENTS_PER_SECOND) / rate
        );
    }
}

pub fn run(options: &Options) -> anyhow::Result<ScrubReport> {
    let (groups, events) = match options.scale {
        Scale::Full => (
            options.groups.unwrap_or(200),
            options.events.unwrap_or(5_000),
        ),
        Scale::Smoke => (3, 300),
    };
    let specs = generate::province(groups, 15);
    // Opened early enough that no event is dated after today (hubs refuse it).
    let logs = generate::province_logs_opened(
        &specs,
        Stop::Events(events),
        generate::day_of(generate::LONG_HISTORY_OPENED_ON),
    );
    crate::generate::ensure_past(&logs)?;
    ensure!(
        logs.iter().all(|l| l.refused == 0),
        "generator refused events"
    );
    let dir = options.workdir("scrub")?;
    let config = rig::hub_config(dir.path())?;
    let enrol: Vec<_> = specs
        .iter()
        .map(|s| (s.group.clone(), s.key().public()))
        .collect();
    let mut ingest = Ingest::new(rig::hub_store(&config, &enrol)?);
    for log in &logs {
        for batch in log.batches(1, log.events.len() as u64) {
            let checkpoint = convert::checkpoint(batch.checkpoint.as_ref(), "checkpoint")?;
            match ingest.batch(batch.from_seq, &batch.events, &checkpoint)? {
                BatchOutcome::Acked { .. } => {}
                other => anyhow::bail!("ingest answered {other:?}"),
            }
        }
    }
    drop(ingest);
    let total: u64 = logs.iter().map(|l| l.events.len() as u64).sum();
    let bytes: u64 = logs.iter().map(|l| l.bytes() as u64).sum();

    let store = Store::open(&config.database_path())?;
    let scrub_all = || -> anyhow::Result<f64> {
        let started = Instant::now();
        let mut read = 0;
        for log in &logs {
            let report = store.scrub_log(&log.spec.group)?;
            ensure!(
                report.damage.is_none(),
                "group {} reported damaged: {:?}",
                log.spec.group,
                report.damage
            );
            read += report.events;
        }
        ensure!(read == total, "scrub read {read} of {total} events");
        Ok(started.elapsed().as_secs_f64())
    };
    let hash_all = || {
        let started = Instant::now();
        for log in &logs {
            let mut head = chain::genesis(&log.spec.group);
            for event in &log.events {
                head = chain::next(&head, event);
            }
            assert_eq!(head, log.head());
        }
        started.elapsed().as_secs_f64()
    };
    let first = scrub_all()?;
    let mut runs = vec![first];
    for _ in 1..crate::repetitions(options.scale, first) {
        runs.push(scrub_all()?);
    }
    let hashes: Vec<f64> = (0..runs.len()).map(|_| hash_all()).collect();

    let scrub_config = ScrubConfig::default();
    let state = ScrubState::default();
    let started = Instant::now();
    let damaged = startup_pass(&store, &scrub_config, &state)?;
    let startup_seconds = started.elapsed().as_secs_f64();
    ensure!(
        damaged.is_empty(),
        "start-up pass found damage: {damaged:?}"
    );
    ensure!(state.integrity_problem().is_none(), "quick_check failed");

    // The check that the scrub can fail: one flipped byte is found at its seq.
    let victim = &logs[0].spec.group;
    {
        let conn = rusqlite::Connection::open(config.database_path())?;
        conn.execute(
            "UPDATE events SET bytes = CAST(zeroblob(length(bytes)) AS BLOB)
             WHERE seq = 2 AND gid = (SELECT gid FROM groups WHERE group_id = ?1)",
            [victim.as_str()],
        )?;
    }
    let found = store.scrub_log(victim)?.damage.map(|(seq, _)| seq);
    ensure!(
        found == Some(2),
        "a zeroed event 2 was reported as {found:?}"
    );

    Ok(ScrubReport {
        groups,
        events: total,
        bytes,
        scrub_seconds: rig::median(&runs),
        hash_seconds: rig::median(&hashes),
        startup_seconds,
        startup_events: scrub_config.startup_events,
        runs,
    })
}
