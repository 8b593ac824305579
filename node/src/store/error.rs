//! What a store call can fail with.

use std::path::PathBuf;

use sajja_common::checkpoint::{KeyError, PublicKey};
use sajja_common::ids::{GroupId, MemberNo};
use sajja_common::ledger::{Refusal, Rule};
use sajja_common::verify::VerifyError;
use thiserror::Error;

use super::limits::MAX_BATCH_EVENTS;
use crate::link::BundleError;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("refused: {0}")]
    Refused(#[from] Refusal),
    #[error("refused: {0}")]
    Verify(#[from] VerifyError),
    #[error("ledger damaged: {0}")]
    Damaged(#[from] Damage),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database value: {0}")]
    Value(#[from] rusqlite::types::FromSqlError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("a ledger already exists at {0}")]
    AlreadyExists(PathBuf),
    #[error("no ledger at {0}: run `sajja-node init` first")]
    Missing(PathBuf),
    #[error("database schema version {found} is newer than this program's {supported}")]
    SchemaTooNew { found: u32, supported: u32 },
    #[error("group {group}: the ledger changed while this batch was prepared; try again")]
    Concurrent { group: GroupId },
    #[error("group {group}: acknowledged seq {seq} is beyond the local head {head}")]
    AckBeyondHead { group: GroupId, seq: u64, head: u64 },
    #[error("group {group}: seq {seq} is beyond the local head {head}")]
    BeyondHead { group: GroupId, seq: u64, head: u64 },
    #[error("group {group}: a batch of more than {MAX_BATCH_EVENTS} events")]
    BatchTooLarge { group: GroupId },
    #[error("signing key: {0}")]
    Key(#[from] KeyError),
    #[error(
        "group {group} seq {seq}: the log's signing key from here on is {key}, which this node does not hold. \
         If that key is lost: make a new one (`sajja-node keygen FILE`), have the hub operator re-key the group to it \
         (`sajja-hub rekey GROUP --key NEW`), and restore with `--key FILE --group-key {key}`"
    )]
    KeyNotHeld {
        group: GroupId,
        seq: u64,
        key: PublicKey,
    },
    #[error(
        "group {group} seq {seq}: the hub's log is signed by key {key}, and none of the keys given is one this log had: \
         restore with the group's key backup (`sajja-node key-export`), or name a public key the group had with --group-key"
    )]
    Untrusted {
        group: GroupId,
        seq: u64,
        key: PublicKey,
    },
    #[error("{0}")]
    Bundle(#[from] BundleError),
    #[error(
        "group {group}: member {member} has no name in this node's register (names are not restored from the hub): \
         give it with `sajja-node member edit {member} --name NAME`"
    )]
    NoRegisterRow { group: GroupId, member: MemberNo },
    #[error(
        "group {group}: {this_file} was imported before, on {at} (as {earlier_file}, seq {first_seq}..={last_seq}): \
         if these are new entries, change the file; to record the same entries a second time, import it with --again"
    )]
    AlreadyImported {
        group: GroupId,
        this_file: String,
        earlier_file: String,
        /// Thai local time, as the treasurer reads it.
        at: String,
        first_seq: u64,
        last_seq: u64,
    },
}

/// What `verify` (or opening the ledger) found wrong. Event damage names the
/// first bad sequence number, because everything after it is unverifiable.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum Damage {
    #[error("first bad seq {seq}: {reason}")]
    Event { seq: u64, reason: String },
    #[error("derived books differ from a re-fold of the log: {0}")]
    Derived(String),
    #[error("{0}")]
    Meta(String),
}

/// The rule a store error carries, if it is a ledger refusal.
pub fn refusal_rule(error: &StoreError) -> Option<&Rule> {
    match error {
        StoreError::Refused(refusal) => Some(&refusal.rule),
        _ => None,
    }
}
