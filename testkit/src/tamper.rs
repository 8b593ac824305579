//! The ways a batch can be tampered with on the wire, one table for every
//! test that offers them to a hub (through the accept rule in-process, or
//! over a real push stream): each is refused by its own named check at its
//! own seq, and stores nothing.

use sajja_common::{SignedCheckpoint, SigningKey};

/// One tampered offer of events `from..` under a checkpoint, and the
/// refusal it must meet.
pub struct Tampered {
    pub what: &'static str,
    pub events: Vec<Vec<u8>>,
    pub checkpoint: SignedCheckpoint,
    /// The named check and the seq the refusal must carry.
    pub check: &'static str,
    pub seq: u64,
}

/// The tamperings of `events` (at least three, offered from seq `from`)
/// under their genuine `checkpoint`, which names the last of them.
pub fn batches(from: u64, events: &[Vec<u8>], checkpoint: &SignedCheckpoint) -> Vec<Tampered> {
    assert!(events.len() >= 3, "tampering needs three events");
    let last = checkpoint.checkpoint.seq;
    // Byte 15 is the first byte of the business date's varint: the event
    // still decodes (one day off), so only the chain can tell.
    let mut flipped = events.to_vec();
    flipped[1][15] ^= 0x01;
    let mut dropped = events.to_vec();
    dropped.remove(1);
    let mut reordered = events.to_vec();
    reordered.swap(1, 2);
    let stranger = SigningKey::from_seed(&[0xA5; 32]).expect("a 32-byte seed");
    vec![
        Tampered {
            what: "a flipped byte",
            events: flipped,
            checkpoint: checkpoint.clone(),
            check: "hash_mismatch",
            seq: last,
        },
        Tampered {
            what: "a dropped event",
            events: dropped,
            checkpoint: checkpoint.clone(),
            check: "sequence_gap",
            seq: last - 1,
        },
        Tampered {
            what: "reordered events",
            events: reordered,
            checkpoint: checkpoint.clone(),
            check: "out_of_order",
            seq: from + 2,
        },
        Tampered {
            what: "a checkpoint signed by a stranger's key",
            events: events.to_vec(),
            checkpoint: checkpoint.checkpoint.clone().sign(&stranger),
            check: "bad_signature",
            seq: last,
        },
    ]
}
