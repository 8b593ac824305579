//! The hub's accept rule, driven directly against a real SQLite file: what is
//! stored, what is refused with which check, and that a refusal changes nothing.

use sajja_common::event::{Body, Channel, Sex, Source};
use sajja_common::{Date, Hash, MemberNo, Money, Month, SignedCheckpoint, SigningKey};
use sajja_hub::ingest::accept::{BatchOutcome, Greeting, Ingest, IngestError};
use sajja_hub::store::Store;
use sajja_testkit::{SignedLog, tamper};

mod exchange;
mod keys;
mod mutation;
mod position_cache;
mod snapshot;

const GROUP: &str = "230101-007";

/// A group's log as its node would write it: exact bytes, hashes, a key.
type Log = SignedLog;

/// A group opened with `members` members and `contributions` monthly contributions.
fn opened(group: &str, seed: u8, members: u32, contributions: u32) -> Log {
    let start = Date::from_ymd(2025, 1, 1).unwrap();
    let mut log = Log::opened_on(group, seed, start);
    for m in 1..=members {
        log.append(
            start,
            Body::MemberJoined {
                member: MemberNo(m),
                birth_year: 1970,
                sex: Sex::Unstated,
            },
        );
    }
    for i in 0..contributions {
        log.append(
            start.days() + 1 + i,
            Body::ContributionReceived {
                member: Some(MemberNo(i % members + 1)),
                amount: Money::from_baht(30),
                period: Month::new(2025, 1).unwrap(),
                source: Source::Member,
                channel: Channel::Cash,
                extra: false,
            },
        );
    }
    log
}

struct Hub {
    _dir: tempfile::TempDir,
    ingest: Ingest,
}

fn hub_with(log: &Log) -> Hub {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("hub.sqlite")).unwrap();
    store.enrol(&log.group, &log.key.public(), 0).unwrap();
    Hub {
        _dir: dir,
        ingest: Ingest::new(store),
    }
}

impl Hub {
    fn push(&mut self, log: &Log, from: u64, to: u64) -> Result<BatchOutcome, IngestError> {
        self.ingest
            .batch(from, &log.range(from, to), &log.checkpoint_at(to))
    }

    fn seq(&self, log: &Log) -> u64 {
        self.ingest.position(&log.group).unwrap().seq
    }

    fn stored(&self, log: &Log) -> Vec<Vec<u8>> {
        let row = self.ingest.store().group(&log.group).unwrap().unwrap();
        let mut out = Vec::new();
        self.ingest
            .store()
            .for_each_event(row.gid, |_, b| {
                out.push(b.to_vec());
                Ok(())
            })
            .unwrap();
        out
    }
}

fn acked(outcome: Result<BatchOutcome, IngestError>) -> (u64, u64, Hash) {
    match outcome {
        Ok(BatchOutcome::Acked { from, to, head }) => (from, to, head),
        other => panic!("expected an ack, got {other:?}"),
    }
}

