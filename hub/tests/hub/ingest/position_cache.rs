//! The position cache a reading connection keeps (`PositionCache`): a
//! reader that holds its own connection for its life (the Query service)
//! answers from decoded bases and positions it computed before, and must
//! still answer exactly the direct fold after new batches, after a fork
//! resolution that grows the log back to the same seq, across a change of
//! "today", and after a new month sign-off.

use sajja_common::admin::AdminBody;
use sajja_common::event::{Body, Channel};
use sajja_common::position::GroupPosition;
use sajja_common::{Books, Date, Event, Hash, LoanNo, MemberNo, Money, Month, SigningKey};
use sajja_hub::config::Level;
use sajja_hub::ingest::accept::BatchOutcome;
use sajja_hub::ingest::admin;
use sajja_hub::ingest::admin::HubIdentity;
use sajja_hub::read::cache::Reader;
use sajja_hub::read::positions::group_lines;

use super::{GROUP, Hub, Log, acked, hub_with, opened};

fn day(y: i64, m: u32, d: u32) -> u32 {
    Date::from_ymd(y, m, d).unwrap().days()
}

/// The stored log folded from scratch, as of `as_of`.
fn fold_as_of(hub: &Hub, log: &Log, as_of: Date) -> Books {
    let events: Vec<Event> = hub
        .stored(log)
        .iter()
        .map(|b| Event::decode(b).unwrap())
        .collect();
    Books::fold_as_of(log.group.clone(), &events, as_of)
}

/// The reader's one line for the group, checked against the direct fold.
fn read(reader: &Reader, hub: &Hub, log: &Log, as_of: Date) -> GroupPosition {
    let lines = group_lines(reader, GROUP, as_of).unwrap();
    assert_eq!(lines.len(), 1);
    let folded = fold_as_of(hub, log, as_of);
    assert_eq!(lines[0].seq, folded.last_seq);
    assert_eq!(
        *lines[0].position,
        GroupPosition::of(&folded, as_of),
        "as of {as_of}"
    );
    (*lines[0].position).clone()
}

fn loan(log: &mut Log, on: u32) {
    log.append(
        on,
        Body::LoanDisbursed {
            loan: LoanNo(1),
            member: MemberNo(1),
            principal: Money::from_baht(120),
            monthly_interest_basis_points: 100,
            term_months: 6,
            guarantors: vec![],
            channel: Channel::Cash,
            plan: Default::default(),
        },
    );
}

#[test]
fn a_readers_cache_follows_batches_a_fork_resolution_and_a_new_today() {
    let mut log = opened(GROUP, 1, 3, 10);
    loan(&mut log, day(2025, 1, 20));
    let mut hub = hub_with(&log);
    let path = hub._dir.path().join("hub.sqlite");
    // The reader has its own connection, as the Query service does.
    let reader = Reader::open(&path).unwrap();
    let n = log.events.len() as u64;
    acked(hub.push(&log, 1, n - 4));
    let today = Date::from_days(day(2025, 1, 25)).unwrap();
    let first = read(&reader, &hub, &log, today);
    // Asked again: the same answer, from the cache.
    assert_eq!(read(&reader, &hub, &log, today), first);

    // New batches: the cached basis is for an older seq.
    acked(hub.push(&log, n - 3, n));
    let second = read(&reader, &hub, &log, today);
    assert_ne!(second, first);

    // Today moves on: the loan falls behind; the position is recomputed
    // for the new date from the cached basis (nothing new was stored).
    let later = Date::from_days(day(2025, 5, 2)).unwrap();
    let behind = read(&reader, &hub, &log, later);
    assert!(behind.arrears.loans == 1 && second.arrears.loans == 0);
    // And back: an older date again (an event dated after it would send
    // the query to a cut or a fold instead).
    assert_eq!(read(&reader, &hub, &log, today), second);

    // A fork: the node, restored from a backup of seq n - 2, wrote two
    // other events. Keeping its branch cuts the hub's log back to n - 2
    // and the branch grows it back to seq n with another head.
    let mut branch = Log {
        group: log.group.clone(),
        key: SigningKey::from_seed(&[1; 32]).unwrap(),
        events: log.range(1, n - 2),
        hashes: log.hashes[..n as usize - 2].to_vec(),
        epoch: 0,
    };
    for baht in [700, 800] {
        branch.append(
            day(2025, 1, 26),
            Body::SavingsDeposited {
                member: MemberNo(2),
                amount: Money::from_baht(baht),
                channel: Channel::Cash,
            },
        );
    }
    let fork = match hub.push(&branch, n - 1, n) {
        Ok(BatchOutcome::Forked(fork)) => fork,
        other => panic!("expected a fork, got {other:?}"),
    };
    let row = hub.ingest.store().group(&log.group).unwrap().unwrap();
    hub.ingest
        .store_mut()
        .resolve_fork(&row, fork.id, true, n - 2, 1)
        .unwrap();
    branch.epoch = 1;
    acked(hub.push(&branch, n - 1, n));
    assert_eq!(hub.seq(&branch), n);
    // Same seq as the cached basis, another head: the branch's books.
    let resolved = read(&reader, &hub, &branch, later);
    assert_eq!(resolved.member_savings, Money::from_baht(1_500));
    assert_eq!(resolved.arrears.loans, 0);
}

#[test]
fn a_readers_cache_shows_a_new_month_sign_off() {
    let log = opened(GROUP, 1, 3, 10);
    let mut hub = hub_with(&log);
    let reader = Reader::open(&hub._dir.path().join("hub.sqlite")).unwrap();
    acked(hub.push(&log, 1, log.events.len() as u64));
    let today = Date::from_days(day(2025, 3, 1)).unwrap();
    let lines = group_lines(&reader, GROUP, today).unwrap();
    assert!(lines[0].signed_off.is_empty());
    let identity = HubIdentity {
        hub_id: "230101".into(),
        level: Level::Tambon,
        key: SigningKey::from_seed(&[9; 32]).unwrap(),
    };
    let sign = |month: Month| AdminBody::MonthSignedOff {
        subject: GROUP.into(),
        month,
        digest: Hash::from_slice(&[7; 32]).unwrap(),
    };
    let january = Month::new(2025, 1).unwrap();
    admin::append(&mut hub.ingest, &identity, vec![sign(january)]).unwrap();
    let lines = group_lines(&reader, GROUP, today).unwrap();
    assert_eq!(lines[0].signed_off, vec![january]);
    let february = Month::new(2025, 2).unwrap();
    admin::append(&mut hub.ingest, &identity, vec![sign(february)]).unwrap();
    let lines = group_lines(&reader, GROUP, today).unwrap();
    assert_eq!(lines[0].signed_off, vec![january, february]);
    // The reader's cache holds the group's basis, not the hub log's.
    let again = group_lines(&reader, GROUP, today).unwrap();
    assert_eq!(again[0].signed_off, vec![january, february]);
    assert_eq!(again[0].position, lines[0].position);
}
