//! Three years of a 30-member group, checked at three dates against figures
//! computed by hand (the arithmetic is in the comments; nothing here is copied
//! from the fold's output).
//!
//! The story, 2024-01-01 to 2026-12-31, default rules (30 baht a month, 180
//! days' wait, childbirth 500, sickness 100 a night, death 2,000 / 5,000 after
//! one year):
//! - Members 1..=30 join on 2024-01-01 (member 30 born 1950, the rest 1970).
//! - Every month: on the 1st, loan 1's instalment while it runs; on the 5th
//!   each active member contributes 30 baht in cash; on the 10th each active
//!   member saves 100 baht in cash; on the 25th the month's contributions are
//!   banked; on the last day the month is closed with the trial-balance digest.
//! - Matching funds, by bank, on June 15: local government 10,800 (2024),
//!   10,800 (2025) and 10,440 (2026); national government 10,800 (2025).
//! - 2024-03-18: member 7's childbirth benefit is refused (waiting period);
//!   2024-03-20: it is paid, 500, with a committee override.
//! - 2024-05-10: member 15's savings deposit is entered twice; the copy is
//!   reversed on 2024-05-12.
//! - 2024-07-01: loan 1, 12,000 to member 2 (guarantors 3, 4), 12 months at
//!   1% a month, repaid 1,000 a month plus 1% of the balance, from 2024-08-01
//!   to 2025-07-01.
//! - 2024-09-10: member 3, sickness, 3 nights, 300. 2025-02-14: member 12,
//!   sickness, 5 nights, 500.
//! - 2024-12-20: 5,000 deposited in the tambon pool 230101 by bank;
//!   2025-01-05: 3,000 of the welfare fund pledged as its reserve;
//!   2026-06-20: 2,000 withdrawn from the pool to the bank.
//! - 2024-12-28, 2025-12-28, 2026-12-28: meeting expense 200 in cash.
//! - 2024-12-31: bank interest 150.
//! - 2025-01-15: loan 2, 6,000 to member 5 (guarantor 6), 6 months; two
//!   instalments (2025-02-15: 1,000 + 60; 2025-03-15: 1,000 + 50), then none:
//!   it is in arrears from then on.
//! - 2025-01-20: dividend for 2024, 15 baht to each of the 30 members.
//! - 2025-03-01: loan 3, 5,000 to member 8 (guarantor 9), 10 months; one
//!   instalment (2025-04-01: 500 + 50); written off on 2026-03-31 (4,500).
//! - 2025-04-12: member 20 withdraws 500 of savings.
//! - 2025-08-20: member 30 dies; savings refunded (20 × 100 + 15 = 2,015);
//!   2025-08-22: death benefit 5,000 (one whole year of membership).

use sajja_common::event::{BenefitKind, Channel, ExpenseKind, IncomeKind, LeaveReason, Source};
use sajja_common::ledger::{Arrears, ExpenseAccount, IncomeAccount};
use sajja_common::{Body, Books, Date, LoanNo, Money, PoolId};

use crate::support::*;

fn tambon_pool() -> PoolId {
    pool("230101")
}

fn active_members(log: &Log) -> Vec<u32> {
    log.books
        .members
        .iter()
        .filter(|(_, member)| member.is_active())
        .map(|(n, _)| n.0)
        .collect()
}

fn bank_contribution(source: Source, amount: Money, date: Date) -> Body {
    contribution(None, amount, source, Channel::Bank, date.month())
}

