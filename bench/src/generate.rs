//! An event-level simulator of a province's groups: deterministic from a seed,
//! every event validated by the same `Books::apply` a hub runs, encoded once,
//! chained and signable exactly as a node would.
//!
//! The activity follows `sajja_hub::simulate::group_year` (which writes CSV for
//! the demo): monthly contributions with local and national matching, savings,
//! sickness and childbirth benefits after the waiting period, a death and the
//! member leaving, loans repaid in ten instalments with some arrears, a pool
//! deposit, a reserve pledge, a pool loan, meeting expenses, banking and month
//! closes. It runs for as many months as a caller asks, or until a log reaches
//! a number of events. The generator asks the books it is building for cash,
//! fund and loan balances, so an event the ledger would refuse is never
//! emitted; `GroupLog::refused` counts any that were (it must stay zero).

use sajja_common::chain;
use sajja_common::event::{BenefitKind, Channel, ExpenseKind, LeaveReason, Rules, Sex, Source};
use sajja_common::ledger::{reversal_target, trial_balance_digest};
use sajja_common::{
    Body, Books, Checkpoint, Date, Event, GroupId, Hash, LoanNo, MemberNo, Money, PoolId,
    SignedCheckpoint, SigningKey,
};
use sajja_proto::{MAX_BATCH_BYTES, v1};

/// The day every simulated group opens.
pub const OPENED_ON: (i64, u32, u32) = (2025, 10, 1);
/// The opening day for logs that run for years or past a year (a small
/// group's `Stop::Events` prefix, a month beyond a year of history): hubs
/// refuse events dated after their today, so these histories start early
/// enough to end in the past.
pub const LONG_HISTORY_OPENED_ON: (i64, u32, u32) = (2016, 1, 1);

/// A `(year, month, day)` constant as a date.
pub fn day_of(ymd: (i64, u32, u32)) -> Date {
    Date::from_ymd(ymd.0, ymd.1, ymd.2).expect("the opening days are dates")
}
/// Fewest and most members of a simulated group.
pub const MIN_MEMBERS: u32 = 50;
pub const MAX_MEMBERS: u32 = 2_000;
/// The most months a log may run, so `Stop::Events` always ends.
pub const MAX_MONTHS: u32 = 1_200;
/// The most events one batch carries (the node's own chunk limit).
pub const MAX_BATCH_EVENTS: usize = sajja_node::store::MAX_CHUNK_EVENTS;

/// splitmix64: small, fast, and the same on every machine.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5A11_A5A1_1A5A)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
}

/// One simulated group: its id, size and seed.
#[derive(Clone, Debug)]
pub struct GroupSpec {
    pub group: GroupId,
    pub members: u32,
    pub seed: u64,
}

impl GroupSpec {
    /// The group's signing key, derived from its seed.
    pub fn key(&self) -> SigningKey {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&self.seed.to_le_bytes());
        seed[8..18].copy_from_slice(self.group.as_str().as_bytes());
        SigningKey::from_seed(&seed).expect("a 32-byte seed is a valid Ed25519 seed")
    }
}

/// `count` groups of one province (23), 20 to a tambon, sized 50–2,000
/// members with a log-uniform skew (median about 320, like real funds: many
/// small, a few large).
pub fn province(count: usize, seed: u64) -> Vec<GroupSpec> {
    let mut rng = Rng::new(seed);
    (0..count)
        .map(|i| {
            let tambon = i / 20;
            let id = format!(
                "23{:02}{:02}-{:03}",
                1 + tambon / 20,
                1 + tambon % 20,
                1 + i % 20
            );
            // Log-uniform between MIN and MAX: floats choose a size, never money.
            let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            let ratio = f64::from(MAX_MEMBERS) / f64::from(MIN_MEMBERS);
            let members = (f64::from(MIN_MEMBERS) * ratio.powf(u)).round() as u32;
            GroupSpec {
                group: GroupId::parse(&id).expect("generated group ids are well formed"),
                members: members.clamp(MIN_MEMBERS, MAX_MEMBERS),
                seed: rng.next_u64(),
            }
        })
        .collect()
}

/// When a generated log ends.
#[derive(Clone, Copy, Debug)]
pub enum Stop {
    /// After this many whole months of activity (and their closes).
    Months(u32),
    /// At exactly this many events (a prefix of a longer history).
    Events(usize),
}

/// A group's generated log: exact event bytes and chain hashes.
pub struct GroupLog {
    pub spec: GroupSpec,
    pub events: Vec<Vec<u8>>,
    pub hashes: Vec<Hash>,
    /// Events the ledger refused while generating (dropped; must be zero).
    pub refused: u64,
    /// Seq of the last event of each month's contribution day, for wire tests.
    pub month_starts: Vec<u64>,
    pub books: Books,
}

