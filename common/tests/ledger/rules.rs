//! Every rule the ledger refuses an event by. Each test goes through
//! `check_refused`, which also proves the refused event left the books unchanged.

use sajja_common::event::{BenefitKind, Channel, ExpenseKind, IncomeKind, LeaveReason, Source};
use sajja_common::money::MAX_AMOUNT_SATANG;
use sajja_common::{Body, Money};

use crate::support::*;

/// Members 1..=5 joined 2024-01-01 (born 1970), 10,000 baht in the welfare
/// fund (a donation, in cash) and 2,000 baht of member 1's savings (in cash).
fn funded() -> Log {
    let mut log = Log::with_members(5);
    log.push(
        "2024-01-02",
        contribution(
            None,
            baht(10_000),
            Source::Donation,
            Channel::Cash,
            month("2024-01"),
        ),
    );
    log.push("2024-01-03", deposit(1, baht(2_000)));
    log
}

/// `funded` with loan 1 of 6,000 baht to member 2, guaranteed by member 3.
fn with_loan() -> Log {
    let mut log = funded();
    log.push("2024-02-01", loan(1, 2, baht(6_000), 6, &[3]));
    log
}

// ---- the log itself ----

#[test]
fn an_event_of_another_group_is_refused() {
    // Proves the books refuse an event that names another group.
    let log = funded();
    let mut event = log.next("2024-03-01", deposit(1, baht(1)));
    event.group = other_group();
    check_refused(&log, event, "wrong_group");
}

#[test]
fn an_event_out_of_sequence_is_refused() {
    // Proves the books refuse a skipped or repeated sequence number.
    let log = funded();
    let mut skipped = log.next("2024-03-01", deposit(1, baht(1)));
    skipped.seq += 1;
    check_refused(&log, skipped, "out_of_sequence");
    let mut repeated = log.next("2024-03-01", deposit(1, baht(1)));
    repeated.seq -= 1;
    check_refused(&log, repeated, "out_of_sequence");
}

#[test]
fn a_log_must_start_with_group_opened() {
    // Proves nothing is accepted before the group is opened.
    let log = Log::empty();
    check_refused(&log, log.next(OPENED_ON, joined(1, 1970)), "not_opened");
}

#[test]
fn a_group_opens_only_once() {
    // Proves a second GroupOpened is refused.
    let log = Log::opened();
    check_refused(
        &log,
        log.next("2024-02-01", group_opened()),
        "already_opened",
    );
}

#[test]
fn a_group_opens_only_in_its_own_tambon() {
    // Proves GroupOpened must name the tambon and province of the group id.
    let log = Log::empty();
    let wrong_tambon = Body::GroupOpened {
        name: "x".into(),
        tambon: "230102".into(),
        province: "23".into(),
    };
    check_refused(
        &log,
        log.next(OPENED_ON, wrong_tambon),
        "group_not_in_tambon",
    );
}

#[test]
fn an_event_dated_before_the_opening_is_refused() {
    // Proves no event may be dated before the group opened.
    let log = funded();
    check_refused(
        &log,
        log.next("2023-12-31", deposit(1, baht(1))),
        "before_opening",
    );
}

// ---- amounts ----

#[test]
fn non_positive_amounts_are_refused_for_every_kind() {
    // Proves every money-moving kind refuses a zero or negative amount.
    let log = with_loan();
    let p = pool("230101");
    for amount in [baht(0), satang(-1)] {
        let bodies = vec![
            contributes(1, amount),
            deposit(1, amount),
            withdraw(1, amount),
            income(IncomeKind::Fee, amount, Channel::Cash),
            expense(ExpenseKind::Meeting, amount, Channel::Cash),
            dividend(2024, &[(1, amount)]),
            benefit(1, BenefitKind::Childbirth, amount, 0),
            loan(2, 4, amount, 6, &[]),
            repay(1, amount, amount),
            write_off(1, amount),
            Body::CashBanked { amount },
            Body::CashDrawn { amount },
            Body::PoolDeposited {
                pool: p.clone(),
                amount,
                channel: Channel::Cash,
            },
            Body::PoolWithdrawn {
                pool: p.clone(),
                amount,
                channel: Channel::Cash,
            },
            Body::ReservePledged {
                pool: p.clone(),
                amount,
            },
            Body::ReserveReleased {
                pool: p.clone(),
                amount,
            },
            Body::PoolLoanReceived {
                pool: p.clone(),
                amount,
                channel: Channel::Cash,
            },
            Body::PoolLoanRepaid {
                pool: p.clone(),
                principal: amount,
                interest: amount,
                channel: Channel::Cash,
            },
        ];
        for body in bodies {
            check_refused(&log, log.next("2024-08-01", body), "non_positive_amount");
        }
    }
}

