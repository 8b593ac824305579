//! What each event kind does to the books: its postings, balances and state.

use sajja_common::checkpoint::SigningKey;
use sajja_common::event::{
    BenefitKind, Channel, ContributionPeriod, ExpenseKind, IncomeKind, LeaveReason, Source,
};
use sajja_common::ledger::{Account, Delta, ExpenseAccount, IncomeAccount, trial_balance_digest};
use sajja_common::{Body, Books, LoanNo};

use crate::support::*;

/// Members 1..=3 and 1,000 baht of member 1's contributions in cash, dated
/// after the 180-day waiting period would have ended for nobody yet.
fn funded() -> Log {
    let mut log = Log::with_members(3);
    log.push("2024-01-05", contributes(1, baht(1_000)));
    log
}

#[test]
fn group_opened_records_the_group_and_posts_nothing() {
    // Proves GroupOpened sets the opening facts and leaves every balance at zero.
    let log = Log::opened();
    let opened = log.books.opened.as_ref().unwrap();
    assert_eq!(opened.on, d(OPENED_ON));
    assert_eq!(
        (opened.tambon.as_str(), opened.province.as_str()),
        ("230101", "23")
    );
    assert!(log.books.trial_balance().is_empty());
    assert_eq!(log.books.last_seq, 1);
    assert!(Delta::of(&log.events[0]).postings.is_empty());
}

#[test]
fn rules_changed_replaces_the_rules() {
    // Proves RulesChanged replaces the whole rule set and posts nothing.
    let mut log = Log::opened();
    log.push(
        "2024-01-02",
        rules_with(|r| {
            r.contribution_amount = baht(365);
            r.contribution_period = ContributionPeriod::Yearly;
            r.waiting_days = 90;
        }),
    );
    assert_eq!(log.books.rules.contribution_amount, baht(365));
    assert_eq!(log.books.rules.waiting_days, 90);
    assert!(log.books.trial_balance().is_empty());
}

#[test]
fn member_joined_adds_an_active_member_with_nothing_yet() {
    // Proves MemberJoined creates an active member with zero savings and contributions.
    let mut log = Log::opened();
    log.push("2024-02-03", joined(7, 1961));
    let member = &log.books.members[&m(7)];
    assert!(member.is_active());
    assert_eq!(member.joined_on, d("2024-02-03"));
    assert_eq!(member.birth_year, 1961);
    assert_eq!((member.savings, member.contributed), (baht(0), baht(0)));
    assert_eq!(log.books.active_members(), 1);
}

#[test]
fn member_left_refunds_savings_and_marks_the_member() {
    // Proves MemberLeft pays the savings back out of cash and records why and when.
    let mut log = Log::with_members(2);
    log.push("2024-01-10", deposit(2, baht(250)));
    log.push("2024-03-01", left(2, LeaveReason::Moved, baht(250)));
    let member = &log.books.members[&m(2)];
    assert_eq!(member.left, Some((d("2024-03-01"), LeaveReason::Moved)));
    assert_eq!(member.savings, baht(0));
    assert_eq!(log.books.accounts.cash, baht(0));
    assert_eq!(log.books.accounts.member_savings, baht(0));
    assert_eq!(log.books.active_members(), 1);
    assert_balanced(&log.books);
}

#[test]
fn a_member_contribution_credits_the_fund_and_the_member_record() {
    // Proves a member's own contribution debits cash, credits the welfare fund and counts to the member.
    let mut log = Log::with_members(1);
    log.push("2024-01-05", contributes(1, baht(30)));
    let b = &log.books;
    assert_eq!(b.accounts.cash, baht(30));
    assert_eq!(b.accounts.welfare_fund, baht(30));
    assert_eq!(b.members[&m(1)].contributed, baht(30));
    assert_eq!(
        b.contributions[&(month("2024-01"), Source::Member)],
        baht(30)
    );
    assert_balanced(b);
}

