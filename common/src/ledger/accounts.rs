//! The chart of accounts and the balances kept for each.
//!
//! Balances are kept on their normal side (assets, expenses and dividends as
//! debits; savings, payables, funds and income as credits), so every figure a
//! treasurer reads is positive when healthy. A posting is signed debit-positive;
//! every event's postings sum to zero.

use std::collections::BTreeMap;

use crate::event::{ExpenseKind, IncomeKind};
use crate::ids::{MemberNo, PoolId};
use crate::money::Money;

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum IncomeAccount {
    Kind(IncomeKind),
    LoanInterest,
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum ExpenseAccount {
    Kind(ExpenseKind),
    LoanLoss,
    PoolInterest,
}

#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Account {
    Cash,
    Bank,
    LoansReceivable,
    PoolDeposits(PoolId),
    MemberSavings(MemberNo),
    PoolLoansPayable(PoolId),
    WelfareFund,
    ReservePledged(PoolId),
    Income(IncomeAccount),
    Expense(ExpenseAccount),
    Dividends,
}

impl Account {
    /// Whether the account's normal balance is a debit.
    pub fn is_debit_normal(&self) -> bool {
        matches!(
            self,
            Account::Cash
                | Account::Bank
                | Account::LoansReceivable
                | Account::PoolDeposits(_)
                | Account::Expense(_)
                | Account::Dividends
        )
    }

    /// Whether the ledger refuses to let this account's balance go below zero.
    /// Income and expenses may go negative only through reversals, which are
    /// allowed to correct them.
    pub fn must_stay_non_negative(&self) -> bool {
        !matches!(
            self,
            Account::Income(_) | Account::Expense(_) | Account::Dividends
        )
    }

    /// The account's stable name in trial balances and digests.
    pub fn name(&self) -> String {
        match self {
            Account::Cash => "cash".into(),
            Account::Bank => "bank".into(),
            Account::LoansReceivable => "loans_receivable".into(),
            Account::PoolDeposits(p) => format!("pool_deposits:{p}"),
            Account::MemberSavings(m) => format!("member_savings:{m}"),
            Account::PoolLoansPayable(p) => format!("pool_loans_payable:{p}"),
            Account::WelfareFund => "welfare_fund".into(),
            Account::ReservePledged(p) => format!("reserve_pledged:{p}"),
            Account::Income(IncomeAccount::Kind(k)) => format!("income:{k:?}"),
            Account::Income(IncomeAccount::LoanInterest) => "income:LoanInterest".into(),
            Account::Expense(ExpenseAccount::Kind(k)) => format!("expense:{k:?}"),
            Account::Expense(ExpenseAccount::LoanLoss) => "expense:LoanLoss".into(),
            Account::Expense(ExpenseAccount::PoolInterest) => "expense:PoolInterest".into(),
            Account::Dividends => "dividends".into(),
        }
    }
}

/// A pool's three balances as seen from the group, and what its reserve
/// has paid out to settle community exchanges' defaults.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PoolBalances {
    pub deposits: Money,
    pub reserve_pledged: Money,
    pub loans_payable: Money,
    /// Every `ReserveDrawn` from this pool's pledge, net of reversals: a
    /// running total beside the accounts, not an account (the draw itself
    /// moves the pledge and the cash), so no trial balance changes shape.
    pub reserve_drawn: Money,
}

impl PoolBalances {
    pub(crate) fn drawn(&mut self, amount: Money) {
        self.reserve_drawn =
            Money::from_satang(self.reserve_drawn.satang().saturating_add(amount.satang()));
    }
}

/// The group's balances. Member savings are kept per member in
/// [`crate::ledger::Member::savings`]; `member_savings` is their control total.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Accounts {
    pub cash: Money,
    pub bank: Money,
    pub loans_receivable: Money,
    pub member_savings: Money,
    pub welfare_fund: Money,
    pub dividends: Money,
    pub income: BTreeMap<IncomeAccount, Money>,
    pub expenses: BTreeMap<ExpenseAccount, Money>,
    pub pools: BTreeMap<PoolId, PoolBalances>,
}

impl Accounts {
    pub fn total_income(&self) -> Money {
        Money::from_satang(self.income.values().map(|m| m.satang()).sum())
    }

    pub fn total_expenses(&self) -> Money {
        Money::from_satang(self.expenses.values().map(|m| m.satang()).sum())
    }

    /// Income less expenses less dividends already shared: what a dividend may pay.
    pub fn surplus(&self) -> Money {
        Money::from_satang(
            self.total_income().satang() - self.total_expenses().satang() - self.dividends.satang(),
        )
    }

    pub fn pool_deposits(&self) -> Money {
        Money::from_satang(self.pools.values().map(|p| p.deposits.satang()).sum())
    }

    pub fn reserve_pledged(&self) -> Money {
        Money::from_satang(
            self.pools
                .values()
                .map(|p| p.reserve_pledged.satang())
                .sum(),
        )
    }

    pub fn pool_loans_payable(&self) -> Money {
        Money::from_satang(self.pools.values().map(|p| p.loans_payable.satang()).sum())
    }
}
