//! A group's years, month by month. The order of the draws is part of the
//! output: a step that draws before another must keep doing so, or every
//! benchmark's and the demo's data changes.

use std::collections::BTreeMap;

use sajja_common::event::{BenefitKind, Channel, ExpenseKind, LeaveReason, Rules, Sex, Source};
use sajja_common::ledger::trial_balance_digest;
use sajja_common::rng::Rng;
use sajja_common::{Body, Date, LoanNo, MemberNo, Money, PoolId};

use crate::log::{GroupLog, Stop, Writer};
use crate::spec::GroupSpec;

/// The day every simulated group opens.
pub const OPENED_ON: (i64, u32, u32) = (2025, 10, 1);
/// The opening day for logs that run for years or past a year (a small
/// group's `Stop::Events` prefix, a month beyond a year of history): hubs
/// refuse events dated after their today, so these histories start early
/// enough to end in the past.
pub const LONG_HISTORY_OPENED_ON: (i64, u32, u32) = (2016, 1, 1);
/// The most months a log may run, so `Stop::Events` always ends.
pub const MAX_MONTHS: u32 = 1_200;

/// A `(year, month, day)` constant as a date.
pub fn day_of(ymd: (i64, u32, u32)) -> Date {
    Date::from_ymd(ymd.0, ymd.1, ymd.2).expect("the opening days are dates")
}

fn baht(amount: i64) -> Money {
    Money::from_baht(amount)
}

/// Generates a group's log.
pub fn group_log(spec: &GroupSpec, stop: Stop) -> GroupLog {
    group_log_opened(spec, stop, day_of(OPENED_ON))
}

/// As [`group_log`], for a group that opens on `opened`.
pub fn group_log_opened(spec: &GroupSpec, stop: Stop, opened: Date) -> GroupLog {
    let (months, limit) = match stop {
        Stop::Months(m) => (m.min(MAX_MONTHS), usize::MAX),
        Stop::Events(n) => (MAX_MONTHS, n),
    };
    let mut year = Year::open(spec, opened, limit);
    let mut month_starts = Vec::new();
    for month_index in 0..months {
        if year.w.full() {
            break;
        }
        month_starts.push(year.w.next_seq());
        year.month(month_index);
    }
    year.w.finish(spec, month_starts)
}

/// Generates many groups' logs on all cores.
pub fn province_logs(specs: &[GroupSpec], stop: Stop) -> Vec<GroupLog> {
    province_logs_opened(specs, stop, day_of(OPENED_ON))
}

/// As [`province_logs`], for groups that open on `opened`.
pub fn province_logs_opened(specs: &[GroupSpec], stop: Stop, opened: Date) -> Vec<GroupLog> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = specs.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = specs
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|s| group_log_opened(s, stop, opened))
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h: std::thread::ScopedJoinHandle<'_, Vec<GroupLog>>| {
                h.join().expect("a generator thread panicked")
            })
            .collect()
    })
}

/// A loan the generator made: number, borrower, month disbursed, and the
/// month count after which its borrower stops paying.
struct Loan {
    number: u32,
    borrower: u32,
    disbursed: u32,
    defaults_after: Option<u32>,
}

/// The group as the generator runs it.
struct Year {
    w: Writer,
    rng: Rng,
    opened: Date,
    pool: PoolId,
    /// Whether this group borrows from its pool (half the groups do).
    borrows: bool,
    active: Vec<u32>,
    loans: Vec<Loan>,
    next_loan: u32,
    sick_nights: BTreeMap<u32, u32>,
}

/// Day `d` of the month that starts on `first`.
fn day(first: Date, d: u32) -> Date {
    first.add_days(d - 1)
}

impl Year {
    /// The group opens under the default rules and its members join in its
    /// first two weeks.
    fn open(spec: &GroupSpec, opened: Date, limit: usize) -> Year {
        let group = spec.group.clone();
        let mut year = Year {
            w: Writer::new(group.clone(), limit),
            rng: spec.rng(),
            opened,
            pool: PoolId::parse(group.tambon()).expect("a tambon geocode is a pool id"),
            borrows: spec.seed.is_multiple_of(2),
            active: Vec::new(),
            loans: Vec::new(),
            next_loan: 1,
            sick_nights: BTreeMap::new(),
        };
        year.w.emit(
            opened,
            Body::GroupOpened {
                name: format!("กลุ่มสัจจะ {}", group.as_str()),
                tambon: group.tambon().to_string(),
                province: group.province().to_string(),
            },
        );
        year.w.emit(opened, Body::RulesChanged(Rules::default()));
        for m in 1..=spec.members {
            let sex = [Sex::Female, Sex::Male, Sex::Unstated][year.rng.below(3) as usize];
            let joined = opened.add_days(year.rng.below(14) as u32);
            let birth_year = 1945 + year.rng.below(50) as u32;
            let body = Body::MemberJoined {
                member: MemberNo(m),
                birth_year,
                sex,
            };
            if year.w.emit(joined, body) {
                year.active.push(m);
            }
        }
        year
    }

