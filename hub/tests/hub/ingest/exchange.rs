//! A community exchange's log at the hub: verified and checked by the
//! exchange's own rules (the `ExchangeBooks::apply` its node runs), stored
//! byte for byte, refused by name, and folded into the position a
//! coordinator reads.

use std::collections::BTreeMap;

use sajja_common::exchange::{
    AccountNo, Category, Credits, ExchangeBody, ExchangeBooks, ExchangeEvent, ExchangePosition,
    ExchangeTerms, HolderKind,
};
use sajja_common::{Date, GroupId, MemberNo, Money, PoolId};
use sajja_hub::read::cache::Reader;
use sajja_hub::read::exchanges::exchange_lines;

use super::*;

const EXCHANGE: &str = "230101-X01";

fn day(text: &str) -> Date {
    text.parse().unwrap()
}

fn terms() -> ExchangeTerms {
    ExchangeTerms {
        name: "ตลาดบุญตำบลในเมือง".into(),
        unit_name: "บุญ".into(),
        rate_per_credit: Money::from_baht(1),
        reserve_pool: PoolId::parse("230101-RES").unwrap(),
        policy_min_coverage_basis_points: 5_000,
        concentration_limit_basis_points: 2_500,
    }
}

fn pays(from: u32, to: u32, credits: i64) -> ExchangeBody {
    ExchangeBody::Transfer {
        from: AccountNo(from),
        to: AccountNo(to),
        amount: Credits::from_whole(credits),
        category: Category::Produce,
        memo: "ผักอินทรีย์".into(),
    }
}

/// An exchange opened on 2026-11-01 with three members' accounts (limit 500
/// credits each) and two transfers: account 1 owes 120, account 2 owes 80.
fn exchange() -> (Log, Vec<ExchangeEvent>) {
    let mut log = Log::new(EXCHANGE, 9);
    let opened = day("2026-11-01");
    let mut events = vec![log.append_exchange(opened, ExchangeBody::ExchangeOpened(terms()))];
    for account in 1..=3 {
        events.push(log.append_exchange(
            opened,
            ExchangeBody::AccountOpened {
                account: AccountNo(account),
                holder: HolderKind::Member {
                    group: GroupId::parse("230101-007").unwrap(),
                    member: MemberNo(account),
                },
                credit_limit: Credits::from_whole(500),
            },
        ));
    }
    events.push(log.append_exchange(day("2026-11-10"), pays(1, 3, 120)));
    events.push(log.append_exchange(day("2026-11-20"), pays(2, 3, 80)));
    (log, events)
}

#[test]
fn an_exchange_log_is_checked_by_its_own_rules_and_stored_byte_for_byte() {
    let (log, _) = exchange();
    let mut hub = hub_with(&log);
    let n = log.events.len() as u64;
    assert_eq!(
        acked(hub.push(&log, 1, n)),
        (1, n, log.hashes[n as usize - 1])
    );
    assert_eq!(hub.stored(&log), log.events);
}

#[test]
fn a_transfer_beyond_the_payers_limit_is_refused_by_name_and_stores_nothing() {
    let (mut log, _) = exchange();
    let mut hub = hub_with(&log);
    let n = log.events.len() as u64;
    acked(hub.push(&log, 1, n));
    // Account 1 owes 120 of its 500: 400 more would take it to −520.
    log.append_exchange(day("2026-11-25"), pays(1, 2, 400));
    assert_eq!(
        refused_check(hub.push(&log, n + 1, n + 1)),
        ("limit_breached", n + 1)
    );
    assert_eq!(hub.seq(&log), n);
    assert_eq!(hub.stored(&log), log.events[..n as usize].to_vec());
}

#[test]
fn a_tampered_transfer_is_refused_as_a_broken_chain() {
    let (log, _) = exchange();
    let mut hub = hub_with(&log);
    let n = log.events.len() as u64;
    let mut events = log.range(1, n);
    // The last transfer's memo, one byte changed: it still decodes.
    let last = events.last_mut().unwrap();
    let at = last.len() - 2;
    last[at] ^= 0x01;
    let refused = hub.ingest.batch(1, &events, &log.checkpoint_at(n));
    let (check, _) = refused_check(refused);
    assert!(
        ["hash_mismatch", "undecodable"].contains(&check),
        "refused as {check}"
    );
    assert_eq!(hub.seq(&log), 0);
}

#[test]
fn an_exchange_dated_in_the_future_is_refused() {
    let mut log = Log::new(EXCHANGE, 9);
    log.append_exchange(day("2999-01-01"), ExchangeBody::ExchangeOpened(terms()));
    let mut hub = hub_with(&log);
    assert_eq!(refused_check(hub.push(&log, 1, 1)), ("future_date", 1));
}

#[test]
fn the_hubs_exchange_position_is_the_fold_of_the_log_at_any_date() {
    let (log, events) = exchange();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.sqlite");
    let mut store = Store::open(&path).unwrap();
    store.enrol(&log.group, &log.key.public(), 0).unwrap();
    let mut ingest = Ingest::new(store);
    let n = log.events.len() as u64;
    acked(ingest.batch(1, &log.range(1, n), &log.checkpoint_at(n)));
    let reader = Reader::open(&path).unwrap();
    for as_of in ["2026-11-15", "2026-11-30"] {
        let as_of = day(as_of);
        let lines = exchange_lines(&reader, "230101", as_of).unwrap();
        let books = ExchangeBooks::fold_as_of(log.group.clone(), &events, as_of);
        let expected = ExchangePosition::of(&books, as_of, &BTreeMap::new()).unwrap();
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].position, expected);
        assert_eq!(lines[0].seq, n);
    }
    // On the 30th, 200 credits are owed and nothing is pledged: no coverage.
    let lines = exchange_lines(&reader, "23", day("2026-11-30")).unwrap();
    assert_eq!(
        lines[0].position.debit_outstanding,
        Credits::from_whole(200)
    );
    assert_eq!(lines[0].position.coverage_basis_points, Some(0));
    // Before it opened there is no exchange to report.
    assert!(
        exchange_lines(&reader, "230101", day("2026-10-31"))
            .unwrap()
            .is_empty()
    );
}