#[test]
fn a_repayment_may_be_all_interest_but_not_negative_principal() {
    // Proves a repayment needs a positive total and neither part negative.
    let log = with_loan();
    check_refused(
        &log,
        log.next("2024-03-01", repay(1, satang(-100), baht(200))),
        "non_positive_amount",
    );
    let mut accepted = log.clone();
    accepted.push("2024-03-01", repay(1, baht(0), baht(60)));
}

#[test]
fn an_amount_above_the_per_event_limit_is_refused() {
    // Proves one event may not carry more than the 10-billion-baht limit.
    let log = funded();
    let too_large = satang(MAX_AMOUNT_SATANG + 1);
    check_refused(
        &log,
        log.next("2024-03-01", deposit(1, too_large)),
        "amount_too_large",
    );
}

#[test]
fn balances_that_would_overflow_are_refused() {
    // Proves a posting that would overflow an i64 balance is refused, not wrapped.
    let mut log = funded();
    // No test can post 9.2 × 10^18 satang event by event; set the bank balance near the edge.
    log.books.accounts.bank = satang(i64::MAX - 10);
    check_refused(
        &log,
        log.next("2024-03-01", Body::CashBanked { amount: baht(1) }),
        "overflow",
    );
}

// ---- members ----

#[test]
fn an_unknown_member_is_refused() {
    // Proves events naming a member number that never joined are refused.
    let log = funded();
    for body in [
        deposit(99, baht(1)),
        contributes(99, baht(30)),
        withdraw(99, baht(1)),
        left(99, LeaveReason::Moved, baht(0)),
        benefit(99, BenefitKind::Childbirth, baht(500), 0),
        loan(2, 99, baht(100), 6, &[]),
        dividend(2024, &[(99, baht(1))]),
    ] {
        check_refused(&log, log.next("2024-08-01", body), "unknown_member");
    }
}

#[test]
fn a_departed_member_is_refused() {
    // Proves a member who left can no longer contribute, save, borrow, leave again or claim.
    let mut log = funded();
    log.push("2024-03-01", left(5, LeaveReason::Moved, baht(0)));
    for body in [
        deposit(5, baht(1)),
        contributes(5, baht(30)),
        left(5, LeaveReason::Moved, baht(0)),
        benefit(5, BenefitKind::Childbirth, baht(500), 0),
        loan(2, 5, baht(100), 6, &[]),
        overridden(5, BenefitKind::Sickness, baht(100), "committee"),
    ] {
        check_refused(&log, log.next("2024-08-01", body), "member_has_left");
    }
}

#[test]
fn a_member_number_is_used_once() {
    // Proves a member number cannot join twice, even after leaving.
    let mut log = funded();
    check_refused(
        &log,
        log.next("2024-03-01", joined(1, 1980)),
        "duplicate_member",
    );
    log.push("2024-03-01", left(5, LeaveReason::Resigned, baht(0)));
    check_refused(
        &log,
        log.next("2024-03-02", joined(5, 1980)),
        "duplicate_member",
    );
}

#[test]
fn an_implausible_birth_year_is_refused() {
    // Proves a birth year before 1900 or after the event's year is refused.
    let log = funded();
    check_refused(
        &log,
        log.next("2024-03-01", joined(9, 1899)),
        "implausible_birth_year",
    );
    check_refused(
        &log,
        log.next("2024-03-01", joined(9, 2025)),
        "implausible_birth_year",
    );
}

#[test]
fn a_member_contribution_must_name_the_member() {
    // Proves a contribution from a member source needs a member number.
    let log = funded();
    let body = contribution(
        None,
        baht(30),
        Source::Member,
        Channel::Cash,
        month("2024-03"),
    );
    check_refused(
        &log,
        log.next("2024-03-01", body),
        "contribution_without_member",
    );
}

#[test]
fn a_withdrawal_beyond_the_members_savings_is_refused() {
    // Proves a member cannot withdraw more than their own savings, even when the cash box has it.
    let log = funded();
    check_refused(
        &log,
        log.next("2024-03-01", withdraw(1, satang(200_001))),
        "savings_overdrawn",
    );
    check_refused(
        &log,
        log.next("2024-03-01", withdraw(2, baht(1))),
        "savings_overdrawn",
    );
}

#[test]
fn a_leaving_refund_must_equal_the_savings() {
    // Proves a departing member's refund is exactly their savings, no more and no less.
    let log = funded();
    check_refused(
        &log,
        log.next("2024-03-01", left(1, LeaveReason::Resigned, baht(1_999))),
        "refund_must_equal_savings",
    );
    check_refused(
        &log,
        log.next("2024-03-01", left(2, LeaveReason::Resigned, baht(1))),
        "refund_must_equal_savings",
    );
}

// ---- benefits ----

