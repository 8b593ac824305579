//! The log verifier: takes event bytes in order plus a signed checkpoint and
//! says precisely what is wrong, or that everything up to the checkpoint is the
//! group's own signed history.

use thiserror::Error;

use crate::admin::AdminEvent;
use crate::chain::{self, Hash};
use crate::checkpoint::{PublicKey, SignedCheckpoint};
use crate::event::{DecodeError, Event};
use crate::ids::GroupId;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("group {group} seq {seq}: undecodable event bytes: {reason}")]
    Undecodable {
        group: GroupId,
        seq: u64,
        reason: DecodeError,
    },
    #[error("group {group} seq {seq}: event belongs to group {found}")]
    WrongGroup {
        group: GroupId,
        seq: u64,
        found: GroupId,
    },
    #[error("group {group}: sequence gap: expected seq {expected}, found {found}")]
    SequenceGap {
        group: GroupId,
        expected: u64,
        found: u64,
    },
    #[error("group {group} seq {seq}: hash mismatch")]
    HashMismatch { group: GroupId, seq: u64 },
    #[error("group {group}: checkpoint is for group {found}")]
    CheckpointWrongGroup { group: GroupId, found: GroupId },
    #[error(
        "group {group}: checkpoint is at seq {checkpoint_seq} but the events end at seq {events_end}"
    )]
    CheckpointPosition {
        group: GroupId,
        checkpoint_seq: u64,
        events_end: u64,
    },
    #[error("group {group} seq {seq}: bad checkpoint signature")]
    BadSignature { group: GroupId, seq: u64 },
    #[error("group {group} seq {seq}: checkpoint is for fork epoch {found}, expected {expected}")]
    ForkEpoch {
        group: GroupId,
        seq: u64,
        expected: u32,
        found: u32,
    },
}

impl VerifyError {
    /// A short stable name for the failed check, for metrics and client errors.
    pub fn check(&self) -> &'static str {
        match self {
            VerifyError::Undecodable { .. } => "undecodable",
            VerifyError::WrongGroup { .. } => "wrong_group",
            VerifyError::SequenceGap { .. } => "sequence_gap",
            VerifyError::HashMismatch { .. } => "hash_mismatch",
            VerifyError::CheckpointWrongGroup { .. } => "checkpoint_wrong_group",
            VerifyError::CheckpointPosition { .. } => "checkpoint_position",
            VerifyError::BadSignature { .. } => "bad_signature",
            VerifyError::ForkEpoch { .. } => "fork_epoch",
        }
    }
}

/// Walks a group's chain forward one event at a time.
#[derive(Clone, Debug)]
pub struct ChainVerifier {
    group: GroupId,
    seq: u64,
    head: Hash,
}

impl ChainVerifier {
    /// At the start of the group's log.
    pub fn new(group: GroupId) -> ChainVerifier {
        let head = chain::genesis(&group);
        ChainVerifier {
            group,
            seq: 0,
            head,
        }
    }

    /// After `seq` events whose head is `head` (already verified earlier).
    pub fn resume(group: GroupId, seq: u64, head: Hash) -> ChainVerifier {
        ChainVerifier { group, seq, head }
    }

    pub fn seq(&self) -> u64 {
        self.seq
    }

    pub fn head(&self) -> Hash {
        self.head
    }

    /// Decodes the next event, checks it is this group's next one, and extends
    /// the chain with its exact bytes.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Event, VerifyError> {
        self.advance(bytes, Event::decode, |e| (&e.group, e.seq))
    }

    /// The same for a hub's administrative log.
    pub fn push_admin(&mut self, bytes: &[u8]) -> Result<AdminEvent, VerifyError> {
        self.advance(bytes, AdminEvent::decode, |e| (&e.log, e.seq))
    }

    fn advance<T>(
        &mut self,
        bytes: &[u8],
        decode: impl FnOnce(&[u8]) -> Result<T, DecodeError>,
        header: impl FnOnce(&T) -> (&GroupId, u64),
    ) -> Result<T, VerifyError> {
        let expected = self.seq + 1;
        let event = decode(bytes).map_err(|reason| VerifyError::Undecodable {
            group: self.group.clone(),
            seq: expected,
            reason,
        })?;
        let (group, seq) = header(&event);
        if *group != self.group {
            return Err(VerifyError::WrongGroup {
                group: self.group.clone(),
                seq: expected,
                found: group.clone(),
            });
        }
        if seq != expected {
            return Err(VerifyError::SequenceGap {
                group: self.group.clone(),
                expected,
                found: seq,
            });
        }
        self.head = chain::next(&self.head, bytes);
        self.seq = expected;
        Ok(event)
    }

    /// Compares the recomputed head with a hash stored beside the event, which
    /// pins a damaged event to its own sequence number.
    pub fn expect_head(&self, stored: &Hash) -> Result<(), VerifyError> {
        if &self.head != stored {
            return Err(VerifyError::HashMismatch {
                group: self.group.clone(),
                seq: self.seq,
            });
        }
        Ok(())
    }

    /// Checks that `checkpoint` names this group, this position and this head,
    /// at the expected fork epoch, and is signed by `key`.
    pub fn finish(
        &self,
        checkpoint: &SignedCheckpoint,
        key: &PublicKey,
        fork_epoch: u32,
    ) -> Result<(), VerifyError> {
        let c = &checkpoint.checkpoint;
        if c.group != self.group {
            return Err(VerifyError::CheckpointWrongGroup {
                group: self.group.clone(),
                found: c.group.clone(),
            });
        }
        if c.seq != self.seq {
            return Err(VerifyError::CheckpointPosition {
                group: self.group.clone(),
                checkpoint_seq: c.seq,
                events_end: self.seq,
            });
        }
        if c.head != self.head {
            return Err(VerifyError::HashMismatch {
                group: self.group.clone(),
                seq: self.seq,
            });
        }
        if !checkpoint.verify(key) {
            return Err(VerifyError::BadSignature {
                group: self.group.clone(),
                seq: c.seq,
            });
        }
        if c.fork_epoch != fork_epoch {
            return Err(VerifyError::ForkEpoch {
                group: self.group.clone(),
                seq: c.seq,
                expected: fork_epoch,
                found: c.fork_epoch,
            });
        }
        Ok(())
    }
}

/// Verifies a whole segment: `events` continue the chain at `start`, and
/// `checkpoint` signs where they end. Returns the decoded events.
pub fn verify_segment<'a>(
    start: ChainVerifier,
    events: impl IntoIterator<Item = &'a [u8]>,
    checkpoint: &SignedCheckpoint,
    key: &PublicKey,
    fork_epoch: u32,
) -> Result<(ChainVerifier, Vec<Event>), VerifyError> {
    let mut verifier = start;
    let mut decoded = Vec::new();
    for bytes in events {
        decoded.push(verifier.push(bytes)?);
    }
    verifier.finish(checkpoint, key, fork_epoch)?;
    Ok((verifier, decoded))
}
