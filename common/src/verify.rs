//! The log verifier: takes event bytes in order plus a signed checkpoint and
//! says precisely what is wrong, or that everything up to the checkpoint is the
//! group's own signed history.
//!
//! It also follows the group's key. A checkpoint at seq N is signed by the key
//! in effect after event N; a `KeyRotated` event changes that key only if it
//! carries the signature of the key in effect before it. Relays merge
//! consecutive checkpoints into one batch, so a checkpoint alone never proves
//! a rotation: the event has to, and this is the one place that checks it.

use thiserror::Error;

use crate::admin::AdminEvent;
use crate::chain::{self, Hash};
use crate::checkpoint::{PublicKey, SignedCheckpoint, rotation_signing_bytes};
use crate::event::{Body, DecodeError, Event};
use crate::exchange::ExchangeEvent;
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
    #[error("group {group} seq {seq}: key rotation refused: {fault}")]
    KeyRotation {
        group: GroupId,
        seq: u64,
        fault: RotationFault,
    },
}

/// Why a `KeyRotated` event does not hand the group's key on.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum RotationFault {
    #[error("it names old key {named}, but the key in effect is {current}")]
    NotTheKeyInEffect {
        named: PublicKey,
        current: PublicKey,
    },
    #[error(
        "the old key's signature does not verify over this group, seq, previous head and new key"
    )]
    BadSignature,
    #[error("the new key {0} is the key already in effect")]
    SameKey(PublicKey),
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
            VerifyError::KeyRotation { .. } => "key_rotation",
        }
    }

    /// The sequence number the failed check concerns (0 when it names none).
    pub fn seq(&self) -> u64 {
        match self {
            VerifyError::Undecodable { seq, .. }
            | VerifyError::WrongGroup { seq, .. }
            | VerifyError::HashMismatch { seq, .. }
            | VerifyError::BadSignature { seq, .. }
            | VerifyError::ForkEpoch { seq, .. }
            | VerifyError::KeyRotation { seq, .. } => *seq,
            VerifyError::SequenceGap { found, .. } => *found,
            VerifyError::CheckpointPosition { checkpoint_seq, .. } => *checkpoint_seq,
            VerifyError::CheckpointWrongGroup { .. } => 0,
        }
    }
}

/// Walks a group's chain forward one event at a time, following its key.
#[derive(Clone, Debug)]
pub struct ChainVerifier {
    group: GroupId,
    seq: u64,
    head: Hash,
    key: PublicKey,
}

impl ChainVerifier {
    /// At the start of the group's log, whose first key is `key`.
    pub fn new(group: GroupId, key: PublicKey) -> ChainVerifier {
        let head = chain::genesis(&group);
        ChainVerifier {
            group,
            seq: 0,
            head,
            key,
        }
    }

    /// After `seq` events whose head is `head` (already verified earlier),
    /// with `key` the key in effect after event `seq`.
    pub fn resume(group: GroupId, seq: u64, head: Hash, key: PublicKey) -> ChainVerifier {
        ChainVerifier {
            group,
            seq,
            head,
            key,
        }
    }

    pub fn seq(&self) -> u64 {
        self.seq
    }

    pub fn head(&self) -> Hash {
        self.head
    }

    /// The key in effect after the last event pushed: the one that signs a
    /// checkpoint here.
    pub fn key(&self) -> PublicKey {
        self.key
    }

    /// Replaces the key without an event: a hub operator's re-key of a group
    /// whose key was lost (`AdminBody::GroupRekeyed`), which the group's own
    /// log cannot record. Only a caller that holds that fact calls this.
    pub fn adopt_key(&mut self, key: PublicKey) {
        self.key = key;
    }