fn refused_check(outcome: Result<BatchOutcome, IngestError>) -> (&'static str, u64) {
    match outcome {
        Err(e) => (e.check(), e.seq()),
        Ok(other) => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_batch_that_continues_the_log_is_stored_byte_for_byte_and_acknowledged() {
    let log = opened(GROUP, 1, 5, 20);
    let mut hub = hub_with(&log);
    let n = log.events.len() as u64;
    assert_eq!(acked(hub.push(&log, 1, 10)), (1, 10, log.hashes[9]));
    assert_eq!(
        acked(hub.push(&log, 11, n)),
        (11, n, log.hashes[n as usize - 1])
    );
    assert_eq!(hub.stored(&log), log.events);
}

#[test]
fn out_of_order_batches_commit_nothing_and_ask_for_the_first_missing_seq() {
    let log = opened(GROUP, 1, 3, 6);
    let mut hub = hub_with(&log);
    assert!(matches!(
        hub.push(&log, 5, 9),
        Ok(BatchOutcome::SendFrom(1))
    ));
    assert_eq!(hub.seq(&log), 0);
    acked(hub.push(&log, 1, 4));
    acked(hub.push(&log, 5, 9));
    assert_eq!(hub.ingest.position(&log.group).unwrap().head, log.hashes[8]);
}

#[test]
fn a_replayed_batch_changes_nothing_and_gets_the_same_ack() {
    let log = opened(GROUP, 1, 3, 6);
    let mut hub = hub_with(&log);
    let first = acked(hub.push(&log, 1, 9));
    let before = hub.stored(&log);
    assert_eq!(acked(hub.push(&log, 1, 9)), first);
    assert_eq!(acked(hub.push(&log, 3, 5)), (3, 5, log.hashes[4]));
    assert_eq!(hub.stored(&log), before);
}

#[test]
fn tampered_batches_are_refused_by_name_and_store_nothing() {
    let log = opened(GROUP, 1, 3, 10);
    let other = opened("230101-008", 2, 3, 10);
    let mut hub = hub_with(&log);
    acked(hub.push(&log, 1, 4));
    let before = hub.stored(&log);
    let checkpoint = log.checkpoint_at(8);
    let mut moved = checkpoint.clone();
    moved.checkpoint.head = log.hashes[2];
    let signed_by_other = checkpoint.checkpoint.clone().sign(&other.key);

    // (what, events 5..=8 as offered, checkpoint, expected check, expected seq)
    type Case<'a> = (&'a str, Vec<Vec<u8>>, SignedCheckpoint, &'a str, u64);
    let mut cases: Vec<Case> = tamper::batches(5, &log.range(5, 8), &checkpoint)
        .into_iter()
        .map(|t| (t.what, t.events, t.checkpoint, t.check, t.seq))
        .collect();
    cases.extend([
        (
            "a checkpoint naming another head",
            log.range(5, 8),
            moved,
            "hash_mismatch",
            8,
        ),
        (
            "a checkpoint signed by another group's key",
            log.range(5, 8),
            signed_by_other,
            "bad_signature",
            8,
        ),
    ]);
    for (what, events, checkpoint, check, seq) in cases {
        let outcome = hub.ingest.batch(5, &events, &checkpoint);
        assert_eq!(refused_check(outcome), (check, seq), "{what}");
        assert_eq!(hub.stored(&log), before, "{what} must store nothing");
    }
}

#[test]
fn a_signed_conflicting_history_is_a_fork_kept_as_evidence_and_blocks_the_group() {
    let log = opened(GROUP, 1, 3, 10);
    let mut hub = hub_with(&log);
    acked(hub.push(&log, 1, 10));
    let before = hub.stored(&log);
    // The node was restored from an old backup (seq 6) and wrote other events.
    let mut branch = Log {
        group: log.group.clone(),
        key: SigningKey::from_seed(&[1; 32]).unwrap(),
        events: log.range(1, 6),
        hashes: log.hashes[..6].to_vec(),
        epoch: 0,
    };
    branch.append(
        Date::from_ymd(2025, 3, 1).unwrap().days(),
        Body::CashBanked {
            amount: Money::from_baht(10),
        },
    );
    branch.append(
        Date::from_ymd(2025, 3, 2).unwrap().days(),
        Body::CashBanked {
            amount: Money::from_baht(5),
        },
    );

    let fork = match hub.push(&branch, 6, 8) {
        Ok(BatchOutcome::Forked(fork)) => fork,
        other => panic!("expected a fork, got {other:?}"),
    };
    assert_eq!(fork.seq, 7);
    assert_eq!(
        fork.accepted_event.as_deref(),
        Some(log.events[6].as_slice())
    );
    assert_eq!(
        fork.offered_event.as_deref(),
        Some(branch.events[6].as_slice())
    );
    assert_eq!(hub.stored(&log), before, "nothing accepted is overwritten");
    assert!(hub.ingest.position(&log.group).unwrap().forked);
    assert_eq!(
        refused_check(hub.push(&log, 11, 12.min(log.events.len() as u64))).0,
        "forked"
    );

    // The operator keeps the hub's branch: the epoch moves on and the other
    // branch's checkpoints are refused as abandoned, not as a new fork.
    let row = hub.ingest.store().group(&log.group).unwrap().unwrap();
    hub.ingest
        .store_mut()
        .resolve_fork(&row, fork.id, false, 6, 1)
        .unwrap();
    let position = hub.ingest.position(&log.group).unwrap();
    assert_eq!(
        (position.forked, position.fork_epoch, position.seq),
        (false, 1, 10)
    );
    assert_eq!(refused_check(hub.push(&branch, 6, 8)).0, "abandoned_branch");
    assert_eq!(hub.stored(&log), before);
}

#[test]
fn a_tampered_conflicting_batch_is_refused_without_marking_a_fork() {
    let log = opened(GROUP, 1, 3, 10);
    let mut hub = hub_with(&log);
    acked(hub.push(&log, 1, 10));
    let mut events = log.range(6, 10);
    events[1][15] ^= 0x01;
    let outcome = hub.ingest.batch(6, &events, &log.checkpoint_at(10));
    assert_eq!(refused_check(outcome).0, "hash_mismatch");
    assert!(
        !hub.ingest.position(&log.group).unwrap().forked,
        "an unsigned difference proves nothing"
    );
}

#[test]
fn greeting_compares_heads_by_sequence_and_hash() {
    let log = opened(GROUP, 1, 3, 10);
    let mut hub = hub_with(&log);
    assert!(matches!(
        hub.ingest.greet(&log.checkpoint_at(13)),
        Ok((_, Greeting::SendFrom(1)))
    ));
    acked(hub.push(&log, 1, 10));
    assert!(matches!(
        hub.ingest.greet(&log.checkpoint_at(13)),
        Ok((_, Greeting::SendFrom(11)))
    ));
    assert!(matches!(
        hub.ingest.greet(&log.checkpoint_at(10)),
        Ok((_, Greeting::UpToDate))
    ));
    // A node restored from an old backup that has written nothing new.
    assert!(matches!(
        hub.ingest.greet(&log.checkpoint_at(4)),
        Ok((_, Greeting::HubAhead))
    ));
    let mut forged = log.checkpoint_at(4);
    forged.signature[3] ^= 1;
    assert!(matches!(
        hub.ingest.greet(&forged),
        Err(IngestError::Verify(_))
    ));
    assert!(!hub.ingest.position(&log.group).unwrap().forked);
}

#[test]
fn the_ledger_rules_run_on_the_hub_and_name_the_rule_and_seq() {
    let mut log = opened(GROUP, 1, 2, 2);
    let day = Date::from_ymd(2025, 2, 1).unwrap().days();
    log.append(
        day,
        Body::SavingsWithdrawn {
            member: MemberNo(1),
            amount: Money::from_baht(1),
            channel: Channel::Cash,
        },
    );
    let mut hub = hub_with(&log);
    let n = log.events.len() as u64;
    let outcome = hub.push(&log, 1, n);
    assert_eq!(refused_check(outcome), ("savings_overdrawn", n));
    assert_eq!(hub.seq(&log), 0, "the whole batch is refused");
}

#[test]
fn an_unenrolled_group_is_refused() {
    let log = opened(GROUP, 1, 2, 2);
    let stranger = opened("230101-009", 9, 2, 2);
    let mut hub = hub_with(&log);
    assert_eq!(refused_check(hub.push(&stranger, 1, 3)).0, "not_enrolled");
}
