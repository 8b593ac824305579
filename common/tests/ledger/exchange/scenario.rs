//! The exchange as its office and its coordinators see it: accounts opened,
//! produce and labour paid for in บุญ, vouchers, a default settled against
//! the reserve, and the coverage the hubs report.

use sajja_common::exchange::{
    AccountStatus, Category, Credits, ExchangeAlert, ExchangeBody, ExchangePosition, HolderKind,
    Volume,
};
use sajja_common::{Money, PoolId};

use super::support::*;

const HOMESTAY: u32 = 1;
const FARMER: u32 = 2;
const SHOP: u32 = 3;
const OFFICE: u32 = 9;

/// The standard exchange with a homestay, a farmer who is a member of group
/// 230101-007, a shop and the office's voucher account.
fn village() -> Exchange {
    let mut ex = Exchange::opened();
    ex.ok("2026-11-01", opens(HOMESTAY, HolderKind::Enterprise, 500));
    ex.ok("2026-11-01", opens(FARMER, member("230101-007", 12), 500));
    ex.ok("2026-11-01", opens(SHOP, HolderKind::Shop, 300));
    ex.ok(
        "2026-11-01",
        opens(OFFICE, HolderKind::Group(group("230101-001")), 2_000),
    );
    ex
}

#[test]
fn a_homestay_pays_a_farmer_120_credits_for_vegetables() {
    // Proves a transfer moves credit from payer to payee, the payer going
    // into debit, and the position counts it once on each side.
    let mut ex = village();
    ex.ok(
        "2026-11-03",
        pays(HOMESTAY, FARMER, cr(120), Category::Produce, "ผักอินทรีย์"),
    );
    assert_eq!(
        (ex.balance(HOMESTAY), ex.balance(FARMER)),
        (cr(-120), cr(120))
    );

    let position = ex.position(
        "2026-11-30",
        &reserve(&[("230101-007", 100), ("230101-008", 50)]),
    );
    assert_eq!(position.credit_in_circulation, cr(120));
    assert_eq!(position.debit_outstanding, cr(120));
    assert_eq!(position.accounts_open, 4);
    assert_eq!(
        position.volume_by_month[&(d("2026-11-03").month(), Category::Produce)],
        Volume {
            transfers: 1,
            volume: cr(120)
        }
    );
    // 150 baht of reserve for 120 baht of debit at 1 baht a credit.
    assert_eq!(position.exposure, baht(120));
    assert_eq!(position.coverage_basis_points, Some(12_500));
    assert_eq!(position.unit_name, "บุญ");
}

#[test]
fn a_transfer_beyond_the_limit_is_refused_naming_the_account_limit_and_date() {
    // Proves the payer may go down to its limit and not a credit further.
    let mut ex = village();
    ex.ok(
        "2026-11-03",
        pays(SHOP, FARMER, cr(300), Category::Goods, "ข้าวสาร"),
    );
    ex.refused(
        "2026-11-04",
        pays(SHOP, FARMER, Credits::from_centi(1), Category::Goods, "ไข่"),
        &[
            "account 3 would be -300.01 on 2026-11-04",
            "credit limit of 300.00",
            "raise the limit",
        ],
    );
}

#[test]
fn a_back_dated_transfer_may_not_breach_a_limit_on_any_later_date() {
    // Proves the limit discipline of the group ledger's business dates: a
    // back-dated transfer is judged on its own date and every later one.
    let mut ex = village();
    ex.ok(
        "2026-11-10",
        pays(SHOP, FARMER, cr(250), Category::Goods, "ปุ๋ย"),
    );
    // On 2026-11-05 the shop would be at -80, but by 2026-11-10 at -330.
    ex.refused(
        "2026-11-05",
        pays(SHOP, FARMER, cr(80), Category::Goods, "เมล็ดพันธุ์"),
        &[
            "account 3 would be -330.00 on 2026-11-10",
            "limit of 300.00",
        ],
    );
    ex.ok(
        "2026-11-05",
        pays(SHOP, FARMER, cr(50), Category::Goods, "เมล็ดพันธุ์"),
    );
    assert_eq!(
        ex.books.accounts[&a(SHOP)].balance_as_of(d("2026-11-07")),
        cr(-50)
    );
    assert_eq!(ex.balance(SHOP), cr(-300));
}

