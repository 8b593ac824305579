//! Wire ↔ domain conversions, with small typed errors.

use sajja_common::{Checkpoint, GroupId, Hash, SignedCheckpoint};
use thiserror::Error;

use crate::v1;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum WireError {
    #[error("message is missing {0}")]
    Missing(&'static str),
    #[error("field {field} is invalid: {reason}")]
    Invalid { field: &'static str, reason: String },
}

impl From<&SignedCheckpoint> for v1::Checkpoint {
    fn from(signed: &SignedCheckpoint) -> v1::Checkpoint {
        let c = &signed.checkpoint;
        v1::Checkpoint {
            group_id: c.group.as_str().to_string(),
            seq: c.seq,
            head: c.head.as_bytes().to_vec(),
            fork_epoch: c.fork_epoch,
            signature: signed.signature.to_vec(),
        }
    }
}

impl TryFrom<&v1::Checkpoint> for SignedCheckpoint {
    type Error = WireError;

    fn try_from(wire: &v1::Checkpoint) -> Result<SignedCheckpoint, WireError> {
        let group = GroupId::parse(&wire.group_id).map_err(|e| WireError::Invalid {
            field: "checkpoint.group_id",
            reason: e.to_string(),
        })?;
        let head = Hash::from_slice(&wire.head).ok_or(WireError::Invalid {
            field: "checkpoint.head",
            reason: "expected 32 bytes".into(),
        })?;
        let signature: [u8; 64] =
            wire.signature
                .as_slice()
                .try_into()
                .map_err(|_| WireError::Invalid {
                    field: "checkpoint.signature",
                    reason: "expected 64 bytes".into(),
                })?;
        Ok(SignedCheckpoint {
            checkpoint: Checkpoint {
                group,
                seq: wire.seq,
                head,
                fork_epoch: wire.fork_epoch,
            },
            signature,
        })
    }
}

/// Converts an optional wire checkpoint, naming what was missing.
pub fn checkpoint(
    wire: Option<&v1::Checkpoint>,
    what: &'static str,
) -> Result<SignedCheckpoint, WireError> {
    SignedCheckpoint::try_from(wire.ok_or(WireError::Missing(what))?)
}

pub fn group_id(text: &str) -> Result<GroupId, WireError> {
    GroupId::parse(text).map_err(|e| WireError::Invalid {
        field: "group_id",
        reason: e.to_string(),
    })
}

pub fn hash(bytes: &[u8], field: &'static str) -> Result<Hash, WireError> {
    Hash::from_slice(bytes).ok_or(WireError::Invalid {
        field,
        reason: "expected 32 bytes".into(),
    })
}
