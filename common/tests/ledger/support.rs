//! Builders shared by every test module: ids, dates, money, event bodies, a log
//! that folds as it grows, the one refusal check and the balance invariants.

use std::collections::BTreeMap;

use sajja_common::event::{
    BenefitKind, Channel, ExpenseKind, IncomeKind, LeaveReason, Rules, Sex, Source,
};
use sajja_common::ledger::{Refusal, reversal_target, trial_balance_digest};
use sajja_common::{Body, Books, Date, Event, GroupId, LoanNo, MemberNo, Money, Month, PoolId};

pub const GROUP: &str = "230101-007";
/// The day every standard test group opens (2024 is a leap year).
pub const OPENED_ON: &str = "2024-01-01";

pub fn group() -> GroupId {
    GroupId::parse(GROUP).unwrap()
}

pub fn other_group() -> GroupId {
    GroupId::parse("230101-008").unwrap()
}

pub fn d(text: &str) -> Date {
    text.parse().unwrap()
}

pub fn month(text: &str) -> Month {
    text.parse().unwrap()
}

pub fn baht(amount: i64) -> Money {
    Money::from_baht(amount)
}

pub fn satang(amount: i64) -> Money {
    Money::from_satang(amount)
}

pub fn pool(text: &str) -> PoolId {
    PoolId::parse(text).unwrap()
}

pub fn m(number: u32) -> MemberNo {
    MemberNo(number)
}

pub fn event(group: GroupId, seq: u64, date: Date, body: Body) -> Event {
    Event {
        group,
        seq,
        date,
        recorded_at: 1_700_000_000 + i64::try_from(seq).unwrap(),
        body,
    }
}

/// `event` as recorded after the business-date rules began (see
/// `DATED_RULES_FROM_UNIX`); `event` builds the old rules' recordings.
pub fn dated_rules(mut event: Event) -> Event {
    event.recorded_at =
        sajja_common::ledger::DATED_RULES_FROM_UNIX + i64::try_from(event.seq).unwrap();
    event
}

// ---- event bodies ----

pub fn group_opened() -> Body {
    Body::GroupOpened {
        name: "กลุ่มสัจจะบ้านหนองบัว".into(),
        tambon: "230101".into(),
        province: "23".into(),
    }
}

pub fn joined(member: u32, birth_year: u32) -> Body {
    Body::MemberJoined {
        member: m(member),
        birth_year,
        sex: Sex::Unstated,
    }
}

pub fn left(member: u32, reason: LeaveReason, savings_refund: Money) -> Body {
    Body::MemberLeft {
        member: m(member),
        reason,
        savings_refund,
        channel: Channel::Cash,
    }
}

pub fn contribution(
    member: Option<u32>,
    amount: Money,
    source: Source,
    channel: Channel,
    period: Month,
) -> Body {
    Body::ContributionReceived {
        member: member.map(MemberNo),
        amount,
        period,
        source,
        channel,
        extra: false,
    }
}

/// A member's own contribution in cash, for January 2024.
pub fn contributes(member: u32, amount: Money) -> Body {
    contribution(
        Some(member),
        amount,
        Source::Member,
        Channel::Cash,
        month("2024-01"),
    )
}

pub fn deposit(member: u32, amount: Money) -> Body {
    Body::SavingsDeposited {
        member: m(member),
        amount,
        channel: Channel::Cash,
    }
}

pub fn withdraw(member: u32, amount: Money) -> Body {
    Body::SavingsWithdrawn {
        member: m(member),
        amount,
        channel: Channel::Cash,
    }
}

pub fn income(kind: IncomeKind, amount: Money, channel: Channel) -> Body {
    Body::IncomeReceived {
        kind,
        amount,
        channel,
    }
}

pub fn expense(kind: ExpenseKind, amount: Money, channel: Channel) -> Body {
    Body::ExpensePaid {
        kind,
        amount,
        channel,
    }
}

pub fn dividend(year: u32, lines: &[(u32, Money)]) -> Body {
    Body::DividendPaid {
        year,
        lines: lines.iter().map(|(n, a)| (m(*n), *a)).collect(),
    }
}

/// A benefit the rules must allow (no committee override).
pub fn benefit(member: u32, kind: BenefitKind, amount: Money, nights: u32) -> Body {
    Body::BenefitPaid {
        member: m(member),
        kind,
        amount,
        nights,
        committee_override: false,
        override_reason: String::new(),
        channel: Channel::Cash,
    }
}

/// A benefit paid by the committee's decision, outside the rules.
pub fn overridden(member: u32, kind: BenefitKind, amount: Money, reason: &str) -> Body {
    Body::BenefitPaid {
        member: m(member),
        kind,
        amount,
        nights: 0,
        committee_override: true,
        override_reason: reason.into(),
        channel: Channel::Cash,
    }
}

