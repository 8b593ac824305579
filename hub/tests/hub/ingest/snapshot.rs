//! The books and position inputs a hub keeps beside each log (schema version
//! 2): after every kind of change to a log they equal the fold of the stored
//! log, and positions read from them equal positions of the fold.

use sajja_common::event::{Body, Channel, Source};
use sajja_common::position::GroupPosition;
use sajja_common::{Books, Date, Event, LoanNo, MemberNo, Money, Month, SigningKey};
use sajja_hub::ingest::accept::{BatchOutcome, Ingest};
use sajja_hub::read::positions::group_lines;
use sajja_hub::store::Store;

use super::{GROUP, Hub, Log, acked, hub_with, opened};

fn day(y: i64, m: u32, d: u32) -> u32 {
    Date::from_ymd(y, m, d).unwrap().days()
}

/// The stored log, decoded and folded from scratch.
fn refold(hub: &Hub, log: &Log) -> Books {
    let events: Vec<Event> = hub
        .stored(log)
        .iter()
        .map(|b| Event::decode(b).unwrap())
        .collect();
    Books::fold(log.group.clone(), &events).unwrap()
}

/// Checks the stored snapshot against a fresh fold, and the current and a
/// past position read through `group_lines` against positions of the fold.
fn check(hub: &Hub, log: &Log) {
    let store = hub.ingest.store();
    let reader = sajja_hub::read::cache::Reader::open(&hub._dir.path().join("hub.sqlite")).unwrap();
    let row = store.group(&log.group).unwrap().unwrap();
    let folded = refold(hub, log);
    assert_eq!(folded.last_seq, row.seq);
    assert_eq!(
        store.stored_books(row.gid, row.seq).unwrap(),
        Some(folded.clone())
    );
    let last = folded.last_date.unwrap();
    // Current (read from the maintained inputs), with arrears a year on.
    for as_of in [last, Date::from_days(last.days() + 400).unwrap()] {
        let lines = group_lines(&reader, GROUP, as_of).unwrap();
        assert_eq!(lines.len(), 1);
        assert_eq!(*lines[0].position, GroupPosition::of(&folded, as_of));
        assert_eq!(lines[0].seq, row.seq);
    }
    // Every past day (month ends read from stored cuts, others folded).
    let events: Vec<Event> = hub
        .stored(log)
        .iter()
        .map(|b| Event::decode(b).unwrap())
        .collect();
    let first = events.iter().map(|e| e.date.days()).min().unwrap();
    for days in first - 1..last.days() {
        let past = Date::from_days(days).unwrap();
        let lines = group_lines(&reader, GROUP, past).unwrap();
        assert_eq!(
            *lines[0].position,
            GroupPosition::of(&Books::fold_as_of(log.group.clone(), &events, past), past),
            "as of {past}"
        );
    }
}

/// A log with savings, a loan, repayments and a reversal after `Log::opened`.
fn busy(log: &mut Log) {
    let feb = day(2025, 2, 1);
    for m in 1..=3 {
        log.append(
            feb,
            Body::SavingsDeposited {
                member: MemberNo(m),
                amount: Money::from_baht(1_000),
                channel: Channel::Cash,
            },
        );
    }
    log.append(
        feb + 1,
        Body::LoanDisbursed {
            loan: LoanNo(1),
            member: MemberNo(1),
            principal: Money::from_baht(600),
            monthly_interest_basis_points: 100,
            term_months: 6,
            guarantors: vec![MemberNo(2)],
            channel: Channel::Cash,
            plan: Default::default(),
        },
    );
}

#[test]
fn stored_books_equal_the_fold_after_batches_a_reversal_and_a_reopen() {
    let mut log = opened(GROUP, 1, 3, 10);
    busy(&mut log);
    let mut hub = hub_with(&log);
    acked(hub.push(&log, 1, 5));
    check(&hub, &log);
    acked(hub.push(&log, 6, log.events.len() as u64));
    check(&hub, &log);

    // A later batch reverses a contribution accepted in an earlier one.
    let from = log.events.len() as u64 + 1;
    log.append(
        day(2025, 3, 1),
        Body::Reversal {
            reversed_seq: 7,
            reason: "entered twice".into(),
        },
    );
    log.append(
        day(2025, 3, 2),
        Body::ContributionReceived {
            member: Some(MemberNo(1)),
            amount: Money::from_baht(30),
            period: Month::new(2025, 3).unwrap(),
            source: Source::Member,
            channel: Channel::Cash,
            extra: false,
        },
    );
    acked(hub.push(&log, from, log.events.len() as u64));
    check(&hub, &log);
    assert!(refold(&hub, &log).reversed.contains(&7));

    // Reopened, the store serves the same books, and the accept rule
    // continues from them (its in-memory cache is empty).
    let path = hub._dir.path().join("hub.sqlite");
    hub.ingest = Ingest::new(Store::open(&path).unwrap());
    check(&hub, &log);
    let from = log.events.len() as u64 + 1;
    log.append(
        day(2025, 3, 3),
        Body::CashBanked {
            amount: Money::from_baht(100),
        },
    );
    acked(hub.push(&log, from, from));
    check(&hub, &log);

    // A back-dated entry narrows the month-end cuts it falls before.
    let from = log.events.len() as u64 + 1;
    log.append(
        day(2025, 1, 20),
        Body::CashBanked {
            amount: Money::from_baht(5),
        },
    );
    acked(hub.push(&log, from, from));
    check(&hub, &log);
}