#[test]
fn matching_funds_credit_the_fund_but_not_the_member_record() {
    // Proves government and donated matching funds go to the welfare fund, by source, never to a member's own record.
    let mut log = Log::with_members(1);
    let period = month("2024-01");
    log.push(
        "2024-01-20",
        contribution(
            Some(1),
            baht(30),
            Source::NationalGovernment,
            Channel::Bank,
            period,
        ),
    );
    log.push(
        "2024-01-21",
        contribution(
            None,
            baht(40),
            Source::LocalGovernment,
            Channel::Bank,
            period,
        ),
    );
    log.push(
        "2024-02-01",
        contribution(None, baht(5), Source::Donation, Channel::Cash, period),
    );
    let b = &log.books;
    assert_eq!(b.accounts.bank, baht(70));
    assert_eq!(b.accounts.cash, baht(5));
    assert_eq!(b.accounts.welfare_fund, baht(75));
    assert_eq!(b.members[&m(1)].contributed, baht(0));
    assert_eq!(
        b.contributions[&(month("2024-01"), Source::NationalGovernment)],
        baht(30)
    );
    assert_eq!(
        b.contributions[&(month("2024-01"), Source::LocalGovernment)],
        baht(40)
    );
    // Contributions are tallied by the month of their business date, not their period.
    assert_eq!(
        b.contributions[&(month("2024-02"), Source::Donation)],
        baht(5)
    );
    assert_balanced(b);
}

#[test]
fn savings_deposited_and_withdrawn_move_the_members_savings() {
    // Proves savings are member-owned: deposits and withdrawals move cash or bank and the member's balance.
    let mut log = Log::with_members(2);
    log.push("2024-01-10", deposit(1, baht(100)));
    log.push(
        "2024-01-11",
        Body::SavingsDeposited {
            member: m(2),
            amount: satang(5_050),
            channel: Channel::Bank,
        },
    );
    log.push("2024-01-12", withdraw(1, satang(2_575)));
    let b = &log.books;
    assert_eq!(b.members[&m(1)].savings, satang(7_425));
    assert_eq!(b.members[&m(2)].savings, satang(5_050));
    assert_eq!(b.accounts.member_savings, satang(12_475));
    assert_eq!(b.accounts.cash, satang(7_425));
    assert_eq!(b.accounts.bank, satang(5_050));
    assert_eq!(b.accounts.welfare_fund, baht(0));
    assert_balanced(b);
}

#[test]
fn income_received_credits_its_income_account() {
    // Proves IncomeReceived debits the channel and credits the income account of its kind.
    let mut log = Log::opened();
    log.push(
        "2024-01-31",
        income(IncomeKind::BankInterest, baht(12), Channel::Bank),
    );
    log.push(
        "2024-02-01",
        income(IncomeKind::Fee, baht(20), Channel::Cash),
    );
    let a = &log.books.accounts;
    assert_eq!(
        a.income[&IncomeAccount::Kind(IncomeKind::BankInterest)],
        baht(12)
    );
    assert_eq!(a.income[&IncomeAccount::Kind(IncomeKind::Fee)], baht(20));
    assert_eq!((a.bank, a.cash), (baht(12), baht(20)));
    assert_eq!(a.surplus(), baht(32));
    assert_balanced(&log.books);
}

#[test]
fn expense_paid_debits_its_expense_account() {
    // Proves ExpensePaid credits the channel, debits the expense account and reduces the surplus.
    let mut log = Log::opened();
    log.push(
        "2024-01-02",
        income(IncomeKind::Fundraising, baht(500), Channel::Cash),
    );
    log.push(
        "2024-01-03",
        expense(ExpenseKind::Meeting, baht(120), Channel::Cash),
    );
    let a = &log.books.accounts;
    assert_eq!(
        a.expenses[&ExpenseAccount::Kind(ExpenseKind::Meeting)],
        baht(120)
    );
    assert_eq!(a.cash, baht(380));
    assert_eq!(a.surplus(), baht(380));
    assert_balanced(&log.books);
}