/// The whole three years, built day by day.
fn three_years() -> Log {
    let mut log = Log::opened();
    for member in 1..=30 {
        log.push(
            OPENED_ON,
            joined(member, if member == 30 { 1950 } else { 1970 }),
        );
    }
    let mut date = d(OPENED_ON);
    let mut month_contributions = Money::ZERO;
    while date <= d("2026-12-31") {
        let (year, month_of_year, day) = date.ymd();
        let text = date.to_string();

        // Loan 1: instalment k (1..=12) on 2024-07-01 + k months, 1,000 principal
        // plus 1% of the 12,000 − 1,000 × (k − 1) still owed.
        if day == 1 {
            let k = (year - 2024) * 12 + i64::from(month_of_year) - 7;
            if (1..=12).contains(&k) {
                log.push_on(date, repay(1, baht(1_000), baht(120 - 10 * (k - 1))));
            }
        }
        if day == 5 {
            month_contributions = Money::ZERO;
            for member in active_members(&log) {
                let body = contribution(
                    Some(member),
                    baht(30),
                    Source::Member,
                    Channel::Cash,
                    date.month(),
                );
                log.push_on(date, body);
                month_contributions = Money::from_satang(month_contributions.satang() + 3_000);
            }
        }
        if day == 10 {
            for member in active_members(&log) {
                log.push_on(date, deposit(member, baht(100)));
            }
        }

        match text.as_str() {
            "2024-03-18" => {
                // The one refused by the rules: 77 days after joining, inside the 180-day wait.
                let refused = log.next_on(date, benefit(7, BenefitKind::Childbirth, baht(500), 0));
                check_refused(&log, refused, "waiting_period");
            }
            "2024-03-20" => {
                log.push_on(
                    date,
                    overridden(
                        7,
                        BenefitKind::Childbirth,
                        baht(500),
                        "committee meeting 2024-03-19",
                    ),
                );
            }
            "2024-05-10" => {
                log.push_on(date, deposit(15, baht(100)));
            }
            "2024-05-12" => {
                let copy = log
                    .events
                    .iter()
                    .rfind(|e| e.date == d("2024-05-10"))
                    .unwrap()
                    .seq;
                log.push_on(date, reversal(copy, "member 15's deposit entered twice"));
            }
            "2024-06-15" => {
                log.push_on(
                    date,
                    bank_contribution(Source::LocalGovernment, baht(10_800), date),
                );
            }
            "2024-07-01" => {
                log.push_on(date, loan(1, 2, baht(12_000), 12, &[3, 4]));
            }
            "2024-09-10" => {
                log.push_on(date, benefit(3, BenefitKind::Sickness, baht(300), 3));
            }
            "2024-12-20" => {
                log.push_on(
                    date,
                    Body::PoolDeposited {
                        pool: tambon_pool(),
                        amount: baht(5_000),
                        channel: Channel::Bank,
                    },
                );
            }
            "2024-12-28" | "2025-12-28" | "2026-12-28" => {
                log.push_on(
                    date,
                    expense(ExpenseKind::Meeting, baht(200), Channel::Cash),
                );
            }
            "2024-12-31" => {
                log.push_on(
                    date,
                    income(IncomeKind::BankInterest, baht(150), Channel::Bank),
                );
            }
            "2025-01-05" => {
                log.push_on(
                    date,
                    Body::ReservePledged {
                        pool: tambon_pool(),
                        amount: baht(3_000),
                    },
                );
            }
            "2025-01-15" => {
                log.push_on(date, loan(2, 5, baht(6_000), 6, &[6]));
            }
            "2025-01-20" => {
                let lines: Vec<(u32, Money)> = (1..=30).map(|n| (n, baht(15))).collect();
                log.push_on(date, dividend(2024, &lines));
            }
            "2025-02-14" => {
                log.push_on(date, benefit(12, BenefitKind::Sickness, baht(500), 5));
            }
            "2025-02-15" => {
                log.push_on(date, repay(2, baht(1_000), baht(60)));
            }
            "2025-03-01" => {
                log.push_on(date, loan(3, 8, baht(5_000), 10, &[9]));
            }
            "2025-03-15" => {
                log.push_on(date, repay(2, baht(1_000), baht(50)));
            }
            "2025-04-01" => {
                log.push_on(date, repay(3, baht(500), baht(50)));
            }
            "2025-04-12" => {
                log.push_on(date, withdraw(20, baht(500)));
            }
            "2025-06-15" => {
                log.push_on(
                    date,
                    bank_contribution(Source::LocalGovernment, baht(10_800), date),
                );
                log.push_on(
                    date,
                    bank_contribution(Source::NationalGovernment, baht(10_800), date),
                );
            }
            "2025-08-20" => {
                // 20 months of 100 baht (2024-01..2025-08) and the 15-baht dividend.
                log.push_on(date, left(30, LeaveReason::Died, baht(2_015)));
            }
            "2025-08-22" => {
                log.push_on(date, benefit(30, BenefitKind::Death, baht(5_000), 0));
            }
            "2026-03-31" => {
                log.push_on(date, write_off(3, baht(4_500)));
            }
            "2026-06-15" => {
                // 29 members × 30 baht × 12 months = 10,440.
                log.push_on(
                    date,
                    bank_contribution(Source::LocalGovernment, baht(10_440), date),
                );
            }
            "2026-06-20" => {
                log.push_on(
                    date,
                    Body::PoolWithdrawn {
                        pool: tambon_pool(),
                        amount: baht(2_000),
                        channel: Channel::Bank,
                    },
                );
            }
            _ => {}
        }

        if day == 25 {
            log.push_on(
                date,
                Body::CashBanked {
                    amount: month_contributions,
                },
            );
        }
        if date == date.month().last_day() {
            log.close(date, date.month());
        }
        date = date.add_days(1);
    }
    log
}

