//! Many small batches (the issue 7 risk): a large group's treasurer appends
//! through the day and the node pushes each event as it is made, so the hub
//! accepts one-event batches, and every accepted batch re-encodes and
//! rewrites the group's whole books (`group_books`) and position basis
//! (`group_positions`). A 2,000-member group with a year of history at the
//! hub pushes its next month over gRPC + mutual TLS:
//!
//! - one event per batch on one push stream (stop-and-wait, as a node does),
//!   with each batch's latency;
//! - the same events in batches of up to 256 KiB, as a node cuts a backlog;
//! - the one-event batches through `Ingest::batch` directly (no gRPC);
//! - a new session (TLS connection, hello, one batch) per event, for a prefix:
//!   what each append costs a daemon that pushes as entries are made.
//!
//! All against fresh hubs holding the same history, in the same run. The
//! phases of one batch are timed in this process, outside the hub's code, on
//! the same books: verification (chain, checkpoint signature), the books
//! clone, the ledger apply, the snapshot encode (postcard books + position
//! basis), the decode a books-cache miss costs, and a bare SQLite commit per
//! batch (the hub's pragmas) with and without the two snapshot rows.

use crate::generate::Batches;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, ensure};
use sajja_common::ledger::reversal_target;
use sajja_common::position::{PositionBasis, PositionCuts};
use sajja_common::verify::ChainVerifier;
use sajja_common::{Books, Event, GroupId, chain};
use sajja_hub::ingest::accept::{BatchOutcome, Ingest};
use sajja_proto::{convert, v1};

use crate::generate::{self, GroupLog, GroupSpec, Stop};
use crate::relay::percentile;
use crate::rig::{self, Hub, Pusher, median};
use crate::{Options, Scale};

/// Timings of one way of pushing the same events.
#[derive(Clone, Debug, Default)]
pub struct Variant {
    pub batches: usize,
    /// Wall seconds of each repetition, first batch sent to last ack.
    pub seconds: Vec<f64>,
    /// Per-batch latency (send to ack), every repetition, in seconds.
    pub latencies: Vec<f64>,
}

impl Variant {
    pub fn events_per_second(&self, events: u64) -> f64 {
        events as f64 / median(&self.seconds)
    }
}

/// The accept rule's steps for one-event batches, summed over `events`.
#[derive(Clone, Debug, Default)]
pub struct BatchPhases {
    pub events: u64,
    pub verify_seconds: f64,
    pub clone_seconds: f64,
    pub apply_seconds: f64,
    pub encode_seconds: f64,
    /// `Books::from_snapshot`: paid per batch only on a books-cache miss.
    pub decode_seconds: f64,
    /// A bare SQLite transaction per batch (WAL, synchronous=FULL): the event
    /// row alone, and the event row plus the books and basis rows.
    pub commit_event_seconds: f64,
    pub commit_snapshot_seconds: f64,
    pub books_bytes: usize,
    pub basis_bytes: usize,
}

impl BatchPhases {
    fn per(&self, seconds: f64) -> f64 {
        seconds * 1000.0 / self.events.max(1) as f64
    }
}

#[derive(Clone, Debug)]
pub struct SmallBatchesReport {
    pub group: GroupId,
    pub members: u32,
    pub history_events: u64,
    pub events: u64,
    pub single: Variant,
    pub bulk: Variant,
    pub direct_single: Variant,
    pub sessions: Variant,
    pub phases: BatchPhases,
}

fn ms(seconds: f64) -> f64 {
    seconds * 1000.0
}

