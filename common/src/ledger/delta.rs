//! The effect of one event on the books, computed from the event alone.
//!
//! Because a delta depends on nothing but the event, the same event always has
//! the same effect: a reversal is exactly the negated delta of its target, and
//! the books at any date are the sum of the deltas dated up to it.

use crate::date::Month;
use crate::event::{BenefitKind, Body, Channel, Event, Source};
use crate::ids::{LoanNo, MemberNo};
use crate::ledger::accounts::{Account, ExpenseAccount, IncomeAccount};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delta {
    /// Debit-positive postings; they always sum to zero.
    pub postings: Vec<(Account, i64)>,
    pub contributed: Option<(MemberNo, i64)>,
    pub contribution: Option<(Month, Source, i64)>,
    pub benefit: Option<(Month, BenefitKind, i64)>,
    /// Member, year, nights, amount.
    pub sickness: Option<(MemberNo, u32, i64, i64)>,
    /// Loan, principal, interest.
    pub loan_repaid: Option<(LoanNo, i64, i64)>,
    pub written_off: Option<(LoanNo, i64)>,
}

fn money_account(channel: Channel) -> Account {
    match channel {
        Channel::Cash => Account::Cash,
        Channel::Bank => Account::Bank,
    }
}

impl Delta {
    pub fn of(event: &Event) -> Delta {
        let mut d = Delta::default();
        // Debit `to`, credit `from`.
        let mut transfer = |to: Account, from: Account, amount: i64| {
            if amount != 0 {
                d.postings.push((to, amount));
                d.postings.push((from, -amount));
            }
        };
        match &event.body {
            Body::GroupOpened { .. }
            | Body::RulesChanged(_)
            | Body::MemberJoined { .. }
            | Body::Reversal { .. }
            | Body::PeriodClosed { .. }
            | Body::KeyRotated { .. } => {}
            Body::MemberLeft {
                member,
                savings_refund,
                channel,
                ..
            } => {
                transfer(
                    Account::MemberSavings(*member),
                    money_account(*channel),
                    savings_refund.satang(),
                );
            }
            Body::ContributionReceived {
                member,
                amount,
                source,
                channel,
                ..
            } => {
                transfer(
                    money_account(*channel),
                    Account::WelfareFund,
                    amount.satang(),
                );
                if let (Some(m), Source::Member) = (member, source) {
                    d.contributed = Some((*m, amount.satang()));
                }
                d.contribution = Some((event.date.month(), *source, amount.satang()));
            }
            Body::SavingsDeposited {
                member,
                amount,
                channel,
            } => {
                transfer(
                    money_account(*channel),
                    Account::MemberSavings(*member),
                    amount.satang(),
                );
            }
            Body::SavingsWithdrawn {
                member,
                amount,
                channel,
            } => {
                transfer(
                    Account::MemberSavings(*member),
                    money_account(*channel),
                    amount.satang(),
                );
            }
            Body::IncomeReceived {
                kind,
                amount,
                channel,
            } => {
                transfer(
                    money_account(*channel),
                    Account::Income(IncomeAccount::Kind(*kind)),
                    amount.satang(),
                );
            }
            Body::ExpensePaid {
                kind,
                amount,
                channel,
            } => {
                transfer(
                    Account::Expense(ExpenseAccount::Kind(*kind)),
                    money_account(*channel),
                    amount.satang(),
                );
            }
            Body::DividendPaid { lines, .. } => {
                for (member, amount) in lines {
                    transfer(
                        Account::Dividends,
                        Account::MemberSavings(*member),
                        amount.satang(),
                    );
                }
            }
            Body::BenefitPaid {
                member,
                kind,
                amount,
                nights,
                channel,
                ..
            } => {
                transfer(
                    Account::WelfareFund,
                    money_account(*channel),
                    amount.satang(),
                );
                d.benefit = Some((event.date.month(), *kind, amount.satang()));
                if *kind == BenefitKind::Sickness {
                    d.sickness = Some((
                        *member,
                        event.date.year(),
                        i64::from(*nights),
                        amount.satang(),
                    ));
                }
            }
            Body::LoanDisbursed {
                principal, channel, ..
            } => {
                transfer(
                    Account::LoansReceivable,
                    money_account(*channel),
                    principal.satang(),
                );
            }
            Body::LoanRepaid {
                loan,
                principal,
                interest,
                channel,
            } => {
                transfer(
                    money_account(*channel),
                    Account::LoansReceivable,
                    principal.satang(),
                );
                transfer(
                    money_account(*channel),
                    Account::Income(IncomeAccount::LoanInterest),
                    interest.satang(),
                );
                d.loan_repaid = Some((*loan, principal.satang(), interest.satang()));
            }
            Body::LoanWrittenOff { loan, principal } => {
                transfer(
                    Account::Expense(ExpenseAccount::LoanLoss),
                    Account::LoansReceivable,
                    principal.satang(),
                );
                d.written_off = Some((*loan, principal.satang()));
            }
            Body::CashBanked { amount } => transfer(Account::Bank, Account::Cash, amount.satang()),
            Body::CashDrawn { amount } => transfer(Account::Cash, Account::Bank, amount.satang()),
            Body::PoolDeposited {
                pool,
                amount,
                channel,
            } => {
                transfer(
                    Account::PoolDeposits(pool.clone()),
                    money_account(*channel),
                    amount.satang(),
                );
            }
            Body::PoolWithdrawn {
                pool,
                amount,
                channel,
            } => {
                transfer(
                    money_account(*channel),
                    Account::PoolDeposits(pool.clone()),
                    amount.satang(),
                );
            }
            Body::ReservePledged { pool, amount } => {
                transfer(
                    Account::WelfareFund,
                    Account::ReservePledged(pool.clone()),
                    amount.satang(),
                );
            }
            Body::ReserveReleased { pool, amount } => {
                transfer(
                    Account::ReservePledged(pool.clone()),
                    Account::WelfareFund,
                    amount.satang(),
                );
            }
            // The pledge is spent: the earmarked fund falls and the money
            // leaves the cash box or the bank to settle the exchange's debit.
            Body::ReserveDrawn {
                pool,
                amount,
                channel,
                ..
            } => {
                transfer(
                    Account::ReservePledged(pool.clone()),
                    money_account(*channel),
                    amount.satang(),
                );
            }
            Body::PoolLoanReceived {
                pool,
                amount,
                channel,
            } => {
                transfer(
                    money_account(*channel),
                    Account::PoolLoansPayable(pool.clone()),
                    amount.satang(),
                );
            }
            Body::PoolLoanRepaid {
                pool,
                principal,
                interest,
                channel,
            } => {
                transfer(
                    Account::PoolLoansPayable(pool.clone()),
                    money_account(*channel),
                    principal.satang(),
                );
                transfer(
                    Account::Expense(ExpenseAccount::PoolInterest),
                    money_account(*channel),
                    interest.satang(),
                );
            }
        }
        debug_assert_eq!(
            d.postings.iter().map(|(_, a)| a).sum::<i64>(),
            0,
            "unbalanced postings"
        );
        d
    }

    pub fn negated(mut self) -> Delta {
        for (_, amount) in &mut self.postings {
            *amount = -*amount;
        }
        self.contributed = self.contributed.map(|(m, a)| (m, -a));
        self.contribution = self.contribution.map(|(m, s, a)| (m, s, -a));
        self.benefit = self.benefit.map(|(m, k, a)| (m, k, -a));
        self.sickness = self.sickness.map(|(m, y, n, a)| (m, y, -n, -a));
        self.loan_repaid = self.loan_repaid.map(|(l, p, i)| (l, -p, -i));
        self.written_off = self.written_off.map(|(l, a)| (l, -a));
        self
    }

    /// Postings with the same account summed, so balance checks see each
    /// account's net change once.
    pub fn merged_postings(&self) -> Vec<(Account, i64)> {
        let mut merged: Vec<(Account, i64)> = Vec::with_capacity(self.postings.len());
        for (account, amount) in &self.postings {
            match merged.iter_mut().find(|(a, _)| a == account) {
                Some((_, total)) => *total += amount,
                None => merged.push((account.clone(), *amount)),
            }
        }
        merged
    }
}