#[test]
fn resolving_a_fork_for_the_offered_branch_refolds_the_stored_books() {
    let log = opened(GROUP, 1, 3, 10);
    let mut hub = hub_with(&log);
    acked(hub.push(&log, 1, 10));
    let mut branch = Log {
        group: log.group.clone(),
        key: SigningKey::from_seed(&[1; 32]).unwrap(),
        events: log.range(1, 6),
        hashes: log.hashes[..6].to_vec(),
        epoch: 0,
    };
    branch.append(
        day(2025, 3, 1),
        Body::CashBanked {
            amount: Money::from_baht(10),
        },
    );
    let fork = match hub.push(&branch, 6, 7) {
        Ok(BatchOutcome::Forked(fork)) => fork,
        other => panic!("expected a fork, got {other:?}"),
    };
    let row = hub.ingest.store().group(&log.group).unwrap().unwrap();
    hub.ingest
        .store_mut()
        .resolve_fork(&row, fork.id, true, 6, 1)
        .unwrap();
    // The hub's events 7..=10 are abandoned: the books are the first six's.
    assert_eq!(hub.seq(&log), 6);
    assert_eq!(refold(&hub, &log).last_seq, 6);
    check(&hub, &log_prefix(&log, 6));

    // The node pushes its branch again at the new epoch.
    branch.epoch = 1;
    acked(hub.push(&branch, 7, 7));
    check(&hub, &branch);
}

/// The first `seq` events of `log` (for checks that read the stored log).
fn log_prefix(log: &Log, seq: usize) -> Log {
    Log {
        group: log.group.clone(),
        key: SigningKey::from_seed(&[1; 32]).unwrap(),
        events: log.events[..seq].to_vec(),
        hashes: log.hashes[..seq].to_vec(),
        epoch: log.epoch,
    }
}

#[test]
fn a_version_1_store_is_migrated_by_folding_every_log() {
    let mut log = opened(GROUP, 1, 3, 10);
    busy(&mut log);
    let mut hub = hub_with(&log);
    acked(hub.push(&log, 1, log.events.len() as u64));
    let path = hub._dir.path().join("hub.sqlite");
    // Close the file (an empty store stands in meanwhile).
    drop(std::mem::replace(
        &mut hub.ingest,
        Ingest::new(Store::open(&hub._dir.path().join("other.sqlite")).unwrap()),
    ));
    // Make the file exactly what version 1 wrote: its tables, user_version 1.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "DROP TABLE group_books; DROP TABLE group_positions; DROP TABLE position_cuts;
             DROP TABLE credentials; PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    hub.ingest = Ingest::new(Store::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 4);
    // January's end was cut (the log runs into February).
    let cuts: i64 = conn
        .query_row("SELECT count(*) FROM position_cuts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(cuts, 1);
    check(&hub, &log);
}

#[test]
fn a_version_3_store_is_migrated_by_refolding_its_snapshots() {
    let mut log = opened(GROUP, 1, 3, 10);
    busy(&mut log);
    let mut hub = hub_with(&log);
    acked(hub.push(&log, 1, log.events.len() as u64));
    let path = hub._dir.path().join("hub.sqlite");
    drop(std::mem::replace(
        &mut hub.ingest,
        Ingest::new(Store::open(&hub._dir.path().join("other.sqlite")).unwrap()),
    ));
    // What version 3 held: snapshots of version 1, which no longer decode.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "UPDATE group_books SET books = x'0100';
             UPDATE group_positions SET basis = x'0100';
             UPDATE position_cuts SET basis = x'0100';
             PRAGMA user_version = 3;",
        )
        .unwrap();
    }
    hub.ingest = Ingest::new(Store::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 4);
    let first_bytes: Vec<u8> = conn
        .prepare(
            "SELECT substr(books, 1, 1) FROM group_books
             UNION ALL SELECT substr(basis, 1, 1) FROM group_positions
             UNION ALL SELECT substr(basis, 1, 1) FROM position_cuts",
        )
        .unwrap()
        .query_map([], |r| r.get::<_, Vec<u8>>(0))
        .unwrap()
        .map(|b| b.unwrap()[0])
        .collect();
    assert_eq!(first_bytes.len(), 3);
    assert!(
        first_bytes
            .iter()
            .all(|v| *v == sajja_common::snapshot::SNAPSHOT_VERSION)
    );
    check(&hub, &log);
}
