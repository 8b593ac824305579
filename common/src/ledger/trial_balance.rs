//! The trial balance and its digest, which `PeriodClosed` carries so that anyone
//! folding the log can check they agree with the group's own books.

use crate::chain::Hash;
use crate::ledger::Books;
use crate::ledger::accounts::Account;
use crate::money::Money;

const TRIAL_BALANCE_DOMAIN: &[u8] = b"sajja/v1/trial-balance\0";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrialBalanceLine {
    pub account: String,
    pub debit: Money,
    pub credit: Money,
}

/// Control accounts with a non-zero balance: assets, then savings, payables and
/// funds, then income, expenses and dividends. Member savings appear as one
/// control line; the per-member split is the member ledger.
pub(crate) fn lines(books: &Books) -> Vec<TrialBalanceLine> {
    let a = &books.accounts;
    let pools = || a.pools.iter();
    let mut balances: Vec<(String, bool, Money)> = Vec::new();
    let mut add = |account: Account, balance: Money| {
        balances.push((account.name(), account.is_debit_normal(), balance));
    };
    add(Account::Cash, a.cash);
    add(Account::Bank, a.bank);
    add(Account::LoansReceivable, a.loans_receivable);
    pools().for_each(|(pool, p)| add(Account::PoolDeposits(pool.clone()), p.deposits));
    balances.push(("member_savings".to_string(), false, a.member_savings));
    let mut add = |account: Account, balance: Money| {
        balances.push((account.name(), account.is_debit_normal(), balance));
    };
    pools().for_each(|(pool, p)| add(Account::PoolLoansPayable(pool.clone()), p.loans_payable));
    add(Account::WelfareFund, a.welfare_fund);
    pools().for_each(|(pool, p)| add(Account::ReservePledged(pool.clone()), p.reserve_pledged));
    a.income
        .iter()
        .for_each(|(kind, amount)| add(Account::Income(*kind), *amount));
    a.expenses
        .iter()
        .for_each(|(kind, amount)| add(Account::Expense(*kind), *amount));
    add(Account::Dividends, a.dividends);

    balances
        .into_iter()
        .filter(|(_, _, balance)| *balance != Money::ZERO)
        .map(|(account, debit_normal, balance)| {
            // A negative normal balance shows on the other side.
            let amount = Money::from_satang(balance.satang().abs());
            let on_debit_side = debit_normal == (balance.satang() > 0);
            let (debit, credit) = if on_debit_side {
                (amount, Money::ZERO)
            } else {
                (Money::ZERO, amount)
            };
            TrialBalanceLine {
                account,
                debit,
                credit,
            }
        })
        .collect()
}

/// SHA-256 over the trial balance's lines, in order.
pub fn trial_balance_digest(lines: &[TrialBalanceLine]) -> Hash {
    let mut bytes = Vec::with_capacity(lines.len() * 40);
    for line in lines {
        bytes.push(line.account.len() as u8);
        bytes.extend_from_slice(line.account.as_bytes());
        bytes.extend_from_slice(&line.debit.satang().to_be_bytes());
        bytes.extend_from_slice(&line.credit.satang().to_be_bytes());
    }
    Hash::of(TRIAL_BALANCE_DOMAIN, &[&bytes])
}