/// A loan at 1% a month, paid out in cash.
pub fn loan(
    number: u32,
    member: u32,
    principal: Money,
    term_months: u32,
    guarantors: &[u32],
) -> Body {
    Body::LoanDisbursed {
        loan: LoanNo(number),
        member: m(member),
        principal,
        monthly_interest_basis_points: 100,
        term_months,
        guarantors: guarantors.iter().copied().map(MemberNo).collect(),
        channel: Channel::Cash,
        plan: Default::default(),
    }
}

pub fn repay(number: u32, principal: Money, interest: Money) -> Body {
    Body::LoanRepaid {
        loan: LoanNo(number),
        principal,
        interest,
        channel: Channel::Cash,
    }
}

pub fn write_off(number: u32, principal: Money) -> Body {
    Body::LoanWrittenOff {
        loan: LoanNo(number),
        principal,
    }
}

pub fn reversal(seq: u64, reason: &str) -> Body {
    Body::Reversal {
        reversed_seq: seq,
        reason: reason.into(),
    }
}

// ---- a log that folds as it grows ----

/// A group's log and its books, kept in step: every event in `events` was
/// accepted by `Books::apply` in order.
#[derive(Clone, Debug)]
pub struct Log {
    pub events: Vec<Event>,
    pub books: Books,
}

impl Log {
    pub fn empty() -> Log {
        Log {
            events: Vec::new(),
            books: Books::new(group()),
        }
    }

    /// A group opened on 2024-01-01 with the default rules.
    pub fn opened() -> Log {
        let mut log = Log::empty();
        log.push(OPENED_ON, group_opened());
        log
    }

    /// Opened on 2024-01-01, with members `1..=count` joining that day, born 1970.
    pub fn with_members(count: u32) -> Log {
        let mut log = Log::opened();
        for member in 1..=count {
            log.push(OPENED_ON, joined(member, 1970));
        }
        log
    }

    /// The next event of this log (the next sequence number) on `date`.
    pub fn next(&self, date: &str, body: Body) -> Event {
        self.next_on(d(date), body)
    }

    pub fn next_on(&self, date: Date, body: Body) -> Event {
        event(group(), self.books.last_seq + 1, date, body)
    }

    /// The event a `Reversal` names, looked up the way a node does: by seq.
    pub fn original_of(&self, event: &Event) -> Option<&Event> {
        let seq = reversal_target(event)?;
        self.events.iter().find(|e| e.seq == seq)
    }

    /// Applies `event`; on success appends it, on refusal leaves everything as it was.
    pub fn apply(&mut self, event: Event) -> Result<u64, Refusal> {
        let original = self.original_of(&event).cloned();
        self.books.apply(&event, original.as_ref())?;
        let seq = event.seq;
        self.events.push(event);
        Ok(seq)
    }

    /// The next event, recorded after the business-date rules began.
    pub fn next_dated(&self, date: &str, body: Body) -> Event {
        dated_rules(self.next(date, body))
    }

    /// Appends an event recorded after the business-date rules began.
    pub fn try_push_dated(&mut self, date: Date, body: Body) -> Result<u64, Refusal> {
        self.apply(dated_rules(self.next_on(date, body)))
    }

    pub fn push_dated(&mut self, date: &str, body: Body) -> u64 {
        let kind = body.kind();
        self.try_push_dated(d(date), body)
            .unwrap_or_else(|refusal| panic!("{kind} on {date} was refused: {refusal}"))
    }

    pub fn try_push_on(&mut self, date: Date, body: Body) -> Result<u64, Refusal> {
        self.apply(self.next_on(date, body))
    }

    /// Appends an event the ledger must accept; returns its seq.
    pub fn push_on(&mut self, date: Date, body: Body) -> u64 {
        let kind = body.kind();
        self.try_push_on(date, body)
            .unwrap_or_else(|refusal| panic!("{kind} on {date} was refused: {refusal}"))
    }

    pub fn push(&mut self, date: &str, body: Body) -> u64 {
        self.push_on(d(date), body)
    }

    /// Closes `month` with the digest of the books as they stand.
    pub fn close(&mut self, date: Date, month: Month) -> u64 {
        let digest = trial_balance_digest(&self.books.trial_balance());
        self.push_on(
            date,
            Body::PeriodClosed {
                month,
                trial_balance_digest: digest,
            },
        )
    }
}

/// The one refusal check: `event` applied to `log`'s books is refused by the
/// rule named `expected` (see `Rule::name`), and the books are exactly unchanged.
pub fn check_refused(log: &Log, event: Event, expected: &str) {
    check_refused_with(log, &event, log.original_of(&event), expected);
}

/// As [`check_refused`], with the reversal's `original` chosen by the caller.
pub fn check_refused_with(log: &Log, event: &Event, original: Option<&Event>, expected: &str) {
    let before = log.books.clone();
    let mut after = log.books.clone();
    let refusal = match after.apply(event, original) {
        Ok(()) => panic!("{} was accepted; expected {expected}", event.body.kind()),
        Err(refusal) => refusal,
    };
    assert_eq!(refusal.rule.name(), expected, "refused for: {refusal}");
    assert_eq!(refusal.seq, event.seq);
    assert_eq!(refusal.group, before.group);
    assert!(
        refusal.to_string().contains(&format!("seq {}", event.seq)),
        "{refusal}"
    );
    assert_eq!(before, after, "a refusal must leave the books unchanged");
}

