//! Compact, versioned encodings of folded state, so a hub can keep a group's
//! books and position inputs next to its log and not re-fold the log on every
//! read. A snapshot is only a cache of the fold: anyone holding the log can
//! rebuild it with [`Books::fold`], and the hub does exactly that when a log
//! is truncated or a snapshot's version is unknown.

use thiserror::Error;

use crate::ledger::Books;
use crate::position::PositionBasis;

/// The first byte of every snapshot. Bump it when a snapshotted type changes
/// shape; a hub re-folds the logs of snapshots it cannot read.
/// 2: `PositionBasis` carries the member register by month and the
/// contribution rule (fund growth, member growth, collection rate).
/// 3: `Books` keeps its guarded changes by business date (`Books::dated`).
/// 4: members keep their paid periods (`extra`), loans their plan.
/// 5: pools keep what their reserve paid to settle exchanges' defaults.
pub const SNAPSHOT_VERSION: u8 = 5;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SnapshotError {
    #[error("snapshot version {0} is not {SNAPSHOT_VERSION}")]
    Version(u8),
    #[error("snapshot is empty")]
    Empty,
    #[error("snapshot does not decode: {0}")]
    Decode(String),
    #[error("snapshot does not encode: {0}")]
    Encode(String),
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, SnapshotError> {
    postcard::to_extend(value, vec![SNAPSHOT_VERSION])
        .map_err(|e| SnapshotError::Encode(e.to_string()))
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, SnapshotError> {
    match bytes.split_first() {
        None => Err(SnapshotError::Empty),
        Some((&SNAPSHOT_VERSION, rest)) => {
            postcard::from_bytes(rest).map_err(|e| SnapshotError::Decode(e.to_string()))
        }
        Some((version, _)) => Err(SnapshotError::Version(*version)),
    }
}

impl Books {
    /// The books as a snapshot (see [`Books::from_snapshot`]).
    pub fn to_snapshot(&self) -> Result<Vec<u8>, SnapshotError> {
        encode(self)
    }

    pub fn from_snapshot(bytes: &[u8]) -> Result<Books, SnapshotError> {
        decode(bytes)
    }
}

impl PositionBasis {
    /// The position inputs as a snapshot (see [`PositionBasis::from_snapshot`]).
    pub fn to_snapshot(&self) -> Result<Vec<u8>, SnapshotError> {
        encode(self)
    }

    pub fn from_snapshot(bytes: &[u8]) -> Result<PositionBasis, SnapshotError> {
        decode(bytes)
    }
}