#[test]
fn a_benefit_beyond_the_welfare_fund_is_refused_even_with_an_override() {
    // Proves no benefit, overridden or not, pays more than the welfare fund holds.
    let mut log = Log::with_members(2);
    // 3 × 30 baht: a welfare fund of 90 baht.
    for date in ["2024-01-05", "2024-02-05", "2024-03-05"] {
        log.push(date, contributes(1, baht(30)));
    }
    log.push("2024-01-10", deposit(2, baht(5_000)));
    check_refused(
        &log,
        log.next(
            "2024-07-01",
            benefit(1, BenefitKind::Childbirth, baht(500), 0),
        ),
        "benefit_beyond_fund",
    );
    check_refused(
        &log,
        log.next(
            "2024-07-01",
            overridden(1, BenefitKind::Other, baht(91), "committee"),
        ),
        "benefit_beyond_fund",
    );
}

#[test]
fn the_waiting_period_is_180_days_from_joining() {
    // Proves a benefit on day 179 after joining is refused and on day 180 accepted.
    let log = funded();
    // 2024 is a leap year: 31 + 29 + 31 + 30 + 31 = 152 days to June 1; June 28 is day 179.
    check_refused(
        &log,
        log.next(
            "2024-06-28",
            benefit(1, BenefitKind::Childbirth, baht(500), 0),
        ),
        "waiting_period",
    );
    let mut accepted = log.clone();
    accepted.push(
        "2024-06-29",
        benefit(1, BenefitKind::Childbirth, baht(500), 0),
    );
}

#[test]
fn a_childbirth_benefit_is_at_most_the_rules_amount() {
    // Proves childbirth pays at most the rules' fixed 500 baht.
    let log = funded();
    check_refused(
        &log,
        log.next(
            "2024-08-01",
            benefit(1, BenefitKind::Childbirth, satang(50_001), 0),
        ),
        "above_rule_amount",
    );
}

#[test]
fn a_death_benefit_follows_the_membership_tier() {
    // Proves death pays at most its tier: 2,000 in the first year, 5,000 after one whole year.
    let mut log = funded();
    log.push("2024-12-31", left(3, LeaveReason::Died, baht(0)));
    check_refused(
        &log,
        log.next("2024-12-31", benefit(3, BenefitKind::Death, baht(2_001), 0)),
        "above_rule_amount",
    );
    let mut later = funded();
    later.push("2025-01-01", left(3, LeaveReason::Died, baht(0)));
    check_refused(
        &later,
        later.next("2025-01-01", benefit(3, BenefitKind::Death, baht(5_001), 0)),
        "above_rule_amount",
    );
    later.push("2025-01-01", benefit(3, BenefitKind::Death, baht(5_000), 0));
}

#[test]
fn a_death_benefit_needs_a_member_who_died() {
    // Proves a death benefit for a member who left for another reason is refused.
    let mut log = funded();
    log.push("2024-08-01", left(4, LeaveReason::Resigned, baht(0)));
    check_refused(
        &log,
        log.next("2024-08-02", benefit(4, BenefitKind::Death, baht(2_000), 0)),
        "benefit_after_leaving",
    );
}

#[test]
fn a_pension_follows_the_contribution_tier() {
    // Proves a pension pays at most its tier: 300 baht a month after 15 years of contributions.
    let mut log = funded();
    log.push("2024-01-04", joined(6, 1950));
    // 15 years × 12 months × 30 baht = 5,400 baht.
    log.push("2024-01-05", contributes(6, baht(5_400)));
    check_refused(
        &log,
        log.next("2024-08-01", benefit(6, BenefitKind::OldAge, baht(301), 0)),
        "above_rule_amount",
    );
    let mut accepted = log.clone();
    accepted.push("2024-08-01", benefit(6, BenefitKind::OldAge, baht(300), 0));
}

#[test]
fn a_pension_needs_the_pension_age() {
    // Proves a member younger than 60 in the benefit's year gets no pension.
    let mut log = funded();
    log.push("2024-01-05", contributes(1, baht(5_400)));
    check_refused(
        &log,
        log.next("2024-08-01", benefit(1, BenefitKind::OldAge, baht(300), 0)),
        "below_pension_age",
    );
}

#[test]
fn a_pension_needs_a_tier() {
    // Proves a pension with fewer contribution years than the lowest tier is refused.
    let mut log = funded();
    log.push("2024-01-04", joined(6, 1950));
    // 5,399 baht is 14 whole years of 360 baht: below the 15-year tier.
    log.push("2024-01-05", contributes(6, baht(5_399)));
    check_refused(
        &log,
        log.next("2024-08-01", benefit(6, BenefitKind::OldAge, baht(300), 0)),
        "no_tier",
    );
}

#[test]
fn a_sickness_benefit_needs_nights() {
    // Proves a sickness benefit without a number of nights is refused.
    let log = funded();
    check_refused(
        &log,
        log.next(
            "2024-08-01",
            benefit(1, BenefitKind::Sickness, baht(100), 0),
        ),
        "nights_required",
    );
}