#[test]
fn dividend_paid_credits_savings_out_of_the_surplus() {
    // Proves a dividend moves surplus into members' savings without touching cash.
    let mut log = Log::with_members(2);
    log.push(
        "2024-12-31",
        income(IncomeKind::BankInterest, baht(100), Channel::Bank),
    );
    log.push(
        "2025-01-15",
        dividend(2024, &[(1, baht(60)), (2, baht(40))]),
    );
    let b = &log.books;
    assert_eq!(b.members[&m(1)].savings, baht(60));
    assert_eq!(b.members[&m(2)].savings, baht(40));
    assert_eq!(b.accounts.dividends, baht(100));
    assert_eq!(b.accounts.surplus(), baht(0));
    assert_eq!(b.accounts.bank, baht(100));
    assert_eq!(b.accounts.cash, baht(0));
    assert_balanced(b);
}

#[test]
fn benefit_paid_comes_out_of_the_welfare_fund() {
    // Proves a benefit credits cash, debits the welfare fund and is tallied by month and kind.
    let mut log = funded();
    // 2024-07-01 is 182 days after joining on 2024-01-01: past the 180-day wait.
    log.push(
        "2024-07-01",
        benefit(1, BenefitKind::Childbirth, baht(500), 0),
    );
    let b = &log.books;
    assert_eq!(b.accounts.welfare_fund, baht(500));
    assert_eq!(b.accounts.cash, baht(500));
    assert_eq!(
        b.benefits[&(month("2024-07"), BenefitKind::Childbirth)],
        baht(500)
    );
    assert_balanced(b);
}

#[test]
fn a_sickness_benefit_counts_nights_and_amount_for_the_year() {
    // Proves sickness benefits tally nights and baht per member per calendar year.
    let mut log = funded();
    log.push(
        "2024-08-01",
        benefit(2, BenefitKind::Sickness, baht(300), 3),
    );
    log.push(
        "2024-09-01",
        benefit(2, BenefitKind::Sickness, baht(150), 2),
    );
    log.push(
        "2025-01-02",
        benefit(2, BenefitKind::Sickness, baht(100), 1),
    );
    let sickness = &log.books.members[&m(2)].sickness;
    assert_eq!(sickness[&2024], (5, baht(450)));
    assert_eq!(sickness[&2025], (1, baht(100)));
    assert_eq!(log.books.accounts.welfare_fund, baht(450));
    assert_balanced(&log.books);
}

#[test]
fn each_benefit_kind_pays_within_its_rule() {
    // Proves every benefit kind is paid when the rules allow it, at the rules' maximum.
    let mut log = Log::opened();
    // Member 1 is 75 in 2025 and has paid 15 years of 360 baht (5,400): pension tier 300.
    log.push(OPENED_ON, joined(1, 1950));
    log.push(OPENED_ON, joined(2, 1970));
    log.push("2024-01-05", contributes(1, baht(5_400)));
    log.push(
        "2024-01-06",
        contribution(
            None,
            baht(20_000),
            Source::Donation,
            Channel::Cash,
            month("2024-01"),
        ),
    );
    log.push("2025-01-10", benefit(1, BenefitKind::OldAge, baht(300), 0));
    log.push(
        "2025-01-11",
        benefit(2, BenefitKind::Education, baht(500), 0),
    );
    log.push(
        "2025-01-12",
        benefit(2, BenefitKind::Disaster, baht(2_000), 0),
    );
    log.push(
        "2025-01-13",
        benefit(2, BenefitKind::Childbirth, baht(500), 0),
    );
    // Member 2 joined 2024-01-01: one whole year by 2025-01-14, so the 5,000 tier.
    log.push("2025-01-14", left(2, LeaveReason::Died, baht(0)));
    log.push("2025-01-15", benefit(2, BenefitKind::Death, baht(5_000), 0));
    let b = &log.books;
    // 5,400 + 20,000 in; 300 + 500 + 2,000 + 500 + 5,000 = 8,300 out.
    assert_eq!(b.accounts.welfare_fund, baht(25_400 - 8_300));
    assert_eq!(
        b.benefits[&(month("2025-01"), BenefitKind::Death)],
        baht(5_000)
    );
    assert_eq!(b.benefits.len(), 5);
    assert_balanced(b);
}