// ---- balance invariants ----

fn sum(values: impl IntoIterator<Item = Money>) -> i64 {
    values.into_iter().map(Money::satang).sum()
}

/// Every invariant of balanced books: the trial balance balances, assets equal
/// savings + payables + funds + income − expenses − dividends, control totals
/// equal their detail, and the welfare fund is what came in less what went out.
pub fn assert_balanced(books: &Books) {
    let lines = books.trial_balance();
    let debits = sum(lines.iter().map(|l| l.debit));
    let credits = sum(lines.iter().map(|l| l.credit));
    assert_eq!(debits, credits, "trial balance: {lines:#?}");

    let a = &books.accounts;
    let assets = a.cash.satang()
        + a.bank.satang()
        + a.loans_receivable.satang()
        + a.pool_deposits().satang();
    let claims = a.member_savings.satang()
        + a.pool_loans_payable().satang()
        + a.welfare_fund.satang()
        + a.reserve_pledged().satang()
        + a.total_income().satang()
        - a.total_expenses().satang()
        - a.dividends.satang();
    assert_eq!(assets, claims, "accounting equation: {a:#?}");

    assert_eq!(
        sum(books.members.values().map(|m| m.savings)),
        a.member_savings.satang(),
        "member savings control total"
    );
    assert_eq!(
        sum(books.loans.values().map(|l| l.outstanding())),
        a.loans_receivable.satang(),
        "loans receivable control total"
    );
    let own: i64 = books
        .contributions
        .iter()
        .filter(|((_, source), _)| *source == Source::Member)
        .map(|(_, amount)| amount.satang())
        .sum();
    assert_eq!(
        sum(books.members.values().map(|m| m.contributed)),
        own,
        "members' own contributions"
    );
    assert_eq!(
        sum(books.contributions.values().copied())
            - sum(books.benefits.values().copied())
            - a.reserve_pledged().satang(),
        a.welfare_fund.satang(),
        "welfare fund = contributions − benefits − reserve pledged"
    );
    for guarded in [
        a.cash,
        a.bank,
        a.loans_receivable,
        a.welfare_fund,
        a.member_savings,
    ] {
        assert!(guarded.satang() >= 0, "{a:#?}");
    }
}

/// A member's savings, own contributions, non-zero sickness tallies
/// (year, nights, amount) and whether they are active.
#[derive(Debug, PartialEq, Eq)]
pub struct MemberBalances {
    pub savings: Money,
    pub contributed: Money,
    pub sickness: Vec<(u32, u32, Money)>,
    pub active: bool,
}

/// The balances a reversal must restore: accounts, members' money and state,
/// loans, contributions and benefits, with entries that net to zero dropped
/// (a reversal may leave a zero where a log without the event has no entry).
#[derive(Debug, PartialEq, Eq)]
pub struct Balances {
    pub accounts: sajja_common::ledger::Accounts,
    pub members: BTreeMap<MemberNo, MemberBalances>,
    pub loans: BTreeMap<LoanNo, sajja_common::ledger::Loan>,
    pub contributions: Vec<((Month, Source), Money)>,
    pub benefits: Vec<((Month, BenefitKind), Money)>,
}

pub fn balances(books: &Books) -> Balances {
    let mut accounts = books.accounts.clone();
    accounts.income.retain(|_, v| *v != Money::ZERO);
    accounts.expenses.retain(|_, v| *v != Money::ZERO);
    accounts.pools.retain(|_, p| *p != Default::default());
    Balances {
        accounts,
        members: books
            .members
            .iter()
            .map(|(n, member)| {
                let sickness = member
                    .sickness
                    .iter()
                    .filter(|(_, tally)| **tally != (0, Money::ZERO))
                    .map(|(year, (nights, amount))| (*year, *nights, *amount))
                    .collect();
                let balances = MemberBalances {
                    savings: member.savings,
                    contributed: member.contributed,
                    sickness,
                    active: member.is_active(),
                };
                (*n, balances)
            })
            .collect(),
        loans: books.loans.clone(),
        contributions: books
            .contributions
            .iter()
            .filter(|(_, v)| **v != Money::ZERO)
            .map(|(k, v)| (*k, *v))
            .collect(),
        benefits: books
            .benefits
            .iter()
            .filter(|(_, v)| **v != Money::ZERO)
            .map(|(k, v)| (*k, *v))
            .collect(),
    }
}

/// The default rules with some fields changed.
pub fn rules_with(change: impl FnOnce(&mut Rules)) -> Body {
    let mut rules = Rules::default();
    change(&mut rules);
    Body::RulesChanged(rules)
}