#[test]
fn a_sickness_benefit_is_at_most_the_nightly_rate() {
    // Proves sickness pays at most 100 baht a night.
    let log = funded();
    check_refused(
        &log,
        log.next(
            "2024-08-01",
            benefit(1, BenefitKind::Sickness, satang(20_001), 2),
        ),
        "above_nightly_rate",
    );
}

#[test]
fn sickness_nights_are_capped_per_year() {
    // Proves the 10-night yearly cap counts earlier claims of the same year only.
    let mut log = funded();
    log.push(
        "2024-08-01",
        benefit(1, BenefitKind::Sickness, baht(400), 8),
    );
    // 8 + 3 = 11 nights > 10, while 400 + 150 = 550 baht stays under the 1,000 cap.
    check_refused(
        &log,
        log.next(
            "2024-09-01",
            benefit(1, BenefitKind::Sickness, baht(150), 3),
        ),
        "yearly_nights_cap",
    );
    let mut next_year = log.clone();
    next_year.push(
        "2025-01-02",
        benefit(1, BenefitKind::Sickness, baht(150), 3),
    );
}

#[test]
fn sickness_amounts_are_capped_per_year() {
    // Proves the yearly sickness amount cap counts earlier claims of the same year.
    let mut log = funded();
    log.push(
        "2024-07-01",
        rules_with(|r| r.sickness_max_amount_per_year = baht(500)),
    );
    log.push(
        "2024-08-01",
        benefit(1, BenefitKind::Sickness, baht(400), 4),
    );
    // 4 + 2 = 6 nights is under 10, but 400 + 200 = 600 baht is above 500.
    check_refused(
        &log,
        log.next(
            "2024-09-01",
            benefit(1, BenefitKind::Sickness, baht(200), 2),
        ),
        "yearly_amount_cap",
    );
}

#[test]
fn education_and_disaster_benefits_need_the_rules_to_offer_them() {
    // Proves education and disaster benefits are refused when the rules' maximum is zero, and capped otherwise.
    let log = funded();
    check_refused(
        &log,
        log.next(
            "2024-08-01",
            benefit(1, BenefitKind::Education, baht(501), 0),
        ),
        "above_rule_amount",
    );
    let mut not_offered = funded();
    not_offered.push(
        "2024-07-01",
        rules_with(|r| {
            r.education_max = Money::ZERO;
            r.disaster_max = Money::ZERO;
        }),
    );
    for kind in [BenefitKind::Education, BenefitKind::Disaster] {
        check_refused(
            &not_offered,
            not_offered.next("2024-08-01", benefit(1, kind, baht(100), 0)),
            "not_offered",
        );
    }
}

#[test]
fn an_other_benefit_needs_the_committee() {
    // Proves an "other" benefit is never paid by the rules alone.
    let log = funded();
    check_refused(
        &log,
        log.next("2024-08-01", benefit(1, BenefitKind::Other, baht(100), 0)),
        "needs_committee",
    );
}

#[test]
fn an_override_needs_a_reason() {
    // Proves a committee override with a blank reason is refused.
    let log = funded();
    check_refused(
        &log,
        log.next(
            "2024-02-01",
            overridden(1, BenefitKind::Childbirth, baht(500), "  "),
        ),
        "override_without_reason",
    );
}

#[test]
fn an_override_pays_what_the_rules_refuse() {
    // Proves each rule refusal above is lifted by a committee override with a reason.
    let mut log = funded();
    log.push("2024-03-01", left(4, LeaveReason::Resigned, baht(0)));
    let refused_by_rules = [
        (
            benefit(1, BenefitKind::Childbirth, baht(500), 0),
            "waiting_period",
        ),
        (
            benefit(1, BenefitKind::Other, baht(100), 0),
            "waiting_period",
        ),
    ];
    for (body, rule) in refused_by_rules {
        check_refused(&log, log.next("2024-02-01", body.clone()), rule);
        let Body::BenefitPaid {
            member,
            kind,
            amount,
            ..
        } = body
        else {
            unreachable!()
        };
        let mut paid = log.clone();
        paid.push(
            "2024-02-01",
            overridden(member.0, kind, amount, "committee meeting"),
        );
        assert_eq!(
            paid.books.accounts.welfare_fund.satang(),
            log.books.accounts.welfare_fund.satang() - amount.satang()
        );
    }
    let mut paid = log.clone();
    paid.push(
        "2024-08-01",
        overridden(1, BenefitKind::Sickness, baht(3_000), "surgery"),
    );
    // An override never pays a member who left (other than a death benefit).
    check_refused(
        &log,
        log.next(
            "2024-08-01",
            overridden(4, BenefitKind::Sickness, baht(100), "committee"),
        ),
        "member_has_left",
    );
}

// ---- dividends ----