/// The figures a treasurer reads off the books, in baht.
#[derive(Debug, PartialEq, Eq)]
struct Figures {
    cash: i64,
    bank: i64,
    loans_receivable: i64,
    pool_deposits: i64,
    member_savings: i64,
    welfare_fund: i64,
    reserve_pledged: i64,
    loan_interest: i64,
    bank_interest: i64,
    meeting_expenses: i64,
    loan_losses: i64,
    dividends: i64,
}

fn whole_baht(amount: Money) -> i64 {
    assert_eq!(amount.satang() % 100, 0, "{amount}");
    amount.satang() / 100
}

fn figures(books: &Books) -> Figures {
    let a = &books.accounts;
    let get = |amount: Option<&Money>| whole_baht(amount.copied().unwrap_or_default());
    Figures {
        cash: whole_baht(a.cash),
        bank: whole_baht(a.bank),
        loans_receivable: whole_baht(a.loans_receivable),
        pool_deposits: whole_baht(a.pool_deposits()),
        member_savings: whole_baht(a.member_savings),
        welfare_fund: whole_baht(a.welfare_fund),
        reserve_pledged: whole_baht(a.reserve_pledged()),
        loan_interest: get(a.income.get(&IncomeAccount::LoanInterest)),
        bank_interest: get(a.income.get(&IncomeAccount::Kind(IncomeKind::BankInterest))),
        meeting_expenses: get(a.expenses.get(&ExpenseAccount::Kind(ExpenseKind::Meeting))),
        loan_losses: get(a.expenses.get(&ExpenseAccount::LoanLoss)),
        dividends: whole_baht(a.dividends),
    }
}

fn contributed_by(books: &Books, source: Source) -> i64 {
    books
        .contributions
        .iter()
        .filter(|((_, s), _)| *s == source)
        .map(|(_, amount)| whole_baht(*amount))
        .sum()
}

fn benefits_of(books: &Books, kind: BenefitKind) -> i64 {
    books
        .benefits
        .iter()
        .filter(|((_, k), _)| *k == kind)
        .map(|(_, amount)| whole_baht(*amount))
        .sum()
}