    /// One month, `month_index` months after opening.
    fn month(&mut self, month_index: u32) {
        let first = self.opened.add_months(month_index + 1);
        if first.month().month_of_year() == 1 {
            self.sick_nights.clear();
        }
        self.contributions(first);
        self.savings(first);
        self.repayments(first, month_index);
        self.new_loans(first, month_index);
        if month_index >= 6 && !self.active.is_empty() {
            self.benefits(first);
        }
        if month_index == 9 && self.active.len() > 10 && self.w.fund() >= 2_000 {
            self.a_death(first);
        }
        self.pool_moves(first, month_index % 12);
        self.expenses_and_banking(first);
        let digest = trial_balance_digest(&self.w.books.trial_balance());
        self.w.emit(
            first.add_months(1),
            Body::PeriodClosed {
                month: first.month(),
                trial_balance_digest: digest,
            },
        );
    }

    /// 30 baht a member, matched 1:1:1 by local and national government.
    fn contributions(&mut self, first: Date) {
        let n = self.active.len() as i64;
        for m in &self.active {
            self.w.emit(
                day(first, 5),
                Body::ContributionReceived {
                    member: Some(MemberNo(*m)),
                    amount: baht(30),
                    period: first.month(),
                    source: Source::Member,
                    channel: Channel::Cash,
                    extra: false,
                },
            );
        }
        for source in [Source::LocalGovernment, Source::NationalGovernment] {
            self.w.emit(
                day(first, 5),
                Body::ContributionReceived {
                    member: None,
                    amount: baht(30 * n),
                    period: first.month(),
                    source,
                    channel: Channel::Bank,
                    extra: false,
                },
            );
        }
    }

    /// Half the members save 100 baht; now and then a deposit entered twice by
    /// mistake is corrected by a reversal.
    fn savings(&mut self, first: Date) {
        let deposit = |m: u32| Body::SavingsDeposited {
            member: MemberNo(m),
            amount: baht(100),
            channel: Channel::Cash,
        };
        let savers: Vec<u32> = self
            .active
            .iter()
            .copied()
            .filter(|m| m.is_multiple_of(2))
            .collect();
        for m in savers {
            let saved = self.w.emit(day(first, 6), deposit(m));
            if saved && self.rng.below(400) == 0 && self.w.emit(day(first, 6), deposit(m)) {
                let reversed_seq = self.w.events.len() as u64;
                self.w.emit(
                    day(first, 7),
                    Body::Reversal {
                        reversed_seq,
                        reason: "entered twice".into(),
                    },
                );
            }
        }
    }

    /// Ten equal instalments plus 1% a month; some borrowers stop paying.
    fn repayments(&mut self, first: Date, month_index: u32) {
        for loan in &self.loans {
            let Some(held) = self.w.books.loans.get(&LoanNo(loan.number)) else {
                continue;
            };
            let principal = held.principal.satang() / 100;
            let left = principal - held.principal_repaid.satang() / 100;
            let months_on = month_index - loan.disbursed;
            if left <= 0 || months_on == 0 || loan.defaults_after.is_some_and(|d| months_on > d) {
                continue;
            }
            self.w.emit(
                day(first, 10),
                Body::LoanRepaid {
                    loan: LoanNo(loan.number),
                    principal: baht((principal / 10).min(left)),
                    interest: baht(left / 100),
                    channel: Channel::Cash,
                },
            );
        }
    }

    /// New loans when the cash box allows: more in larger groups.
    fn new_loans(&mut self, first: Date, month_index: u32) {
        for _ in 0..(1 + self.active.len() / 150) {
            let principal = 5_000 + 1_000 * self.rng.below(16) as i64;
            if self.active.len() < 3 || !self.w.ensure_cash(day(first, 12), principal + 20_000) {
                break;
            }
            let borrower = self.active[self.rng.below(self.active.len() as u64) as usize];
            let guarantors: Vec<MemberNo> = self
                .active
                .iter()
                .filter(|m| **m != borrower)
                .take(2)
                .map(|m| MemberNo(*m))
                .collect();
            let disbursed = self.w.emit(
                day(first, 12),
                Body::LoanDisbursed {
                    loan: LoanNo(self.next_loan),
                    member: MemberNo(borrower),
                    principal: baht(principal),
                    monthly_interest_basis_points: 100,
                    term_months: 10,
                    guarantors,
                    channel: Channel::Cash,
                    plan: Default::default(),
                },
            );
            if disbursed {
                let defaults_after = (self.rng.below(8) == 0).then(|| 2 + self.rng.below(3) as u32);
                self.loans.push(Loan {
                    number: self.next_loan,
                    borrower,
                    disbursed: month_index,
                    defaults_after,
                });
                self.next_loan += 1;
            }
        }
    }

