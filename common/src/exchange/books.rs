//! The exchange's books: a pure, deterministic fold of its log.
//!
//! [`ExchangeBooks::apply`] validates an event against the books so far and,
//! only if every rule passes, applies it; a refusal leaves the books exactly
//! as they were. Every change to a balance is kept by business date
//! (`ExchangeAccount::dated`), so the balance as of a date is today's less
//! the changes dated after it, and a back-dated event is checked against its
//! own date and every later one, as the group ledger does: valid against the
//! books as of its business date, and breaching no limit on any later date.

use std::collections::{BTreeMap, BTreeSet};

use super::credits::{Credits, MAX_CREDITS_CENTI};
use super::event::{AccountNo, Category, ExchangeBody, ExchangeEvent, ExchangeTerms, HolderKind};
use super::refusal::{ExchangeRefusal, ExchangeRule};
use super::vouchers::{self, Vouchers, insert_dated};
use crate::date::Date;
use crate::ids::GroupId;
use crate::money::Money;

/// The highest account number.
pub const MAX_ACCOUNT_NO: u32 = 999_999;

/// The highest stated rate: 10,000 baht a credit.
pub const MAX_RATE_SATANG_PER_CREDIT: i64 = 1_000_000;

/// The highest coverage a policy may ask for: 1000%.
pub const MAX_POLICY_BASIS_POINTS: u32 = 100_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AccountStatus {
    Open,
    /// Closed at a zero balance.
    Closed {
        on: Date,
    },
    /// Its debit written off against the reserve. The balance stays as it
    /// was (negative), so balances and vouchers still sum to zero; the debit
    /// is reported as written off, no longer outstanding.
    Defaulted {
        on: Date,
        written_off: Credits,
        settled: Money,
    },
}

impl AccountStatus {
    /// The status's English word (`open`, `closed`, `defaulted`).
    pub fn name(self) -> &'static str {
        match self {
            AccountStatus::Open => "open",
            AccountStatus::Closed { .. } => "closed",
            AccountStatus::Defaulted { .. } => "defaulted",
        }
    }

    /// The status at the end of `date`.
    pub fn as_of(self, date: Date) -> AccountStatus {
        match self {
            AccountStatus::Closed { on } | AccountStatus::Defaulted { on, .. } if on > date => {
                AccountStatus::Open
            }
            status => status,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExchangeAccount {
    pub holder: HolderKind,
    pub opened_on: Date,
    pub status: AccountStatus,
    pub balance: Credits,
    /// The credit limit in force now: the balance may go down to −limit.
    pub limit: Credits,
    /// Each limit and the date from which it holds, the opening limit first.
    /// Changes are recorded in date order (`LimitChangeBeforeLatest`), so
    /// this is sorted by date and the limit as of a date is the last one
    /// dated on or before it, in log order too.
    pub limits: Vec<(Date, Credits)>,
    /// Every change to the balance (centi-credits) by business date, sorted
    /// by date, log order within a date.
    pub dated: Vec<(Date, i64)>,
    /// The latest business date anything was recorded on the account.
    pub last_activity: Date,
}

impl ExchangeAccount {
    /// The balance at the end of `date`.
    pub fn balance_as_of(&self, date: Date) -> Credits {
        let later: i128 = self
            .dated
            .iter()
            .rev()
            .take_while(|(d, _)| *d > date)
            .map(|(_, change)| i128::from(*change))
            .sum();
        let balance = i128::from(self.balance.centi()) - later;
        Credits::from_centi(i64::try_from(balance).unwrap_or(i64::MIN))
    }

    /// The limit in force at the end of `date` (the opening limit before).
    pub fn limit_as_of(&self, date: Date) -> Credits {
        let held = self.limits.partition_point(|(d, _)| *d <= date);
        self.limits
            .get(held.saturating_sub(1))
            .map_or(self.limit, |(_, limit)| *limit)
    }
}

/// A transfer as recorded, for its reversal and the volume by month.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TransferRecord {
    pub date: Date,
    pub from: AccountNo,
    pub to: AccountNo,
    pub amount: Credits,
    pub category: Category,
    /// The business date of the reversal that undid it, if any.
    pub reversed_on: Option<Date>,
}

/// The fold of an exchange's log.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExchangeBooks {
    pub log: GroupId,
    pub terms: Option<ExchangeTerms>,
    pub opened_on: Option<Date>,
    pub last_seq: u64,
    pub last_date: Option<Date>,
    pub accounts: BTreeMap<AccountNo, ExchangeAccount>,
    pub vouchers: Vouchers,
    /// Every transfer by its seq.
    pub transfers: BTreeMap<u64, TransferRecord>,
    pub reversed: BTreeSet<u64>,
}

