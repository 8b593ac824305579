//! The log's integrity: the hash chain, signed checkpoints, and a verifier that
//! names each failure precisely.

use proptest::prelude::*;
use sajja_common::chain::{self, Hash};
use sajja_common::checkpoint::{Checkpoint, SignedCheckpoint, SigningKey};
use sajja_common::verify::{ChainVerifier, VerifyError, verify_segment};
use sajja_common::{Event, GroupId};

use crate::support::*;

/// A group's five-event log as stored: exact bytes, and the head after each.
struct Stored {
    events: Vec<Event>,
    bytes: Vec<Vec<u8>>,
    heads: Vec<Hash>,
    key: SigningKey,
}

fn stored() -> Stored {
    let mut log = Log::with_members(2);
    log.push("2024-01-05", contributes(1, baht(30)));
    log.push("2024-01-10", deposit(2, baht(100)));
    assert_eq!(log.events.len(), 5);
    let bytes: Vec<Vec<u8>> = log.events.iter().map(Event::encode).collect();
    let mut head = chain::genesis(&group());
    let heads = bytes
        .iter()
        .map(|b| {
            head = chain::next(&head, b);
            head
        })
        .collect();
    Stored {
        events: log.events,
        bytes,
        heads,
        key: SigningKey::from_seed(&[7; 32]).unwrap(),
    }
}

impl Stored {
    fn checkpoint(&self) -> SignedCheckpoint {
        Checkpoint {
            group: group(),
            seq: 5,
            head: self.heads[4],
            fork_epoch: 0,
        }
        .sign(&self.key)
    }

    /// Verifies `bytes` from the start against `checkpoint`, at fork epoch 0.
    fn verify(
        &self,
        bytes: &[Vec<u8>],
        checkpoint: &SignedCheckpoint,
    ) -> Result<Vec<Event>, VerifyError> {
        verify_segment(
            ChainVerifier::new(group(), self.key.public()),
            bytes.iter().map(Vec::as_slice),
            checkpoint,
            0,
        )
        .map(|(_, events)| events)
    }
}

/// Event `seq` of the stored log, changed and re-encoded as a tamperer would.
fn tampered(s: &Stored, seq: usize, change: impl FnOnce(&mut Event)) -> Vec<Vec<u8>> {
    let mut bytes = s.bytes.clone();
    let mut event = s.events[seq - 1].clone();
    change(&mut event);
    bytes[seq - 1] = event.encode();
    bytes
}

fn check_fails(result: Result<Vec<Event>, VerifyError>, check: &str, names_seq: u64) {
    let error = result.expect_err("verification should fail");
    assert_eq!(error.check(), check, "{error}");
    assert!(
        error.to_string().contains(&format!("seq {names_seq}")),
        "{error}"
    );
}

#[test]
fn an_intact_log_verifies_and_decodes_to_its_events() {
    // Proves an untouched log verifies against its signed checkpoint and decodes to exactly its events.
    let s = stored();
    assert_eq!(s.verify(&s.bytes, &s.checkpoint()).unwrap(), s.events);
}

#[test]
fn verification_resumes_from_a_verified_head() {
    // Proves a verifier resumed at seq 3 with its head accepts the rest of the log.
    let s = stored();
    let start = ChainVerifier::resume(group(), 3, s.heads[2], s.key.public());
    let rest = s.bytes[3..].iter().map(Vec::as_slice);
    let (end, events) = verify_segment(start, rest, &s.checkpoint(), 0).unwrap();
    assert_eq!(events, s.events[3..]);
    assert_eq!((end.seq(), end.head()), (5, s.heads[4]));
}

#[test]
fn a_checkpoint_signed_by_another_key_is_a_bad_signature() {
    // Proves a checkpoint not signed by the group's key is refused as a bad signature.
    let s = stored();
    let forged = s
        .checkpoint()
        .checkpoint
        .sign(&SigningKey::from_seed(&[8; 32]).unwrap());
    check_fails(s.verify(&s.bytes, &forged), "bad_signature", 5);
    let mut flipped = s.checkpoint();
    flipped.signature[0] ^= 1;
    check_fails(s.verify(&s.bytes, &flipped), "bad_signature", 5);
}

#[test]
fn a_checkpoint_of_another_group_is_refused() {
    // Proves a checkpoint naming another group is refused, and never verifies as this one.
    let s = stored();
    let theirs = Checkpoint {
        group: other_group(),
        seq: 5,
        head: s.heads[4],
        fork_epoch: 0,
    }
    .sign(&s.key);
    let error = s.verify(&s.bytes, &theirs).unwrap_err();
    assert_eq!(
        error,
        VerifyError::CheckpointWrongGroup {
            group: group(),
            found: other_group()
        }
    );
    // Relabelled as ours, group B's signature does not cover group A's checkpoint.
    let mut relabelled = theirs.clone();
    relabelled.checkpoint.group = group();
    check_fails(s.verify(&s.bytes, &relabelled), "bad_signature", 5);
}

