//! Bounds on what one call reads or writes, and how long a writer waits.

/// The most events one chunk of [`Store::events_from`](crate::store::Store::events_from) returns, whatever their size.
pub const MAX_CHUNK_EVENTS: usize = 10_000;

/// The most events one transaction may append (a large paper-ledger import).
pub const MAX_BATCH_EVENTS: usize = 200_000;

/// How long a writer waits for another process (the daemon, a second CLI call)
/// to finish its transaction before giving up.
pub(super) const BUSY_TIMEOUT_MS: u64 = 10_000;

/// How many times [`Store::write`](crate::store::Store::write) prepares a batch again when another process
/// appended first. Each try re-reads the head and re-validates, so a retry is
/// as safe as the first attempt; 20 covers a handful of busy writers.
pub const WRITE_ATTEMPTS: u32 = 20;