#[test]
fn a_raised_limit_holds_from_its_date_and_not_before() {
    // Proves a back-dated transfer is checked against the limit in force on
    // each date, not today's.
    let mut ex = village();
    ex.ok("2026-11-10", limit(SHOP, 600, true));
    ex.ok(
        "2026-11-15",
        pays(SHOP, FARMER, cr(500), Category::Goods, "ข้าว"),
    );
    // Before the raise the limit was 300.
    ex.refused(
        "2026-11-05",
        pays(SHOP, FARMER, cr(301), Category::Goods, "ข้าว"),
        &["would be -301.00 on 2026-11-05", "limit of 300.00"],
    );
    ex.refused(
        "2026-11-05",
        pays(SHOP, FARMER, cr(101), Category::Goods, "ข้าว"),
        &["would be -601.00 on 2026-11-15", "limit of 600.00"],
    );
    ex.ok(
        "2026-11-05",
        pays(SHOP, FARMER, cr(100), Category::Goods, "ข้าว"),
    );
    assert_eq!(ex.balance(SHOP), cr(-600));
}

#[test]
fn the_committee_raises_limits_and_no_limit_is_set_below_a_debit() {
    // Proves raising needs the committee, lowering below the debit on any
    // later date is refused, and limit changes are recorded in date order.
    let mut ex = village();
    ex.ok(
        "2026-11-03",
        pays(HOMESTAY, FARMER, cr(400), Category::Services, "ทำความสะอาด"),
    );
    ex.refused(
        "2026-11-04",
        limit(HOMESTAY, 800, false),
        &["raising account 1's limit from 500.00 to 800.00 needs the committee's approval"],
    );
    ex.refused(
        "2026-11-04",
        limit(HOMESTAY, 300, true),
        &["account 1 is -400.00 on 2026-11-04", "new limit of 300.00"],
    );
    ex.ok("2026-11-04", limit(HOMESTAY, 400, false));
    ex.refused(
        "2026-11-02",
        limit(HOMESTAY, 450, true),
        &["before account 1's latest limit change on 2026-11-04"],
    );
    assert_eq!(ex.books.accounts[&a(HOMESTAY)].limit, cr(400));
    assert_eq!(
        ex.books.accounts[&a(HOMESTAY)].limit_as_of(d("2026-11-03")),
        cr(500)
    );
}

#[test]
fn vouchers_are_issued_and_returned_by_serial_range_and_still_sum_to_zero() {
    // Proves vouchers are bought from an account, credited to the account
    // they come back to, and balances plus vouchers outstanding stay zero.
    let mut ex = village();
    ex.ok("2026-11-02", issues(OFFICE, 1, 100, 10));
    assert_eq!(ex.balance(OFFICE), cr(-1_000));
    assert_eq!(ex.books.vouchers.value_outstanding, cr(1_000));
    ex.ok("2026-11-20", returns(40, 60, SHOP));
    assert_eq!(ex.balance(SHOP), cr(210));
    assert_eq!(ex.books.vouchers.value_outstanding, cr(790));
    assert_eq!(ex.books.sum_of_balances_and_vouchers(), 0);

    ex.refused(
        "2026-11-21",
        issues(OFFICE, 90, 120, 10),
        &["voucher serial 90 was already issued"],
    );
    // Returned vouchers are not reissued either: a serial is issued once, ever.
    ex.refused(
        "2026-11-21",
        issues(OFFICE, 50, 50, 10),
        &["voucher serial 50 was already issued"],
    );
    ex.refused(
        "2026-11-21",
        returns(55, 70, FARMER),
        &["voucher serial 55 is not outstanding"],
    );
    ex.refused(
        "2026-11-21",
        returns(95, 101, FARMER),
        &["voucher serial 101 is not outstanding"],
    );
    ex.refused(
        "2026-11-01",
        returns(1, 5, FARMER),
        &["before voucher serial 1 was issued on 2026-11-02"],
    );
    // A return spanning two issues of different denominations.
    ex.ok("2026-11-22", issues(OFFICE, 101, 110, 50));
    ex.ok("2026-11-23", returns(99, 102, FARMER));
    assert_eq!(ex.balance(FARMER), cr(10 + 10 + 50 + 50));

    let position = ex.position("2026-11-30", &reserve(&[("230101-007", 1_000)]));
    assert_eq!(position.vouchers_outstanding, cr(790 - 20 + 500 - 100));
    assert_eq!(
        ex.position("2026-11-21", &reserve(&[]))
            .vouchers_outstanding,
        cr(790)
    );
}