impl GroupLog {
    /// Fails when any of `logs` holds an event dated after the hubs' today
    /// (plus their one day of tolerance): a hub would refuse it.
    pub fn ensure_past(logs: &[GroupLog]) -> anyhow::Result<()> {
        let latest =
            sajja_edge::clock::today().add_days(sajja_common::ledger::FUTURE_TOLERANCE_DAYS);
        for log in logs {
            if let Some(last) = log.books.last_date {
                anyhow::ensure!(
                    last <= latest,
                    "group {}'s generated log runs to {last}, after today: open it earlier",
                    log.spec.group
                );
            }
        }
        Ok(())
    }

    pub fn bytes(&self) -> usize {
        self.events.iter().map(Vec::len).sum()
    }

    pub fn head(&self) -> Hash {
        self.hashes
            .last()
            .copied()
            .unwrap_or_else(|| chain::genesis(&self.spec.group))
    }

    /// A checkpoint after `seq` events, signed with the group's key.
    pub fn checkpoint_at(&self, key: &SigningKey, seq: u64) -> SignedCheckpoint {
        let head = if seq == 0 {
            chain::genesis(&self.spec.group)
        } else {
            self.hashes[seq as usize - 1]
        };
        Checkpoint {
            group: self.spec.group.clone(),
            seq,
            head,
            fork_epoch: 0,
        }
        .sign(key)
    }

    /// The log `from..=to` cut into Sync batches as a node cuts them (at most
    /// `MAX_BATCH_BYTES` of events and `MAX_BATCH_EVENTS` events), each ending
    /// in a signed checkpoint.
    pub fn batches(&self, from: u64, to: u64) -> Vec<v1::Batch> {
        let key = self.spec.key();
        let mut out = Vec::new();
        let mut next = from;
        while next <= to {
            let mut bytes = 0;
            let mut events = Vec::new();
            let mut seq = next;
            while seq <= to {
                let event = &self.events[seq as usize - 1];
                if !events.is_empty()
                    && (bytes + event.len() > MAX_BATCH_BYTES || events.len() >= MAX_BATCH_EVENTS)
                {
                    break;
                }
                bytes += event.len();
                events.push(event.clone());
                seq += 1;
            }
            let last = seq - 1;
            out.push(v1::Batch {
                from_seq: next,
                events,
                checkpoint: Some((&self.checkpoint_at(&key, last)).into()),
            });
            next = last + 1;
        }
        out
    }
}

struct Writer {
    group: GroupId,
    books: Books,
    events: Vec<Vec<u8>>,
    hashes: Vec<Hash>,
    head: Hash,
    refused: u64,
    limit: usize,
    last: Option<Event>,
}

impl Writer {
    fn full(&self) -> bool {
        self.events.len() >= self.limit
    }

    /// Validates, encodes and chains one event; false if the ledger refused it
    /// or the log is full.
    fn emit(&mut self, date: Date, body: Body) -> bool {
        if self.full() {
            return false;
        }
        let seq = self.events.len() as u64 + 1;
        let event = Event {
            group: self.group.clone(),
            seq,
            date,
            // A node's clock: the business day at 09:00 Bangkok, plus a minute per event.
            recorded_at: i64::from(date.days()) * 86_400 + 7_200 + (seq as i64 % 600) * 60,
            body,
        };
        let original = match reversal_target(&event) {
            Some(target) => self.last.as_ref().filter(|e| e.seq == target).cloned(),
            None => None,
        };
        if self.books.apply(&event, original.as_ref()).is_err() {
            self.refused += 1;
            return false;
        }
        let bytes = event.encode();
        self.head = chain::next(&self.head, &bytes);
        self.events.push(bytes);
        self.hashes.push(self.head);
        self.last = Some(event);
        true
    }

    fn cash(&self) -> i64 {
        self.books.accounts.cash.satang() / 100
    }

    fn bank(&self) -> i64 {
        self.books.accounts.bank.satang() / 100
    }

    fn fund(&self) -> i64 {
        self.books.accounts.welfare_fund.satang() / 100
    }

