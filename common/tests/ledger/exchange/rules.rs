//! Every rule the exchange's books refuse an event by, one row each, through
//! the one refusal check (which also proves a refusal changes nothing).

use sajja_common::exchange::{
    Category, Credits, ExchangeBody, ExchangeBooks, ExchangeRule, HolderKind, MAX_CREDITS_CENTI,
};
use sajja_common::{Money, PoolId};

use super::support::*;

/// An exchange with accounts 1 and 2 (limit 100 each), opened on
/// 2026-11-01; account 3 opens on 2026-11-10.
fn standard() -> Exchange {
    let mut ex = Exchange::opened();
    ex.ok("2026-11-01", opens(1, HolderKind::Producer, 100));
    ex.ok("2026-11-01", opens(2, HolderKind::Shop, 100));
    ex.ok("2026-11-10", opens(3, HolderKind::Enterprise, 100));
    ex
}

fn check(date: &str, body: ExchangeBody, says: &[&str]) {
    standard().refused(date, body, says);
}

#[test]
fn accounts_and_transfers_are_refused_by_name() {
    // Proves each account and transfer rule, in words the office can act on.
    let goods = Category::Goods;
    check(
        "2026-11-12",
        opens(2, HolderKind::Shop, 10),
        &["account number 2 is already used"],
    );
    check(
        "2026-11-12",
        opens(0, HolderKind::Shop, 10),
        &["account number 0 is out of range"],
    );
    check(
        "2026-11-12",
        opens(1_000_000, HolderKind::Shop, 10),
        &["account number 1000000 is out of range"],
    );
    check(
        "2026-11-12",
        opens(4, HolderKind::Shop, -1),
        &["credit limit -1.00 is negative"],
    );
    check(
        "2026-11-12",
        pays(1, 7, cr(5), goods, ""),
        &["account 7 is not an account"],
    );
    check(
        "2026-11-12",
        pays(1, 1, cr(5), goods, ""),
        &["account 1 cannot pay itself"],
    );
    check(
        "2026-11-12",
        pays(1, 2, cr(0), goods, ""),
        &["amount 0.00 is not positive"],
    );
    check(
        "2026-11-12",
        pays(1, 2, cr(-5), goods, ""),
        &["amount -5.00 is not positive"],
    );
    check(
        "2026-11-12",
        pays(1, 2, Credits::from_centi(MAX_CREDITS_CENTI + 1), goods, ""),
        &["above the per-event limit"],
    );
    check(
        "2026-11-05",
        pays(3, 2, cr(5), goods, ""),
        &["dated 2026-11-05, before account 3 was opened on 2026-11-10"],
    );
    check(
        "2026-10-31",
        pays(1, 2, cr(5), goods, ""),
        &["dated 2026-10-31, before the exchange opened on 2026-11-01"],
    );
    check(
        "2026-11-12",
        ExchangeBody::CreditLimitChanged {
            account: a(1),
            new_limit: cr(50),
            approved_by_committee: true,
            reason: " ".into(),
        },
        &["a reason is required for a credit-limit change"],
    );
    check(
        "2026-11-12",
        ExchangeBody::Reversal {
            reversed_seq: 9,
            reason: String::new(),
        },
        &["a reason is required for a reversal"],
    );
    check(
        "2026-11-12",
        ExchangeBody::AccountDefaulted {
            account: a(1),
            written_off: Credits::ZERO,
            settled: Money::ZERO,
            from_pool: PoolId::parse(RESERVE_POOL).unwrap(),
        },
        &["balance of 0.00, not a debit", "close it instead"],
    );
}

#[test]
fn voucher_ranges_are_bounded() {
    // Proves a voucher range starts at 1, runs forward and is bounded.
    check(
        "2026-11-12",
        issues(1, 0, 5, 1),
        &["serials 0 to 5 are not a range"],
    );
    check(
        "2026-11-12",
        issues(1, 9, 5, 1),
        &["serials 9 to 5 are not a range"],
    );
    check(
        "2026-11-12",
        issues(1, 1, 10_001, 1),
        &["at most 10000 vouchers"],
    );
    check(
        "2026-11-12",
        issues(1, 1, 5, 0),
        &["amount 0.00 is not positive"],
    );
    check(
        "2026-11-12",
        returns(1, 5, 2),
        &["voucher serial 1 is not outstanding"],
    );
    // Within the count bound, a value beyond the per-event limit.
    check(
        "2026-11-12",
        ExchangeBody::VouchersIssued {
            account: a(1),
            first_serial: 1,
            last_serial: 10_000,
            denomination: Credits::from_centi(MAX_CREDITS_CENTI),
        },
        &["not positive or is above the per-event limit"],
    );
}

#[test]
fn the_log_opens_once_with_sound_terms() {
    // Proves the first event opens the exchange, once, with terms that make
    // sense, and sequence numbers run without gaps in this log only.
    let mut ex = Exchange::new();
    ex.refused(
        "2026-11-01",
        opens(1, HolderKind::Shop, 1),
        &["must start with ExchangeOpened"],
    );
    let with = |change: fn(&mut sajja_common::exchange::ExchangeTerms)| {
        let mut t = terms();
        change(&mut t);
        ExchangeBody::ExchangeOpened(t)
    };
    ex.refused(
        "2026-11-01",
        with(|t| t.name = " ".into()),
        &["needs a name"],
    );
    ex.refused(
        "2026-11-01",
        with(|t| t.unit_name.clear()),
        &["a name for its unit"],
    );
    ex.refused(
        "2026-11-01",
        with(|t| t.rate_per_credit = Money::ZERO),
        &["stated rate"],
    );
    ex.refused(
        "2026-11-01",
        with(|t| t.rate_per_credit = Money::from_baht(10_001)),
        &["at most 10,000 baht a credit"],
    );
    ex.refused(
        "2026-11-01",
        with(|t| t.policy_min_coverage_basis_points = 100_001),
        &["at most 1000%"],
    );
    ex.refused(
        "2026-11-01",
        with(|t| t.concentration_limit_basis_points = 0),
        &["concentration limit"],
    );
    ex.refused(
        "2026-11-01",
        with(|t| t.reserve_pool = PoolId::parse("230102-RES").unwrap()),
        &["reserve pool 230102-RES is not a pool of tambon 230101 or its province"],
    );
    // The province's pool may guarantee a tambon's exchange.
    ex.ok(
        "2026-11-01",
        with(|t| t.reserve_pool = PoolId::parse("23").unwrap()),
    );
    ex.refused(
        "2026-11-02",
        ExchangeBody::ExchangeOpened(terms()),
        &["already open"],
    );

    let mut books = ExchangeBooks::new(log());
    let mut stray = event(1, d(OPENED_ON), ExchangeBody::ExchangeOpened(terms()));
    stray.log = group("230102-X01");
    assert_eq!(
        books.apply(&stray).unwrap_err().rule,
        ExchangeRule::WrongLog(group("230102-X01"))
    );
    let gap = event(2, d(OPENED_ON), ExchangeBody::ExchangeOpened(terms()));
    let refusal = books.apply(&gap).unwrap_err();
    assert_eq!(refusal.rule, ExchangeRule::OutOfSequence { expected: 1 });
    assert_eq!(
        refusal.to_string(),
        "exchange 230101-X01 seq 2: expected seq 1"
    );
}