#[test]
fn a_default_settles_its_debit_against_the_reserve_at_the_stated_rate() {
    // Proves a defaulted account's whole debit is written off in baht at the
    // stated rate, rounded up to the satang, from the exchange's own pool.
    let mut ex = Exchange::new();
    let mut terms = terms();
    terms.rate_per_credit = Money::from_satang(75);
    ex.ok(OPENED_ON, ExchangeBody::ExchangeOpened(terms));
    ex.ok("2026-11-01", opens(HOMESTAY, HolderKind::Enterprise, 500));
    ex.ok("2026-11-01", opens(FARMER, HolderKind::Producer, 500));
    ex.ok(
        "2026-11-05",
        pays(
            HOMESTAY,
            FARMER,
            Credits::from_centi(33_333),
            Category::Labour,
            "เกี่ยวข้าว",
        ),
    );
    let default = |settled: i64, pool: &str| ExchangeBody::AccountDefaulted {
        account: a(HOMESTAY),
        written_off: Credits::from_centi(33_333),
        settled: Money::from_satang(settled),
        from_pool: PoolId::parse(pool).unwrap(),
    };
    // 333.33 credits at 0.75 baht is 249.9975 baht: 250.00 rounded up.
    ex.refused(
        "2026-12-01",
        default(24_999, RESERVE_POOL),
        &[
            "333.33 credits at 0.75 baht a credit settle as 250.00 baht",
            "not 249.99",
        ],
    );
    ex.refused(
        "2026-12-01",
        default(25_000, "230101"),
        &["reserve pool 230101-RES, not 230101"],
    );
    ex.refused(
        "2026-11-04",
        default(25_000, RESERVE_POOL),
        &["before account 1's last activity on 2026-11-05"],
    );
    ex.refused(
        "2026-12-01",
        ExchangeBody::AccountDefaulted {
            account: a(HOMESTAY),
            written_off: Credits::from_centi(30_000),
            settled: baht(225),
            from_pool: PoolId::parse(RESERVE_POOL).unwrap(),
        },
        &["debit is 333.33, but 300.00 is written off"],
    );
    ex.ok("2026-12-01", default(25_000, RESERVE_POOL));
    assert!(matches!(
        ex.books.accounts[&a(HOMESTAY)].status,
        AccountStatus::Defaulted { .. }
    ));
    ex.refused(
        "2026-12-02",
        pays(FARMER, HOMESTAY, cr(1), Category::Goods, ""),
        &["account 1 is defaulted"],
    );

    let pledged = reserve(&[("230101-007", 1_000)]);
    let after = ex.position("2026-12-31", &pledged);
    assert_eq!(after.debit_outstanding, Credits::ZERO);
    assert_eq!(after.debit_written_off, Credits::from_centi(33_333));
    assert_eq!(after.settled_from_reserve, baht(250));
    assert_eq!(after.credit_in_circulation, Credits::from_centi(33_333));
    assert_eq!(after.coverage_basis_points, None);
    assert_eq!(after.accounts_defaulted, 1);
    // Before the default, the debit was outstanding.
    let before = ex.position("2026-11-30", &pledged);
    assert_eq!(before.debit_outstanding, Credits::from_centi(33_333));
    assert_eq!(before.exposure, baht(250));
    assert_eq!(before.accounts_defaulted, 0);
}

#[test]
fn a_reversed_transfer_gives_the_credit_back_and_leaves_the_month() {
    // Proves a reversal is the transfer's negated effect on its own date,
    // counted out of the month of the transfer it undoes.
    let mut ex = village();
    ex.ok(
        "2026-11-28",
        pays(HOMESTAY, FARMER, cr(60), Category::Produce, "ผิดบัญชี"),
    );
    let reverse = || ExchangeBody::Reversal {
        reversed_seq: 6,
        reason: "บันทึกผิดคน".into(),
    };
    ex.refused(
        "2026-11-27",
        reverse(),
        &["before the transfer it reverses (2026-11-28)"],
    );
    ex.ok("2026-12-02", reverse());
    assert_eq!((ex.balance(HOMESTAY), ex.balance(FARMER)), (cr(0), cr(0)));
    ex.refused(
        "2026-12-03",
        reverse(),
        &["transfer seq 6 is already reversed"],
    );
    ex.refused(
        "2026-12-03",
        ExchangeBody::Reversal {
            reversed_seq: 2,
            reason: "x".into(),
        },
        &["seq 2 is not a transfer"],
    );
    let november = d("2026-11-01").month();
    let pledged = reserve(&[]);
    assert_eq!(
        ex.position("2026-11-30", &pledged)
            .month_total(november)
            .transfers,
        1
    );
    assert_eq!(
        ex.position("2026-12-31", &pledged).month_total(november),
        Volume::default()
    );
}