#[test]
fn a_dividend_beyond_the_surplus_is_refused() {
    // Proves dividends share at most income less expenses less dividends already paid.
    let mut log = funded();
    log.push(
        "2024-12-31",
        income(IncomeKind::BankInterest, baht(100), Channel::Cash),
    );
    log.push(
        "2024-12-31",
        expense(ExpenseKind::BankFee, baht(10), Channel::Cash),
    );
    // Surplus 100 − 10 = 90.
    check_refused(
        &log,
        log.next(
            "2025-01-10",
            dividend(2024, &[(1, baht(50)), (2, baht(41))]),
        ),
        "dividend_beyond_surplus",
    );
    log.push("2025-01-10", dividend(2024, &[(1, baht(50))]));
    check_refused(
        &log,
        log.next("2025-01-11", dividend(2024, &[(2, baht(41))])),
        "dividend_beyond_surplus",
    );
}

#[test]
fn dividend_lines_must_be_present_and_distinct() {
    // Proves a dividend with no lines or a member listed twice is refused.
    let mut log = funded();
    log.push(
        "2024-12-31",
        income(IncomeKind::BankInterest, baht(100), Channel::Cash),
    );
    check_refused(
        &log,
        log.next("2025-01-10", dividend(2024, &[])),
        "bad_dividend_lines",
    );
    check_refused(
        &log,
        log.next(
            "2025-01-10",
            dividend(2024, &[(1, baht(10)), (1, baht(10))]),
        ),
        "bad_dividend_lines",
    );
}

// ---- loans ----

#[test]
fn an_unknown_loan_is_refused() {
    // Proves repaying or writing off a loan number never disbursed is refused.
    let log = with_loan();
    check_refused(
        &log,
        log.next("2024-03-01", repay(9, baht(1), baht(0))),
        "unknown_loan",
    );
    check_refused(
        &log,
        log.next("2024-03-01", write_off(9, baht(1))),
        "unknown_loan",
    );
}

#[test]
fn a_loan_number_is_used_once() {
    // Proves a loan number cannot be disbursed twice.
    let log = with_loan();
    check_refused(
        &log,
        log.next("2024-03-01", loan(1, 4, baht(100), 6, &[])),
        "duplicate_loan",
    );
}

#[test]
fn a_loan_term_is_one_to_360_months() {
    // Proves a loan term of 0 or more than 360 months is refused.
    let log = funded();
    for term in [0, 361] {
        check_refused(
            &log,
            log.next("2024-03-01", loan(1, 2, baht(100), term, &[])),
            "bad_term",
        );
    }
}

#[test]
fn a_loan_rate_is_at_most_100_percent_a_month() {
    // Proves a monthly interest rate above 10,000 basis points is refused.
    let log = funded();
    let Body::LoanDisbursed {
        loan: number,
        member,
        principal,
        term_months,
        guarantors,
        channel,
        ..
    } = loan(1, 2, baht(100), 6, &[])
    else {
        unreachable!()
    };
    let body = Body::LoanDisbursed {
        loan: number,
        member,
        principal,
        monthly_interest_basis_points: 10_001,
        term_months,
        guarantors,
        channel,
        plan: Default::default(),
    };
    check_refused(&log, log.next("2024-03-01", body), "bad_interest_rate");
}

#[test]
fn a_guarantor_is_another_active_member_listed_once() {
    // Proves the borrower, a repeated, unknown or departed member cannot guarantee a loan.
    let mut log = funded();
    log.push("2024-03-01", left(5, LeaveReason::Moved, baht(0)));
    for guarantors in [&[2][..], &[3, 3], &[3, 99], &[5]] {
        check_refused(
            &log,
            log.next("2024-03-02", loan(1, 2, baht(100), 6, guarantors)),
            "bad_guarantor",
        );
    }
}

#[test]
fn a_repayment_beyond_what_is_owed_is_refused() {
    // Proves a loan's principal repayments never exceed what is outstanding.
    let mut log = with_loan();
    check_refused(
        &log,
        log.next("2024-03-01", repay(1, satang(600_001), baht(0))),
        "repayment_beyond_owed",
    );
    log.push("2024-03-01", repay(1, baht(5_000), baht(60)));
    check_refused(
        &log,
        log.next("2024-04-01", repay(1, satang(100_001), baht(10))),
        "repayment_beyond_owed",
    );
}

#[test]
fn a_write_off_must_equal_the_outstanding_principal() {
    // Proves a write-off is exactly what is still owed.
    let mut log = with_loan();
    log.push("2024-03-01", repay(1, baht(1_000), baht(60)));
    for asked in [baht(4_999), baht(5_001), baht(6_000)] {
        check_refused(
            &log,
            log.next("2025-03-01", write_off(1, asked)),
            "write_off_mismatch",
        );
    }
}

// ---- pools ----

