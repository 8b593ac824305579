//! Scrub: the hub re-verifies what it stores, because a disk can change
//! bytes after they were verified and committed.
//!
//! At start-up, before the hub serves, a bounded pass runs SQLite's
//! `quick_check` and re-verifies the tail of every log (the last
//! `[scrub] startup_events` events) against its stored hashes, its head and
//! its latest signed checkpoint. Then, in the background, whole logs are
//! re-verified one after another, at most `[scrub] events_per_second` on
//! average, for as long as the hub runs, with a `quick_check` at the start
//! of every pass.
//!
//! A log found damaged is recorded in `damaged_logs` with its first bad seq
//! (see [`Store::scrub_and_mark`]): `query groups`, `query alerts`, the
//! `sajja_groups{status="damaged"}` gauge and `/health` report it, pushes
//! onto it are held, and the node's next push of the damaged range repairs
//! it ([`crate::ingest::accept`]). A failed integrity check is reported on `/health`
//! until a pass finds the file sound again. All SQLite work runs on the
//! blocking pool, through the scrub's own connection.

use std::fmt::Write as _;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config::ScrubConfig;
use crate::store::{Store, StoreError};
use crate::values::status::Damage;
use sajja_edge::clock::unix_now;

/// The rest between two whole passes over every log, however small the hub.
const PASS_PAUSE: Duration = Duration::from_secs(10);

/// What the scrub found, shared with `/health` and `/metrics`.
#[derive(Debug, Default)]
pub struct ScrubState {
    /// The last integrity check's complaint, if it did not say "ok".
    integrity: Mutex<Option<String>>,
    events: AtomicU64,
    passes: AtomicU64,
}

impl ScrubState {
    pub fn integrity_problem(&self) -> Option<String> {
        self.integrity
            .lock()
            .map_or_else(|_| Some("scrub state poisoned".to_string()), |p| p.clone())
    }

    fn set_integrity(&self, problem: Option<String>) {
        if let Ok(mut slot) = self.integrity.lock() {
            *slot = problem;
        }
    }

    /// The scrub's counters in Prometheus text format.
    pub fn render(&self, out: &mut String) {
        let integrity_ok = u8::from(self.integrity_problem().is_none());
        for (name, kind, help, value) in [
            (
                "sajja_scrub_events_total",
                "counter",
                "Stored events re-verified by the scrub.",
                self.events.load(Ordering::Relaxed),
            ),
            (
                "sajja_scrub_passes_total",
                "counter",
                "Scrub passes completed (the start-up pass included).",
                self.passes.load(Ordering::Relaxed),
            ),
            (
                "sajja_integrity_ok",
                "gauge",
                "1 if the last SQLite integrity check of the database said ok.",
                u64::from(integrity_ok),
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            let _ = writeln!(out, "{name} {value}");
        }
    }
}

/// SQLite's `quick_check`, recorded in `state`; a check that cannot even
/// run (a damaged header) is a failure too.
fn integrity(store: &Store, state: &ScrubState) -> Option<String> {
    let problem = match store.integrity_check(false) {
        Ok(problem) => problem,
        Err(e) => Some(e.to_string()),
    };
    if let Some(problem) = &problem {
        tracing::error!(
            check = "quick_check",
            "database integrity check failed: {problem}"
        );
    }
    state.set_integrity(problem.clone());
    problem
}

/// The start-up pass: the integrity check and every log's tail. Returns
/// every log now recorded damaged (found now or before).
pub fn startup_pass(
    store: &Store,
    config: &ScrubConfig,
    state: &ScrubState,
) -> Result<Vec<Damage>, StoreError> {
    integrity(store, state);
    for group in store.groups()? {
        let seq = store.group(&group)?.map_or(0, |row| row.seq);
        let from = seq.saturating_sub(config.startup_events) + 1;
        scrub_one(store, &group, from, state)?;
    }
    state.passes.fetch_add(1, Ordering::Relaxed);
    let damaged = store.damaged_logs()?;
    for damage in &damaged {
        tracing::error!(group = %damage.group, seq = damage.seq, "log damaged: {}; pushes onto it are held until its node pushes the range again", damage.reason);
    }
    Ok(damaged)
}

/// Scrubs one log from `from`, counting and reporting what it read.
fn scrub_one(
    store: &Store,
    group: &sajja_common::GroupId,
    from: u64,
    state: &ScrubState,
) -> Result<u64, StoreError> {
    let report = match store.scrub_and_mark(group, from, unix_now()) {
        Ok(report) => report,
        // Enrolled since the list was read, or gone with a resolution.
        Err(StoreError::NotEnrolled(_)) => return Ok(0),
        Err(e) => return Err(e),
    };
    state.events.fetch_add(report.events, Ordering::Relaxed);
    if let Some((seq, reason)) = &report.damage {
        tracing::error!(group = %group, seq, "scrub found the log damaged: {reason}");
    }
    Ok(report.events)
}

/// The background scrub, through its own connection to `path`, until
/// `shutdown`. A database error is logged and the pass tried again later.
pub async fn run(
    path: PathBuf,
    config: ScrubConfig,
    state: Arc<ScrubState>,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let store = match tokio::task::spawn_blocking(move || Store::open(&path)).await {
        Ok(Ok(store)) => Arc::new(Mutex::new(store)),
        Ok(Err(e)) => {
            tracing::error!("scrub cannot open the database: {e}");
            return;
        }
        Err(e) => {
            tracing::error!("scrub cannot open the database: {e}");
            return;
        }
    };
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(PASS_PAUSE) => {}
        }
        let groups = blocking(&store, {
            let state = state.clone();
            move |store| {
                integrity(store, &state);
                store.groups()
            }
        })
        .await;
        let groups = match groups {
            Ok(groups) => groups,
            Err(e) => {
                tracing::error!("scrub pass failed: {e}");
                continue;
            }
        };
        for group in groups {
            let read = blocking(&store, {
                let state = state.clone();
                move |store| scrub_one(store, &group, 1, &state)
            })
            .await;
            let events = match read {
                Ok(events) => events,
                Err(e) => {
                    tracing::error!("scrub pass failed: {e}");
                    break;
                }
            };
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tokio::time::sleep(config.rest(events)) => {}
            }
        }
        state.passes.fetch_add(1, Ordering::Relaxed);
    }
}

async fn blocking<T: Send + 'static>(
    store: &Arc<Mutex<Store>>,
    work: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || {
        let store = store
            .lock()
            .map_err(|_| StoreError::Damaged("scrub connection poisoned".into()))?;
        work(&store)
    })
    .await
    .map_err(|e| StoreError::Damaged(format!("scrub task failed: {e}")))?
}
