//! The ledger: a pure, deterministic fold from a group's events to its books.
//!
//! [`Books::apply`] validates an event against the books so far and, only if
//! every rule passes, applies it; a refusal leaves the books exactly as they
//! were. Every event's effect on balances is a [`Delta`] computed from the event
//! alone, so a reversal applies the negated delta of its target, and the books
//! as of a past date are the sum of the deltas of the events dated on or before
//! it ([`Books::apply_unchecked`]).

mod accounts;
mod as_of;
mod benefits;
mod delta;
mod refusal;
mod refusal_th;
mod trial_balance;

use std::collections::{BTreeMap, BTreeSet};

pub use accounts::{Account, Accounts, ExpenseAccount, IncomeAccount, PoolBalances};
pub use as_of::AsOf;
pub use delta::Delta;
pub use refusal::{Refusal, Rule};
pub use refusal_th::benefit_kind_thai;
pub use trial_balance::{TrialBalanceLine, trial_balance_digest};

use crate::chain::Hash;
use crate::checkpoint::PublicKey;
use crate::date::{Date, Month};
use crate::event::{
    BenefitKind, Body, ContributionPeriod, Event, LeaveReason, LoanPlan, Rules, Sex, Source,
};
use crate::ids::{GroupId, LoanNo, MemberNo, PoolId};
use crate::money::{MAX_AMOUNT_SATANG, Money};

/// Facts from the group's `GroupOpened`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Opened {
    pub name: String,
    pub tambon: String,
    pub province: String,
    pub on: Date,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Member {
    pub joined_on: Date,
    pub birth_year: u32,
    pub sex: Sex,
    pub left: Option<(Date, LeaveReason)>,
    pub savings: Money,
    /// The member's own contributions (not matching funds), for eligibility.
    pub contributed: Money,
    /// Sickness nights and amount paid, by year, for the yearly caps.
    pub sickness: BTreeMap<u32, (u32, Money)>,
    /// Death benefits paid for the member and not reversed (at most one
    /// under the business-date rules).
    pub death_benefits: u32,
    /// How many contributions for the member were received for each period
    /// and source and not reversed (a period paid twice needs `extra`).
    pub paid_periods: BTreeMap<(Month, Source), u32>,
}

impl Member {
    pub fn is_active(&self) -> bool {
        self.left.is_none()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Loan {
    pub member: MemberNo,
    pub principal: Money,
    pub monthly_interest_basis_points: u32,
    pub term_months: u32,
    pub guarantors: Vec<MemberNo>,
    pub disbursed_on: Date,
    pub plan: LoanPlan,
    pub principal_repaid: Money,
    pub interest_paid: Money,
    pub written_off: Money,
}

/// How far behind its schedule a loan is on a date.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Arrears {
    /// Principal due by the date and not repaid.
    pub overdue: Money,
    /// Days since the oldest unpaid instalment fell due (0 when not overdue).
    pub days_past_due: u32,
}

impl Loan {
    pub fn outstanding(&self) -> Money {
        self.schedule().outstanding()
    }

    /// What the loan's arrears on any date depend on.
    pub fn schedule(&self) -> LoanSchedule {
        let mut schedule = LoanSchedule {
            principal: self.principal,
            paid: Money::from_satang(self.principal_repaid.satang() + self.written_off.satang()),
            disbursed_on: self.disbursed_on,
            term_months: self.term_months,
            first_unpaid_due_on: self.disbursed_on,
            plan: self.plan,
        };
        schedule.first_unpaid_due_on = match self.plan {
            LoanPlan::EqualInstalments => self.disbursed_on.add_months(schedule.first_unpaid()),
            LoanPlan::PrincipalAtMaturity => self.disbursed_on.add_months(self.term_months),
            LoanPlan::Flexible { final_due } => final_due,
        };
        schedule
    }

    /// Arrears on `date` against the loan's plan.
    pub fn arrears_on(&self, date: Date) -> Arrears {
        self.schedule().arrears_on(date)
    }
}

/// A loan's principal, what was repaid or written off of it, and its
/// plan: all its arrears depend on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LoanSchedule {
    pub principal: Money,
    /// Principal repaid plus written off.
    pub paid: Money,
    pub disbursed_on: Date,
    pub term_months: u32,
    /// When the oldest instalment not covered by what was paid falls due
    /// (for a loan whose principal is due at once, that day): before it the
    /// loan cannot be behind.
    pub first_unpaid_due_on: Date,
    pub plan: LoanPlan,
}

impl LoanSchedule {
    /// The oldest instalment not covered by what was paid (at most the term,
    /// at least 1).
    fn first_unpaid(&self) -> u32 {
        let paid = self.paid.satang();
        let mut k = 1;
        while k < self.term_months && self.scheduled_by_instalment(k) <= paid {
            k += 1;
        }
        k
    }

    pub fn outstanding(&self) -> Money {
        Money::from_satang(self.principal.satang() - self.paid.satang())
    }

    /// Principal scheduled to have been repaid by the end of instalment `k`
    /// (equal monthly instalments; the last takes the remainder).
    fn scheduled_by_instalment(&self, k: u32) -> i64 {
        let k = i64::from(k.min(self.term_months));
        let term = i64::from(self.term_months.max(1));
        self.principal.satang() * k / term
    }

    /// How many instalments fell due on or before `date`: the largest `k` up
    /// to the term with `disbursed_on + k months <= date`. Instalment dates
    /// strictly increase with `k`, so start from the calendar-month distance
    /// and correct by at most a step (a loop of `add_months` per instalment
    /// gives the same answer, slower).
    fn instalments_due_by(&self, date: Date) -> u32 {
        let (y1, m1, _) = self.disbursed_on.ymd();
        let (y2, m2, _) = date.ymd();
        let months = (y2 * 12 + i64::from(m2)) - (y1 * 12 + i64::from(m1));
        if months > i64::from(self.term_months) {
            // The last instalment fell due in an earlier calendar month.
            return self.term_months;
        }
        let mut k = months.clamp(0, i64::from(self.term_months)) as u32;
        while k > 0 && self.disbursed_on.add_months(k) > date {
            k -= 1;
        }
        while k < self.term_months && self.disbursed_on.add_months(k + 1) <= date {
            k += 1;
        }
        k
    }