impl SmallBatchesReport {
    pub fn print(&self) {
        let n = self.events;
        println!("== many small batches (one group, one event per batch) ==");
        println!(
            "  group {} ({} members): {} events of history at the hub, then its next month, {} events",
            self.group, self.members, self.history_events, n
        );
        let single = self.single.events_per_second(n);
        let bulk = self.bulk.events_per_second(n);
        println!(
            "  one-event batches over gRPC + mTLS, one stream: {:.0} events/s (median of {}: {:?} s); per batch p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            single,
            self.single.seconds.len(),
            rounded(&self.single.seconds),
            ms(percentile(&self.single.latencies, 0.5)),
            ms(percentile(&self.single.latencies, 0.99)),
            ms(percentile(&self.single.latencies, 1.0)),
        );
        println!(
            "  same events in {} batch(es) of <= 256 KiB: {:.0} events/s (median of {}: {:?} s)",
            self.bulk.batches,
            bulk,
            self.bulk.seconds.len(),
            rounded(&self.bulk.seconds)
        );
        println!(
            "  ratio one-event / 256 KiB batches: {:.4} ({:.0}x slower)",
            single / bulk,
            bulk / single
        );
        println!(
            "  one-event batches through Ingest::batch directly (no gRPC/TLS): {:.0} events/s, per batch p50 {:.2} ms, p99 {:.2} ms",
            self.direct_single.events_per_second(n),
            ms(percentile(&self.direct_single.latencies, 0.5)),
            ms(percentile(&self.direct_single.latencies, 0.99)),
        );
        println!(
            "  a new session per event (TLS connection + hello + one batch), {} events: p50 {:.1} ms, p99 {:.1} ms",
            self.sessions.latencies.len(),
            ms(percentile(&self.sessions.latencies, 0.5)),
            ms(percentile(&self.sessions.latencies, 0.99)),
        );
        let p = &self.phases;
        let total_cpu = p.verify_seconds + p.clone_seconds + p.apply_seconds + p.encode_seconds;
        println!(
            "  phases per one-event batch over {} events (ms): verify {:.3}, books clone {:.3}, apply {:.3}, snapshot encode {:.3} (books {} B + basis {} B); cache-miss decode {:.3}",
            p.events,
            p.per(p.verify_seconds),
            p.per(p.clone_seconds),
            p.per(p.apply_seconds),
            p.per(p.encode_seconds),
            p.books_bytes,
            p.basis_bytes,
            p.per(p.decode_seconds),
        );
        println!(
            "    bare SQLite commit per batch: event row {:.3} ms, with the two snapshot rows {:.3} ms (snapshot write {:.3} ms); compute {:.3} ms",
            p.per(p.commit_event_seconds),
            p.per(p.commit_snapshot_seconds),
            p.per(p.commit_snapshot_seconds - p.commit_event_seconds),
            p.per(total_cpu),
        );
    }
}

fn rounded(values: &[f64]) -> Vec<f64> {
    values
        .iter()
        .map(|v| (v * 1000.0).round() / 1000.0)
        .collect()
}

/// The group and its history: (members, months of history before the pushed one).
pub fn sizes(scale: Scale) -> (u32, u32) {
    match scale {
        Scale::Full => (generate::MAX_MEMBERS, 12),
        Scale::Smoke => (generate::MIN_MEMBERS, 2),
    }
}

/// Loads the history into a fresh store through the accept rule, unmeasured.
fn preload(ingest: &mut Ingest, history: &[v1::Batch]) -> anyhow::Result<()> {
    for batch in history {
        let checkpoint = convert::checkpoint(batch.checkpoint.as_ref(), "checkpoint")?;
        match ingest.batch(batch.from_seq, &batch.events, &checkpoint)? {
            BatchOutcome::Acked { .. } => {}
            other => anyhow::bail!("preload answered {other:?}"),
        }
    }
    Ok(())
}

/// Pushes `batches` over one stream into a fresh hub holding the history.
fn grpc(
    options: &Options,
    log: &GroupLog,
    history: &[v1::Batch],
    batches: &[v1::Batch],
    into: &mut Variant,
) -> anyhow::Result<()> {
    let dir = options.workdir("small-batches")?;
    let group = &log.spec.group;
    let from = batches[0].from_seq;
    let runtime = rig::runtime()?;
    runtime.block_on(async {
        let hub = Hub::start(dir.path(), &[(group.clone(), log.spec.key().public())]).await?;
        {
            let mut ingest = hub.ingest.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
            preload(&mut ingest, history)?;
        }
        let link = hub.link(group)?;
        let work = batches.to_vec();
        let mut pusher = Pusher::open(&link).await?;
        let asked = pusher
            .hello(&log.checkpoint_at(&log.spec.key(), from - 1))
            .await?;
        ensure!(asked == from, "the hub asked for seq {asked}, not {from}");
        let started = Instant::now();
        for batch in work {
            let sent = Instant::now();
            pusher.batch(batch).await?;
            into.latencies.push(sent.elapsed().as_secs_f64());
        }
        into.seconds.push(started.elapsed().as_secs_f64());
        into.batches = batches.len();
        drop(pusher);
        let position = hub
            .ingest
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?
            .position(group)?;
        ensure!(
            position.seq == log.events.len() as u64 && position.head == log.head(),
            "the hub holds {} of {} events",
            position.seq,
            log.events.len()
        );
        hub.stop().await
    })
}