#[test]
fn a_committee_override_pays_what_the_rules_refuse() {
    // Proves an override with a reason pays a benefit inside the waiting period and an "other" benefit.
    let mut log = funded();
    log.push(
        "2024-02-01",
        overridden(
            3,
            BenefitKind::Childbirth,
            baht(800),
            "twins, committee meeting 2024-01-30",
        ),
    );
    log.push(
        "2024-02-02",
        overridden(3, BenefitKind::Other, baht(100), "house fire"),
    );
    assert_eq!(log.books.accounts.welfare_fund, baht(100));
    assert_eq!(
        log.books.benefits[&(month("2024-02"), BenefitKind::Other)],
        baht(100)
    );
    assert_balanced(&log.books);
}

#[test]
fn loan_disbursed_creates_a_receivable_and_a_loan() {
    // Proves a loan moves cash into loans receivable and records its terms.
    let mut log = Log::with_members(3);
    log.push("2024-01-10", deposit(1, baht(10_000)));
    log.push("2024-02-01", loan(1, 2, baht(6_000), 6, &[1, 3]));
    let b = &log.books;
    assert_eq!(b.accounts.loans_receivable, baht(6_000));
    assert_eq!(b.accounts.cash, baht(4_000));
    let l = &b.loans[&LoanNo(1)];
    assert_eq!(
        (l.member, l.term_months, l.disbursed_on),
        (m(2), 6, d("2024-02-01"))
    );
    assert_eq!(l.guarantors, vec![m(1), m(3)]);
    assert_eq!(l.outstanding(), baht(6_000));
    assert_balanced(b);
}

#[test]
fn loan_repaid_splits_principal_and_interest() {
    // Proves a repayment reduces the receivable by its principal and books its interest as income.
    let mut log = Log::with_members(2);
    log.push("2024-01-10", deposit(1, baht(10_000)));
    log.push("2024-02-01", loan(1, 2, baht(6_000), 6, &[]));
    log.push("2024-03-01", repay(1, baht(1_000), baht(60)));
    log.push("2024-04-01", repay(1, baht(0), baht(50)));
    let b = &log.books;
    let l = &b.loans[&LoanNo(1)];
    assert_eq!(
        (l.principal_repaid, l.interest_paid),
        (baht(1_000), baht(110))
    );
    assert_eq!(b.accounts.loans_receivable, baht(5_000));
    assert_eq!(b.accounts.income[&IncomeAccount::LoanInterest], baht(110));
    assert_eq!(b.accounts.cash, baht(10_000 - 6_000 + 1_000 + 110));
    assert_balanced(b);
}

#[test]
fn loan_written_off_moves_the_rest_to_loan_loss() {
    // Proves a write-off clears the outstanding principal into the loan-loss expense.
    let mut log = Log::with_members(2);
    log.push("2024-01-10", deposit(1, baht(10_000)));
    log.push("2024-02-01", loan(1, 2, baht(6_000), 6, &[]));
    log.push("2024-03-01", repay(1, baht(1_000), baht(60)));
    log.push("2025-03-01", write_off(1, baht(5_000)));
    let b = &log.books;
    assert_eq!(b.loans[&LoanNo(1)].outstanding(), baht(0));
    assert_eq!(b.accounts.loans_receivable, baht(0));
    assert_eq!(b.accounts.expenses[&ExpenseAccount::LoanLoss], baht(5_000));
    assert_balanced(b);
}