#[test]
fn a_pool_withdrawal_beyond_the_deposit_is_refused() {
    // Proves a group withdraws at most what it deposited in that pool.
    let mut log = funded();
    let p = pool("230101");
    log.push(
        "2024-03-01",
        Body::PoolDeposited {
            pool: p.clone(),
            amount: baht(1_000),
            channel: Channel::Cash,
        },
    );
    for from in [p, pool("23")] {
        let body = Body::PoolWithdrawn {
            pool: from,
            amount: baht(1_001),
            channel: Channel::Cash,
        };
        check_refused(&log, log.next("2024-04-01", body), "beyond_pool_deposit");
    }
}

#[test]
fn a_pool_loan_repayment_beyond_what_is_owed_is_refused() {
    // Proves a group repays a pool at most the principal it owes that pool.
    let mut log = funded();
    log.push(
        "2024-03-01",
        Body::PoolLoanReceived {
            pool: pool("23"),
            amount: baht(1_000),
            channel: Channel::Bank,
        },
    );
    let body = Body::PoolLoanRepaid {
        pool: pool("23"),
        principal: baht(1_001),
        interest: baht(0),
        channel: Channel::Cash,
    };
    check_refused(
        &log,
        log.next("2024-04-01", body),
        "pool_repayment_beyond_owed",
    );
}

#[test]
fn a_pledge_beyond_the_free_funds_is_refused() {
    // Proves a reserve pledge takes at most the welfare fund not already pledged.
    let mut log = funded();
    let body = |amount| Body::ReservePledged {
        pool: pool("230101-RES"),
        amount,
    };
    check_refused(
        &log,
        log.next("2024-03-01", body(satang(1_000_001))),
        "pledge_beyond_free_funds",
    );
    log.push("2024-03-01", body(baht(6_000)));
    check_refused(
        &log,
        log.next("2024-03-02", body(baht(4_001))),
        "pledge_beyond_free_funds",
    );
}

#[test]
fn a_release_beyond_the_pledge_is_refused() {
    // Proves a release gives back at most what was pledged to that pool.
    let mut log = funded();
    log.push(
        "2024-03-01",
        Body::ReservePledged {
            pool: pool("230101-RES"),
            amount: baht(3_000),
        },
    );
    for from in ["230101-RES", "23"] {
        let body = Body::ReserveReleased {
            pool: pool(from),
            amount: baht(3_001),
        };
        check_refused(&log, log.next("2024-04-01", body), "release_beyond_pledge");
    }
}

/// A draw on the reserve pledged to an exchange's pool, settling the
/// exchange's `AccountDefaulted` at seq 9.
fn draw(from: &str, amount: Money, channel: Channel) -> Body {
    Body::ReserveDrawn {
        pool: pool(from),
        amount,
        channel,
        exchange: sajja_common::GroupId::parse("230101-X01").unwrap(),
        exchange_seq: 9,
    }
}

#[test]
fn a_draw_beyond_the_pledge_or_the_cash_is_refused() {
    // Proves a group pays an exchange's default only out of what it pledged
    // to that pool, and only with money it has on that channel.
    let mut log = funded();
    log.push(
        "2024-03-01",
        Body::ReservePledged {
            pool: pool("230101-XCH"),
            amount: baht(3_000),
        },
    );
    for from in ["230101-XCH", "230101"] {
        let body = draw(from, baht(3_001), Channel::Cash);
        check_refused(&log, log.next("2024-04-01", body), "draw_beyond_pledge");
    }
    // The bank is empty: the pledge is there, the money is not.
    let body = draw("230101-XCH", baht(100), Channel::Bank);
    check_refused(&log, log.next("2024-04-01", body), "would_overdraw");
}

#[test]
fn a_draw_spends_the_pledge_and_the_cash_and_a_reversal_gives_both_back() {
    // Proves a draw is Dr reserve pledged, Cr cash, and that the running
    // total of what the pool's pledge paid out follows it and its reversal.
    let mut log = funded();
    let xch = pool("230101-XCH");
    log.push(
        "2024-03-01",
        Body::ReservePledged {
            pool: xch.clone(),
            amount: baht(3_000),
        },
    );
    let cash = log.books.accounts.cash;
    let seq = log.push("2024-04-01", draw("230101-XCH", baht(1_200), Channel::Cash));
    let pool_now = log.books.accounts.pools[&xch];
    assert_eq!(pool_now.reserve_pledged, baht(1_800));
    assert_eq!(pool_now.reserve_drawn, baht(1_200));
    assert_eq!(
        log.books.accounts.cash,
        Money::from_satang(cash.satang() - baht(1_200).satang())
    );
    log.push(
        "2024-04-02",
        Body::Reversal {
            reversed_seq: seq,
            reason: "บันทึกผิดตลาด".into(),
        },
    );
    let pool_now = log.books.accounts.pools[&xch];
    assert_eq!(pool_now.reserve_pledged, baht(3_000));
    assert_eq!(pool_now.reserve_drawn, Money::ZERO);
    assert_eq!(log.books.accounts.cash, cash);
}

