//! The store handle, its errors and the rows it returns.

use prost::Message;
use rusqlite::Connection;
use sajja_common::{GroupId, Hash, PublicKey, SignedCheckpoint};
use sajja_proto::v1;
use thiserror::Error;

use crate::values::status::GroupStatus;

/// 1: logs, checkpoints, forks. 2: adds `group_books` and `group_positions`,
/// each group's folded books and position inputs, written with every batch.
/// 3: adds `credentials`, the client certificates this hub issued.
/// 4: the stored books and position inputs are snapshot version 2 (the
/// position inputs carry what fund growth, member growth and the collection
/// rate read): re-folded from every log.
pub(super) const SCHEMA_VERSION: i64 = 4;

/// How finely a group's last contact is kept, in seconds: a hub writes it at
/// most once a minute however often the group's node says hello (each write
/// is a synced transaction), and the relay passes on at most that many
/// changes; "stale" is counted in days.
pub const CONTACT_RESOLUTION_S: i64 = 60;

/// The page cache of the hub's connection, in KiB.
pub(super) const CACHE_KIB: i64 = 64 * 1024;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("group {0} is already enrolled with a different key")]
    KeyConflict(GroupId),
    #[error("group {0} is not enrolled")]
    NotEnrolled(GroupId),
    #[error("database schema version {0} is newer than this hub understands ({SCHEMA_VERSION})")]
    SchemaTooNew(i64),
    #[error("stored data is damaged: {0}")]
    Damaged(String),
}

/// What the hub has committed for one group.
#[derive(Clone, Debug)]
pub struct GroupRow {
    pub gid: i64,
    pub group: GroupId,
    pub key: PublicKey,
    pub fork_epoch: u32,
    pub status: GroupStatus,
    pub seq: u64,
    pub head: Hash,
    pub checkpoint: Option<SignedCheckpoint>,
    /// When this hub last committed a batch of the log (unix seconds).
    pub last_sync_at: Option<i64>,
    /// The group's last verified contact (unix seconds): see
    /// [`Store::record_contact`]. What "stale" is measured from.
    pub last_contact_at: Option<i64>,
}

/// One log's status and size, without its key or checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupSummary {
    pub group: GroupId,
    pub status: GroupStatus,
    pub seq: u64,
    pub last_sync_at: Option<i64>,
    pub last_contact_at: Option<i64>,
}

/// Two conflicting signed histories of one group.
#[derive(Clone, Debug)]
pub struct ForkRecord {
    pub id: i64,
    pub group: GroupId,
    pub seq: u64,
    pub accepted_event: Option<Vec<u8>>,
    pub offered_event: Option<Vec<u8>>,
    pub accepted_checkpoint: Option<SignedCheckpoint>,
    pub offered_checkpoint: SignedCheckpoint,
    pub detected_at: i64,
    pub resolution: Option<String>,
}

/// A new event ready to store: its exact bytes, chain hash and business date.
pub struct NewEvent<'a> {
    pub bytes: &'a [u8],
    pub hash: Hash,
    pub business_date: u32,
}

pub struct Store {
    pub(super) conn: Connection,
}

pub(super) fn encode_checkpoint(checkpoint: &SignedCheckpoint) -> Vec<u8> {
    v1::Checkpoint::from(checkpoint).encode_to_vec()
}

pub(super) fn decode_checkpoint(bytes: &[u8]) -> Result<SignedCheckpoint, StoreError> {
    let wire = v1::Checkpoint::decode(bytes)
        .map_err(|e| StoreError::Damaged(format!("checkpoint: {e}")))?;
    SignedCheckpoint::try_from(&wire).map_err(|e| StoreError::Damaged(format!("checkpoint: {e}")))
}

pub(super) fn damaged(what: &str) -> StoreError {
    StoreError::Damaged(what.to_string())
}
