//! Key rotation at the hub's accept rule: a `KeyRotated` signed by the key in
//! effect hands the key on (and the hub keeps the new key with the batch), a
//! checkpoint at seq N verifies with the key in effect after event N, and an
//! operator re-key in the hub's own log replaces every earlier key.

use sajja_common::admin::AdminBody;
use sajja_common::event::Body;
use sajja_common::{Checkpoint, Date, GroupId, Money, PublicKey, SignedCheckpoint, SigningKey};
use sajja_hub::config::Level;
use sajja_hub::ingest::accept::{BatchOutcome, Greeting};
use sajja_hub::ingest::admin;
use sajja_hub::ingest::admin::HubIdentity;

use super::{GROUP, Hub, Log, acked, hub_with, opened, refused_check};

fn key(seed: u8) -> SigningKey {
    SigningKey::from_seed(&[seed; 32]).unwrap()
}

fn day(d: u32) -> u32 {
    Date::from_ymd(2025, 3, d).unwrap().days()
}

/// Appends a `KeyRotated` signed by the log's key, which then becomes `new`.
fn rotate(log: &mut Log, new: u8) {
    let seq = log.events.len() as u64 + 1;
    let previous = log.hashes[log.hashes.len() - 1];
    let body = Body::key_rotated(&log.group, seq, &previous, &log.key, key(new).public());
    log.append(day(1), body);
    log.key = key(new);
}

fn banked(log: &mut Log, n: usize) {
    for _ in 0..n {
        log.append(
            day(2),
            Body::CashBanked {
                amount: Money::from_baht(1),
            },
        );
    }
}

fn signed(log: &Log, seq: u64, by: u8) -> SignedCheckpoint {
    Checkpoint {
        group: log.group.clone(),
        seq,
        head: log.hashes[seq as usize - 1],
        fork_epoch: log.epoch,
    }
    .sign(&key(by))
}

fn group_key(hub: &Hub, group: &GroupId) -> PublicKey {
    hub.ingest.store().group(group).unwrap().unwrap().key
}

/// Seqs 1-8 under key 1 (opened, 3 members, 3 contributions), the rotation
/// to key 2 at 9, then 10-12 under key 2.
fn rotated() -> Log {
    let mut log = opened(GROUP, 1, 3, 3);
    assert_eq!(log.events.len(), 8);
    rotate(&mut log, 2);
    banked(&mut log, 3);
    log
}

#[test]
fn a_batch_spanning_a_rotation_is_accepted_and_later_old_key_checkpoints_are_refused() {
    let mut log = rotated();
    let mut hub = hub_with(&Log::new(GROUP, 1));
    acked(hub.push_signed(&log, 1, 5, 1));
    // One batch across the rotation, as a relay merges them: the checkpoint
    // at 12 is the new key's, and the rotation event proves the hand-over.
    assert_eq!(acked(hub.push_signed(&log, 6, 12, 2)).1, 12);
    assert_eq!(group_key(&hub, &log.group), key(2).public());
    let row = hub.ingest.store().group(&log.group).unwrap().unwrap();
    assert_eq!(
        hub.ingest.store().retired_keys(row.gid).unwrap(),
        vec![(9, key(1).public())]
    );

    // Later events under a checkpoint by the retired key: refused, nothing stored.
    banked(&mut log, 2);
    let before = hub.stored(&log);
    assert_eq!(
        refused_check(hub.push_signed(&log, 13, 14, 1)),
        ("bad_signature", 14)
    );
    assert_eq!(hub.stored(&log), before);
    assert_eq!(group_key(&hub, &log.group), key(2).public());
    assert_eq!(acked(hub.push_signed(&log, 13, 14, 2)).1, 14);
}

#[test]
fn the_checkpoint_at_the_rotation_itself_is_the_new_keys() {
    let log = rotated();
    let mut hub = hub_with(&Log::new(GROUP, 1));
    acked(hub.push_signed(&log, 1, 8, 1));
    assert_eq!(
        refused_check(hub.push_signed(&log, 9, 9, 1)),
        ("bad_signature", 9)
    );
    assert_eq!(group_key(&hub, &log.group), key(1).public());
    acked(hub.push_signed(&log, 9, 9, 2));
    assert_eq!(group_key(&hub, &log.group), key(2).public());
}

#[test]
fn a_rotation_the_key_in_effect_did_not_sign_is_refused_and_stores_nothing() {
    let mut log = opened(GROUP, 1, 3, 3);
    let mut hub = hub_with(&log);
    acked(hub.push(&log, 1, 8));
    let before = hub.stored(&log);
    // Whoever holds only the new key signs the hand-over to it.
    let seq = 9;
    let previous = log.hashes[7];
    let body = Body::key_rotated(&log.group, seq, &previous, &key(2), key(2).public());
    let Body::KeyRotated {
        new_key,
        old_key_signature,
        ..
    } = body
    else {
        unreachable!()
    };
    log.append(
        day(1),
        Body::KeyRotated {
            new_key,
            old_key: key(1).public(),
            old_key_signature,
        },
    );
    banked(&mut log, 1);
    assert_eq!(
        refused_check(hub.push_signed(&log, 9, 10, 2)),
        ("key_rotation", 9)
    );
    assert_eq!(hub.stored(&log), before);
    assert_eq!(group_key(&hub, &log.group), key(1).public());
    assert!(!hub.ingest.position(&log.group).unwrap().forked);
}

