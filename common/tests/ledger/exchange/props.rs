//! Property tests over random streams of exchange events.
//!
//! A stream is generated as candidate operations; a small builder turns each
//! into a concrete event sized to the books so far (so most are accepted,
//! some back-dated by a few days), applies it, and keeps it only if the books
//! accept it. Every refusal along the way must leave the books unchanged.

use std::collections::BTreeMap;

use proptest::prelude::*;
use sajja_common::exchange::{
    AccountNo, AccountStatus, Category, Credits, ExchangeBody, ExchangeBooks, ExchangeEvent,
    ExchangePosition, HolderKind,
};
use sajja_common::{Date, GroupId, Money};

use super::support::*;

const CASES: u32 = 64;

#[derive(Clone, Debug)]
enum Op {
    Open(i64, u8),
    Pay(usize, usize, i64, u8, u8),
    Limit(usize, i64, bool, u8),
    Issue(usize, u32, i64, u8, bool),
    Return(u32, u32, usize, u8),
    Close(usize),
    Default(usize),
    Reverse(usize, u8),
    NextDay(u32),
}

fn op() -> impl Strategy<Value = Op> {
    // Days back from "today": mostly in order, sometimes a few days back.
    let back = prop_oneof![1 => Just(0u8), 1 => 0u8..6];
    prop_oneof![
        3 => (0i64..800, 0u8..5).prop_map(|(l, h)| Op::Open(l, h)),
        8 => (0usize..12, 0usize..12, 1i64..30_000, 0u8..4, back.clone())
            .prop_map(|(f, t, a, c, b)| Op::Pay(f, t, a, c, b)),
        2 => (0usize..12, 0i64..700, any::<bool>(), back.clone())
            .prop_map(|(i, l, c, b)| Op::Limit(i, l, c, b)),
        2 => (0usize..12, 1u32..20, 1i64..2_000, back.clone(), prop::bool::weighted(0.1))
            .prop_map(|(i, n, v, b, reuse)| Op::Issue(i, n, v, b, reuse)),
        2 => (any::<u32>(), 1u32..10, 0usize..12, back.clone())
            .prop_map(|(p, n, t, b)| Op::Return(p, n, t, b)),
        1 => (0usize..12).prop_map(Op::Close),
        1 => (0usize..12).prop_map(Op::Default),
        1 => (0usize..64, back).prop_map(|(p, b)| Op::Reverse(p, b)),
        3 => (1u32..4).prop_map(Op::NextDay),
    ]
}

/// A random exchange log: the accepted events and the books they folded to.
struct Stream {
    events: Vec<ExchangeEvent>,
    books: ExchangeBooks,
}

fn holder(kind: u8, n: u32) -> HolderKind {
    match kind {
        0 => member("230101-007", n),
        1 => HolderKind::Producer,
        2 => HolderKind::Enterprise,
        3 => HolderKind::Shop,
        _ => HolderKind::Group(group("230101-001")),
    }
}