    /// Arrears on `date` against the loan's plan.
    pub fn arrears_on(&self, date: Date) -> Arrears {
        let outstanding = self.outstanding().satang();
        if outstanding <= 0 {
            return Arrears::default();
        }
        // Before the oldest unpaid instalment falls due, fewer instalments
        // are due than are paid for: nothing is overdue.
        if date < self.first_unpaid_due_on {
            return Arrears::default();
        }
        if self.plan != LoanPlan::EqualInstalments {
            // One due date for the whole principal, and it has passed.
            return Arrears {
                overdue: Money::from_satang(outstanding),
                days_past_due: date.days_since(self.first_unpaid_due_on).max(0) as u32,
            };
        }
        let paid = self.paid.satang();
        let due_count = self.instalments_due_by(date);
        let overdue = (self.scheduled_by_instalment(due_count) - paid).max(0);
        if overdue == 0 {
            return Arrears::default();
        }
        // Overdue means instalment `due_count` is not covered, so the oldest
        // uncovered one is at or before it: `first_unpaid_due_on`.
        let due_on = self.first_unpaid_due_on;
        Arrears {
            overdue: Money::from_satang(overdue),
            days_past_due: date.days_since(due_on).max(0) as u32,
        }
    }
}

/// A `PeriodClosed` event and whether its digest matched the fold.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PeriodClose {
    pub seq: u64,
    pub month: Month,
    pub digest: Hash,
    pub matches: bool,
}

/// A group's books: everything the fold of its log knows.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Books {
    pub group: GroupId,
    pub opened: Option<Opened>,
    pub rules: Rules,
    /// The key named by the latest `KeyRotated`, if any.
    pub rotated_key: Option<PublicKey>,
    pub last_seq: u64,
    pub last_date: Option<Date>,
    pub accounts: Accounts,
    pub members: BTreeMap<MemberNo, Member>,
    pub loans: BTreeMap<LoanNo, Loan>,
    /// Contributions received, by the month of their business date and source.
    pub contributions: BTreeMap<(Month, Source), Money>,
    /// Benefits paid, by month of their business date and kind.
    pub benefits: BTreeMap<(Month, BenefitKind), Money>,
    pub reversed: BTreeSet<u64>,
    pub closes: Vec<PeriodClose>,
    /// Every change to a guarded balance, sorted by business date (log order
    /// within a date): what a back-dated event is checked against, since the
    /// balances as of a later date are today's less the changes dated after it.
    pub dated: Vec<Dated>,
}

/// A balance that must never be negative on any date.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Guard {
    Account(Account),
    /// A loan's principal outstanding.
    Loan(LoanNo),
    /// Not a balance: a marker that the member acted on this date (a member
    /// may not be recorded as having left before their last activity).
    Activity(MemberNo),
}

/// One change to a guarded balance on a business date (normal side, satang).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Dated {
    pub date: Date,
    pub guard: Guard,
    pub change: i64,
}

/// When the stricter business-date rules begin (ARCHITECTURE.md, Decisions):
/// they apply to events whose `recorded_at` (the writer's clock, signed into
/// the event) is at or after 2026-12-07 00:00 UTC. Events recorded before
/// were accepted under the old rules and must keep folding as they did.
pub const DATED_RULES_FROM_UNIX: i64 = 1_796_601_600;

/// Whether `event` is held to the business-date rules.
pub fn dated_rules_apply(event: &Event) -> bool {
    event.recorded_at >= DATED_RULES_FROM_UNIX
}

impl Books {
    pub fn new(group: GroupId) -> Books {
        Books {
            group,
            opened: None,
            rules: Rules::default(),
            rotated_key: None,
            last_seq: 0,
            last_date: None,
            accounts: Accounts::default(),
            members: BTreeMap::new(),
            loans: BTreeMap::new(),
            contributions: BTreeMap::new(),
            benefits: BTreeMap::new(),
            reversed: BTreeSet::new(),
            closes: Vec::new(),
            dated: Vec::new(),
        }
    }