#[test]
fn the_cash_box_and_the_bank_cannot_be_overdrawn() {
    // Proves any payment beyond the cash or bank balance it comes from is refused.
    let log = funded();
    // Cash is 10,000 + 2,000 = 12,000 baht; the bank is empty.
    let p = pool("230101");
    let overdrawing = vec![
        expense(ExpenseKind::Administration, baht(1), Channel::Bank),
        expense(ExpenseKind::Administration, baht(12_001), Channel::Cash),
        Body::CashBanked {
            amount: baht(12_001),
        },
        Body::CashDrawn { amount: baht(1) },
        loan(1, 2, baht(12_001), 6, &[]),
        Body::PoolDeposited {
            pool: p.clone(),
            amount: baht(1),
            channel: Channel::Bank,
        },
        Body::SavingsWithdrawn {
            member: m(1),
            amount: baht(1),
            channel: Channel::Bank,
        },
        Body::BenefitPaid {
            member: m(1),
            kind: BenefitKind::Childbirth,
            amount: baht(500),
            nights: 0,
            committee_override: false,
            override_reason: String::new(),
            channel: Channel::Bank,
        },
    ];
    for body in overdrawing {
        check_refused(&log, log.next("2024-08-01", body), "would_overdraw");
    }
}

// ---- reversals ----

/// `funded` (seqs 1..=8) plus a deposit at seq 9 and a loan at seq 10.
fn with_history() -> Log {
    let mut log = funded();
    assert_eq!(log.push("2024-03-01", deposit(2, baht(100))), 9);
    assert_eq!(log.push("2024-03-02", loan(1, 3, baht(500), 5, &[])), 10);
    log
}

#[test]
fn a_reversal_needs_an_earlier_event_of_this_log() {
    // Proves a reversal of seq 0, of itself, of a later or missing event, or with the wrong original is refused.
    let log = with_history();
    // The next event is seq 11: it cannot reverse itself or anything later.
    for target in [0, 11, 12, 999] {
        check_refused(
            &log,
            log.next("2024-04-01", reversal(target, "mistake")),
            "unknown_reversal_target",
        );
    }
    // The caller passes the wrong event, or one of another group, as the original.
    let event = log.next("2024-04-01", reversal(9, "mistake"));
    check_refused_with(
        &log,
        &event,
        Some(&log.events[9]),
        "unknown_reversal_target",
    );
    let mut foreign = log.events[8].clone();
    foreign.group = other_group();
    check_refused_with(&log, &event, Some(&foreign), "unknown_reversal_target");
    check_refused_with(&log, &event, None, "unknown_reversal_target");
}

#[test]
fn an_event_is_reversed_at_most_once() {
    // Proves a second reversal of the same event is refused.
    let mut log = with_history();
    log.push("2024-04-01", reversal(9, "entered twice"));
    check_refused(
        &log,
        log.next("2024-04-02", reversal(9, "again")),
        "already_reversed",
    );
}

#[test]
fn openings_rules_closes_keys_and_reversals_cannot_be_reversed() {
    // Proves the kinds that post nothing and frame the log are not reversible.
    let mut log = with_history();
    let rules = log.push("2024-04-01", rules_with(|r| r.waiting_days = 90));
    let close = log.close(d("2024-04-30"), month("2024-04"));
    let key = sajja_common::checkpoint::SigningKey::from_seed(&[1; 32])
        .unwrap()
        .public();
    let rotated = log.push(
        "2024-05-01",
        Body::KeyRotated {
            new_key: key,
            old_key: key,
            old_key_signature: [0; 64],
        },
    );
    let undo = log.push("2024-05-02", reversal(9, "entered twice"));
    for target in [1, rules, close, rotated, undo] {
        check_refused(
            &log,
            log.next("2024-05-03", reversal(target, "x")),
            "not_reversible",
        );
    }
}

#[test]
fn a_reversal_is_not_dated_before_its_original() {
    // Proves a reversal dated before the event it reverses is refused.
    let log = with_history();
    check_refused(
        &log,
        log.next("2024-02-28", reversal(9, "typo")),
        "reversal_before_original",
    );
}

#[test]
fn a_reversal_needs_a_reason() {
    // Proves a reversal with a blank reason is refused.
    let log = with_history();
    check_refused(
        &log,
        log.next("2024-04-01", reversal(9, " \t")),
        "reason_required",
    );
}

#[test]
fn a_join_with_activity_cannot_be_reversed() {
    // Proves a member's joining is reversed only while they have no savings, contributions, loans or departure.
    let mut log = with_history();
    log.push("2024-03-03", contributes(4, baht(30)));
    log.push("2024-03-04", left(5, LeaveReason::Moved, baht(0)));
    // Members joined at seqs 2..=6: 1 saves, 2 saves, 3 borrows, 4 contributes, 5 left.
    for joined_seq in 2..=6 {
        check_refused(
            &log,
            log.next("2024-04-01", reversal(joined_seq, "x")),
            "member_has_activity",
        );
    }
    // A guarantor has activity too.
    let mut guarantor = funded();
    let joined_seq = guarantor.push("2024-01-04", joined(6, 1980));
    guarantor.push("2024-03-01", loan(1, 2, baht(100), 5, &[6]));
    check_refused(
        &guarantor,
        guarantor.next("2024-04-01", reversal(joined_seq, "x")),
        "member_has_activity",
    );
}