#[test]
fn cash_banked_and_drawn_move_between_cash_and_bank() {
    // Proves CashBanked and CashDrawn only move money between the cash box and the bank.
    let mut log = funded();
    log.push("2024-01-25", Body::CashBanked { amount: baht(800) });
    log.push("2024-02-01", Body::CashDrawn { amount: baht(300) });
    let a = &log.books.accounts;
    assert_eq!((a.cash, a.bank), (baht(500), baht(500)));
    assert_eq!(a.welfare_fund, baht(1_000));
    assert_balanced(&log.books);
}

#[test]
fn pool_deposits_and_withdrawals_are_kept_per_pool() {
    // Proves pool deposits are an asset per pool, and a withdrawal brings money back.
    let mut log = funded();
    let tambon = pool("230101");
    let province = pool("23");
    log.push(
        "2024-02-01",
        Body::PoolDeposited {
            pool: tambon.clone(),
            amount: baht(600),
            channel: Channel::Cash,
        },
    );
    log.push(
        "2024-02-02",
        Body::PoolDeposited {
            pool: province.clone(),
            amount: baht(100),
            channel: Channel::Cash,
        },
    );
    log.push(
        "2024-03-01",
        Body::PoolWithdrawn {
            pool: tambon.clone(),
            amount: baht(250),
            channel: Channel::Bank,
        },
    );
    let a = &log.books.accounts;
    assert_eq!(a.pools[&tambon].deposits, baht(350));
    assert_eq!(a.pools[&province].deposits, baht(100));
    assert_eq!(a.pool_deposits(), baht(450));
    assert_eq!((a.cash, a.bank), (baht(300), baht(250)));
    assert_eq!(log.books.balance(&Account::PoolDeposits(tambon)), baht(350));
    assert_balanced(&log.books);
}

#[test]
fn reserve_pledged_and_released_earmark_the_welfare_fund() {
    // Proves a pledge moves welfare fund into the pool's reserve (not cash), and a release moves it back.
    let mut log = funded();
    let reserve = pool("230101-RES");
    log.push(
        "2024-02-01",
        Body::ReservePledged {
            pool: reserve.clone(),
            amount: baht(700),
        },
    );
    assert_eq!(log.books.free_funds(), baht(300));
    log.push(
        "2024-03-01",
        Body::ReserveReleased {
            pool: reserve.clone(),
            amount: baht(200),
        },
    );
    let a = &log.books.accounts;
    assert_eq!(a.pools[&reserve].reserve_pledged, baht(500));
    assert_eq!(a.welfare_fund, baht(500));
    assert_eq!(a.cash, baht(1_000));
    assert_eq!(log.books.free_funds(), baht(500));
    assert_balanced(&log.books);
}

#[test]
fn pool_loans_are_a_payable_with_interest_as_expense() {
    // Proves borrowing from a pool creates a payable, and repaying books the interest as an expense.
    let mut log = Log::opened();
    let tambon = pool("230101");
    log.push(
        "2024-02-01",
        Body::PoolLoanReceived {
            pool: tambon.clone(),
            amount: baht(10_000),
            channel: Channel::Bank,
        },
    );
    log.push(
        "2024-03-01",
        Body::PoolLoanRepaid {
            pool: tambon.clone(),
            principal: baht(2_000),
            interest: baht(100),
            channel: Channel::Bank,
        },
    );
    let a = &log.books.accounts;
    assert_eq!(a.pools[&tambon].loans_payable, baht(8_000));
    assert_eq!(a.expenses[&ExpenseAccount::PoolInterest], baht(100));
    assert_eq!(a.bank, baht(7_900));
    assert_balanced(&log.books);
}

#[test]
fn a_reversal_undoes_its_target_and_keeps_it_in_the_log() {
    // Proves a reversal negates its target's effect, remembers it, and the original stays in the log.
    let mut log = Log::with_members(1);
    let before = balances(&log.books);
    let seq = log.push("2024-01-10", deposit(1, baht(100)));
    log.push("2024-01-11", reversal(seq, "entered twice"));
    assert_eq!(balances(&log.books), before);
    assert!(log.books.reversed.contains(&seq));
    assert_eq!(log.events.len(), 4);
    assert_eq!(log.books.last_seq, 4);
}