    /// Moves bank money to the cash box when a payment needs it.
    fn ensure_cash(&mut self, date: Date, need: i64) -> bool {
        let (cash, bank) = (self.cash(), self.bank());
        if cash < need && bank > 0 {
            let amount = (need - cash).min(bank);
            self.emit(
                date,
                Body::CashDrawn {
                    amount: Money::from_baht(amount),
                },
            );
        }
        self.cash() >= need
    }
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
    let mut rng = Rng::new(spec.seed);
    let group = spec.group.clone();
    let mut w = Writer {
        books: Books::new(group.clone()),
        head: chain::genesis(&group),
        group: group.clone(),
        events: Vec::new(),
        hashes: Vec::new(),
        refused: 0,
        limit,
        last: None,
    };
    let pool = PoolId::parse(group.tambon()).expect("a tambon geocode is a pool id");
    let mut month_starts = Vec::new();
    w.emit(
        opened,
        Body::GroupOpened {
            name: format!("กลุ่มสัจจะ {}", group.as_str()),
            tambon: group.tambon().to_string(),
            province: group.province().to_string(),
        },
    );
    w.emit(opened, Body::RulesChanged(Rules::default()));
    let mut active: Vec<u32> = Vec::new();
    for m in 1..=spec.members {
        let sex = [Sex::Female, Sex::Male, Sex::Unstated][rng.below(3) as usize];
        if w.emit(
            opened.add_days(rng.below(14) as u32),
            Body::MemberJoined {
                member: MemberNo(m),
                birth_year: 1945 + rng.below(50) as u32,
                sex,
            },
        ) {
            active.push(m);
        }
    }
    // loan number, borrower, month disbursed, stops paying after this many months
    let mut loans: Vec<(u32, u32, u32, Option<u32>)> = Vec::new();
    let mut next_loan = 1u32;
    let mut sick_nights: std::collections::BTreeMap<u32, u32> = Default::default();
    for month_index in 0..months {
        if w.full() {
            break;
        }
        let first = opened.add_months(month_index + 1);
        let day = |d: u32| first.add_days(d - 1);
        let year_month = month_index % 12;
        if first.month().month_of_year() == 1 {
            sick_nights.clear();
        }
        let n = active.len() as i64;
        month_starts.push(w.events.len() as u64 + 1);
        // Contributions: 30 baht a member, matched 1:1:1 by local and national government.
        for m in &active {
            w.emit(
                day(5),
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
            w.emit(
                day(5),
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
        // Savings: half the members, 100 baht; now and then a deposit entered
        // twice by mistake is corrected by a reversal.
        for m in active.iter().filter(|m| m.is_multiple_of(2)) {
            let saved = w.emit(
                day(6),
                Body::SavingsDeposited {
                    member: MemberNo(*m),
                    amount: baht(100),
                    channel: Channel::Cash,
                },
            );
            if saved && rng.below(400) == 0 {
                let twice = w.emit(
                    day(6),
                    Body::SavingsDeposited {
                        member: MemberNo(*m),
                        amount: baht(100),
                        channel: Channel::Cash,
                    },
                );
                if twice {
                    let reversed_seq = w.events.len() as u64;
                    w.emit(
                        day(7),
                        Body::Reversal {
                            reversed_seq,
                            reason: "entered twice".into(),
                        },
                    );
                }
            }
        }
        // Repayments: ten equal instalments plus 1% a month; some borrowers stop.
        for &(number, _, disbursed, defaults_after) in &loans {
            let Some(loan) = w.books.loans.get(&LoanNo(number)) else {
                continue;
            };
            let principal = loan.principal.satang() / 100;
            let left = principal - loan.principal_repaid.satang() / 100;
            let months_on = month_index - disbursed;
            if left <= 0 || months_on == 0 || defaults_after.is_some_and(|d| months_on > d) {
                continue;
            }
            w.emit(
                day(10),
                Body::LoanRepaid {
                    loan: LoanNo(number),
                    principal: baht((principal / 10).min(left)),
                    interest: baht(left / 100),
                    channel: Channel::Cash,
                },
            );
        }
        // New loans when the cash box allows: more in larger groups.
        for _ in 0..(1 + active.len() / 150) {
            let principal = 5_000 + 1_000 * rng.below(16) as i64;
            if active.len() < 3 || !w.ensure_cash(day(12), principal + 20_000) {
                break;
            }
            let borrower = active[rng.below(active.len() as u64) as usize];
            let guarantors: Vec<MemberNo> = active
                .iter()
                .filter(|m| **m != borrower)
                .take(2)
                .map(|m| MemberNo(*m))
                .collect();
            if w.emit(
                day(12),
                Body::LoanDisbursed {
                    loan: LoanNo(next_loan),
                    member: MemberNo(borrower),
                    principal: baht(principal),
                    monthly_interest_basis_points: 100,
                    term_months: 10,
                    guarantors,
                    channel: Channel::Cash,
                    plan: Default::default(),
                },
            ) {
                let defaults_after = (rng.below(8) == 0).then(|| 2 + rng.below(3) as u32);
                loans.push((next_loan, borrower, month_index, defaults_after));
                next_loan += 1;
            }
        }
        // Benefits after the 180-day wait.
        if month_index >= 6 && !active.is_empty() {
            for _ in 0..(1 + active.len() / 40) {
                let m = active[rng.below(active.len() as u64) as usize];
                let nights = 1 + rng.below(3) as u32;
                let used = sick_nights.get(&m).copied().unwrap_or(0);
                let amount = 100 * i64::from(nights);
                if used + nights > 10 || w.fund() < amount || !w.ensure_cash(day(15), amount) {
                    continue;
                }
                if w.emit(
                    day(15),
                    Body::BenefitPaid {
                        member: MemberNo(m),
                        kind: BenefitKind::Sickness,
                        amount: baht(amount),
                        nights,
                        committee_override: false,
                        override_reason: String::new(),
                        channel: Channel::Cash,
                    },
                ) {
                    sick_nights.insert(m, used + nights);
                }
            }
            if rng.below(3) == 0 && w.fund() >= 500 && w.ensure_cash(day(16), 500) {
                let m = active[rng.below(active.len() as u64) as usize];
                w.emit(
                    day(16),
                    Body::BenefitPaid {
                        member: MemberNo(m),
                        kind: BenefitKind::Childbirth,
                        amount: baht(500),
                        nights: 0,
                        committee_override: false,
                        override_reason: String::new(),
                        channel: Channel::Cash,
                    },
                );
            }
        }
        // In the first tenth month a member with no loan dies: the funeral
        // benefit, then the member leaves with their savings refunded.
        if month_index == 9 && active.len() > 10 && w.fund() >= 2_000 {
            let owes = |m: u32| loans.iter().any(|l| l.1 == m);
            if let Some(pos) = active.iter().rposition(|m| !owes(*m)) {
                let m = active[pos];
                let refund = w
                    .books
                    .members
                    .get(&MemberNo(m))
                    .map_or(Money::ZERO, |x| x.savings);
                if w.ensure_cash(day(18), 2_000 + refund.satang() / 100 + 1) {
                    let paid = w.emit(
                        day(18),
                        Body::BenefitPaid {
                            member: MemberNo(m),
                            kind: BenefitKind::Death,
                            amount: baht(2_000),
                            nights: 0,
                            committee_override: false,
                            override_reason: String::new(),
                            channel: Channel::Cash,
                        },
                    );
                    if paid
                        && w.emit(
                            day(18),
                            Body::MemberLeft {
                                member: MemberNo(m),
                                reason: LeaveReason::Died,
                                savings_refund: refund,
                                channel: Channel::Cash,
                            },
                        )
                    {
                        active.remove(pos);
                    }
                }
            }
        }
        // The tambon network's pooled fund: a deposit, a reserve pledge, a loan.
        if year_month == 2 && w.ensure_cash(day(20), 5_000) {
            w.emit(
                day(20),
                Body::PoolDeposited {
                    pool: pool.clone(),
                    amount: baht(5_000),
                    channel: Channel::Cash,
                },
            );
        }
        if year_month == 5 && w.fund() > 10 {
            let pledged = w.fund() / 10;
            w.emit(
                day(20),
                Body::ReservePledged {
                    pool: pool.clone(),
                    amount: baht(pledged),
                },
            );
        }
        if year_month == 7 && spec.seed.is_multiple_of(2) {
            w.emit(
                day(20),
                Body::PoolLoanReceived {
                    pool: pool.clone(),
                    amount: baht(10_000),
                    channel: Channel::Cash,
                },
            );
        }
        if year_month == 11 && spec.seed.is_multiple_of(2) && w.ensure_cash(day(20), 10_200) {
            w.emit(
                day(20),
                Body::PoolLoanRepaid {
                    pool: pool.clone(),
                    principal: baht(10_000),
                    interest: baht(200),
                    channel: Channel::Cash,
                },
            );
        }
        if w.ensure_cash(day(25), 200) {
            w.emit(
                day(25),
                Body::ExpensePaid {
                    kind: ExpenseKind::Meeting,
                    amount: baht(200),
                    channel: Channel::Cash,
                },
            );
        }
        if w.cash() > 40_000 {
            let amount = w.cash() - 20_000;
            w.emit(
                day(28),
                Body::CashBanked {
                    amount: baht(amount),
                },
            );
        }
        let digest = trial_balance_digest(&w.books.trial_balance());
        w.emit(
            first.add_months(1),
            Body::PeriodClosed {
                month: first.month(),
                trial_balance_digest: digest,
            },
        );
    }
    GroupLog {
        spec: spec.clone(),
        events: w.events,
        hashes: w.hashes,
        refused: w.refused,
        month_starts,
        books: w.books,
    }
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
