//! The node's local ledger: one SQLite file per group.
//!
//! The file holds the append-only event log (exact bytes and chain hash per
//! seq), the derived books (rebuildable from the log), the member register
//! (names and phones, which never leave the node) and the group's signing key.
//! An SD card on unreliable power is the expected home, so the database runs in
//! WAL mode with `synchronous=FULL`, and every append is one transaction: the
//! events, their hashes and the derived books commit together or not at all.
//!
//! Events are validated against an in-memory copy of the books before anything
//! is written; the in-memory head and books move only after the commit, so a
//! refused or failed append leaves both the file and the process as they were.
//!
//! One file per concern, each a layer over the ones it names; this file only
//! declares them and re-exports what the rest of the crate uses.

mod batch;
mod error;
mod fold;
mod handle;
mod hub;
mod imports;
mod keys;
mod limits;
mod open;
mod read;
mod register;
mod schema;
mod signing;

pub use batch::{Batch, daemon_socket};
pub use error::{Damage, StoreError, refusal_rule};
pub use handle::Store;
pub use hub::SyncState;
pub use imports::{ImportRecord, ImportSource};
pub use keys::{Keys, RestoreKeys, RetiredKey};
pub use limits::{MAX_BATCH_EVENTS, MAX_CHUNK_EVENTS, WRITE_ATTEMPTS};
pub use open::{GroupInit, Salvage, VerifyReport, rebuild_derived, verify};
pub use register::{RegisterEdit, RegisterEntry};
pub use schema::{SCHEMA_VERSION, migrate, remove_database};

#[cfg(test)]
mod key_tests;
#[cfg(test)]
mod tests;