#[test]
fn reversing_a_join_or_a_leave_or_a_loan_undoes_its_state() {
    // Proves reversals of MemberJoined, MemberLeft and LoanDisbursed undo the member or loan state too.
    let mut log = Log::with_members(2);
    let join = log.push("2024-01-02", joined(3, 1980));
    log.push("2024-01-03", reversal(join, "wrong village"));
    assert!(!log.books.members.contains_key(&m(3)));

    log.push("2024-01-10", deposit(1, baht(100)));
    let leave = log.push("2024-01-11", left(1, LeaveReason::Resigned, baht(100)));
    log.push("2024-01-12", reversal(leave, "changed their mind"));
    let member = &log.books.members[&m(1)];
    assert!(member.is_active());
    assert_eq!(member.savings, baht(100));

    let disbursed = log.push("2024-01-13", loan(1, 2, baht(50), 2, &[]));
    log.push("2024-01-14", reversal(disbursed, "not approved"));
    assert!(log.books.loans.is_empty());
    assert_eq!(log.books.accounts.cash, baht(100));
    assert_balanced(&log.books);
}

#[test]
fn period_closed_records_whether_the_digest_agrees() {
    // Proves PeriodClosed posts nothing and records whether its digest matches the fold.
    let mut log = funded();
    log.close(d("2024-01-31"), month("2024-01"));
    let close = &log.books.closes[0];
    assert!(close.matches);
    assert_eq!(close.month, month("2024-01"));
    assert_eq!(
        close.digest,
        trial_balance_digest(&log.books.trial_balance())
    );

    log.push(
        "2024-02-29",
        Body::PeriodClosed {
            month: month("2024-02"),
            trial_balance_digest: sajja_common::Hash::from_bytes([0; 32]),
        },
    );
    assert!(!log.books.closes[1].matches);
    assert_eq!(log.books.accounts.cash, baht(1_000));
}

#[test]
fn key_rotated_names_the_new_key() {
    // Proves KeyRotated records the group's new public key and posts nothing.
    let mut log = Log::opened();
    let key = SigningKey::from_seed(&[3; 32]).unwrap().public();
    log.push(
        "2024-05-01",
        Body::KeyRotated {
            new_key: key,
            old_key: key,
            old_key_signature: [0; 64],
        },
    );
    assert_eq!(log.books.rotated_key, Some(key));
    assert!(log.books.trial_balance().is_empty());
}

#[test]
fn the_trial_balance_lists_control_accounts_on_their_normal_side() {
    // Proves the trial balance shows debit-normal accounts as debits, the rest as credits, and omits zeros.
    let mut log = funded();
    log.push("2024-01-10", deposit(2, baht(200)));
    log.push(
        "2024-01-31",
        expense(ExpenseKind::BankFee, baht(10), Channel::Cash),
    );
    let lines: Vec<(String, i64, i64)> = log
        .books
        .trial_balance()
        .into_iter()
        .map(|l| (l.account, l.debit.satang(), l.credit.satang()))
        .collect();
    assert_eq!(
        lines,
        vec![
            ("cash".to_string(), 119_000, 0),
            ("member_savings".to_string(), 0, 20_000),
            ("welfare_fund".to_string(), 0, 100_000),
            ("expense:BankFee".to_string(), 1_000, 0),
        ]
    );
}

#[test]
fn fold_replays_a_log_to_the_same_books() {
    // Proves Books::fold of a log's events gives exactly the books built event by event.
    let mut log = funded();
    log.push("2024-01-10", deposit(2, baht(200)));
    let folded = Books::fold(group(), &log.events).unwrap();
    assert_eq!(folded, log.books);
}
