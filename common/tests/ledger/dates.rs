//! Back-dated events: valid against the books as of their business date and
//! leaving no later date with a negative balance, for events recorded after
//! the business-date rules began; logs recorded before fold as they always did.

use proptest::prelude::*;
use sajja_common::event::LeaveReason;
use sajja_common::ledger::Rule;
use sajja_common::{Body, Books, Date};

use crate::support::*;
/// The refusal's one line, for events the ledger must refuse.
fn refused_line(log: &Log, date: &str, body: Body) -> String {
    let event = log.next_dated(date, body);
    let mut books = log.books.clone();
    let refusal = books
        .apply(&event, log.original_of(&event))
        .expect_err("the event was accepted");
    assert_eq!(books, log.books, "a refusal must leave the books unchanged");
    refusal.to_string()
}

#[test]
fn a_back_dated_withdrawal_beyond_the_savings_on_its_date_is_refused() {
    // Proves issue 12's example: savings on 2025-03-01, a withdrawal dated a
    // month earlier, is refused naming the date and the balance it would break.
    let mut log = Log::with_members(1);
    log.push_dated("2025-03-01", deposit(1, baht(100)));
    let event = log.next_dated("2025-02-01", withdraw(1, baht(100)));
    check_refused(&log, event, "negative_on");
    let line = refused_line(&log, "2025-02-01", withdraw(1, baht(100)));
    assert!(
        line.ends_with("savings of member 1 would be -100.00 on 2025-02-01"),
        "{line}"
    );
}

#[test]
fn a_back_dated_withdrawal_that_breaks_a_later_date_is_refused_naming_it() {
    // Proves a later date is checked: 100 saved, 100 withdrawn in March; a
    // withdrawal of 50 in February fits February but leaves March at -50.
    let mut log = Log::with_members(1);
    log.push_dated("2025-01-01", deposit(1, baht(100)));
    log.push_dated("2025-03-01", withdraw(1, baht(100)));
    let line = refused_line(&log, "2025-02-01", withdraw(1, baht(50)));
    assert!(
        line.ends_with("savings of member 1 would be -50.00 on 2025-03-01"),
        "{line}"
    );
}

#[test]
fn a_back_dated_event_that_fits_every_later_date_is_accepted() {
    // Proves the rule refuses only what breaks a date: a late-entered deposit
    // and a withdrawal covered on its date and after are both accepted.
    let mut log = Log::with_members(1);
    log.push_dated("2025-01-01", deposit(1, baht(100)));
    log.push_dated("2025-03-01", deposit(1, baht(100)));
    log.push_dated("2025-02-01", withdraw(1, baht(60)));
    log.push_dated("2025-01-15", deposit(1, baht(10)));
    let feb = Books::fold_as_of(group(), &log.events, d("2025-02-15"));
    assert_eq!(feb.members[&m(1)].savings, baht(50));
    assert_eq!(log.books.members[&m(1)].savings, baht(150));
}

#[test]
fn a_contribution_dated_before_the_member_joined_is_refused() {
    // Proves issue 12's second example: a member acts only from joining.
    let mut log = Log::with_members(1);
    log.push_dated("2025-03-01", joined(2, 1980));
    let event = log.next_dated("2025-02-01", contributes(2, baht(30)));
    check_refused(&log, event, "before_joining");
    let event = log.next_dated("2025-02-01", deposit(2, baht(30)));
    check_refused(&log, event, "before_joining");
}

#[test]
fn a_repayment_dated_before_its_loan_is_refused() {
    // Proves a loan is repaid only on or after its disbursement.
    let mut log = Log::with_members(2);
    log.push_dated("2025-01-01", deposit(1, baht(5_000)));
    log.push_dated("2025-03-01", loan(1, 2, baht(1_000), 10, &[1]));
    let event = log.next_dated("2025-02-01", repay(1, baht(100), baht(10)));
    check_refused(&log, event, "before_loan");
}

#[test]
fn a_back_dated_release_beyond_what_was_pledged_then_is_refused() {
    // Proves the reserve pledged is checked on the release's own date.
    let mut log = Log::with_members(1);
    log.push_dated("2025-01-01", contributes(1, baht(1_000)));
    log.push_dated(
        "2025-03-01",
        Body::ReservePledged {
            pool: pool("230101-P01"),
            amount: baht(500),
        },
    );
    let line = refused_line(
        &log,
        "2025-02-01",
        Body::ReserveReleased {
            pool: pool("230101-P01"),
            amount: baht(200),
        },
    );
    assert!(line.ends_with("would be -200.00 on 2025-02-01"), "{line}");
}

#[test]
fn a_member_cannot_be_recorded_as_leaving_before_their_later_activity() {
    // Proves "after leaving" is checked on dates: a back-dated leaving that
    // would put a later contribution after the member left is refused.
    let mut log = Log::with_members(1);
    log.push_dated("2025-03-01", contributes(1, baht(30)));
    let event = log.next_dated("2025-02-01", left(1, LeaveReason::Moved, baht(0)));
    check_refused(&log, event, "left_before_activity");
}