#[test]
fn a_missing_event_is_a_sequence_gap() {
    // Proves a log with seq 3 missing is refused as a gap expecting 3 and finding 4.
    let s = stored();
    let mut bytes = s.bytes.clone();
    bytes.remove(2);
    let error = s.verify(&bytes, &s.checkpoint()).unwrap_err();
    assert_eq!(
        error,
        VerifyError::SequenceGap {
            group: group(),
            expected: 3,
            found: 4
        }
    );
}

#[test]
fn a_changed_event_is_a_hash_mismatch_at_its_own_seq() {
    // Proves stored heads pin a re-encoded, still decodable event to its seq (3).
    let s = stored();
    let bytes = tampered(&s, 3, |e| e.body = contributes(1, baht(3_000)));
    let mut verifier = ChainVerifier::new(group(), s.key.public());
    let mut first_bad = None;
    for (index, b) in bytes.iter().enumerate() {
        verifier.push(b).unwrap();
        if let Err(error) = verifier.expect_head(&s.heads[index]) {
            first_bad = Some(error);
            break;
        }
    }
    assert_eq!(
        first_bad,
        Some(VerifyError::HashMismatch {
            group: group(),
            seq: 3
        })
    );
}

#[test]
fn a_changed_event_fails_the_final_checkpoint() {
    // Proves without stored heads the checkpoint catches a changed event at the checkpoint's seq.
    let s = stored();
    let bytes = tampered(&s, 3, |e| e.recorded_at += 1);
    let error = s.verify(&bytes, &s.checkpoint()).unwrap_err();
    assert_eq!(
        error,
        VerifyError::HashMismatch {
            group: group(),
            seq: 5
        }
    );
}

#[test]
fn undecodable_bytes_are_named_by_their_seq() {
    // Proves garbage or truncated bytes in place of event 4 are refused as undecodable at seq 4.
    let s = stored();
    let mut garbage = s.bytes.clone();
    garbage[3] = vec![0xff, 0xff, 0xff];
    check_fails(s.verify(&garbage, &s.checkpoint()), "undecodable", 4);
    let mut truncated = s.bytes.clone();
    let half = truncated[3].len() / 2;
    truncated[3].truncate(half);
    check_fails(s.verify(&truncated, &s.checkpoint()), "undecodable", 4);
}

#[test]
fn an_event_of_another_group_is_refused_at_its_seq() {
    // Proves an event naming another group inside this group's log is refused at its seq.
    let s = stored();
    let bytes = tampered(&s, 2, |e| e.group = other_group());
    let error = s.verify(&bytes, &s.checkpoint()).unwrap_err();
    assert_eq!(
        error,
        VerifyError::WrongGroup {
            group: group(),
            seq: 2,
            found: other_group()
        }
    );
}

#[test]
fn a_checkpoint_of_another_fork_epoch_is_refused() {
    // Proves a checkpoint signed for fork epoch 0 is refused where epoch 1 is expected.
    let s = stored();
    let result = verify_segment(
        ChainVerifier::new(group(), s.key.public()),
        s.bytes.iter().map(Vec::as_slice),
        &s.checkpoint(),
        1,
    );
    assert_eq!(
        result.map(|_| ()),
        Err(VerifyError::ForkEpoch {
            group: group(),
            seq: 5,
            expected: 1,
            found: 0
        })
    );
}

#[test]
fn a_checkpoint_at_another_position_is_refused() {
    // Proves a checkpoint for seq 4 does not cover a log that ends at seq 5.
    let s = stored();
    let early = Checkpoint {
        group: group(),
        seq: 4,
        head: s.heads[3],
        fork_epoch: 0,
    }
    .sign(&s.key);
    let error = s.verify(&s.bytes, &early).unwrap_err();
    assert_eq!(error.check(), "checkpoint_position");
}

#[test]
fn the_chain_starts_from_a_genesis_bound_to_the_group() {
    // Proves the same bytes give a different head in another group's chain.
    let s = stored();
    let theirs = chain::next(&chain::genesis(&other_group()), &s.bytes[0]);
    assert_ne!(theirs, s.heads[0]);
    assert_ne!(
        chain::genesis(&group()),
        chain::genesis(&GroupId::parse("230102-007").unwrap())
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn flipping_any_byte_of_any_event_never_verifies(index in 0usize..5, position in any::<prop::sample::Index>(), bit in 0u8..8) {
        // Proves one flipped bit anywhere in the stored log always fails verification.
        let s = stored();
        let mut bytes = s.bytes.clone();
        let at = position.index(bytes[index].len());
        bytes[index][at] ^= 1 << bit;
        prop_assert!(s.verify(&bytes, &s.checkpoint()).is_err());
    }
}