    /// A random active member.
    fn someone(&mut self) -> u32 {
        self.active[self.rng.below(self.active.len() as u64) as usize]
    }

    /// After the 180-day wait: sickness nights (at most ten a year each) and
    /// now and then a birth.
    fn benefits(&mut self, first: Date) {
        for _ in 0..(1 + self.active.len() / 40) {
            let m = self.someone();
            let nights = 1 + self.rng.below(3) as u32;
            let used = self.sick_nights.get(&m).copied().unwrap_or(0);
            let amount = 100 * i64::from(nights);
            if used + nights > 10
                || self.w.fund() < amount
                || !self.w.ensure_cash(day(first, 15), amount)
            {
                continue;
            }
            if self.w.emit(
                day(first, 15),
                benefit(m, BenefitKind::Sickness, amount, nights),
            ) {
                self.sick_nights.insert(m, used + nights);
            }
        }
        if self.rng.below(3) == 0 && self.w.fund() >= 500 && self.w.ensure_cash(day(first, 16), 500)
        {
            let m = self.someone();
            self.w
                .emit(day(first, 16), benefit(m, BenefitKind::Childbirth, 500, 0));
        }
    }

    /// In the tenth month a member with no loan dies: the funeral benefit,
    /// then the member leaves with their savings refunded.
    fn a_death(&mut self, first: Date) {
        let owes = |m: u32| self.loans.iter().any(|l| l.borrower == m);
        let Some(pos) = self.active.iter().rposition(|m| !owes(*m)) else {
            return;
        };
        let m = self.active[pos];
        let refund = self
            .w
            .books
            .members
            .get(&MemberNo(m))
            .map_or(Money::ZERO, |x| x.savings);
        let date = day(first, 18);
        if !self.w.ensure_cash(date, 2_000 + refund.satang() / 100 + 1) {
            return;
        }
        let left = self.w.emit(date, benefit(m, BenefitKind::Death, 2_000, 0))
            && self.w.emit(
                date,
                Body::MemberLeft {
                    member: MemberNo(m),
                    reason: LeaveReason::Died,
                    savings_refund: refund,
                    channel: Channel::Cash,
                },
            );
        if left {
            self.active.remove(pos);
        }
    }

    /// The tambon network's pooled fund: a deposit in the third month of each
    /// year, a reserve pledge in the sixth, and for half the groups a pool
    /// loan in the eighth repaid in the twelfth.
    fn pool_moves(&mut self, first: Date, year_month: u32) {
        let date = day(first, 20);
        let pool = self.pool.clone();
        if year_month == 2 && self.w.ensure_cash(date, 5_000) {
            self.w.emit(
                date,
                Body::PoolDeposited {
                    pool: pool.clone(),
                    amount: baht(5_000),
                    channel: Channel::Cash,
                },
            );
        }
        if year_month == 5 && self.w.fund() > 10 {
            let pledged = self.w.fund() / 10;
            self.w.emit(
                date,
                Body::ReservePledged {
                    pool: pool.clone(),
                    amount: baht(pledged),
                },
            );
        }
        if year_month == 7 && self.borrows {
            self.w.emit(
                date,
                Body::PoolLoanReceived {
                    pool: pool.clone(),
                    amount: baht(10_000),
                    channel: Channel::Cash,
                },
            );
        }
        if year_month == 11 && self.borrows && self.w.ensure_cash(date, 10_200) {
            self.w.emit(
                date,
                Body::PoolLoanRepaid {
                    pool,
                    principal: baht(10_000),
                    interest: baht(200),
                    channel: Channel::Cash,
                },
            );
        }
    }

    /// The monthly meeting's expense, and cash beyond 40,000 baht banked.
    fn expenses_and_banking(&mut self, first: Date) {
        if self.w.ensure_cash(day(first, 25), 200) {
            self.w.emit(
                day(first, 25),
                Body::ExpensePaid {
                    kind: ExpenseKind::Meeting,
                    amount: baht(200),
                    channel: Channel::Cash,
                },
            );
        }
        if self.w.cash() > 40_000 {
            let amount = self.w.cash() - 20_000;
            self.w.emit(
                day(first, 28),
                Body::CashBanked {
                    amount: baht(amount),
                },
            );
        }
    }
}

/// A benefit under the rules, paid in cash.
fn benefit(m: u32, kind: BenefitKind, amount: i64, nights: u32) -> Body {
    Body::BenefitPaid {
        member: MemberNo(m),
        kind,
        amount: baht(amount),
        nights,
        committee_override: false,
        override_reason: String::new(),
        channel: Channel::Cash,
    }
}