#[test]
fn three_years_of_a_group_match_the_hand_computed_books() {
    // Proves the books at 2024-06-30, 2025-06-30 and 2026-12-31 equal figures computed by hand.
    let log = three_years();
    let as_of = |date: &str| Books::fold_as_of(group(), &log.events, d(date));
    assert_eq!(Books::fold(group(), &log.events).unwrap(), log.books);
    assert_eq!(as_of("2026-12-31"), log.books);

    // ---- 2024-06-30: six months, 30 members ----
    // Member contributions: 30 × 30 × 6 = 5,400 cash. Local government: 10,800 bank.
    // Savings: 30 × 100 × 6 = 18,000 cash (member 15's copy was reversed: +100 − 100).
    // Banked: 900 × 6 = 5,400. Childbirth override: 500 cash.
    // Cash = 5,400 + 18,000 − 5,400 − 500 = 17,500. Bank = 5,400 + 10,800 = 16,200.
    // Welfare fund = 5,400 + 10,800 − 500 = 15,700.
    // Check: 17,500 + 16,200 = 33,700 = 18,000 + 15,700.
    let first = as_of("2024-06-30");
    assert_balanced(&first);
    assert_eq!(
        figures(&first),
        Figures {
            cash: 17_500,
            bank: 16_200,
            loans_receivable: 0,
            pool_deposits: 0,
            member_savings: 18_000,
            welfare_fund: 15_700,
            reserve_pledged: 0,
            loan_interest: 0,
            bank_interest: 0,
            meeting_expenses: 0,
            loan_losses: 0,
            dividends: 0,
        }
    );
    assert_eq!(contributed_by(&first, Source::Member), 5_400);
    assert_eq!(contributed_by(&first, Source::LocalGovernment), 10_800);
    assert_eq!(benefits_of(&first, BenefitKind::Childbirth), 500);
    // 6 months × 30 baht = 180 each; member 15's savings 6 × 100 = 600.
    assert_eq!(whole_baht(first.members[&m(1)].contributed), 180);
    assert_eq!(whole_baht(first.members[&m(15)].savings), 600);
    assert_eq!(first.active_members(), 30);
    assert_eq!(first.closes.len(), 6);
    assert!(first.closes.iter().all(|c| c.matches));

    // ---- 2025-06-30: eighteen months, still 30 members ----
    // Member contributions: 900 × 18 = 16,200 cash, all banked (16,200).
    // Matching, bank: local 10,800 + 10,800 = 21,600; national 10,800.
    // Savings: 3,000 × 18 = 54,000 cash; dividend 30 × 15 = 450; member 20 withdrew 500 cash.
    // Benefits, cash: childbirth 500 + sickness 300 + sickness 500 = 1,300.
    // Loans out, cash: 12,000 + 6,000 + 5,000 = 23,000.
    // Principal back, cash: loan 1, 11 instalments (2024-08..2025-06) = 11,000; loan 2: 2,000; loan 3: 500 = 13,500.
    // Interest, cash: loan 1: 120 + 110 + … + 20 = 11 × (120 + 20) / 2 = 770; loan 2: 60 + 50 = 110; loan 3: 50 = 930.
    // Meeting 200 cash; bank interest 150; pool deposit 5,000 bank; reserve pledge 3,000.
    // Cash = 16,200 + 54,000 − 16,200 − 1,300 − 23,000 + 13,500 + 930 − 200 − 500 = 43,430.
    // Bank = 16,200 + 21,600 + 10,800 + 150 − 5,000 = 43,750.
    // Loans receivable = 1,000 (loan 1) + 4,000 (loan 2) + 4,500 (loan 3) = 9,500.
    // Savings = 54,000 + 450 − 500 = 53,950.
    // Welfare fund = 16,200 + 21,600 + 10,800 − 1,300 − 3,000 = 44,300.
    // Check: 43,430 + 43,750 + 9,500 + 5,000 = 101,680
    //      = 53,950 + 44,300 + 3,000 + (930 + 150) − 200 − 450.
    let second = as_of("2025-06-30");
    assert_balanced(&second);
    assert_eq!(
        figures(&second),
        Figures {
            cash: 43_430,
            bank: 43_750,
            loans_receivable: 9_500,
            pool_deposits: 5_000,
            member_savings: 53_950,
            welfare_fund: 44_300,
            reserve_pledged: 3_000,
            loan_interest: 930,
            bank_interest: 150,
            meeting_expenses: 200,
            loan_losses: 0,
            dividends: 450,
        }
    );
    assert_eq!(contributed_by(&second, Source::Member), 16_200);
    assert_eq!(contributed_by(&second, Source::LocalGovernment), 21_600);
    assert_eq!(contributed_by(&second, Source::NationalGovernment), 10_800);
    assert_eq!(benefits_of(&second, BenefitKind::Sickness), 800);
    // Member 20: 18 × 100 + 15 − 500 = 1,315. Member 2: 18 × 100 + 15 = 1,815.
    assert_eq!(whole_baht(second.members[&m(20)].savings), 1_315);
    assert_eq!(whole_baht(second.members[&m(2)].savings), 1_815);
    assert_eq!(whole_baht(second.members[&m(2)].contributed), 540);
    assert_eq!(whole_baht(second.loans[&LoanNo(1)].outstanding()), 1_000);
    assert_eq!(whole_baht(second.loans[&LoanNo(1)].interest_paid), 770);
    assert_eq!(second.closes.len(), 18);

    // ---- 2026-12-31: three years; member 30 died on 2025-08-20 ----
    // Months with 30 contributing members: 2024-01..2025-08 = 20; with 29: 2025-09..2026-12 = 16.
    // Member contributions: 20 × 900 + 16 × 870 = 18,000 + 13,920 = 31,920 cash, all banked.
    // Matching, bank: local 10,800 + 10,800 + 10,440 = 32,040; national 10,800.
    // Savings: 20 × 3,000 + 16 × 2,900 = 60,000 + 46,400 = 106,400 cash; dividend 450;
    //   withdrawal 500; member 30's refund 2,015 cash.
    // Benefits, cash: 1,300 + death 5,000 = 6,300.
    // Loans: out 23,000; principal back 12,000 + 2,000 + 500 = 14,500;
    //   interest 780 (loan 1: 770 + 10) + 110 + 50 = 940; loan 3 written off 4,500.
    // Meetings 3 × 200 = 600 cash; pool: 5,000 in, 2,000 back, both by bank.
    // Cash = 31,920 + 106,400 − 31,920 − 6,300 − 23,000 + 14,500 + 940 − 600 − 500 − 2,015 = 89,425.
    // Bank = 31,920 + 32,040 + 10,800 + 150 − 5,000 + 2,000 = 71,910.
    // Loans receivable = loan 2's 4,000. Pool deposits = 3,000.
    // Savings = 106,400 + 450 − 500 − 2,015 = 104,335.
    // Welfare fund = 31,920 + 32,040 + 10,800 − 6,300 − 3,000 = 65,460.
    // Check: 89,425 + 71,910 + 4,000 + 3,000 = 168,335
    //      = 104,335 + 65,460 + 3,000 + (940 + 150) − (600 + 4,500) − 450.
    let third = as_of("2026-12-31");
    assert_balanced(&third);
    assert_eq!(
        figures(&third),
        Figures {
            cash: 89_425,
            bank: 71_910,
            loans_receivable: 4_000,
            pool_deposits: 3_000,
            member_savings: 104_335,
            welfare_fund: 65_460,
            reserve_pledged: 3_000,
            loan_interest: 940,
            bank_interest: 150,
            meeting_expenses: 600,
            loan_losses: 4_500,
            dividends: 450,
        }
    );
    assert_eq!(contributed_by(&third, Source::Member), 31_920);
    assert_eq!(contributed_by(&third, Source::LocalGovernment), 32_040);
    assert_eq!(benefits_of(&third, BenefitKind::Death), 5_000);
    assert_eq!(third.active_members(), 29);
    // Member 30: 20 months × 30 = 600 contributed; savings refunded to 0.
    let deceased = &third.members[&m(30)];
    assert_eq!(
        (
            whole_baht(deceased.contributed),
            whole_baht(deceased.savings)
        ),
        (600, 0)
    );
    assert_eq!(deceased.left, Some((d("2025-08-20"), LeaveReason::Died)));
    // Member 1: 36 × 30 = 1,080 contributed; 36 × 100 + 15 = 3,615 saved.
    assert_eq!(whole_baht(third.members[&m(1)].contributed), 1_080);
    assert_eq!(whole_baht(third.members[&m(1)].savings), 3_615);
    assert_eq!(whole_baht(third.loans[&LoanNo(3)].written_off), 4_500);
    assert_eq!(third.closes.len(), 36);
    assert!(third.closes.iter().all(|c| c.matches));
    assert_eq!(third.reversed.len(), 1);
}