/// The one-event batches through `Ingest::batch` on a fresh store.
fn direct(
    options: &Options,
    log: &GroupLog,
    history: &[v1::Batch],
    batches: &[v1::Batch],
) -> anyhow::Result<Variant> {
    let dir = options.workdir("small-batches-direct")?;
    let config = rig::hub_config(dir.path())?;
    let enrol = [(log.spec.group.clone(), log.spec.key().public())];
    let mut ingest = Ingest::new(rig::hub_store(&config, &enrol)?);
    preload(&mut ingest, history)?;
    let work = batches
        .iter()
        .map(|b| {
            Ok((
                b.from_seq,
                b.events.clone(),
                convert::checkpoint(b.checkpoint.as_ref(), "checkpoint")?,
            ))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut variant = Variant {
        batches: batches.len(),
        ..Variant::default()
    };
    let started = Instant::now();
    for (from, events, checkpoint) in &work {
        let sent = Instant::now();
        match ingest.batch(*from, events, checkpoint)? {
            BatchOutcome::Acked { .. } => {}
            other => anyhow::bail!("direct ingest answered {other:?}"),
        }
        variant.latencies.push(sent.elapsed().as_secs_f64());
    }
    variant.seconds.push(started.elapsed().as_secs_f64());
    let position = ingest.position(&log.spec.group)?;
    ensure!(
        position.seq == log.events.len() as u64 && position.head == log.head(),
        "direct ingest holds {} of {} events",
        position.seq,
        log.events.len()
    );
    Ok(variant)
}

/// A new TLS connection, hello and one-event batch per event, for the first
/// `count` events.
fn sessions(
    options: &Options,
    log: &GroupLog,
    history: &[v1::Batch],
    batches: &[v1::Batch],
    count: usize,
) -> anyhow::Result<Variant> {
    let dir = options.workdir("small-batches-sessions")?;
    let group = &log.spec.group;
    let key = log.spec.key();
    let runtime = rig::runtime()?;
    runtime.block_on(async {
        let hub = Hub::start(dir.path(), &[(group.clone(), key.public())]).await?;
        {
            let mut ingest = hub.ingest.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
            preload(&mut ingest, history)?;
        }
        let link = hub.link(group)?;
        let mut variant = Variant {
            batches: count,
            ..Variant::default()
        };
        let work: Vec<_> = batches[..count]
            .iter()
            .map(|b| (log.checkpoint_at(&key, b.from_seq - 1), b.clone()))
            .collect();
        let started = Instant::now();
        for (head, batch) in work {
            let sent = Instant::now();
            let mut pusher = Pusher::open(&link).await?;
            let from = batch.from_seq;
            let asked = pusher.hello(&head).await?;
            ensure!(asked == from, "the hub asked for seq {asked}, not {from}");
            pusher.batch(batch).await?;
            variant.latencies.push(sent.elapsed().as_secs_f64());
        }
        variant.seconds.push(started.elapsed().as_secs_f64());
        let held = hub.seq(group)?;
        let expected = batches[count - 1].from_seq;
        ensure!(held == expected, "the hub holds {held}, not {expected}");
        hub.stop().await?;
        Ok(variant)
    })
}

/// A bare database with the hub's pragmas: events, and one row of books
/// and one of basis per group, replaced by each batch as the hub does.
fn bare(path: &Path) -> anyhow::Result<rusqlite::Connection> {
    let conn = rig::raw_sqlite(path)?;
    conn.execute_batch(
        "CREATE TABLE group_books (gid INTEGER PRIMARY KEY, seq INTEGER NOT NULL, books BLOB NOT NULL);
         CREATE TABLE group_positions (gid INTEGER PRIMARY KEY, seq INTEGER NOT NULL, basis BLOB NOT NULL);",
    )?;
    Ok(conn)
}

/// Each step of accepting the one-event batches, timed on its own, on the
/// group's books as the hub holds them after the history.
fn phases(
    options: &Options,
    log: &GroupLog,
    from: u64,
    singles: &[v1::Batch],
) -> anyhow::Result<BatchPhases> {
    let group = log.spec.group.clone();
    let key = log.spec.key().public();
    let decoded = log
        .events
        .iter()
        .map(|b| Event::decode(b))
        .collect::<Result<Vec<_>, _>>()?;
    let original = |event: &Event| {
        reversal_target(event)
            .filter(|t| *t >= 1)
            .and_then(|t| decoded.get(t as usize - 1).cloned())
    };
    let mut books = Books::new(group.clone());
    for event in &decoded[..from as usize - 1] {
        books.apply(event, original(event).as_ref())?;
    }
    let dir = options.workdir("small-batches-phases")?;
    let mut event_only = bare(&dir.path().join("event.sqlite"))?;
    let mut with_snapshot = bare(&dir.path().join("snapshot.sqlite"))?;
    let mut p = BatchPhases::default();
    for batch in singles {
        let seq = batch.from_seq;
        let bytes = &batch.events[0];
        let checkpoint = convert::checkpoint(batch.checkpoint.as_ref(), "checkpoint")?;
        let started = Instant::now();
        let head = if seq == 1 {
            chain::genesis(&group)
        } else {
            log.hashes[seq as usize - 2]
        };
        let mut verifier = ChainVerifier::resume(group.clone(), seq - 1, head, key);
        let event = verifier.push(bytes)?;
        verifier.finish(&checkpoint, 0)?;
        p.verify_seconds += started.elapsed().as_secs_f64();

        let started = Instant::now();
        let mut next = books.clone();
        p.clone_seconds += started.elapsed().as_secs_f64();

        let started = Instant::now();
        let mut cuts = PositionCuts::default();
        cuts.before(&next, event.date);
        next.apply(&event, original(&event).as_ref())?;
        p.apply_seconds += started.elapsed().as_secs_f64();

        let started = Instant::now();
        let books_blob = next.to_snapshot()?;
        let basis_blob = PositionBasis::of(&next).to_snapshot()?;
        let cut_blobs = cuts
            .finish()
            .cuts
            .iter()
            .map(|c| c.basis.to_snapshot())
            .collect::<Result<Vec<_>, _>>()?;
        p.encode_seconds += started.elapsed().as_secs_f64();
        drop(cut_blobs);

        let started = Instant::now();
        let back = Books::from_snapshot(&books_blob)?;
        p.decode_seconds += started.elapsed().as_secs_f64();
        ensure!(
            back.last_seq == seq,
            "the snapshot decodes to seq {}",
            back.last_seq
        );

        let hash = log.hashes[seq as usize - 1];
        let started = Instant::now();
        rig::raw_insert(
            &mut event_only,
            std::iter::once((1, seq, bytes, hash.as_bytes())),
        )?;
        p.commit_event_seconds += started.elapsed().as_secs_f64();

        let started = Instant::now();
        let tx = with_snapshot.transaction()?;
        tx.prepare_cached("INSERT INTO events (gid, seq, bytes, hash) VALUES (1, ?1, ?2, ?3)")?
            .execute(rusqlite::params![
                seq as i64,
                bytes,
                hash.as_bytes().as_slice()
            ])?;
        tx.prepare_cached(
            "INSERT OR REPLACE INTO group_books (gid, seq, books) VALUES (1, ?1, ?2)",
        )?
        .execute(rusqlite::params![seq as i64, books_blob])?;
        tx.prepare_cached(
            "INSERT OR REPLACE INTO group_positions (gid, seq, basis) VALUES (1, ?1, ?2)",
        )?
        .execute(rusqlite::params![seq as i64, basis_blob])?;
        tx.commit()?;
        p.commit_snapshot_seconds += started.elapsed().as_secs_f64();

        p.books_bytes = books_blob.len();
        p.basis_bytes = basis_blob.len();
        p.events += 1;
        books = next;
    }
    Ok(p)
}

pub fn run(options: &Options) -> anyhow::Result<SmallBatchesReport> {
    let (members, months) = sizes(options.scale);
    let (repetitions, session_events) = match options.scale {
        Scale::Full => (3, 200),
        Scale::Smoke => (1, 3),
    };
    let spec = GroupSpec {
        group: GroupId::parse("230101-001")?,
        members,
        seed: 2_025,
    };
    // A month beyond a year of history: opened early enough to end in the past.
    let log = generate::group_log_opened(
        &spec,
        Stop::Months(months + 1),
        generate::day_of(generate::LONG_HISTORY_OPENED_ON),
    );
    ensure!(log.refused == 0, "the generator refused events");
    generate::ensure_past(std::slice::from_ref(&log))?;
    // The pushed month starts at its contribution day.
    let from = *log.month_starts.last().context("a month of activity")?;
    let to = log.events.len() as u64;
    ensure!(from > 1 && to >= from, "a month after the history");
    let history = log.batches(1, from - 1);
    let singles: Vec<v1::Batch> = (from..=to).flat_map(|s| log.batches(s, s)).collect();
    let bulk_batches = log.batches(from, to);

    let mut single = Variant::default();
    let mut bulk = Variant::default();
    for _ in 0..repetitions {
        grpc(options, &log, &history, &singles, &mut single)?;
        grpc(options, &log, &history, &bulk_batches, &mut bulk)?;
    }
    let direct_single = direct(options, &log, &history, &singles)?;
    let sessions = sessions(
        options,
        &log,
        &history,
        &singles,
        session_events.min(singles.len()),
    )?;
    let phases = phases(options, &log, from, &singles)?;
    Ok(SmallBatchesReport {
        group: spec.group,
        members,
        history_events: from - 1,
        events: to - from + 1,
        single,
        bulk,
        direct_single,
        sessions,
        phases,
    })
}