fn build(ops: &[Op]) -> Stream {
    let mut terms = terms();
    // A rate that makes valuing in baht round.
    terms.rate_per_credit = Money::from_satang(75);
    let opened_on = d(OPENED_ON);
    let mut books = ExchangeBooks::new(log());
    let first = event(1, opened_on, ExchangeBody::ExchangeOpened(terms.clone()));
    books.apply(&first).unwrap();
    let mut events = vec![first];
    let mut today = opened_on;
    let mut next_serial = 1u32;
    let mut accounts: Vec<AccountNo> = Vec::new();
    let pick =
        |accounts: &Vec<AccountNo>, i: usize| accounts.get(i % accounts.len().max(1)).copied();
    for op in ops {
        let back = |b: u8| {
            Date::from_days(today.days().saturating_sub(u32::from(b)))
                .unwrap()
                .max(opened_on)
        };
        let (date, body) = match op.clone() {
            Op::NextDay(n) => {
                today = today.add_days(n);
                continue;
            }
            Op::Open(limit, kind) => {
                let n = accounts.len() as u32 + 1;
                (today, opens(n, holder(kind, n), limit))
            }
            Op::Pay(f, t, amount, c, b) => {
                // Mostly two different accounts; now and then the same one.
                let (Some(from), Some(to)) = (pick(&accounts, f), pick(&accounts, f + 1 + t % 11))
                else {
                    continue;
                };
                (
                    back(b),
                    ExchangeBody::Transfer {
                        from,
                        to,
                        amount: Credits::from_centi(amount),
                        category: Category::ALL[usize::from(c) % 4],
                        memo: String::new(),
                    },
                )
            }
            Op::Limit(i, new_limit, committee, b) => {
                let Some(account) = pick(&accounts, i) else {
                    continue;
                };
                (
                    back(b),
                    ExchangeBody::CreditLimitChanged {
                        account,
                        new_limit: cr(new_limit),
                        approved_by_committee: committee,
                        reason: "ที่ประชุม".into(),
                    },
                )
            }
            Op::Issue(i, count, denomination, b, reuse) => {
                let Some(account) = pick(&accounts, i) else {
                    continue;
                };
                // Now and then an issue reuses serials, which must be refused.
                let first = if reuse && next_serial > 1 {
                    next_serial - 1
                } else {
                    next_serial
                };
                let body = ExchangeBody::VouchersIssued {
                    account,
                    first_serial: first,
                    last_serial: first + count - 1,
                    denomination: Credits::from_centi(denomination),
                };
                (back(b), body)
            }
            Op::Return(p, count, t, b) => {
                let Some(to_account) = pick(&accounts, t) else {
                    continue;
                };
                let first = 1 + p % next_serial.max(1);
                (
                    back(b),
                    ExchangeBody::VouchersReturned {
                        first_serial: first,
                        last_serial: first + count - 1,
                        to_account,
                    },
                )
            }
            Op::Close(i) => {
                let Some(account) = pick(&accounts, i) else {
                    continue;
                };
                (today, ExchangeBody::AccountClosed { account })
            }
            Op::Default(i) => {
                let Some(account) = pick(&accounts, i) else {
                    continue;
                };
                let debit = Credits::from_centi(-books.accounts[&account].balance.centi());
                (
                    today,
                    ExchangeBody::AccountDefaulted {
                        account,
                        written_off: debit,
                        settled: debit.valued_at(terms.rate_per_credit).unwrap_or_default(),
                        from_pool: terms.reserve_pool.clone(),
                    },
                )
            }
            Op::Reverse(p, b) => {
                let transfers: Vec<u64> = books.transfers.keys().copied().collect();
                let Some(seq) = transfers.get(p % transfers.len().max(1)) else {
                    continue;
                };
                (
                    back(b),
                    ExchangeBody::Reversal {
                        reversed_seq: *seq,
                        reason: "แก้ไข".into(),
                    },
                )
            }
        };
        let e = event(books.last_seq + 1, date, body);
        let before = books.clone();
        match books.apply(&e) {
            Ok(()) => {
                if let ExchangeBody::AccountOpened { account, .. } = &e.body {
                    accounts.push(*account);
                }
                if let ExchangeBody::VouchersIssued { last_serial, .. } = &e.body {
                    next_serial = next_serial.max(last_serial + 1);
                }
                events.push(e);
            }
            Err(_) => {
                assert_eq!(books, before, "a refusal changed the books");
            }
        }
    }
    Stream { events, books }
}

/// Every day from the opening to the day after the last event.
fn days(stream: &Stream) -> impl Iterator<Item = Date> {
    let first = d(OPENED_ON).days();
    let last = stream.books.last_date.map_or(first, |d| d.days()) + 1;
    (first.saturating_sub(1)..=last).filter_map(|n| Date::from_days(n).ok())
}

/// A group of `id` (in tambon 230101) funded with a 1,000,000-baht
/// donation that pledges 500,000 of it to the exchange's reserve pool.
fn pledging_group(id: &str) -> sajja_common::Books {
    use sajja_common::event::{Channel, Source};
    let group = GroupId::parse(id).unwrap();
    let mut books = sajja_common::Books::new(group.clone());
    let bodies = [
        crate::support::group_opened(),
        crate::support::joined(1, 1970),
        crate::support::contribution(
            None,
            baht(1_000_000),
            Source::Donation,
            Channel::Cash,
            crate::support::month("2024-01"),
        ),
        sajja_common::Body::ReservePledged {
            pool: sajja_common::PoolId::parse(RESERVE_POOL).unwrap(),
            amount: baht(500_000),
        },
    ];
    for (i, body) in bodies.into_iter().enumerate() {
        let e = crate::support::event(group.clone(), i as u64 + 1, d("2024-01-01"), body);
        books.apply(&e, None).unwrap();
    }
    books
}

