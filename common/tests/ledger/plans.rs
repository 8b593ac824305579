//! Loan plans (arrears follow the plan, not always equal instalments) and
//! contributions for a period already paid (refused unless marked extra).

use sajja_common::event::LoanPlan;
use sajja_common::ids::LoanNo;
use sajja_common::position::GroupPosition;
use sajja_common::{Body, Books};

use crate::support::*;

/// A loan of 12,000 to member 1 on 2024-01-15 for 6 months on `plan`.
fn lent_on(plan: LoanPlan) -> Log {
    let mut log = Log::with_members(3);
    log.push("2024-01-02", deposit(2, baht(20_000)));
    log.push_dated(
        "2024-01-15",
        on_plan(loan(1, 1, baht(12_000), 6, &[2]), plan),
    );
    log
}

/// `disbursement` with its plan set to `plan`.
fn on_plan(mut disbursement: Body, plan: LoanPlan) -> Body {
    if let Body::LoanDisbursed { plan: p, .. } = &mut disbursement {
        *p = plan;
    }
    disbursement
}

fn par30_on(log: &Log, date: &str) -> i64 {
    GroupPosition::of(&log.books, d(date)).par30_basis_points()
}

#[test]
fn a_loan_with_principal_at_maturity_is_not_in_arrears_until_it_matures() {
    // Proves issue 12's bullet loan: monthly interest only, principal due on
    // 2024-07-15; nothing is overdue before, all of it from that day, and it
    // counts in PAR30 from the 31st day after.
    let mut log = lent_on(LoanPlan::PrincipalAtMaturity);
    for month in ["02", "03", "04", "05", "06"] {
        log.push_dated(&format!("2024-{month}-15"), repay(1, baht(0), baht(120)));
    }
    let loan = &log.books.loans[&LoanNo(1)];
    assert_eq!(loan.arrears_on(d("2024-07-14")).overdue, baht(0));
    assert_eq!(par30_on(&log, "2024-06-30"), 0, "not due yet: no PAR30");
    let due = loan.arrears_on(d("2024-07-15"));
    assert_eq!((due.overdue, due.days_past_due), (baht(12_000), 0));
    assert_eq!(par30_on(&log, "2024-08-14"), 0, "30 days late is not PAR30");
    assert_eq!(par30_on(&log, "2024-08-15"), 10_000, "31 days late is");
}

#[test]
fn the_same_loan_in_equal_instalments_is_behind_after_its_first_month() {
    // The contrast that made bullet loans look at risk: with no principal
    // repaid, an equal-instalment loan is 2,000 behind on 2024-02-15.
    let log = lent_on(LoanPlan::EqualInstalments);
    let loan = &log.books.loans[&LoanNo(1)];
    assert_eq!(loan.arrears_on(d("2024-02-15")).overdue, baht(2_000));
}

#[test]
fn a_flexible_loan_is_due_by_its_final_date_and_repaid_as_the_borrower_can() {
    let mut log = lent_on(LoanPlan::Flexible {
        final_due: d("2024-03-31"),
    });
    log.push_dated("2024-02-20", repay(1, baht(5_000), baht(0)));
    let loan = &log.books.loans[&LoanNo(1)];
    assert_eq!(loan.arrears_on(d("2024-03-30")).overdue, baht(0));
    let late = loan.arrears_on(d("2024-04-10"));
    assert_eq!((late.overdue, late.days_past_due), (baht(7_000), 10));
}

#[test]
fn a_flexible_loan_due_before_it_is_lent_is_refused() {
    let log = lent_on(LoanPlan::EqualInstalments);
    let body = on_plan(
        loan(2, 3, baht(1_000), 3, &[]),
        LoanPlan::Flexible {
            final_due: d("2024-02-01"),
        },
    );
    let event = log.next_dated("2024-02-01", body);
    check_refused(&log, event, "final_due_not_after_disbursement");
}

fn paid_for(member: u32, period: &str, extra: bool) -> Body {
    let mut body = contributes(member, baht(30));
    if let Body::ContributionReceived {
        period: p,
        extra: e,
        ..
    } = &mut body
    {
        *p = month(period);
        *e = extra;
    }
    body
}

#[test]
fn a_second_contribution_for_a_paid_month_is_refused_unless_marked_extra() {
    // Proves issue 12's duplicate rule: the same member, the same month, the
    // same source, without the treasurer's word, is refused in one line.
    let mut log = Log::with_members(2);
    log.push_dated("2024-02-05", paid_for(1, "2024-02", false));
    let event = log.next_dated("2024-02-06", paid_for(1, "2024-02", false));
    check_refused(&log, event.clone(), "period_already_paid");
    let mut books = log.books.clone();
    let line = books.apply(&event, None).unwrap_err().to_string();
    assert!(
        line.ends_with(
            "member 1 already paid for 2024-02; record it as an extra payment if that is meant"
        ),
        "{line}"
    );
    // Another month, another member, or the word "extra" are all accepted.
    log.push_dated("2024-02-06", paid_for(1, "2024-03", false));
    log.push_dated("2024-02-06", paid_for(2, "2024-02", false));
    log.push_dated("2024-02-06", paid_for(1, "2024-02", true));
    assert_eq!(log.books.members[&m(1)].contributed, baht(90));
}

#[test]
fn a_reversed_contribution_frees_its_month_for_the_right_one() {
    let mut log = Log::with_members(1);
    let wrong = log.push_dated("2024-02-05", paid_for(1, "2024-02", false));
    log.push_dated("2024-02-05", reversal(wrong, "typed 300 for 30"));
    log.push_dated("2024-02-05", paid_for(1, "2024-02", false));
    assert_eq!(log.books.members[&m(1)].contributed, baht(30));
}

#[test]
fn a_log_recorded_before_the_rule_keeps_its_doubled_months() {
    // Logs accepted under the old rules must fold as they did.
    let mut log = Log::with_members(1);
    log.push("2024-02-05", paid_for(1, "2024-02", false));
    log.push("2024-02-06", paid_for(1, "2024-02", false));
    let refolded = Books::fold(group(), &log.events).expect("an old log folds");
    assert_eq!(refolded.members[&m(1)].contributed, baht(60));
}

#[test]
fn every_plan_and_the_extra_flag_survive_encoding() {
    let plans = [
        LoanPlan::EqualInstalments,
        LoanPlan::PrincipalAtMaturity,
        LoanPlan::Flexible {
            final_due: d("2025-06-30"),
        },
    ];
    for plan in plans {
        let log = lent_on(plan);
        let event = log.events.last().unwrap();
        let bytes = event.encode();
        assert_eq!(&sajja_common::Event::decode(&bytes).unwrap(), event);
    }
    let event = dated_rules(event_of(paid_for(1, "2024-02", true)));
    assert_eq!(sajja_common::Event::decode(&event.encode()).unwrap(), event);
}

fn event_of(body: Body) -> sajja_common::Event {
    event(group(), 3, d("2024-02-05"), body)
}