#[test]
fn a_log_recorded_under_the_old_rules_still_folds_as_it_did() {
    // Proves logs accepted before the business-date rules keep verifying and
    // folding identically: issue 12's bad entries, recorded the old way, are
    // accepted by `Books::fold` with the same (negative) February books.
    let mut log = Log::with_members(1);
    log.push("2025-03-01", deposit(1, baht(100)));
    log.push("2025-02-01", withdraw(1, baht(100)));
    log.push("2025-03-05", joined(2, 1980));
    log.push("2025-03-02", contributes(2, baht(30)));
    let folded = Books::fold(group(), &log.events).expect("an old log folds");
    assert_eq!(folded, log.books);
    let feb = Books::fold_as_of(group(), &log.events, d("2025-02-15"));
    assert_eq!(feb.accounts.cash, baht(-100));
    assert_eq!(feb.members[&m(1)].savings, baht(-100));
    // The same bytes recorded after the cut-over are refused.
    let mut strict = Log::with_members(1);
    strict.push_dated("2025-03-01", deposit(1, baht(100)));
    assert!(
        strict
            .try_push_dated(d("2025-02-01"), withdraw(1, baht(100)))
            .is_err()
    );
}

// ---- property: random streams with back-dated insertions ----

#[derive(Clone, Debug)]
enum Op {
    Deposit(u32, i64),
    Withdraw(u32, i64),
    Contribute(u32, i64),
    Benefit(u32, i64),
    Bank(i64),
    Draw(i64),
    Join(u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1u32..5, 1i64..500).prop_map(|(m, a)| Op::Deposit(m, a)),
        (1u32..5, 1i64..500).prop_map(|(m, a)| Op::Withdraw(m, a)),
        (1u32..5, 1i64..100).prop_map(|(m, a)| Op::Contribute(m, a)),
        (1u32..5, 1i64..300).prop_map(|(m, a)| Op::Benefit(m, a)),
        (1i64..400).prop_map(Op::Bank),
        (1i64..400).prop_map(Op::Draw),
        (4u32..9).prop_map(Op::Join),
    ]
}

fn body_of(op: &Op) -> Body {
    match *op {
        Op::Deposit(member, a) => deposit(member, baht(a)),
        Op::Withdraw(member, a) => withdraw(member, baht(a)),
        Op::Contribute(member, a) => contributes(member, baht(a)),
        Op::Benefit(member, a) => overridden(
            member,
            sajja_common::event::BenefitKind::Disaster,
            baht(a),
            "flood",
        ),
        Op::Bank(a) => Body::CashBanked { amount: baht(a) },
        Op::Draw(a) => Body::CashDrawn { amount: baht(a) },
        Op::Join(member) => joined(member, 1980),
    }
}

/// No guarded balance is negative in `books`.
fn no_negative(books: &Books, on: Date) -> Result<(), TestCaseError> {
    let a = &books.accounts;
    for (name, value) in [
        ("cash", a.cash),
        ("bank", a.bank),
        ("welfare fund", a.welfare_fund),
        ("loans", a.loans_receivable),
        ("member savings", a.member_savings),
    ] {
        prop_assert!(value.satang() >= 0, "{name} is {value} on {on}");
    }
    for (member, m) in &books.members {
        prop_assert!(
            m.savings.satang() >= 0,
            "member {member} has {} on {on}",
            m.savings
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn back_dated_streams_never_leave_a_negative_balance_on_any_date(
        steps in prop::collection::vec((op(), 0u32..15, any::<bool>(), 0u32..120), 1..60),
    ) {
        // Proves that with events inserted at random earlier business dates,
        // the books as of every date have no negative balance, and every
        // refusal leaves the books unchanged.
        let mut log = Log::with_members(3);
        let mut latest = d(OPENED_ON);
        for (op, forward, back_dated, back) in &steps {
            latest = latest.add_days(*forward);
            let date = if *back_dated {
                let span = u32::try_from(latest.days_since(d(OPENED_ON))).unwrap();
                d(OPENED_ON).add_days(back % (span + 1))
            } else {
                latest
            };
            let before = log.books.clone();
            if let Err(refusal) = log.try_push_dated(date, body_of(op)) {
                prop_assert_eq!(&log.books, &before, "refusal {} changed the books", refusal);
                prop_assert!(!matches!(refusal.rule, Rule::Overflow));
            }
        }
        let mut dates: Vec<Date> = log.events.iter().map(|e| e.date).collect();
        dates.sort();
        dates.dedup();
        for on in dates {
            no_negative(&Books::fold_as_of(group(), &log.events, on), on)?;
        }
        prop_assert_eq!(&Books::fold(group(), &log.events).unwrap(), &log.books);
    }
}