impl ExchangeBooks {
    pub fn new(log: GroupId) -> ExchangeBooks {
        ExchangeBooks {
            log,
            terms: None,
            opened_on: None,
            last_seq: 0,
            last_date: None,
            accounts: BTreeMap::new(),
            vouchers: Vouchers::default(),
            transfers: BTreeMap::new(),
            reversed: BTreeSet::new(),
        }
    }

    /// Folds a whole log from the start, validating every event.
    pub fn fold<'a>(
        log: GroupId,
        events: impl IntoIterator<Item = &'a ExchangeEvent>,
    ) -> Result<ExchangeBooks, ExchangeRefusal> {
        let mut books = ExchangeBooks::new(log);
        for event in events {
            books.apply(event)?;
        }
        Ok(books)
    }

    /// The books as of the end of `date`: the events dated on or before it,
    /// in log order, each applied as it was accepted. Events were validated
    /// when they were appended, so none is refused here.
    pub fn fold_as_of<'a>(
        log: GroupId,
        events: impl IntoIterator<Item = &'a ExchangeEvent>,
        date: Date,
    ) -> ExchangeBooks {
        let mut books = ExchangeBooks::new(log);
        for event in events {
            if event.date <= date {
                books.apply_unchecked(event);
            }
        }
        books
    }

    /// Validates `event` and applies it; a refusal changes nothing.
    pub fn apply(&mut self, event: &ExchangeEvent) -> Result<(), ExchangeRefusal> {
        self.check(event).map_err(|rule| ExchangeRefusal {
            log: self.log.clone(),
            seq: event.seq,
            rule,
        })?;
        self.apply_unchecked(event);
        // Mutual credit's one invariant: every credit is someone's debit.
        assert_eq!(
            self.sum_of_balances_and_vouchers(),
            0,
            "exchange {} seq {}: balances and vouchers outstanding no longer sum to zero",
            self.log,
            event.seq
        );
        Ok(())
    }

    /// Every account's balance plus the vouchers outstanding: zero, always.
    pub fn sum_of_balances_and_vouchers(&self) -> i128 {
        let balances: i128 = self
            .accounts
            .values()
            .map(|a| i128::from(a.balance.centi()))
            .sum();
        balances + i128::from(self.vouchers.value_outstanding.centi())
    }

    pub fn account(&self, account: AccountNo) -> Result<&ExchangeAccount, ExchangeRule> {
        self.accounts
            .get(&account)
            .ok_or(ExchangeRule::UnknownAccount(account))
    }

    /// An account that may act on `date`: known, open, and opened by then.
    fn acting(&self, account: AccountNo, date: Date) -> Result<&ExchangeAccount, ExchangeRule> {
        let a = self.account(account)?;
        if a.status != AccountStatus::Open {
            return Err(ExchangeRule::AccountNotOpen {
                account,
                status: a.status.name(),
            });
        }
        if date < a.opened_on {
            return Err(ExchangeRule::BeforeAccountOpened {
                account,
                date,
                opened: a.opened_on,
            });
        }
        Ok(a)
    }

    /// What the event does to balances: (account, change in centi-credits).
    /// Computed from the event and the books alone, for checking and applying
    /// alike; a reversal is its transfer's negation.
    fn changes(&self, event: &ExchangeEvent) -> Vec<(AccountNo, i64)> {
        match &event.body {
            ExchangeBody::Transfer {
                from, to, amount, ..
            } => vec![
                (*from, amount.centi().saturating_neg()),
                (*to, amount.centi()),
            ],
            ExchangeBody::VouchersIssued {
                account,
                first_serial,
                last_serial,
                denomination,
            } => {
                // A backwards range issues nothing (`Vouchers::issue` agrees).
                let vouchers = if last_serial < first_serial {
                    0
                } else {
                    i64::from(last_serial - first_serial) + 1
                };
                let value = vouchers.saturating_mul(denomination.centi());
                vec![(*account, value.saturating_neg())]
            }
            ExchangeBody::VouchersReturned {
                first_serial,
                last_serial,
                to_account,
            } => {
                let value = self
                    .vouchers
                    .value_of_return(*first_serial, *last_serial, event.date)
                    .unwrap_or(0);
                vec![(*to_account, value)]
            }
            ExchangeBody::Reversal { reversed_seq, .. } => match self.transfers.get(reversed_seq) {
                Some(t) => vec![(t.from, t.amount.centi()), (t.to, -t.amount.centi())],
                None => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    fn check(&self, event: &ExchangeEvent) -> Result<(), ExchangeRule> {
        if event.log != self.log {
            return Err(ExchangeRule::WrongLog(event.log.clone()));
        }
        if event.seq != self.last_seq + 1 {
            return Err(ExchangeRule::OutOfSequence {
                expected: self.last_seq + 1,
            });
        }
        let (Some(terms), Some(opened_on)) = (&self.terms, self.opened_on) else {
            return match &event.body {
                ExchangeBody::ExchangeOpened(terms) => self.check_terms(terms),
                _ => Err(ExchangeRule::NotOpened),
            };
        };
        if event.date < opened_on {
            return Err(ExchangeRule::BeforeOpening {
                date: event.date,
                opened: opened_on,
            });
        }
        self.check_body(event, terms)?;
        for (account, change) in self.changes(event) {
            self.check_limit(account, event.date, change)?;
        }
        Ok(())
    }

    fn check_terms(&self, terms: &ExchangeTerms) -> Result<(), ExchangeRule> {
        if terms.name.trim().is_empty() {
            return Err(ExchangeRule::BadTerms("the exchange needs a name"));
        }
        if terms.unit_name.trim().is_empty() {
            return Err(ExchangeRule::BadTerms(
                "the exchange needs a name for its unit",
            ));
        }
        let rate = terms.rate_per_credit.satang();
        if rate <= 0 || rate > MAX_RATE_SATANG_PER_CREDIT {
            return Err(ExchangeRule::BadTerms(
                "the stated rate must be above zero and at most 10,000 baht a credit",
            ));
        }
        if terms.policy_min_coverage_basis_points > MAX_POLICY_BASIS_POINTS {
            return Err(ExchangeRule::BadTerms(
                "the policy minimum coverage is at most 1000%",
            ));
        }
        if terms.concentration_limit_basis_points == 0
            || terms.concentration_limit_basis_points > 10_000
        {
            return Err(ExchangeRule::BadTerms(
                "the concentration limit is a share of the debit above 0% and at most 100%",
            ));
        }
        let network = terms.reserve_pool.network();
        if network != self.log.tambon() && network != self.log.province() {
            return Err(ExchangeRule::PoolOutsideNetwork {
                pool: terms.reserve_pool.clone(),
                tambon: self.log.tambon().to_string(),
            });
        }
        Ok(())
    }

    fn check_body(&self, event: &ExchangeEvent, terms: &ExchangeTerms) -> Result<(), ExchangeRule> {
        let date = event.date;
        match &event.body {
            ExchangeBody::ExchangeOpened(_) => Err(ExchangeRule::AlreadyOpened),
            ExchangeBody::AccountOpened {
                account,
                credit_limit,
                ..
            } => {
                if account.0 == 0 || account.0 > MAX_ACCOUNT_NO {
                    return Err(ExchangeRule::BadAccountNumber(*account));
                }
                if self.accounts.contains_key(account) {
                    return Err(ExchangeRule::DuplicateAccount(*account));
                }
                check_limit_amount(*credit_limit)
            }
            ExchangeBody::CreditLimitChanged {
                account,
                new_limit,
                approved_by_committee,
                reason,
            } => {
                let a = self.acting(*account, date)?;
                check_limit_amount(*new_limit)?;
                if reason.trim().is_empty() {
                    return Err(ExchangeRule::ReasonRequired("credit-limit change"));
                }
                if let Some((latest, _)) = a.limits.last()
                    && date < *latest
                {
                    return Err(ExchangeRule::LimitChangeBeforeLatest {
                        account: *account,
                        date,
                        latest: *latest,
                    });
                }
                if *new_limit > a.limit && !approved_by_committee {
                    return Err(ExchangeRule::RaiseNeedsCommittee {
                        account: *account,
                        limit: a.limit,
                        new_limit: *new_limit,
                    });
                }
                // The new limit holds from its date on (no limit is dated
                // later): the balance on that date and every later one must
                // be within it.
                let mut balance = a.balance_as_of(date).centi();
                let mut on = date;
                let later = a.dated.partition_point(|(d, _)| *d <= date);
                let mut steps = a.dated[later..].iter().peekable();
                loop {
                    if balance < new_limit.centi().saturating_neg() {
                        return Err(ExchangeRule::LimitBelowDebit {
                            account: *account,
                            new_limit: *new_limit,
                            balance: Credits::from_centi(balance),
                            date: on,
                        });
                    }
                    let Some((next, _)) = steps.peek().copied() else {
                        break;
                    };
                    on = *next;
                    while let Some((_, change)) = steps.next_if(|(d, _)| *d == on) {
                        balance = balance.saturating_add(*change);
                    }
                }
                Ok(())
            }
            ExchangeBody::Transfer {
                from, to, amount, ..
            } => {
                if from == to {
                    return Err(ExchangeRule::SelfTransfer(*from));
                }
                if !amount.is_event_amount() {
                    return Err(ExchangeRule::BadAmount(*amount));
                }
                self.acting(*from, date)?;
                self.acting(*to, date)?;
                Ok(())
            }
            ExchangeBody::VouchersIssued {
                account,
                first_serial,
                last_serial,
                denomination,
            } => {
                let count = vouchers::count(*first_serial, *last_serial)?;
                if !denomination.is_event_amount() {
                    return Err(ExchangeRule::BadAmount(*denomination));
                }
                let value = i64::from(count)
                    .checked_mul(denomination.centi())
                    .filter(|v| *v <= MAX_CREDITS_CENTI)
                    .ok_or(ExchangeRule::BadAmount(*denomination))?;
                debug_assert!(value > 0);
                self.acting(*account, date)?;
                if let Some(serial) = self.vouchers.first_issued_in(*first_serial, *last_serial) {
                    return Err(ExchangeRule::SerialAlreadyIssued(serial));
                }
                Ok(())
            }
            ExchangeBody::VouchersReturned {
                first_serial,
                last_serial,
                to_account,
            } => {
                vouchers::count(*first_serial, *last_serial)?;
                self.vouchers
                    .value_of_return(*first_serial, *last_serial, date)?;
                self.acting(*to_account, date)?;
                Ok(())
            }
            ExchangeBody::AccountClosed { account } => {
                let a = self.acting(*account, date)?;
                self.after_last_activity(*account, a, date)?;
                if a.balance != Credits::ZERO {
                    return Err(ExchangeRule::NotZeroBalance {
                        account: *account,
                        balance: a.balance,
                    });
                }
                Ok(())
            }
            ExchangeBody::AccountDefaulted {
                account,
                written_off,
                settled,
                from_pool,
            } => {
                let a = self.acting(*account, date)?;
                self.after_last_activity(*account, a, date)?;
                if !a.balance.centi().is_negative() {
                    return Err(ExchangeRule::NotInDebit {
                        account: *account,
                        balance: a.balance,
                    });
                }
                let debit = Credits::from_centi(a.balance.centi().saturating_neg());
                if *written_off != debit {
                    return Err(ExchangeRule::WriteOffMismatch {
                        account: *account,
                        debit,
                        written_off: *written_off,
                    });
                }
                if *from_pool != terms.reserve_pool {
                    return Err(ExchangeRule::WrongPool {
                        expected: terms.reserve_pool.clone(),
                        found: from_pool.clone(),
                    });
                }
                let expected = debit
                    .valued_at(terms.rate_per_credit)
                    .ok_or(ExchangeRule::Overflow)?;
                if *settled != expected {
                    return Err(ExchangeRule::SettlementMismatch {
                        written_off: debit,
                        rate: terms.rate_per_credit,
                        expected,
                        settled: *settled,
                    });
                }
                Ok(())
            }
            ExchangeBody::Reversal {
                reversed_seq,
                reason,
            } => {
                if reason.trim().is_empty() {
                    return Err(ExchangeRule::ReasonRequired("reversal"));
                }
                let t = self
                    .transfers
                    .get(reversed_seq)
                    .ok_or(ExchangeRule::UnknownReversalTarget(*reversed_seq))?;
                if self.reversed.contains(reversed_seq) {
                    return Err(ExchangeRule::AlreadyReversed(*reversed_seq));
                }
                if date < t.date {
                    return Err(ExchangeRule::ReversalBeforeOriginal {
                        date,
                        original: t.date,
                    });
                }
                self.acting(t.from, date)?;
                self.acting(t.to, date)?;
                Ok(())
            }
        }
    }

    /// An account is closed or defaulted only after everything recorded on
    /// it, so its balance then is its balance for good.
    fn after_last_activity(
        &self,
        account: AccountNo,
        a: &ExchangeAccount,
        date: Date,
    ) -> Result<(), ExchangeRule> {
        if date < a.last_activity {
            return Err(ExchangeRule::BeforeLastActivity {
                account,
                date,
                last_activity: a.last_activity,
            });
        }
        Ok(())
    }

    /// A decrease of `change` on `date` must leave the balance within the
    /// limit in force on that date and on every later date on which the
    /// balance or the limit changes (all of a date's changes taken before it
    /// is read). In order (nothing dated later) that is today's balance and
    /// limit only; a back-dated change walks the changes dated after it.
    fn check_limit(&self, account: AccountNo, date: Date, change: i64) -> Result<(), ExchangeRule> {
        let a = self.account(account)?;
        // An increase cannot take a balance beyond a limit. (Nor can it
        // overflow in valid books: every positive balance is some account's
        // debit, at most 999,999 limits of 10^12; checked all the same.)
        if change >= 0 {
            return a
                .balance
                .centi()
                .checked_add(change)
                .map(|_| ())
                .ok_or(ExchangeRule::Overflow);
        }
        let later = a.dated.partition_point(|(d, _)| *d <= date);
        let mut balance = a.balance_as_of(date).centi();
        let mut limits = a.limits.partition_point(|(d, _)| *d <= date);
        let mut on = date;
        let mut steps = a.dated[later..].iter().peekable();
        loop {
            let limit = a
                .limits
                .get(limits.saturating_sub(1))
                .map_or(a.limit, |(_, l)| *l);
            let would_be = balance.checked_add(change).ok_or(ExchangeRule::Overflow)?;
            if would_be < limit.centi().saturating_neg() {
                return Err(ExchangeRule::LimitBreached {
                    account,
                    limit,
                    would_be: Credits::from_centi(would_be),
                    date: on,
                });
            }
            let next_balance = steps.peek().map(|(d, _)| *d);
            let next_limit = a.limits.get(limits).map(|(d, _)| *d);
            let Some(next) = next_balance.into_iter().chain(next_limit).min() else {
                return Ok(());
            };
            on = next;
            while let Some((_, c)) = steps.next_if(|(d, _)| *d == on) {
                balance = balance.saturating_add(*c);
            }
            while a.limits.get(limits).is_some_and(|(d, _)| *d == on) {
                limits += 1;
            }
        }
    }

    /// Applies an event already known to be valid (from a verified,
    /// validated log).
    pub fn apply_unchecked(&mut self, event: &ExchangeEvent) {
        let date = event.date;
        // A return credits what it takes out of the outstanding set, below.
        let mut changes = match &event.body {
            ExchangeBody::VouchersReturned { .. } => Vec::new(),
            _ => self.changes(event),
        };
        match &event.body {
            ExchangeBody::ExchangeOpened(terms) => {
                self.terms = Some(terms.clone());
                self.opened_on = Some(date);
            }
            ExchangeBody::AccountOpened {
                account,
                holder,
                credit_limit,
            } => {
                self.accounts.insert(
                    *account,
                    ExchangeAccount {
                        holder: holder.clone(),
                        opened_on: date,
                        status: AccountStatus::Open,
                        balance: Credits::ZERO,
                        limit: *credit_limit,
                        limits: vec![(date, *credit_limit)],
                        dated: Vec::new(),
                        last_activity: date,
                    },
                );
            }
            ExchangeBody::CreditLimitChanged {
                account, new_limit, ..
            } => {
                if let Some(a) = self.accounts.get_mut(account) {
                    a.limit = *new_limit;
                    a.limits.push((date, *new_limit));
                    a.last_activity = a.last_activity.max(date);
                }
            }
            ExchangeBody::Transfer {
                from,
                to,
                amount,
                category,
                ..
            } => {
                self.transfers.insert(
                    event.seq,
                    TransferRecord {
                        date,
                        from: *from,
                        to: *to,
                        amount: *amount,
                        category: *category,
                        reversed_on: None,
                    },
                );
            }
            ExchangeBody::VouchersIssued {
                first_serial,
                last_serial,
                denomination,
                ..
            } => self
                .vouchers
                .issue(*first_serial, *last_serial, *denomination, date),
            ExchangeBody::VouchersReturned {
                first_serial,
                last_serial,
                to_account,
            } => {
                let value = self.vouchers.give_back(*first_serial, *last_serial, date);
                changes.push((*to_account, value));
            }
            ExchangeBody::AccountClosed { account } => {
                if let Some(a) = self.accounts.get_mut(account) {
                    a.status = AccountStatus::Closed { on: date };
                    a.last_activity = a.last_activity.max(date);
                }
            }
            ExchangeBody::AccountDefaulted {
                account,
                written_off,
                settled,
                ..
            } => {
                if let Some(a) = self.accounts.get_mut(account) {
                    a.status = AccountStatus::Defaulted {
                        on: date,
                        written_off: *written_off,
                        settled: *settled,
                    };
                    a.last_activity = a.last_activity.max(date);
                }
            }
            ExchangeBody::Reversal { reversed_seq, .. } => {
                if let Some(t) = self.transfers.get_mut(reversed_seq) {
                    t.reversed_on = Some(date);
                    self.reversed.insert(*reversed_seq);
                }
            }
        }
        for (account, change) in changes {
            if let Some(a) = self.accounts.get_mut(&account) {
                a.balance = Credits::from_centi(a.balance.centi().saturating_add(change));
                insert_dated(&mut a.dated, date, change);
                a.last_activity = a.last_activity.max(date);
            }
        }
        self.last_seq = self.last_seq.max(event.seq);
        self.last_date = Some(self.last_date.map_or(date, |d| d.max(date)));
    }
}

fn check_limit_amount(limit: Credits) -> Result<(), ExchangeRule> {
    if limit.centi() < 0 || limit.centi() > MAX_CREDITS_CENTI {
        return Err(ExchangeRule::BadLimit(limit));
    }
    Ok(())
}
