//! `sajja-node run`: the sync daemon.
//!
//! One loop takes one event at a time — a tick to look for new appends, the
//! end of a backoff, shutdown — and handles it in one `match`. It syncs at
//! start (so a node restored from an old backup learns what its hub holds
//! before the treasurer writes more), whenever the log has grown past what the
//! hub acknowledged, and at least once per heartbeat even with nothing to
//! send: a session that is only the hello, which the hub records as the
//! group's last contact (a group that simply recorded nothing for a week is
//! idle, not stale). Otherwise it sleeps. The heartbeat is a deadline of the
//! same sleep, not another timer: an idle daemon wakes no more often than it
//! did for the poll alone.

use std::time::Duration;

use tokio::time::{Instant, sleep_until};

use crate::exchange::ExchangeStore;
use crate::store::Store;
use crate::sync::{self, HubLink, LocalLog, SyncError};

pub const BACKOFF_MIN: Duration = Duration::from_secs(1);

pub use crate::config::{BACKOFF_MAX, HEARTBEAT, POLL_INTERVAL, Settings};

enum Wake {
    Tick,
    Shutdown,
}

/// The next backoff: doubled, capped at `max`, with up to 25% jitter so that
/// many nodes cut off by the same outage do not return in lockstep.
pub fn next_backoff(current: Duration, max: Duration, jitter_seed: u64) -> Duration {
    let max = max.max(BACKOFF_MIN);
    let doubled = (current * 2).clamp(BACKOFF_MIN, max);
    let jitter_ms = (doubled.as_millis() as u64 / 4).max(1);
    let jitter =
        Duration::from_millis(sajja_common::rng::Rng::new(jitter_seed).next_u64() % jitter_ms);
    (doubled + jitter).min(max + max / 4)
}

/// Runs until `shutdown` resolves. A sync in flight when shutdown comes is
/// abandoned; nothing is lost, because the hub acknowledges only what it has
/// committed and the node resumes from that.
/// Removes the wake-up socket when the daemon stops.
struct SocketFile(std::path::PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

async fn recv(
    socket: Option<&tokio::net::UnixDatagram>,
    buffer: &mut [u8],
) -> std::io::Result<usize> {
    match socket {
        Some(socket) => socket.recv(buffer).await,
        None => std::future::pending().await,
    }
}

/// The log a node keeps its hub up to date with: a group's ledger, or a
/// community exchange's (exchange mode). One loop serves both; each step
/// is the sync layer's ([`LocalLog`]).
pub enum Kept {
    Group(Box<Store>),
    Exchange(Box<ExchangeStore>),
}

impl Kept {
    fn log(&mut self) -> LocalLog<'_> {
        match self {
            Kept::Group(store) => LocalLog::Group(store),
            Kept::Exchange(store) => LocalLog::Exchange(store),
        }
    }

    /// The id of the log kept (a group's, or an exchange's `TTTTTT-XNN`).
    pub fn id(&self) -> sajja_common::GroupId {
        match self {
            Kept::Group(store) => store.group().clone(),
            Kept::Exchange(store) => store.log().clone(),
        }
    }

    fn path(&self) -> &std::path::Path {
        match self {
            Kept::Group(store) => store.path(),
            Kept::Exchange(store) => store.path(),
        }
    }
}

/// `sajja-node run`'s loop (and `sajja-node exchange run`'s).
pub async fn keep(
    mut store: Kept,
    link: HubLink,
    settings: Settings,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), SyncError> {
    tokio::pin!(shutdown);
    let group = store.id();
    let mut backoff = Duration::ZERO;
    let mut next_attempt = Instant::now();
    let mut attempts: u64 = 0;
    let mut must_sync = true;
    // When the hub last answered a whole session; the heartbeat counts from it.
    let mut last_synced = Instant::now();
    // The CLI, in another process, nudges this socket after every commit.
    let socket_path = crate::store::daemon_socket(store.path());
    let _ = std::fs::remove_file(&socket_path);
    let wake_socket = match tokio::net::UnixDatagram::bind(&socket_path) {
        Ok(socket) => Some(socket),
        Err(error) => {
            tracing::warn!(group = %group, "no wake-up socket ({error}); relying on the {:?} poll", settings.poll_interval);
            None
        }
    };
    let _socket_file = SocketFile(socket_path);
    let mut wake_buffer = [0u8; 16];
    loop {
        // After a failure wait out the backoff; otherwise look for new
        // appends, or say hello when the heartbeat is due.
        let heartbeat_at = last_synced + settings.heartbeat;
        let deadline = if must_sync {
            next_attempt
        } else {
            (Instant::now() + settings.poll_interval).min(heartbeat_at)
        };
        let wake = tokio::select! {
            _ = &mut shutdown => Wake::Shutdown,
            _ = sleep_until(deadline) => Wake::Tick,
            Ok(_) = recv(wake_socket.as_ref(), &mut wake_buffer) => {
                // A nudge never cuts a backoff short: a hub that is down stays
                // retried at the backoff's pace however often the CLI appends.
                if must_sync && Instant::now() < next_attempt {
                    continue;
                }
                Wake::Tick
            }
        };
        match wake {
            Wake::Shutdown => {
                tracing::info!(group = %group, "shutting down");
                return Ok(());
            }
            Wake::Tick => {
                store.log().refresh()?;
                let (head, acked) = store.log().head_and_acked()?;
                let heartbeat = Instant::now() >= heartbeat_at;
                if !must_sync && head <= acked && !heartbeat {
                    continue;
                }
                attempts += 1;
                let result = tokio::select! {
                    _ = &mut shutdown => {
                        tracing::info!(group = %group, "shutting down during a sync; it resumes from the hub's acknowledged position");
                        return Ok(());
                    }
                    result = sync::sync_log(store.log(), &link) => result,
                };
                match result {
                    Ok(report) => {
                        tracing::info!(group = %group, hub_seq = report.hub_seq, pushed = report.pushed_events, pulled = report.pulled_events, heartbeat = heartbeat && head <= acked, "synced");
                        last_synced = Instant::now();
                        backoff = Duration::ZERO;
                        must_sync = false;
                        next_attempt = Instant::now();
                    }
                    Err(error @ SyncError::Forked { .. }) => {
                        tracing::error!(group = %group, "{error}");
                        backoff = settings.backoff_max;
                        next_attempt = Instant::now() + backoff;
                        must_sync = true;
                    }
                    Err(error) => {
                        backoff = next_backoff(backoff, settings.backoff_max, attempts ^ head);
                        tracing::warn!(group = %group, retry_in_s = backoff.as_secs(), "sync failed: {error}");
                        next_attempt = Instant::now() + backoff;
                        must_sync = true;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_a_cap_with_bounded_jitter() {
        let mut backoff = Duration::ZERO;
        for attempt in 0..20 {
            let next = next_backoff(backoff, BACKOFF_MAX, attempt);
            assert!(
                next >= backoff.min(BACKOFF_MAX),
                "backoff never shrinks while failing"
            );
            assert!(next <= BACKOFF_MAX + BACKOFF_MAX / 4);
            backoff = next;
        }
        assert!(backoff >= BACKOFF_MAX);
    }

    #[test]
    fn a_configured_cap_bounds_the_backoff() {
        // Proves `[sync] backoff_max_s` caps the wait, jitter included.
        let max = Duration::from_secs(10);
        let mut backoff = Duration::ZERO;
        for attempt in 0..20 {
            backoff = next_backoff(backoff, max, attempt);
            assert!(backoff <= max + max / 4, "{backoff:?}");
        }
        assert!(backoff >= max);
    }
}