    /// Decodes the next event, checks it is this group's next one, and extends
    /// the chain with its exact bytes. A `KeyRotated` must be signed by the
    /// key in effect; the new key is in effect from this event on.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Event, VerifyError> {
        let previous = self.head;
        let event = self.advance(bytes, Event::decode, |e| (&e.group, e.seq))?;
        if let Body::KeyRotated {
            new_key,
            old_key,
            old_key_signature,
        } = &event.body
        {
            let fault = if *old_key != self.key {
                Some(RotationFault::NotTheKeyInEffect {
                    named: *old_key,
                    current: self.key,
                })
            } else if *new_key == self.key {
                Some(RotationFault::SameKey(*new_key))
            } else if !self.key.verify(
                &rotation_signing_bytes(&self.group, event.seq, &previous, new_key),
                old_key_signature,
            ) {
                Some(RotationFault::BadSignature)
            } else {
                None
            };
            if let Some(fault) = fault {
                // Nothing of a refused event may count: back to before it.
                self.seq -= 1;
                self.head = previous;
                return Err(VerifyError::KeyRotation {
                    group: self.group.clone(),
                    seq: event.seq,
                    fault,
                });
            }
            self.key = *new_key;
        }
        Ok(event)
    }

    /// The same for a hub's administrative log.
    pub fn push_admin(&mut self, bytes: &[u8]) -> Result<AdminEvent, VerifyError> {
        self.advance(bytes, AdminEvent::decode, |e| (&e.log, e.seq))
    }

    /// The same for a community exchange's log.
    pub fn push_exchange(&mut self, bytes: &[u8]) -> Result<ExchangeEvent, VerifyError> {
        self.advance(bytes, ExchangeEvent::decode, |e| (&e.log, e.seq))
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
    /// at the expected fork epoch, and is signed by the key in effect here.
    pub fn finish(
        &self,
        checkpoint: &SignedCheckpoint,
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
        if !checkpoint.verify(&self.key) {
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
/// `checkpoint` signs where they end, with the key in effect there. Returns
/// the decoded events.
pub fn verify_segment<'a>(
    start: ChainVerifier,
    events: impl IntoIterator<Item = &'a [u8]>,
    checkpoint: &SignedCheckpoint,
    fork_epoch: u32,
) -> Result<(ChainVerifier, Vec<Event>), VerifyError> {
    let mut verifier = start;
    let mut decoded = Vec::new();
    for bytes in events {
        decoded.push(verifier.push(bytes)?);
    }
    verifier.finish(checkpoint, fork_epoch)?;
    Ok((verifier, decoded))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::{Checkpoint, SigningKey};
    use crate::date::Date;
    use crate::money::Money;

    fn group() -> GroupId {
        GroupId::parse("230101-007").unwrap()
    }

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_seed(&[seed; 32]).unwrap()
    }

    /// A log as a node writes it: bytes and the chain head after each event.
    struct Log {
        group: GroupId,
        events: Vec<Vec<u8>>,
        heads: Vec<Hash>,
    }

    impl Log {
        fn new(group: GroupId) -> Log {
            Log {
                group,
                events: Vec::new(),
                heads: Vec::new(),
            }
        }

        fn next_seq(&self) -> u64 {
            self.events.len() as u64 + 1
        }

        fn head(&self) -> Hash {
            self.heads
                .last()
                .copied()
                .unwrap_or_else(|| chain::genesis(&self.group))
        }

        fn push(&mut self, body: Body) {
            let bytes = Event {
                group: self.group.clone(),
                seq: self.next_seq(),
                date: Date::from_days(20_000).unwrap(),
                recorded_at: 0,
                body,
            }
            .encode();
            self.heads.push(chain::next(&self.head(), &bytes));
            self.events.push(bytes);
        }

        fn banked(&mut self) {
            self.push(Body::CashBanked {
                amount: Money::from_baht(10),
            });
        }

        fn rotate(&mut self, old: &SigningKey, new: &SigningKey) {
            let body = Body::key_rotated(
                &self.group,
                self.next_seq(),
                &self.head(),
                old,
                new.public(),
            );
            self.push(body);
        }

        fn checkpoint(&self, seq: u64, key: &SigningKey) -> SignedCheckpoint {
            Checkpoint {
                group: self.group.clone(),
                seq,
                head: self.heads[seq as usize - 1],
                fork_epoch: 0,
            }
            .sign(key)
        }

        fn verify_to(&self, seq: u64, start: &SigningKey) -> Result<ChainVerifier, VerifyError> {
            let mut verifier = ChainVerifier::new(self.group.clone(), start.public());
            for bytes in &self.events[..seq as usize] {
                verifier.push(bytes)?;
            }
            Ok(verifier)
        }
    }

    /// Events 1-2 under key 1, event 3 rotates to key 2, event 4 after it.
    fn rotated_log() -> Log {
        let mut log = Log::new(group());
        log.banked();
        log.banked();
        log.rotate(&key(1), &key(2));
        log.banked();
        log
    }

    fn rotation_fault(result: Result<ChainVerifier, VerifyError>, seq: u64) -> RotationFault {
        match result {
            Err(VerifyError::KeyRotation {
                group: g,
                seq: s,
                fault,
            }) => {
                assert_eq!((g, s), (group(), seq));
                fault
            }
            other => panic!("expected a key_rotation refusal at seq {seq}, got {other:?}"),
        }
    }

    #[test]
    fn a_rotation_signed_by_the_key_in_effect_hands_the_key_on() {
        // Proves the checkpoint at the rotation and after it verify with the
        // new key, and a checkpoint before it still with the old one.
        let log = rotated_log();
        let verifier = log.verify_to(4, &key(1)).unwrap();
        assert_eq!(verifier.key(), key(2).public());
        verifier.finish(&log.checkpoint(4, &key(2)), 0).unwrap();
        let at_rotation = log.verify_to(3, &key(1)).unwrap();
        at_rotation.finish(&log.checkpoint(3, &key(2)), 0).unwrap();
        let before = log.verify_to(2, &key(1)).unwrap();
        assert_eq!(before.key(), key(1).public());
        before.finish(&log.checkpoint(2, &key(1)), 0).unwrap();
        // A relay's merged batch: events 1..=4 under the one checkpoint at 4.
        let segment = log.events.iter().map(Vec::as_slice);
        let start = ChainVerifier::new(group(), key(1).public());
        let (end, decoded) =
            verify_segment(start, segment, &log.checkpoint(4, &key(2)), 0).unwrap();
        assert_eq!((end.seq(), decoded.len()), (4, 4));
    }

    #[test]
    fn a_checkpoint_after_a_rotation_signed_by_the_old_key_is_refused() {
        let log = rotated_log();
        for seq in [3, 4] {
            let verifier = log.verify_to(seq, &key(1)).unwrap();
            let result = verifier.finish(&log.checkpoint(seq, &key(1)), 0);
            assert_eq!(
                result,
                Err(VerifyError::BadSignature {
                    group: group(),
                    seq
                })
            );
        }
    }

    #[test]
    fn a_rotation_with_a_bad_signature_is_refused_by_name_and_counts_for_nothing() {
        let mut log = Log::new(group());
        log.banked();
        log.banked();
        let mut body = Body::key_rotated(&group(), 3, &log.head(), &key(1), key(2).public());
        if let Body::KeyRotated {
            old_key_signature, ..
        } = &mut body
        {
            old_key_signature[10] ^= 1;
        }
        log.push(body);
        let mut verifier = log.verify_to(2, &key(1)).unwrap();
        let error = verifier.push(&log.events[2]).unwrap_err();
        assert_eq!(error.check(), "key_rotation");
        assert_eq!(error.seq(), 3);
        assert!(error.to_string().contains("230101-007 seq 3"), "{error}");
        // The refused event moved nothing: the old key is still in effect.
        assert_eq!((verifier.seq(), verifier.key()), (2, key(1).public()));
        assert_eq!(verifier.head(), log.heads[1]);
        assert_eq!(
            rotation_fault(log.verify_to(3, &key(1)), 3),
            RotationFault::BadSignature
        );
    }

    #[test]
    fn a_rotation_signed_by_the_new_key_is_refused() {
        // Whoever holds only the new key cannot make it the group's key,
        // whether the event names the new key or the real one as the old.
        let mut claims_itself = Log::new(group());
        claims_itself.banked();
        claims_itself.rotate(&key(2), &key(3));
        assert_eq!(
            rotation_fault(claims_itself.verify_to(2, &key(1)), 2),
            RotationFault::NotTheKeyInEffect {
                named: key(2).public(),
                current: key(1).public()
            }
        );
        let mut lies = Log::new(group());
        lies.banked();
        let mut body = Body::key_rotated(&group(), 2, &lies.head(), &key(2), key(2).public());
        if let Body::KeyRotated { old_key, .. } = &mut body {
            *old_key = key(1).public();
        }
        lies.push(body);
        assert_eq!(
            rotation_fault(lies.verify_to(2, &key(1)), 2),
            RotationFault::BadSignature
        );
    }

    #[test]
    fn a_replayed_rotation_is_refused() {
        let log = rotated_log();
        let Event { body: genuine, .. } = Event::decode(&log.events[2]).unwrap();

        // The same consent at another seq: the log went 1 -> 2 -> 1, and the
        // first rotation's event is offered again later.
        let mut later = rotated_log();
        later.rotate(&key(2), &key(1));
        later.push(genuine.clone());
        assert_eq!(
            rotation_fault(later.verify_to(6, &key(1)), 6),
            RotationFault::BadSignature
        );

        // The same seq in another history (a fork from an earlier point).
        let mut other_history = Log::new(group());
        other_history.banked();
        other_history.push(Body::CashDrawn {
            amount: Money::from_baht(1),
        });
        other_history.push(genuine.clone());
        assert_eq!(
            rotation_fault(other_history.verify_to(3, &key(1)), 3),
            RotationFault::BadSignature
        );

        // The same seq and position in another group's log.
        let mut other_group = Log::new(GroupId::parse("230101-008").unwrap());
        other_group.banked();
        other_group.banked();
        other_group.push(genuine);
        match other_group.verify_to(3, &key(1)) {
            Err(VerifyError::KeyRotation { seq: 3, fault, .. }) => {
                assert_eq!(fault, RotationFault::BadSignature)
            }
            other => panic!("expected a key_rotation refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_rotation_to_the_key_already_in_effect_is_refused() {
        let mut log = Log::new(group());
        log.rotate(&key(1), &key(1));
        assert_eq!(
            rotation_fault(log.verify_to(1, &key(1)), 1),
            RotationFault::SameKey(key(1).public())
        );
    }

    #[test]
    fn an_operator_re_key_is_adopted_only_when_the_caller_says_so() {
        let mut log = Log::new(group());
        log.banked();
        let mut verifier = log.verify_to(1, &key(1)).unwrap();
        let replaced = log.checkpoint(1, &key(5));
        assert!(verifier.finish(&replaced, 0).is_err());
        verifier.adopt_key(key(5).public());
        verifier.finish(&replaced, 0).unwrap();
    }
}