#[test]
fn a_loan_with_repayments_cannot_be_reversed() {
    // Proves a disbursement is reversed only before any repayment or write-off.
    let mut log = with_history();
    log.push("2024-04-01", repay(1, baht(0), baht(5)));
    check_refused(
        &log,
        log.next("2024-04-02", reversal(10, "x")),
        "loan_has_activity",
    );
}

#[test]
fn a_reversal_cannot_overdraw() {
    // Proves reversing money in that was already spent is refused by the balance guard.
    let mut log = with_history();
    log.push("2024-04-01", withdraw(2, baht(60)));
    check_refused(
        &log,
        log.next("2024-04-02", reversal(9, "x")),
        "would_overdraw",
    );
}

// ---- closing ----

#[test]
fn a_month_is_closed_once_and_in_order() {
    // Proves a month at or before the last closed month cannot be closed again.
    let mut log = funded();
    log.close(d("2024-02-29"), month("2024-02"));
    for again in ["2024-02", "2024-01"] {
        let body = Body::PeriodClosed {
            month: month(again),
            trial_balance_digest: sajja_common::Hash::from_bytes([0; 32]),
        };
        check_refused(&log, log.next("2024-03-01", body), "period_already_closed");
    }
}

#[test]
fn an_event_dated_after_tomorrow_is_refused_by_whoever_admits_it_today() {
    let today = d("2026-11-27");
    let tomorrow = event(group(), 5, d("2026-11-28"), contributes(1, baht(30)));
    assert_eq!(
        sajja_common::ledger::check_not_future(&tomorrow, today),
        Ok(())
    );
    let later = event(group(), 5, d("2026-11-29"), contributes(1, baht(30)));
    let refused = sajja_common::ledger::check_not_future(&later, today).unwrap_err();
    assert_eq!((refused.seq, refused.rule.name()), (5, "future_date"));
    assert!(
        refused.to_string().contains("2026-11-29") && refused.to_string().contains("2026-11-28"),
        "{refused}"
    );
    // Once its day comes, the same event is accepted.
    assert_eq!(
        sajja_common::ledger::check_not_future(&later, d("2026-11-29")),
        Ok(())
    );
}

#[test]
fn a_death_benefit_is_paid_at_most_once_per_member() {
    // Proves a second death benefit for a member is refused, even with a
    // committee override, unless the first is reversed; recorded under the
    // old rules it was accepted, and such a log still folds.
    let mut log = funded();
    log.push_dated("2024-12-31", left(3, LeaveReason::Died, baht(0)));
    let first = log.push_dated("2024-12-31", benefit(3, BenefitKind::Death, baht(2_000), 0));
    check_refused(
        &log,
        log.next_dated("2024-12-31", benefit(3, BenefitKind::Death, baht(2_000), 0)),
        "death_benefit_already_paid",
    );
    check_refused(
        &log,
        log.next_dated(
            "2025-01-02",
            overridden(3, BenefitKind::Death, baht(100), "second funeral"),
        ),
        "death_benefit_already_paid",
    );
    let mut old = log.clone();
    old.push("2024-12-31", benefit(3, BenefitKind::Death, baht(2_000), 0));
    log.push_dated(
        "2025-01-02",
        reversal(first, "entered for the wrong member"),
    );
    log.push_dated("2025-01-02", benefit(3, BenefitKind::Death, baht(2_000), 0));
}

#[test]
fn a_draw_names_an_exchanges_default_and_nothing_else() {
    // Proves the decoder refuses a draw that names a group's log or seq 0:
    // a draw settles one exchange's `AccountDefaulted`, by its seq.
    let log = funded();
    for (exchange, seq) in [("230101-007", 9), ("230101-X01", 0)] {
        let mut event = log.next("2024-04-01", draw("230101-XCH", baht(1), Channel::Cash));
        event.body = Body::ReserveDrawn {
            pool: pool("230101-XCH"),
            amount: baht(1),
            channel: Channel::Cash,
            exchange: sajja_common::GroupId::parse(exchange).unwrap(),
            exchange_seq: seq,
        };
        let decoded = sajja_common::Event::decode(&event.encode());
        assert!(decoded.is_err(), "{exchange} seq {seq} decoded");
    }
    let good = log.next("2024-04-01", draw("230101-XCH", baht(1), Channel::Cash));
    assert_eq!(sajja_common::Event::decode(&good.encode()).unwrap(), good);
}