    /// Folds a whole log from the start, validating every event.
    pub fn fold<'a>(
        group: GroupId,
        events: impl IntoIterator<Item = &'a Event>,
    ) -> Result<Books, Refusal> {
        let mut books = Books::new(group);
        let mut by_seq: Vec<&Event> = Vec::new();
        for event in events {
            let original = reversal_target(event)
                .and_then(|seq| by_seq.get(seq.wrapping_sub(1) as usize).copied());
            books.apply(event, original)?;
            by_seq.push(event);
        }
        Ok(books)
    }

    /// The books as of the end of `date`: the events dated on or before it, in
    /// log order, each applied as it was accepted. Events were validated when they
    /// were appended, so none is refused here.
    pub fn fold_as_of<'a>(
        group: GroupId,
        events: impl IntoIterator<Item = &'a Event>,
        date: Date,
    ) -> Books {
        let mut as_of = AsOf::new(group, Some(date));
        let mut by_seq: Vec<&Event> = Vec::new();
        for event in events {
            by_seq.push(event);
            let original = reversal_target(event)
                .and_then(|seq| by_seq.get(seq.wrapping_sub(1) as usize).copied());
            as_of.push(event, original);
        }
        as_of.finish()
    }

    /// Validates `event` and applies it. `original` is the event a `Reversal`
    /// reverses (the caller looks it up by [`reversal_target`]); `None` otherwise.
    pub fn apply(&mut self, event: &Event, original: Option<&Event>) -> Result<(), Refusal> {
        self.check(event, original).map_err(|rule| Refusal {
            group: self.group.clone(),
            seq: event.seq,
            rule,
        })?;
        self.apply_unchecked(event, original);
        Ok(())
    }

    /// Applies an event already known to be valid (from a verified, validated log).
    pub fn apply_unchecked(&mut self, event: &Event, original: Option<&Event>) {
        match (&event.body, original) {
            (Body::Reversal { reversed_seq, .. }, Some(original)) => {
                let delta = Delta::of(original).negated();
                self.apply_delta(&delta);
                self.record_dated(event.date, &delta, original, -1);
                self.undo_state(original);
                self.reversed.insert(*reversed_seq);
            }
            (Body::Reversal { .. }, None) => {}
            _ => {
                self.apply_state(event);
                let delta = Delta::of(event);
                self.apply_delta(&delta);
                self.record_dated(event.date, &delta, event, 1);
            }
        }
        self.last_seq = self.last_seq.max(event.seq);
        self.last_date = Some(self.last_date.map_or(event.date, |d| d.max(event.date)));
    }

    /// Member savings, welfare fund etc. as of now, in trial-balance form.
    pub fn trial_balance(&self) -> Vec<TrialBalanceLine> {
        trial_balance::lines(self)
    }

    /// Free funds a group may pledge as reserve: its welfare fund not yet pledged.
    pub fn free_funds(&self) -> Money {
        self.accounts.welfare_fund
    }

    pub fn active_members(&self) -> usize {
        self.members.values().filter(|m| m.is_active()).count()
    }

    pub fn member(&self, member: MemberNo) -> Result<&Member, Rule> {
        self.members.get(&member).ok_or(Rule::UnknownMember(member))
    }

    fn active_member(&self, member: MemberNo) -> Result<&Member, Rule> {
        let m = self.member(member)?;
        if !m.is_active() {
            return Err(Rule::MemberHasLeft(member));
        }
        Ok(m)
    }

    fn pool(&self, pool: &PoolId) -> PoolBalances {
        self.accounts.pools.get(pool).copied().unwrap_or_default()
    }

    fn check(&self, event: &Event, original: Option<&Event>) -> Result<(), Rule> {
        if event.group != self.group {
            return Err(Rule::WrongGroup(event.group.clone()));
        }
        if event.seq != self.last_seq + 1 {
            return Err(Rule::OutOfSequence {
                expected: self.last_seq + 1,
            });
        }
        let Some(opened) = &self.opened else {
            return match &event.body {
                Body::GroupOpened {
                    tambon, province, ..
                } => {
                    if self.group.tambon() != tambon || self.group.province() != province {
                        return Err(Rule::GroupNotInTambon {
                            group: self.group.clone(),
                            tambon: tambon.clone(),
                            province: province.clone(),
                        });
                    }
                    Ok(())
                }
                _ => Err(Rule::NotOpened),
            };
        };
        if event.date < opened.on {
            return Err(Rule::BeforeOpening {
                date: event.date,
                opened: opened.on,
            });
        }
        let body = self.check_body(event, original);
        let delta = match (&event.body, original) {
            (Body::Reversal { .. }, Some(original)) => Delta::of(original).negated(),
            _ => Delta::of(event),
        };
        let dated = dated_rules_apply(event);
        // In order (dated on or after every earlier event) there is no later
        // date to break: today's balances are the whole check.
        let back_dated = dated && self.last_date.is_some_and(|last| event.date < last);
        if back_dated && matches!(&body, Err(rule) if rule.is_about_a_balance()) {
            // Today's balance is one of the dates the dated check reads; its
            // refusal names the earliest date that breaks, which is what the
            // treasurer who back-dated an entry needs to see.
            self.check_later_dates(event, &delta)?;
        }
        body?;
        self.check_balances(&delta)?;
        if dated {
            self.check_acting_dates(event)?;
            if back_dated {
                self.check_later_dates(event, &delta)?;
            }
        }
        Ok(())
    }

    /// Appends the guarded changes of a delta on `date`, keeping `dated`
    /// sorted by date. In order this is only pushes (no allocation beyond
    /// the vector's growth); a back-dated event's changes are rotated in
    /// after the changes already on its date.
    /// `event` is the event whose delta this is (for a reversal, its target,
    /// with `sign` -1: it gives back the target's loan and marks no activity).
    fn record_dated(&mut self, date: Date, delta: &Delta, event: &Event, sign: i64) {
        let in_order = self.dated.last().is_none_or(|last| last.date <= date);
        let start = self.dated.len();
        let mut push = |guard: Guard, change: i64| {
            self.dated.push(Dated {
                date,
                guard,
                change,
            })
        };
        for (account, debit) in &delta.postings {
            if account.must_stay_non_negative() {
                let signed = if account.is_debit_normal() {
                    *debit
                } else {
                    -*debit
                };
                push(Guard::Account(account.clone()), signed);
            }
        }
        loan_changes(delta, event, sign, &mut push);
        if sign > 0 {
            for_each_acting_member(event, |m| push(Guard::Activity(m), 0));
        }
        if !in_order {
            let at = self.dated[..start].partition_point(|d| d.date <= date);
            let added = self.dated.len() - start;
            self.dated[at..].rotate_right(added);
        }
    }

    /// A monthly or yearly contribution for a period the member (from the
    /// same source) already paid is refused unless the treasurer marked it
    /// `extra`. Daily and weekly contributions come many to a month, so
    /// their months are not checked. Only under the business-date rules:
    /// older logs may hold such payments and must keep folding.
    fn check_not_paid_twice(
        &self,
        event: &Event,
        member: MemberNo,
        m: &Member,
    ) -> Result<(), Rule> {
        let Body::ContributionReceived {
            period,
            source,
            extra: false,
            ..
        } = &event.body
        else {
            return Ok(());
        };
        if !dated_rules_apply(event) {
            return Ok(());
        }
        let paid = match self.rules.contribution_period {
            ContributionPeriod::Monthly => m.paid_periods.contains_key(&(*period, *source)),
            ContributionPeriod::Yearly => m
                .paid_periods
                .keys()
                .any(|(p, s)| s == source && p.year() == period.year()),
            ContributionPeriod::Daily | ContributionPeriod::Weekly => false,
        };
        if paid {
            return Err(Rule::PeriodAlreadyPaid {
                member,
                period: *period,
            });
        }
        Ok(())
    }

    /// A member acts only on or after joining; a loan is repaid or written
    /// off only on or after its disbursement.
    fn check_acting_dates(&self, event: &Event) -> Result<(), Rule> {
        let mut early = None;
        for_each_acting_member(event, |member| {
            if let Some(m) = self.members.get(&member)
                && event.date < m.joined_on
                && early.is_none()
            {
                early = Some(Rule::BeforeJoining {
                    member,
                    date: event.date,
                    joined: m.joined_on,
                });
            }
        });
        if let Some(rule) = early {
            return Err(rule);
        }
        if let Body::LoanRepaid { loan, .. } | Body::LoanWrittenOff { loan, .. } = &event.body
            && let Some(l) = self.loans.get(loan)
            && event.date < l.disbursed_on
        {
            return Err(Rule::BeforeLoan {
                loan: *loan,
                date: event.date,
                disbursed: l.disbursed_on,
            });
        }
        Ok(())
    }

    /// For a back-dated event: no guarded balance may be negative on its
    /// date or any later date, and a member may not leave before acting.
    /// Only the changes dated after the event are read.
    fn check_later_dates(&self, event: &Event, delta: &Delta) -> Result<(), Rule> {
        let date = event.date;
        let later = &self.dated[self.dated.partition_point(|d| d.date <= date)..];
        if let Body::MemberLeft { member, .. } = &event.body
            && let Some(after) = later.iter().find(|d| {
                matches!(&d.guard, Guard::Activity(m) | Guard::Account(Account::MemberSavings(m)) if m == member)
            })
        {
            return Err(Rule::LeftBeforeActivity {
                member: *member,
                date,
                active_on: after.date,
            });
        }
        let mut changes: Vec<(Guard, i64)> = Vec::new();
        for (account, debit) in delta.merged_postings() {
            if account.must_stay_non_negative() {
                let signed = if account.is_debit_normal() {
                    debit
                } else {
                    -debit
                };
                changes.push((Guard::Account(account), signed));
            }
        }
        // A reversal's delta is its target's negated; a reversed disbursement
        // only lowers a loan that is then removed, so it cannot go negative.
        loan_changes(delta, event, 1, &mut |guard, change| {
            changes.push((guard, change))
        });
        for (guard, change) in changes {
            // Only a decrease can take a balance below zero.
            if change >= 0 {
                continue;
            }
            let now = self.guarded(&guard);
            let after: i64 = later
                .iter()
                .filter(|d| d.guard == guard)
                .map(|d| d.change)
                .sum();
            // The balance as of `date`, then as of each later date it changes
            // (all of a date's changes taken before it is read).
            let mut running = now - after;
            let mut on = date;
            let mut i = 0;
            loop {
                let would_be = running.checked_add(change).ok_or(Rule::Overflow)?;
                if would_be < 0 {
                    return Err(Rule::NegativeOn {
                        balance: guard_name(&guard),
                        would_be: Money::from_satang(would_be),
                        date: on,
                    });
                }
                let Some(next) = later[i..].iter().position(|d| d.guard == guard) else {
                    break;
                };
                i += next;
                on = later[i].date;
                while i < later.len() && later[i].date == on {
                    if later[i].guard == guard {
                        running += later[i].change;
                    }
                    i += 1;
                }
            }
        }
        Ok(())
    }

    /// Today's value of a guarded balance.
    fn guarded(&self, guard: &Guard) -> i64 {
        match guard {
            Guard::Account(account) => self.balance(account).satang(),
            Guard::Loan(loan) => self.loans.get(loan).map_or(0, |l| l.outstanding().satang()),
            Guard::Activity(_) => 0,
        }
    }

    fn check_body(&self, event: &Event, original: Option<&Event>) -> Result<(), Rule> {
        match &event.body {
            Body::GroupOpened { .. } => Err(Rule::AlreadyOpened),
            Body::RulesChanged(_) | Body::KeyRotated { .. } => Ok(()),
            Body::MemberJoined {
                member, birth_year, ..
            } => {
                if self.members.contains_key(member) {
                    return Err(Rule::DuplicateMember(*member));
                }
                if *birth_year < 1900 || *birth_year > event.date.year() {
                    return Err(Rule::ImplausibleBirthYear(*birth_year));
                }
                Ok(())
            }
            Body::MemberLeft {
                member,
                savings_refund,
                ..
            } => {
                let m = self.active_member(*member)?;
                if *savings_refund != m.savings {
                    return Err(Rule::RefundMustEqualSavings {
                        member: *member,
                        savings: m.savings,
                        refund: *savings_refund,
                    });
                }
                Ok(())
            }
            Body::ContributionReceived {
                member,
                amount,
                source,
                ..
            } => {
                positive(*amount)?;
                match (member, source) {
                    (None, Source::Member) => Err(Rule::ContributionWithoutMember),
                    (Some(m), _) => {
                        let paid = self.active_member(*m)?;
                        self.check_not_paid_twice(event, *m, paid)
                    }
                    (None, _) => Ok(()),
                }
            }
            Body::SavingsDeposited { member, amount, .. } => {
                positive(*amount)?;
                self.active_member(*member).map(|_| ())
            }
            Body::SavingsWithdrawn { member, amount, .. } => {
                positive(*amount)?;
                let m = self.active_member(*member)?;
                if *amount > m.savings {
                    return Err(Rule::SavingsOverdrawn {
                        member: *member,
                        savings: m.savings,
                        asked: *amount,
                    });
                }
                Ok(())
            }
            Body::IncomeReceived { amount, .. } | Body::ExpensePaid { amount, .. } => {
                positive(*amount)
            }
            Body::CashBanked { amount } | Body::CashDrawn { amount } => positive(*amount),
            Body::DividendPaid { lines, .. } => {
                let mut seen = BTreeSet::new();
                let mut total: i64 = 0;
                if lines.is_empty() {
                    return Err(Rule::BadDividendLines);
                }
                for (member, amount) in lines {
                    positive(*amount)?;
                    self.active_member(*member)?;
                    if !seen.insert(*member) {
                        return Err(Rule::BadDividendLines);
                    }
                    total += amount.satang();
                }
                let surplus = self.accounts.surplus();
                if total > surplus.satang() {
                    return Err(Rule::DividendBeyondSurplus {
                        surplus,
                        asked: Money::from_satang(total),
                    });
                }
                Ok(())
            }
            Body::BenefitPaid { .. } => benefits::check(self, event),
            Body::LoanDisbursed {
                loan,
                member,
                principal,
                monthly_interest_basis_points,
                term_months,
                guarantors,
                plan,
                ..
            } => {
                positive(*principal)?;
                if self.loans.contains_key(loan) {
                    return Err(Rule::DuplicateLoan(*loan));
                }
                self.active_member(*member)?;
                if !(1..=360).contains(term_months) {
                    return Err(Rule::BadTerm(*term_months));
                }
                if let LoanPlan::Flexible { final_due } = plan
                    && *final_due <= event.date
                {
                    return Err(Rule::FinalDueNotAfterDisbursement {
                        loan: *loan,
                        final_due: *final_due,
                        disbursed: event.date,
                    });
                }
                if *monthly_interest_basis_points > 10_000 {
                    return Err(Rule::BadInterestRate(*monthly_interest_basis_points));
                }
                let mut seen = BTreeSet::new();
                for g in guarantors {
                    if g == member || !seen.insert(*g) || self.active_member(*g).is_err() {
                        return Err(Rule::BadGuarantor(*g));
                    }
                }
                Ok(())
            }
            Body::LoanRepaid {
                loan,
                principal,
                interest,
                ..
            } => {
                non_negative(*principal)?;
                non_negative(*interest)?;
                positive(Money::from_satang(principal.satang() + interest.satang()))?;
                let l = self.loans.get(loan).ok_or(Rule::UnknownLoan(*loan))?;
                if *principal > l.outstanding() {
                    return Err(Rule::RepaymentBeyondOwed {
                        loan: *loan,
                        owed: l.outstanding(),
                        asked: *principal,
                    });
                }
                Ok(())
            }
            Body::LoanWrittenOff { loan, principal } => {
                positive(*principal)?;
                let l = self.loans.get(loan).ok_or(Rule::UnknownLoan(*loan))?;
                if *principal != l.outstanding() {
                    return Err(Rule::WriteOffMismatch {
                        loan: *loan,
                        outstanding: l.outstanding(),
                        asked: *principal,
                    });
                }
                Ok(())
            }
            Body::PoolDeposited { amount, .. } | Body::PoolLoanReceived { amount, .. } => {
                positive(*amount)
            }
            Body::PoolWithdrawn { pool, amount, .. } => {
                positive(*amount)?;
                let deposited = self.pool(pool).deposits;
                if *amount > deposited {
                    return Err(Rule::BeyondPoolDeposit {
                        pool: pool.clone(),
                        deposited,
                        asked: *amount,
                    });
                }
                Ok(())
            }
            Body::ReservePledged { amount, .. } => {
                positive(*amount)?;
                let free = self.free_funds();
                if *amount > free {
                    return Err(Rule::PledgeBeyondFreeFunds {
                        free,
                        asked: *amount,
                    });
                }
                Ok(())
            }
            Body::ReserveReleased { pool, amount } => {
                positive(*amount)?;
                let pledged = self.pool(pool).reserve_pledged;
                if *amount > pledged {
                    return Err(Rule::ReleaseBeyondPledge {
                        pool: pool.clone(),
                        pledged,
                        asked: *amount,
                    });
                }
                Ok(())
            }
            Body::ReserveDrawn {
                pool,
                amount,
                exchange,
                ..
            } => {
                positive(*amount)?;
                let pledged = self.pool(pool).reserve_pledged;
                if *amount > pledged {
                    return Err(Rule::DrawBeyondPledge {
                        pool: pool.clone(),
                        exchange: exchange.clone(),
                        pledged,
                        asked: *amount,
                    });
                }
                Ok(())
            }
            Body::PoolLoanRepaid {
                pool,
                principal,
                interest,
                ..
            } => {
                non_negative(*principal)?;
                non_negative(*interest)?;
                positive(Money::from_satang(principal.satang() + interest.satang()))?;
                let owed = self.pool(pool).loans_payable;
                if *principal > owed {
                    return Err(Rule::PoolRepaymentBeyondOwed {
                        pool: pool.clone(),
                        owed,
                        asked: *principal,
                    });
                }
                Ok(())
            }
            Body::Reversal {
                reversed_seq,
                reason,
            } => self.check_reversal(event, *reversed_seq, reason, original),
            Body::PeriodClosed { month, .. } => {
                if let Some(last) = self.closes.last()
                    && *month <= last.month
                {
                    return Err(Rule::PeriodAlreadyClosed {
                        month: *month,
                        closed: last.month,
                    });
                }
                Ok(())
            }
        }
    }

    fn check_reversal(
        &self,
        event: &Event,
        target: u64,
        reason: &str,
        original: Option<&Event>,
    ) -> Result<(), Rule> {
        if reason.trim().is_empty() {
            return Err(Rule::ReasonRequired("reversal"));
        }
        let original = match original {
            Some(o)
                if target >= 1
                    && target < event.seq
                    && o.seq == target
                    && o.group == self.group =>
            {
                o
            }
            _ => return Err(Rule::UnknownReversalTarget(target)),
        };
        if self.reversed.contains(&target) {
            return Err(Rule::AlreadyReversed(target));
        }
        if event.date < original.date {
            return Err(Rule::ReversalBeforeOriginal {
                date: event.date,
                original: original.date,
            });
        }
        match &original.body {
            Body::GroupOpened { .. }
            | Body::RulesChanged(_)
            | Body::Reversal { .. }
            | Body::PeriodClosed { .. }
            | Body::KeyRotated { .. } => Err(Rule::NotReversible {
                target,
                kind: original.body.kind(),
            }),
            Body::MemberJoined { member, .. } => {
                let m = self.member(*member)?;
                let has_loans = self
                    .loans
                    .values()
                    .any(|l| l.member == *member || l.guarantors.contains(member));
                if m.savings.is_positive()
                    || m.contributed.is_positive()
                    || has_loans
                    || !m.is_active()
                {
                    return Err(Rule::MemberHasActivity(*member));
                }
                Ok(())
            }
            Body::LoanDisbursed { loan, .. } => {
                let l = self.loans.get(loan).ok_or(Rule::UnknownLoan(*loan))?;
                if l.principal_repaid.is_positive()
                    || l.interest_paid.is_positive()
                    || l.written_off.is_positive()
                {
                    return Err(Rule::LoanHasActivity(*loan));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Refuses a delta that would take a guarded balance below zero or overflow.
    fn check_balances(&self, delta: &Delta) -> Result<(), Rule> {
        for (account, debit) in delta.merged_postings() {
            let current = self.balance(&account).satang();
            let signed = if account.is_debit_normal() {
                debit
            } else {
                -debit
            };
            let would_be = current.checked_add(signed).ok_or(Rule::Overflow)?;
            if would_be < 0 && account.must_stay_non_negative() {
                return Err(Rule::WouldOverdraw {
                    account: account.name(),
                    would_be: Money::from_satang(would_be),
                });
            }
        }
        Ok(())
    }

    /// The natural (normal-side) balance of an account.
    pub fn balance(&self, account: &Account) -> Money {
        let a = &self.accounts;
        match account {
            Account::Cash => a.cash,
            Account::Bank => a.bank,
            Account::LoansReceivable => a.loans_receivable,
            Account::PoolDeposits(p) => self.pool(p).deposits,
            Account::MemberSavings(m) => self.members.get(m).map_or(Money::ZERO, |m| m.savings),
            Account::PoolLoansPayable(p) => self.pool(p).loans_payable,
            Account::WelfareFund => a.welfare_fund,
            Account::ReservePledged(p) => self.pool(p).reserve_pledged,
            Account::Income(k) => a.income.get(k).copied().unwrap_or_default(),
            Account::Expense(k) => a.expenses.get(k).copied().unwrap_or_default(),
            Account::Dividends => a.dividends,
        }
    }

    fn apply_delta(&mut self, delta: &Delta) {
        for (account, debit) in &delta.postings {
            let signed = if account.is_debit_normal() {
                *debit
            } else {
                -*debit
            };
            let add = |m: &mut Money| *m = Money::from_satang(m.satang() + signed);
            let a = &mut self.accounts;
            match account {
                Account::Cash => add(&mut a.cash),
                Account::Bank => add(&mut a.bank),
                Account::LoansReceivable => add(&mut a.loans_receivable),
                Account::PoolDeposits(p) => {
                    add(&mut a.pools.entry(p.clone()).or_default().deposits)
                }
                Account::MemberSavings(m) => {
                    add(&mut a.member_savings);
                    if let Some(member) = self.members.get_mut(m) {
                        add(&mut member.savings);
                    }
                }
                Account::PoolLoansPayable(p) => {
                    add(&mut a.pools.entry(p.clone()).or_default().loans_payable)
                }
                Account::WelfareFund => add(&mut a.welfare_fund),
                Account::ReservePledged(p) => {
                    add(&mut a.pools.entry(p.clone()).or_default().reserve_pledged)
                }
                Account::Income(k) => add(a.income.entry(*k).or_default()),
                Account::Expense(k) => add(a.expenses.entry(*k).or_default()),
                Account::Dividends => add(&mut a.dividends),
            }
        }
        let add_to = |m: &mut Money, by: i64| *m = Money::from_satang(m.satang() + by);
        if let Some((member, amount)) = delta.contributed
            && let Some(m) = self.members.get_mut(&member)
        {
            add_to(&mut m.contributed, amount);
        }
        if let Some((month, source, amount)) = delta.contribution {
            add_to(
                self.contributions.entry((month, source)).or_default(),
                amount,
            );
        }
        if let Some((month, kind, amount)) = delta.benefit {
            add_to(self.benefits.entry((month, kind)).or_default(), amount);
        }
        if let Some((member, year, nights, amount)) = delta.sickness
            && let Some(m) = self.members.get_mut(&member)
        {
            let entry = m.sickness.entry(year).or_insert((0, Money::ZERO));
            entry.0 = (i64::from(entry.0) + nights).max(0) as u32;
            add_to(&mut entry.1, amount);
        }
        if let Some((loan, principal, interest)) = &delta.loan_repaid
            && let Some(l) = self.loans.get_mut(loan)
        {
            {
                add_to(&mut l.principal_repaid, *principal);
                add_to(&mut l.interest_paid, *interest);
            }
        }
        if let Some((loan, amount)) = delta.written_off
            && let Some(l) = self.loans.get_mut(&loan)
        {
            add_to(&mut l.written_off, amount);
        }
    }

    /// The non-monetary effect of an event: who is a member, which loans exist.
    fn apply_state(&mut self, event: &Event) {
        match &event.body {
            Body::GroupOpened {
                name,
                tambon,
                province,
            } => {
                self.opened = Some(Opened {
                    name: name.clone(),
                    tambon: tambon.clone(),
                    province: province.clone(),
                    on: event.date,
                });
            }
            Body::RulesChanged(rules) => self.rules = rules.clone(),
            Body::KeyRotated { new_key, .. } => self.rotated_key = Some(*new_key),
            Body::ContributionReceived {
                member: Some(member),
                period,
                source,
                ..
            } => {
                if let Some(m) = self.members.get_mut(member) {
                    *m.paid_periods.entry((*period, *source)).or_default() += 1;
                }
            }
            Body::MemberJoined {
                member,
                birth_year,
                sex,
            } => {
                self.members.insert(
                    *member,
                    Member {
                        joined_on: event.date,
                        birth_year: *birth_year,
                        sex: *sex,
                        left: None,
                        savings: Money::ZERO,
                        contributed: Money::ZERO,
                        sickness: BTreeMap::new(),
                        death_benefits: 0,
                        paid_periods: BTreeMap::new(),
                    },
                );
            }
            Body::MemberLeft { member, reason, .. } => {
                if let Some(m) = self.members.get_mut(member) {
                    m.left = Some((event.date, *reason));
                }
            }
            Body::BenefitPaid {
                member,
                kind: BenefitKind::Death,
                ..
            } => {
                if let Some(m) = self.members.get_mut(member) {
                    m.death_benefits += 1;
                }
            }
            Body::LoanDisbursed {
                loan,
                member,
                principal,
                monthly_interest_basis_points,
                term_months,
                guarantors,
                plan,
                ..
            } => {
                self.loans.insert(
                    *loan,
                    Loan {
                        member: *member,
                        principal: *principal,
                        monthly_interest_basis_points: *monthly_interest_basis_points,
                        term_months: *term_months,
                        guarantors: guarantors.clone(),
                        disbursed_on: event.date,
                        plan: *plan,
                        principal_repaid: Money::ZERO,
                        interest_paid: Money::ZERO,
                        written_off: Money::ZERO,
                    },
                );
            }
            Body::PeriodClosed {
                month,
                trial_balance_digest,
            } => {
                let matches = *trial_balance_digest == trial_balance_digest_of(self);
                self.closes.push(PeriodClose {
                    seq: event.seq,
                    month: *month,
                    digest: *trial_balance_digest,
                    matches,
                });
            }
            Body::ReserveDrawn { pool, amount, .. } => {
                self.accounts
                    .pools
                    .entry(pool.clone())
                    .or_default()
                    .drawn(*amount);
            }
            _ => {}
        }
    }

    /// Undoes [`Books::apply_state`] for a reversed event (after its delta).
    fn undo_state(&mut self, original: &Event) {
        match &original.body {
            Body::MemberJoined { member, .. } => {
                self.members.remove(member);
            }
            Body::MemberLeft { member, .. } => {
                if let Some(m) = self.members.get_mut(member) {
                    m.left = None;
                }
            }
            Body::LoanDisbursed { loan, .. } => {
                self.loans.remove(loan);
            }
            Body::ContributionReceived {
                member: Some(member),
                period,
                source,
                ..
            } => {
                if let Some(m) = self.members.get_mut(member)
                    && let Some(count) = m.paid_periods.get_mut(&(*period, *source))
                {
                    *count -= 1;
                    if *count == 0 {
                        m.paid_periods.remove(&(*period, *source));
                    }
                }
            }
            Body::BenefitPaid {
                member,
                kind: BenefitKind::Death,
                ..
            } => {
                if let Some(m) = self.members.get_mut(member) {
                    m.death_benefits = m.death_benefits.saturating_sub(1);
                }
            }
            Body::ReserveDrawn { pool, amount, .. } => {
                let undone = Money::from_satang(amount.satang().saturating_neg());
                self.accounts
                    .pools
                    .entry(pool.clone())
                    .or_default()
                    .drawn(undone);
            }
            _ => {}
        }
    }
}

/// Calls `f` for each member an event acts for (who must have joined by its
/// date); a callback, not a vector, so the in-order path allocates nothing.
fn for_each_acting_member(event: &Event, mut f: impl FnMut(MemberNo)) {
    match &event.body {
        Body::ContributionReceived {
            member: Some(m), ..
        }
        | Body::SavingsDeposited { member: m, .. }
        | Body::SavingsWithdrawn { member: m, .. }
        | Body::BenefitPaid { member: m, .. }
        | Body::MemberLeft { member: m, .. } => f(*m),
        Body::DividendPaid { lines, .. } => lines.iter().for_each(|(m, _)| f(*m)),
        Body::LoanDisbursed {
            member, guarantors, ..
        } => {
            f(*member);
            guarantors.iter().for_each(|g| f(*g));
        }
        _ => {}
    }
}

/// Changes to loans' principal outstanding: a disbursement (`event` itself,
/// times `sign`: -1 when it is being reversed), repayments and write-offs
/// (from the delta, so a reversal's negated delta gives them back).
fn loan_changes(delta: &Delta, event: &Event, sign: i64, push: &mut impl FnMut(Guard, i64)) {
    if let Body::LoanDisbursed {
        loan, principal, ..
    } = &event.body
    {
        push(Guard::Loan(*loan), sign * principal.satang());
    }
    if let Some((loan, principal, _)) = delta.loan_repaid
        && principal != 0
    {
        push(Guard::Loan(loan), -principal);
    }
    if let Some((loan, amount)) = delta.written_off {
        push(Guard::Loan(loan), -amount);
    }
}

/// How a refusal names a guarded balance: "savings of member 1", "cash".
fn guard_name(guard: &Guard) -> String {
    match guard {
        Guard::Account(Account::MemberSavings(m)) => format!("savings of member {m}"),
        Guard::Account(Account::WelfareFund) => "the welfare fund".into(),
        Guard::Account(Account::ReservePledged(p)) => format!("the reserve pledged to pool {p}"),
        Guard::Account(account) => account.name(),
        Guard::Loan(loan) => format!("the principal outstanding on loan {loan}"),
        Guard::Activity(m) => format!("member {m}"),
    }
}

fn trial_balance_digest_of(books: &Books) -> Hash {
    trial_balance_digest(&books.trial_balance())
}

/// How far past its own "today" a writer or a hub accepts a business date:
/// one day, for a Pi's clock and the time zone's edge.
pub const FUTURE_TOLERANCE_DAYS: u32 = 1;

/// Refuses an event dated after `today` (plus the tolerance). Not part of
/// [`Books::apply`], which is a pure fold replayed forever: what "today" is
/// belongs to whoever admits the event — the node as it writes, each hub as
/// it accepts — and an event refused now is accepted once its day comes.
pub fn check_not_future(event: &Event, today: Date) -> Result<(), Refusal> {
    let latest = today.add_days(FUTURE_TOLERANCE_DAYS);
    if event.date > latest {
        return Err(Refusal {
            group: event.group.clone(),
            seq: event.seq,
            rule: Rule::FutureDate {
                date: event.date,
                latest,
            },
        });
    }
    Ok(())
}

/// The sequence number a `Reversal` reverses, which the caller must look up and
/// pass to [`Books::apply`].
pub fn reversal_target(event: &Event) -> Option<u64> {
    match event.body {
        Body::Reversal { reversed_seq, .. } => Some(reversed_seq),
        _ => None,
    }
}

fn positive(amount: Money) -> Result<(), Rule> {
    if !amount.is_positive() {
        return Err(Rule::NonPositiveAmount(amount));
    }
    if amount.satang() > MAX_AMOUNT_SATANG {
        return Err(Rule::AmountTooLarge(amount));
    }
    Ok(())
}

fn non_negative(amount: Money) -> Result<(), Rule> {
    if amount.satang() < 0 {
        return Err(Rule::NonPositiveAmount(amount));
    }
    if amount.satang() > MAX_AMOUNT_SATANG {
        return Err(Rule::AmountTooLarge(amount));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The direct count of instalments due equals the step-by-step one.
        #[test]
        fn instalments_due_by_counts_like_stepping_month_by_month(
            disbursed in 0u32..40_000,
            later in 0u32..2_000,
            term in 0u32..120,
        ) {
            let loan = Loan {
                member: MemberNo(1),
                principal: Money::from_baht(1_000),
                monthly_interest_basis_points: 100,
                term_months: term,
                guarantors: Vec::new(),
                disbursed_on: Date::from_days(disbursed).unwrap(),
                plan: LoanPlan::EqualInstalments,
                principal_repaid: Money::ZERO,
                interest_paid: Money::ZERO,
                written_off: Money::ZERO,
            }
            .schedule();
            let date = Date::from_days(disbursed + later).unwrap();
            let mut stepped = 0;
            while stepped < term && loan.disbursed_on.add_months(stepped + 1) <= date {
                stepped += 1;
            }
            prop_assert_eq!(loan.instalments_due_by(date), stepped);
        }

        /// Arrears equal the plain definition: count the instalments due
        /// month by month, then find the oldest one not covered.
        #[test]
        fn arrears_equal_the_month_by_month_definition(
            disbursed in 0u32..40_000,
            later in 0u32..3_000,
            term in 0u32..60,
            principal in 1i64..10_000_000,
            repaid_per_mille in 0i64..1_100,
            written_off in 0i64..50_000,
        ) {
            let loan = Loan {
                member: MemberNo(1),
                principal: Money::from_satang(principal),
                monthly_interest_basis_points: 100,
                term_months: term,
                guarantors: Vec::new(),
                disbursed_on: Date::from_days(disbursed).unwrap(),
                plan: LoanPlan::EqualInstalments,
                principal_repaid: Money::from_satang(principal * repaid_per_mille / 1_000),
                interest_paid: Money::ZERO,
                written_off: Money::from_satang(written_off),
            };
            let date = Date::from_days(disbursed + later).unwrap();
            let scheduled = |k: u32| {
                principal * i64::from(k.min(term)) / i64::from(term.max(1))
            };
            let outstanding = loan.outstanding().satang();
            let paid = principal - outstanding;
            let expected = if outstanding <= 0 {
                Arrears::default()
            } else {
                let mut due = 0;
                while due < term && loan.disbursed_on.add_months(due + 1) <= date {
                    due += 1;
                }
                let overdue = (scheduled(due) - paid).max(0);
                if overdue == 0 {
                    Arrears::default()
                } else {
                    let mut first = 1;
                    while first < due && scheduled(first) <= paid {
                        first += 1;
                    }
                    Arrears {
                        overdue: Money::from_satang(overdue),
                        days_past_due: date
                            .days_since(loan.disbursed_on.add_months(first))
                            .max(0) as u32,
                    }
                }
            };
            prop_assert_eq!(loan.arrears_on(date), expected);
        }
    }
}
