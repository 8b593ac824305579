//! A mutation test of the accept rule, run in CI: take an honest log, damage
//! a batch of it in random ways — flipped bits, truncation, junk, duplicates,
//! swaps, impossible sequence numbers, forged checkpoints — and offer it to
//! the hub. Whatever arrives, the hub must not panic, must never store a byte
//! the group did not write, and must never declare a fork it cannot prove.

use proptest::prelude::*;
use sajja_common::Hash;

use super::{hub_with, opened};
use sajja_hub::ingest::accept::BatchOutcome;

#[derive(Clone, Debug)]
enum Mutation {
    FlipBit { event: usize, byte: usize, bit: u8 },
    Truncate { event: usize, keep: usize },
    Junk { event: usize, bytes: Vec<u8> },
    Duplicate { event: usize },
    Swap { a: usize, b: usize },
    Drop { event: usize },
    From(u64),
    CheckpointSeq(u64),
    CheckpointHead([u8; 32]),
    Signature { byte: usize },
    Epoch(u32),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0..64usize, 0..128usize, 0..8u8).prop_map(|(event, byte, bit)| Mutation::FlipBit {
            event,
            byte,
            bit
        }),
        (0..64usize, 0..64usize).prop_map(|(event, keep)| Mutation::Truncate { event, keep }),
        (0..64usize, proptest::collection::vec(any::<u8>(), 0..80))
            .prop_map(|(event, bytes)| Mutation::Junk { event, bytes }),
        (0..64usize).prop_map(|event| Mutation::Duplicate { event }),
        (0..64usize, 0..64usize).prop_map(|(a, b)| Mutation::Swap { a, b }),
        (0..64usize).prop_map(|event| Mutation::Drop { event }),
        prop_oneof![Just(0u64), Just(u64::MAX), Just(u64::MAX - 1), 0..64u64]
            .prop_map(Mutation::From),
        prop_oneof![Just(0u64), Just(u64::MAX), 0..64u64].prop_map(Mutation::CheckpointSeq),
        any::<[u8; 32]>().prop_map(Mutation::CheckpointHead),
        (0..64usize).prop_map(|byte| Mutation::Signature { byte }),
        prop_oneof![Just(1u32), Just(u32::MAX)].prop_map(Mutation::Epoch),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn damaged_batches_never_panic_never_store_foreign_bytes_and_never_fake_a_fork(
        accepted in 0u64..12,
        start_offset in 0u64..3,
        length in 1u64..10,
        mutations in proptest::collection::vec(mutation(), 1..4),
    ) {
        let log = opened("230101-007", 1, 4, 20);
        let n = log.events.len() as u64;
        let mut hub = hub_with(&log);
        if accepted > 0 {
            hub.push(&log, 1, accepted).expect("the honest prefix is accepted");
        }
        let mut from = (accepted + 1).saturating_sub(start_offset).max(1);
        let to = (from + length - 1).min(n);
        from = from.min(to);
        let mut events = log.range(from, to);
        let mut checkpoint = log.checkpoint_at(to);
        for m in &mutations {
            let len = events.len();
            match m.clone() {
                Mutation::FlipBit { event, byte, bit } if len > 0 => {
                    let e = &mut events[event % len];
                    if !e.is_empty() {
                        let i = byte % e.len();
                        e[i] ^= 1 << bit;
                    }
                }
                Mutation::Truncate { event, keep } if len > 0 => {
                    let e = &mut events[event % len];
                    e.truncate(keep.min(e.len().saturating_sub(1)));
                }
                Mutation::Junk { event, bytes } if len > 0 => events[event % len] = bytes,
                Mutation::Duplicate { event } if len > 0 => {
                    let copy = events[event % len].clone();
                    events.insert(event % len, copy);
                }
                Mutation::Swap { a, b } if len > 1 => events.swap(a % len, b % len),
                Mutation::Drop { event } if len > 1 => {
                    events.remove(event % len);
                }
                Mutation::From(value) => from = value,
                Mutation::CheckpointSeq(value) => checkpoint.checkpoint.seq = value,
                Mutation::CheckpointHead(bytes) => checkpoint.checkpoint.head = Hash::from_bytes(bytes),
                Mutation::Signature { byte } => checkpoint.signature[byte % 64] ^= 0x5a,
                Mutation::Epoch(value) => checkpoint.checkpoint.fork_epoch = value,
                _ => {}
            }
        }
        let outcome = hub.ingest.batch(from, &events, &checkpoint);
        prop_assert!(!matches!(outcome, Ok(BatchOutcome::Forked(_))), "a fork needs two valid signatures: {outcome:?}");
        let stored = hub.stored(&log);
        prop_assert!(stored.len() as u64 >= accepted, "nothing accepted is ever lost");
        prop_assert_eq!(&stored[..], &log.events[..stored.len()], "the hub stores only the group's own bytes");
        prop_assert!(!hub.ingest.position(&log.group).expect("position").forked);
    }
}