#[test]
fn the_loan_that_stopped_paying_is_in_arrears() {
    // Proves loan 2's arrears (6,000 over 6 months from 2025-01-15, 2,000 repaid) are computed as by hand.
    let log = three_years();
    let loan = &log.books.loans[&LoanNo(2)];
    let arrears = |date: &str| loan.arrears_on(d(date));

    // Up to date until the third instalment falls due on 2025-04-15.
    assert_eq!(arrears("2025-04-14"), Arrears::default());
    // 2025-04-15: 3 instalments due = 3,000; 2,000 paid; 1,000 overdue since today.
    assert_eq!(
        arrears("2025-04-15"),
        Arrears {
            overdue: baht(1_000),
            days_past_due: 0
        }
    );
    // 2025-06-30: 5 instalments due (02-15 … 06-15) = 6,000 × 5 / 6 = 5,000; 5,000 − 2,000 = 3,000
    // overdue since 2025-04-15: 15 (rest of April) + 31 (May) + 30 (June) = 76 days.
    assert_eq!(
        arrears("2025-06-30"),
        Arrears {
            overdue: baht(3_000),
            days_past_due: 76
        }
    );
    // 2026-12-31: all 6 due = 6,000; 4,000 overdue since 2025-04-15:
    // 260 days to 2025-12-31 (15 + 31 + 30 + 31 + 31 + 30 + 31 + 30 + 31) + 365 in 2026 = 625.
    assert_eq!(
        arrears("2026-12-31"),
        Arrears {
            overdue: baht(4_000),
            days_past_due: 625
        }
    );
    // Loan 1 was repaid on schedule and in full; loan 3 was written off: neither is in arrears.
    assert_eq!(
        log.books.loans[&LoanNo(1)].arrears_on(d("2026-12-31")),
        Arrears::default()
    );
    assert_eq!(
        log.books.loans[&LoanNo(3)].arrears_on(d("2026-12-31")),
        Arrears::default()
    );
    // Loan 3 was in arrears before its write-off: 10 instalments of 500 from 2025-04-01;
    // by 2025-06-30, 3 due (04-01, 05-01, 06-01) = 1,500, 500 paid: 1,000 overdue since 05-01 = 30 + 30 = 60 days.
    let before_write_off = Books::fold_as_of(group(), &log.events, d("2025-06-30"));
    assert_eq!(
        before_write_off.loans[&LoanNo(3)].arrears_on(d("2025-06-30")),
        Arrears {
            overdue: baht(1_000),
            days_past_due: 60
        }
    );
}