#[test]
fn greetings_across_a_rotation_use_the_key_of_their_seq() {
    let log = rotated();
    let mut hub = hub_with(&Log::new(GROUP, 1));
    acked(hub.push_signed(&log, 1, 8, 1));
    // The hub has not seen the rotation: the node's head is signed by a key
    // the hub cannot know yet, and it only asks for the events.
    assert!(matches!(
        hub.ingest.greet(&signed(&log, 12, 2)),
        Ok((_, Greeting::SendFrom(9)))
    ));
    acked(hub.push_signed(&log, 9, 12, 2));
    assert!(matches!(
        hub.ingest.greet(&signed(&log, 12, 2)),
        Ok((_, Greeting::UpToDate))
    ));
    assert_eq!(
        greet_refused(&mut hub, &signed(&log, 12, 1)),
        ("bad_signature", 12)
    );
    // A node from a backup taken before the rotation signs with the old key.
    assert!(matches!(
        hub.ingest.greet(&signed(&log, 8, 1)),
        Ok((_, Greeting::HubAhead))
    ));
    assert_eq!(
        greet_refused(&mut hub, &signed(&log, 8, 2)),
        ("bad_signature", 8)
    );
}

#[test]
fn a_fork_from_before_a_rotation_is_verified_with_the_key_of_the_fork_point() {
    let log = rotated();
    let mut hub = hub_with(&Log::new(GROUP, 1));
    acked(hub.push_signed(&log, 1, 12, 2));
    // A node restored from a backup at seq 6 (key 1) writes other events.
    let mut branch = Log {
        group: log.group.clone(),
        key: key(1),
        events: log.range(1, 6),
        hashes: log.hashes[..6].to_vec(),
        epoch: 0,
    };
    banked(&mut branch, 4);
    let fork = match hub.push_signed(&branch, 6, 10, 1) {
        Ok(BatchOutcome::Forked(fork)) => fork,
        other => panic!("expected a fork, got {other:?}"),
    };
    assert_eq!(fork.seq, 7);
    // Keeping the offered branch cuts the rotation away with the hub's
    // events after 6: the key in effect there is key 1 again.
    let row = hub.ingest.store().group(&log.group).unwrap().unwrap();
    hub.ingest
        .store_mut()
        .resolve_fork(&row, fork.id, true, 6, 1)
        .unwrap();
    assert_eq!(group_key(&hub, &log.group), key(1).public());
    branch.epoch = 1;
    assert_eq!(acked(hub.push_signed(&branch, 7, 10, 1)).1, 10);
}

#[test]
fn a_greeting_from_a_branch_that_left_before_the_rotation_is_a_fork() {
    let log = rotated();
    let mut hub = hub_with(&Log::new(GROUP, 1));
    acked(hub.push_signed(&log, 1, 12, 2));
    let mut branch = Log {
        group: log.group.clone(),
        key: key(1),
        events: log.range(1, 6),
        hashes: log.hashes[..6].to_vec(),
        epoch: 0,
    };
    banked(&mut branch, 6);
    // At seq 12 the hub's branch is key 2's, but this one never rotated.
    assert!(matches!(
        hub.ingest.greet(&signed(&branch, 12, 1)),
        Ok((_, Greeting::Forked(_)))
    ));
}

#[test]
fn admin_enrolments_never_undo_a_rotation_and_an_operator_re_key_replaces_every_key() {
    let mut log = rotated();
    let mut hub = hub_with(&Log::new(GROUP, 1));
    let identity = HubIdentity {
        hub_id: "230101".into(),
        level: Level::Tambon,
        key: key(50),
    };
    admin::append(
        &mut hub.ingest,
        &identity,
        vec![AdminBody::GroupEnrolled {
            group: log.group.clone(),
            key: key(1).public(),
        }],
    )
    .unwrap();
    acked(hub.push_signed(&log, 1, 12, 2));
    // Enrolling another group re-states nothing about this one.
    let other = GroupId::parse("230101-008").unwrap();
    admin::append(
        &mut hub.ingest,
        &identity,
        vec![AdminBody::GroupEnrolled {
            group: other.clone(),
            key: key(3).public(),
        }],
    )
    .unwrap();
    assert_eq!(group_key(&hub, &log.group), key(2).public());
    assert_eq!(group_key(&hub, &other), key(3).public());

    // The node and its keys are lost: the operator re-keys the group.
    admin::append(
        &mut hub.ingest,
        &identity,
        vec![AdminBody::GroupRekeyed {
            group: log.group.clone(),
            key: key(9).public(),
        }],
    )
    .unwrap();
    assert_eq!(group_key(&hub, &log.group), key(9).public());
    banked(&mut log, 2);
    let before = hub.stored(&log);
    for old in [1, 2] {
        assert_eq!(
            refused_check(hub.push_signed(&log, 13, 14, old)),
            ("bad_signature", 14)
        );
        assert_eq!(
            greet_refused(&mut hub, &signed(&log, 12, old)),
            ("bad_signature", 12)
        );
    }
    assert_eq!(hub.stored(&log), before);
    // The restored node signs the whole log with the new key.
    assert!(matches!(
        hub.ingest.greet(&signed(&log, 12, 9)),
        Ok((_, Greeting::UpToDate))
    ));
    assert_eq!(acked(hub.push_signed(&log, 13, 14, 9)).1, 14);
}

fn greet_refused(hub: &mut Hub, offered: &SignedCheckpoint) -> (&'static str, u64) {
    match hub.ingest.greet(offered) {
        Err(e) => (e.check(), e.seq()),
        Ok((_, greeting)) => panic!("expected a refusal, got {greeting:?}"),
    }
}

impl Hub {
    fn push_signed(
        &mut self,
        log: &Log,
        from: u64,
        to: u64,
        by: u8,
    ) -> Result<BatchOutcome, sajja_hub::ingest::accept::IngestError> {
        self.ingest
            .batch(from, &log.range(from, to), &signed(log, to, by))
    }
}