/// Group `books` pays `amount` of the exchange's default at `seq` on `date`.
fn draw(books: &mut sajja_common::Books, date: Date, amount: Money, seq: u64) {
    let body = sajja_common::Body::ReserveDrawn {
        pool: sajja_common::PoolId::parse(RESERVE_POOL).unwrap(),
        amount,
        channel: sajja_common::event::Channel::Cash,
        exchange: log(),
        exchange_seq: seq,
    };
    let e = crate::support::event(books.group.clone(), books.last_seq + 1, date, body);
    books.apply(&e, None).unwrap();
}

fn pledges() -> BTreeMap<GroupId, Money> {
    reserve(&[
        ("230101-001", 400),
        ("230101-002", 250),
        ("230101-003", 150),
        ("230101-004", 10),
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    // Proves balances plus vouchers outstanding sum to zero at every date,
    // and the vouchers outstanding are exactly the runs of serials still out.
    #[test]
    fn balances_and_vouchers_always_sum_to_zero(ops in prop::collection::vec(op(), 1..120)) {
        let stream = build(&ops);
        prop_assert_eq!(stream.books.sum_of_balances_and_vouchers(), 0);
        let runs: i64 = stream.books.vouchers.outstanding.iter()
            .map(|(first, run)| i64::from(run.last - first + 1) * run.denomination.centi())
            .sum();
        prop_assert_eq!(runs, stream.books.vouchers.value_outstanding.centi());
        for day in days(&stream) {
            let as_of = ExchangeBooks::fold_as_of(log(), &stream.events, day);
            prop_assert_eq!(as_of.sum_of_balances_and_vouchers(), 0);
        }
    }

    // Proves no account is ever beyond its credit limit on any date, by
    // folding the events dated up to each day independently, and that the
    // books' dated balances and limits say the same.
    #[test]
    fn no_limit_is_breached_on_any_date(ops in prop::collection::vec(op(), 1..120)) {
        let stream = build(&ops);
        for day in days(&stream) {
            let as_of = ExchangeBooks::fold_as_of(log(), &stream.events, day);
            for (number, account) in &as_of.accounts {
                prop_assert!(
                    account.balance.centi() >= -account.limit.centi(),
                    "account {} is {} on {} with limit {}", number, account.balance, day, account.limit
                );
                let now = &stream.books.accounts[number];
                prop_assert_eq!(now.balance_as_of(day), account.balance);
                prop_assert_eq!(now.limit_as_of(day), account.limit);
            }
        }
    }

    // Proves the incremental fold equals the fold from scratch, and a fold
    // resumed from a snapshot taken half way equals both.
    #[test]
    fn the_incremental_fold_equals_the_fold_from_scratch(ops in prop::collection::vec(op(), 1..120)) {
        let stream = build(&ops);
        let scratch = ExchangeBooks::fold(log(), &stream.events).unwrap();
        prop_assert_eq!(&scratch, &stream.books);
        let half = stream.events.len() / 2;
        let first = ExchangeBooks::fold(log(), &stream.events[..half]).unwrap();
        let bytes = postcard::to_allocvec(&first).unwrap();
        let mut resumed: ExchangeBooks = postcard::from_bytes(&bytes).unwrap();
        for e in &stream.events[half..] {
            resumed.apply(e).unwrap();
        }
        prop_assert_eq!(&resumed, &stream.books);
    }

    // Proves the position of today's books as of any date equals the
    // position of the fold of only the events dated up to it, and that
    // credit in circulation and vouchers are the debit outstanding and
    // written off.
    #[test]
    fn the_as_of_position_equals_the_fold_of_the_events_dated_up_to_it(
        ops in prop::collection::vec(op(), 1..120)
    ) {
        let stream = build(&ops);
        let pledged = pledges();
        for day in days(&stream) {
            let now = ExchangePosition::of(&stream.books, day, &pledged);
            let as_of = ExchangeBooks::fold_as_of(log(), &stream.events, day);
            prop_assert_eq!(&now, &ExchangePosition::of(&as_of, day, &pledged));
            if let Some(p) = now {
                prop_assert_eq!(
                    p.credit_in_circulation.centi() + p.vouchers_outstanding.centi(),
                    p.debit_outstanding.centi() + p.debit_written_off.centi()
                );
                if let Some(coverage) = p.coverage_basis_points {
                    // The ratio is rounded down: never above the exact one.
                    prop_assert!(i128::from(coverage) * i128::from(p.exposure.satang())
                        <= i128::from(p.reserve_pledged.satang()) * 10_000);
                }
            }
        }
    }

    // Proves a default settles exactly its debit at the stated rate, rounded
    // up, and the settlement counts in the position from its date.
    #[test]
    fn defaults_settle_their_debit_at_the_rate(ops in prop::collection::vec(op(), 1..120)) {
        let stream = build(&ops);
        let rate = stream.books.terms.as_ref().unwrap().rate_per_credit;
        let mut settled = 0;
        for account in stream.books.accounts.values() {
            if let AccountStatus::Defaulted { written_off, settled: s, .. } = account.status {
                prop_assert_eq!(written_off.centi(), -account.balance.centi());
                let exact = i128::from(written_off.centi()) * i128::from(rate.satang());
                prop_assert!(i128::from(s.satang()) * 100 >= exact);
                prop_assert!(i128::from(s.satang()) * 100 < exact + 100);
                settled += s.satang();
            }
        }
        if let Some(last) = stream.books.last_date {
            let p = ExchangePosition::of(&stream.books, last, &pledges()).unwrap();
            prop_assert_eq!(p.settled_from_reserve.satang(), settled);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    // Proves a default settles against the reserve in both logs
    // consistently: when the pledging groups' logs pay each default's
    // settlement from their pledges (split between two groups), the
    // position's `settled_by_groups` equals what the exchange's log settled
    // and no alert is raised; a share left unpaid raises the alert naming
    // both figures. The groups' side is read as a hub reads it: their
    // positions, folded into the pool's.
    #[test]
    fn a_default_settles_against_the_reserve_in_both_logs(ops in prop::collection::vec(op(), 1..120)) {
        let stream = build(&ops);
        let mut groups = [pledging_group("230101-001"), pledging_group("230101-002")];
        let mut settled_total = 0i64;
        let mut last_share: Option<Money> = None;
        for e in &stream.events {
            if let ExchangeBody::AccountDefaulted { settled, .. } = &e.body {
                if settled.satang() == 0 {
                    continue;
                }
                let first = Money::from_satang(settled.satang() / 2);
                let second = Money::from_satang(settled.satang() - first.satang());
                if first.is_positive() {
                    draw(&mut groups[0], e.date, first, e.seq);
                }
                draw(&mut groups[1], e.date, second, e.seq);
                settled_total += settled.satang();
                last_share = Some(second);
            }
        }
        let Some(last) = stream.books.last_date else { return Ok(()); };
        let pool = sajja_common::PoolId::parse(RESERVE_POOL).unwrap();
        let position_of = |groups: &[sajja_common::Books]| {
            let positions: Vec<_> = groups
                .iter()
                .map(|b| (b.group.clone(), sajja_common::position::GroupPosition::of(b, last)))
                .collect();
            let pool_position = sajja_common::position::PoolPosition::of(
                &pool,
                positions.iter().map(|(g, p)| (g, p)),
                None,
            );
            let reserve: BTreeMap<GroupId, Money> = pool_position.pledges.iter().cloned().collect();
            ExchangePosition::of(&stream.books, last, &reserve)
                .unwrap()
                .with_group_draws(pool_position.reserve_drawn)
        };
        let both = position_of(&groups);
        prop_assert_eq!(both.settled_from_reserve.satang(), settled_total);
        prop_assert_eq!(both.settled_by_groups.satang(), settled_total);
        let unmatched = |p: &ExchangePosition| p.alerts().into_iter().any(|a| {
            matches!(a, sajja_common::exchange::ExchangeAlert::SettlementUnmatched { .. })
        });
        prop_assert!(!unmatched(&both));
        // The pledges paid out fall by exactly the settlements.
        let pledged: i64 = both_pledged(&groups, &pool);
        prop_assert_eq!(pledged, 2 * 50_000_000 - settled_total);
        if let Some(share) = last_share {
            // The second group never recorded its last share.
            let mut short = groups.clone();
            let unpaid = short[1].clone();
            short[1] = pledging_group("230101-002");
            let paid_before: i64 = unpaid.accounts.pools[&pool].reserve_drawn.satang() - share.satang();
            if paid_before > 0 {
                draw(&mut short[1], last, Money::from_satang(paid_before), 1);
            }
            let p = position_of(&short);
            prop_assert_eq!(p.settled_by_groups.satang(), settled_total - share.satang());
            prop_assert!(unmatched(&p));
        }
    }
}

fn both_pledged(groups: &[sajja_common::Books], pool: &sajja_common::PoolId) -> i64 {
    groups
        .iter()
        .map(|b| b.accounts.pools[pool].reserve_pledged.satang())
        .sum()
}