#[test]
fn an_account_closes_only_at_zero_and_after_its_last_activity() {
    // Proves closing needs a zero balance and a date after everything on it.
    let mut ex = village();
    ex.ok(
        "2026-11-10",
        pays(HOMESTAY, FARMER, cr(20), Category::Goods, ""),
    );
    ex.refused(
        "2026-11-11",
        ExchangeBody::AccountClosed { account: a(FARMER) },
        &["balance of 20.00: only an account at zero is closed"],
    );
    ex.ok(
        "2026-11-12",
        pays(FARMER, HOMESTAY, cr(20), Category::Goods, ""),
    );
    ex.refused(
        "2026-11-11",
        ExchangeBody::AccountClosed { account: a(FARMER) },
        &["before account 2's last activity on 2026-11-12"],
    );
    ex.ok(
        "2026-11-12",
        ExchangeBody::AccountClosed { account: a(FARMER) },
    );
    ex.refused(
        "2026-11-13",
        pays(HOMESTAY, FARMER, cr(1), Category::Goods, ""),
        &["account 2 is closed"],
    );
    let position = ex.position("2026-11-30", &reserve(&[]));
    assert_eq!((position.accounts_open, position.accounts_closed), (3, 1));
    assert_eq!(ex.position("2026-11-11", &reserve(&[])).accounts_closed, 0);
}

#[test]
fn coverage_headroom_and_concentration_are_reported_and_alerted() {
    // Proves the coverage figures by hand: 1,000 credits of debit and 200 of
    // vouchers at 1 baht, against 900 baht pledged by four groups.
    let mut ex = village();
    ex.ok(
        "2026-11-05",
        pays(HOMESTAY, FARMER, cr(500), Category::Services, "ห้องพัก"),
    );
    ex.ok(
        "2026-11-05",
        pays(SHOP, FARMER, cr(300), Category::Goods, ""),
    );
    ex.ok("2026-11-06", issues(OFFICE, 1, 20, 10));
    ex.ok(
        "2026-11-06",
        pays(OFFICE, FARMER, cr(200), Category::Labour, ""),
    );
    let pledged = reserve(&[
        ("230101-001", 400),
        ("230101-002", 250),
        ("230101-003", 150),
        ("230101-004", 100),
    ]);
    let p = ex.position("2026-11-30", &pledged);
    assert_eq!(p.debit_outstanding, cr(1_200));
    assert_eq!(p.vouchers_outstanding, cr(200));
    assert_eq!(p.exposure, baht(1_400));
    assert_eq!(p.reserve_pledged, baht(900));
    // 900 / 1,400 = 64.28…% rounded down.
    assert_eq!(p.coverage_basis_points, Some(6_428));
    assert_eq!(p.reserve_required, baht(700));
    // At 50% the reserve covers 1,800 baht of exposure: 400 credits more.
    assert_eq!(p.headroom, Some(cr(400)));
    assert_eq!(p.coverage_without_largest_pledger, Some(3_571));
    assert_eq!(p.coverage_without_largest_three, Some(714));
    // The homestay and the office each hold more than 25% of the debit.
    let largest = p.largest_debtor.unwrap();
    assert_eq!((largest.account, largest.debit), (a(HOMESTAY), cr(500)));
    assert_eq!(largest.share_basis_points, 4_166);
    assert_eq!(
        p.alerts(),
        vec![
            ExchangeAlert::DebitConcentrated {
                account: a(HOMESTAY),
                debit: cr(500),
                share_basis_points: 4_166,
                limit_basis_points: 2_500,
            },
            ExchangeAlert::DebitConcentrated {
                account: a(OFFICE),
                debit: cr(400),
                share_basis_points: 3_333,
                limit_basis_points: 2_500,
            },
        ]
    );

    // The largest pledger withdraws: coverage falls below policy.
    let mut less = pledged.clone();
    less.remove(&group("230101-001"));
    let p = ExchangePosition::of(&ex.books, d("2026-11-30"), &less).unwrap();
    assert_eq!(p.coverage_basis_points, Some(3_571));
    assert_eq!(p.headroom, Some(cr(-400)));
    assert_eq!(
        p.alerts()[0],
        ExchangeAlert::CoverageBelowPolicy {
            coverage_basis_points: 3_571,
            policy_basis_points: 5_000,
            shortfall: baht(200),
        }
    );
}

#[test]
fn nothing_outstanding_is_unbounded_coverage_and_no_alert() {
    // Proves an exchange with no debit and no vouchers has no ratio to fall.
    let ex = village();
    let p = ex.position("2026-11-30", &reserve(&[]));
    assert_eq!((p.coverage_basis_points, p.exposure), (None, Money::ZERO));
    assert!(p.alerts().is_empty());
    assert!(ExchangePosition::of(&ex.books, d("2026-10-31"), &reserve(&[])).is_none());
}
