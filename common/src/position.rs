//! A group's position on a date: the figures coordinators read, computed from
//! the books alone, so anyone holding the log can recompute and check them.

use std::collections::BTreeMap;

use crate::admin::PoolObligations;
use crate::date::{Date, Month};
use crate::event::{BenefitKind, Source};
use crate::ids::{GroupId, PoolId};
use crate::ledger::{Accounts, Books, Loan, LoanSchedule, PeriodClose, PoolBalances};
use crate::money::Money;

/// Loans more than this many days behind count in portfolio at risk.
pub const PAR_DAYS: u32 = 30;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Arrears {
    pub loans: u32,
    pub overdue: Money,
    /// Outstanding principal of loans more than [`PAR_DAYS`] behind.
    pub at_risk_outstanding: Money,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupPosition {
    pub as_of: Date,
    pub cash: Money,
    pub bank: Money,
    pub welfare_fund: Money,
    pub member_savings: Money,
    pub loans_outstanding: Money,
    pub pool_deposits: Money,
    pub pool_loans: Money,
    pub reserve_pledged: Money,
    pub active_members: u32,
    /// Contributions received in the month of `as_of`, by source.
    pub contributions_month: Vec<(Source, Money)>,
    /// Contributions received from 1 January to `as_of`, by source.
    pub contributions_ytd: Vec<(Source, Money)>,
    pub benefits_ytd: Vec<(BenefitKind, Money)>,
    pub arrears: Arrears,
    /// Welfare fund ÷ average monthly benefits of the last 12 months, in
    /// hundredths (e.g. 1250 = 12.5 months); `None` when nothing was paid.
    pub fund_cover_months_x100: Option<i64>,
    pub last_event_date: Option<Date>,
    /// The group's balances with each pooled fund it deals with.
    pub pools: Vec<(PoolId, PoolBalances)>,
    /// The fund ([`GroupPosition::fund`]: the welfare fund with what was
    /// pledged from it as reserve) at the end of the month twelve months
    /// before the month of `as_of`: the fund now less the contributions and
    /// plus the benefits of the twelve months to `as_of` (the monthly sums,
    /// which count a reversal in the month of the entry it reverses).
    pub fund_a_year_ago: Money,
    /// Active members at the end of the month twelve months before the month
    /// of `as_of`: the members now less those who joined and plus those who
    /// left in the twelve months to `as_of`, by the month they did.
    pub members_a_year_ago: u32,
    /// Member contributions the rules ask for in the month of `as_of`: the
    /// members active on `as_of` × the contribution × its periods a year ÷
    /// 12, rounded down to the satang.
    pub contributions_due_month: Money,
    /// The same from 1 January to `as_of`: for each month, the members
    /// active at its end (on `as_of` for its own month) × the contribution ×
    /// its periods a year ÷ 12, summed and then rounded down to the satang.
    pub contributions_due_ytd: Money,
}

fn by_key<K: Copy + Eq>(pairs: impl Iterator<Item = (K, Money)>) -> Vec<(K, Money)> {
    let mut out: Vec<(K, Money)> = Vec::new();
    for (key, amount) in pairs {
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, total)) => *total = Money::from_satang(total.satang() + amount.satang()),
            None => out.push((key, amount)),
        }
    }
    out.retain(|(_, amount)| *amount != Money::ZERO);
    out
}

/// What a group's position on any date at or after its last event depends
/// on, cut from its books: the accounts, the monthly contribution and benefit
/// totals, the loans still outstanding (for arrears), and the month closes
/// whose digest did not match. Small enough to read for thousands of groups
/// per query; kept beside each log by a hub and rebuilt from the fold.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PositionBasis {
    pub name: String,
    pub accounts: Accounts,
    pub active_members: u32,
    pub last_date: Option<Date>,
    /// Monthly sums in key order (vectors decode faster than maps).
    pub contributions: Vec<((Month, Source), Money)>,
    pub benefits: Vec<((Month, BenefitKind), Money)>,
    /// Loans with principal outstanding; a repaid loan is never in arrears.
    pub open_loans: Vec<LoanSchedule>,
    pub mismatched_closes: Vec<PeriodClose>,
    /// The member register by month: how many of its members joined and
    /// how many left in each month, in month order.
    pub member_moves: Vec<(Month, MemberMoves)>,
    /// The member contribution the rules ask for, and how many times a year.
    pub contribution_amount: Money,
    pub contribution_periods_per_year: u32,
}

/// How many members of the register joined and left in one month.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MemberMoves {
    pub joined: u32,
    pub left: u32,
}

/// [`MemberMoves`] by month, from the register of `books`.
fn member_moves(books: &Books) -> Vec<(Month, MemberMoves)> {
    let mut by_month: BTreeMap<Month, MemberMoves> = BTreeMap::new();
    for member in books.members.values() {
        by_month.entry(member.joined_on.month()).or_default().joined += 1;
        if let Some((left_on, _)) = member.left {
            by_month.entry(left_on.month()).or_default().left += 1;
        }
    }
    by_month.into_iter().collect()
}

impl PositionBasis {
    pub fn of(books: &Books) -> PositionBasis {
        PositionBasis {
            name: books
                .opened
                .as_ref()
                .map(|o| o.name.clone())
                .unwrap_or_default(),
            accounts: books.accounts.clone(),
            active_members: books.active_members() as u32,
            last_date: books.last_date,
            contributions: books.contributions.iter().map(|(k, v)| (*k, *v)).collect(),
            benefits: books.benefits.iter().map(|(k, v)| (*k, *v)).collect(),
            open_loans: books
                .loans
                .values()
                .map(Loan::schedule)
                .filter(|loan| loan.outstanding().is_positive())
                .collect(),
            mismatched_closes: books
                .closes
                .iter()
                .filter(|c| !c.matches)
                .cloned()
                .collect(),
            member_moves: member_moves(books),
            contribution_amount: books.rules.contribution_amount,
            contribution_periods_per_year: books.rules.contribution_period.periods_per_year()
                as u32,
        }
    }

    /// The position on `as_of`, equal to `GroupPosition::of(books, as_of)` for
    /// the books this basis was cut from.
    pub fn position(&self, as_of: Date) -> GroupPosition {
        GroupPosition::from_parts(
            Parts {
                accounts: &self.accounts,
                active_members: self.active_members,
                last_date: self.last_date,
                contributions: self.contributions.iter().copied(),
                benefits: self.benefits.iter().copied(),
                member_moves: &self.member_moves,
                contribution_amount: self.contribution_amount,
                contribution_periods_per_year: self.contribution_periods_per_year,
            },
            self.open_loans.iter().copied(),
            as_of,
        )
    }
}

/// The fold of a log's first `seq` events, which is also its fold as of any
/// date from `from` (the latest date among them) up to but excluding `until`
/// (the earliest date among the events after them): on those dates every
/// event before the cut counts and none after it does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PositionCut {
    pub seq: u64,
    pub from: Date,
    pub until: Date,
    pub basis: PositionBasis,
}

/// Cuts a log's fold where its dates cross into a later month, so a position
/// as of a month's end is read, not folded. Shown the events in log order,
/// each before it is applied to the books.
#[derive(Clone, Debug, Default)]
pub struct PositionCuts {
    pub cuts: Vec<PositionCut>,
    /// The earliest date among the events shown: a cut made before them
    /// holds only before it.
    pub earliest: Option<Date>,
}

impl PositionCuts {
    /// Call with the books as they are before `event` is applied.
    pub fn before(&mut self, books: &Books, event_date: Date) {
        for cut in &mut self.cuts {
            cut.until = cut.until.min(event_date);
        }
        self.earliest = Some(self.earliest.map_or(event_date, |d| d.min(event_date)));
        if let Some(last) = books.last_date
            && event_date.month() > last.month()
        {
            self.cuts.push(PositionCut {
                seq: books.last_seq,
                from: last,
                until: event_date,
                basis: PositionBasis::of(books),
            });
        }
    }

    /// The cuts that hold on at least one date.
    pub fn finish(mut self) -> PositionCuts {
        self.cuts.retain(|cut| cut.from < cut.until);
        self
    }
}

/// The pieces of the books a position reads, borrowed; the monthly sums in
/// key order.
struct Parts<'a, C, B> {
    accounts: &'a Accounts,
    active_members: u32,
    last_date: Option<Date>,
    contributions: C,
    benefits: B,
    member_moves: &'a [(Month, MemberMoves)],
    contribution_amount: Money,
    contribution_periods_per_year: u32,
}

impl GroupPosition {
    /// The position from books folded up to `as_of` (see `Books::fold_as_of`).
    pub fn of(books: &Books, as_of: Date) -> GroupPosition {
        GroupPosition::from_parts(
            Parts {
                accounts: &books.accounts,
                active_members: books.active_members() as u32,
                last_date: books.last_date,
                contributions: books.contributions.iter().map(|(k, v)| (*k, *v)),
                benefits: books.benefits.iter().map(|(k, v)| (*k, *v)),
                member_moves: &member_moves(books),
                contribution_amount: books.rules.contribution_amount,
                contribution_periods_per_year: books.rules.contribution_period.periods_per_year()
                    as u32,
            },
            books.loans.values().map(Loan::schedule),
            as_of,
        )
    }

    fn from_parts<C, B>(
        books: Parts<'_, C, B>,
        loans: impl Iterator<Item = LoanSchedule>,
        as_of: Date,
    ) -> GroupPosition
    where
        C: Iterator<Item = ((Month, Source), Money)> + Clone,
        B: Iterator<Item = ((Month, BenefitKind), Money)> + Clone,
    {
        let a = books.accounts;
        let month = as_of.month();
        let year_start = Month::new(as_of.year(), 1).unwrap_or(month);
        let contributions_month = by_key(
            books
                .contributions
                .clone()
                .filter(|((m, _), _)| *m == month)
                .map(|((_, s), a)| (s, a)),
        );
        let contributions_ytd = by_key(
            books
                .contributions
                .clone()
                .filter(|((m, _), _)| *m >= year_start && *m <= month)
                .map(|((_, s), a)| (s, a)),
        );
        let benefits_ytd = by_key(
            books
                .benefits
                .clone()
                .filter(|((m, _), _)| *m >= year_start && *m <= month)
                .map(|((_, k), a)| (k, a)),
        );
        let twelve_months_ago = month.minus(11);
        let benefits_12m: i64 = books
            .benefits
            .clone()
            .filter(|((m, _), _)| *m >= twelve_months_ago && *m <= month)
            .map(|(_, a)| a.satang())
            .sum();
        // cover = fund / (benefits_12m / 12), in hundredths of a month.
        let fund_cover_months_x100 = (benefits_12m > 0).then(|| {
            (i128::from(a.welfare_fund.satang()) * 1200 / i128::from(benefits_12m)) as i64
        });
        // Twelve months of flows into the fund and of members joining and
        // leaving, and each month's member count this year, from the sums.
        let in_window = |m: Month| m >= twelve_months_ago && m <= month;
        let flows_12m: i64 = books
            .contributions
            .clone()
            .filter(|((m, _), _)| in_window(*m))
            .map(|(_, a)| a.satang())
            .sum::<i64>()
            - books
                .benefits
                .clone()
                .filter(|((m, _), _)| in_window(*m))
                .map(|(_, a)| a.satang())
                .sum::<i64>();
        let fund_now = a.welfare_fund.satang() + a.reserve_pledged().satang();
        let net = |moves: &MemberMoves| i64::from(moves.joined) - i64::from(moves.left);
        let active = i64::from(books.active_members);
        let members_a_year_ago = active
            - books
                .member_moves
                .iter()
                .filter(|(m, _)| in_window(*m))
                .map(|(_, moves)| net(moves))
                .sum::<i64>();
        let member_months = member_months_this_year(books.member_moves, active, month);
        let per_year = i128::from(books.contribution_amount.satang())
            * i128::from(books.contribution_periods_per_year);
        let due = |member_months: i64| {
            Money::from_satang((i128::from(member_months) * per_year / 12) as i64)
        };
        let arrears = arrears_of(loans, as_of);
        GroupPosition {
            as_of,
            cash: a.cash,
            bank: a.bank,
            welfare_fund: a.welfare_fund,
            member_savings: a.member_savings,
            loans_outstanding: a.loans_receivable,
            pool_deposits: a.pool_deposits(),
            pool_loans: a.pool_loans_payable(),
            reserve_pledged: a.reserve_pledged(),
            active_members: books.active_members,
            contributions_month,
            contributions_ytd,
            benefits_ytd,
            arrears,
            fund_cover_months_x100,
            last_event_date: books.last_date,
            pools: a
                .pools
                .iter()
                .map(|(id, balances)| (id.clone(), *balances))
                .collect(),
            fund_a_year_ago: Money::from_satang(fund_now - flows_12m),
            members_a_year_ago: members_a_year_ago.max(0) as u32,
            contributions_due_month: due(active),
            contributions_due_ytd: due(member_months),
        }
    }

    /// The welfare fund with what was pledged from it as guarantee reserve:
    /// every contribution received less every benefit paid.
    pub fn fund(&self) -> Money {
        Money::from_satang(self.welfare_fund.satang() + self.reserve_pledged.satang())
    }

    /// Fund growth over twelve months: (fund − fund a year ago) ÷ fund a
    /// year ago, in basis points; `None` when there was no fund a year ago.
    pub fn fund_growth_basis_points(&self) -> Option<i64> {
        ratio(
            self.fund().satang() - self.fund_a_year_ago.satang(),
            self.fund_a_year_ago.satang(),
        )
    }

    /// Member growth over twelve months: (members − members a year ago) ÷
    /// members a year ago, in basis points; `None` without members then.
    pub fn member_growth_basis_points(&self) -> Option<i64> {
        ratio(
            i64::from(self.active_members) - i64::from(self.members_a_year_ago),
            i64::from(self.members_a_year_ago),
        )
    }

    /// Contributions from members themselves (not matching funds) received
    /// in the month of `as_of`.
    pub fn member_contributions_month(&self) -> Money {
        member_part(&self.contributions_month)
    }

    /// Contributions from members themselves received 1 January to `as_of`.
    pub fn member_contributions_ytd(&self) -> Money {
        member_part(&self.contributions_ytd)
    }

    /// Collection rate of the month: member contributions received ÷ due,
    /// in basis points (above 10000 when members pay ahead or catch up);
    /// `None` when nothing is due.
    pub fn collection_rate_month_basis_points(&self) -> Option<i64> {
        ratio(
            self.member_contributions_month().satang(),
            self.contributions_due_month.satang(),
        )
    }

    /// Collection rate of the year to date, as for the month.
    pub fn collection_rate_ytd_basis_points(&self) -> Option<i64> {
        ratio(
            self.member_contributions_ytd().satang(),
            self.contributions_due_ytd.satang(),
        )
    }

    /// Portfolio at risk > 30 days as a share of loans outstanding, in basis
    /// points (10000 = 100%).
    pub fn par30_basis_points(&self) -> i64 {
        if self.loans_outstanding.satang() <= 0 {
            return 0;
        }
        (i128::from(self.arrears.at_risk_outstanding.satang()) * 10_000
            / i128::from(self.loans_outstanding.satang())) as i64
    }
}

/// A pooled fund's position: what groups placed in it, borrowed from it and
/// pledged to it as reserve, against what it guarantees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolPosition {
    pub pool: PoolId,
    pub deposits: Money,
    pub loans_to_groups: Money,
    pub reserve: Money,
    pub currency_outstanding: Money,
    pub guarantees_outstanding: Money,
    pub min_reserve_ratio_basis_points: Option<u32>,
    /// Pledging groups, largest pledge first.
    pub pledges: Vec<(GroupId, Money)>,
    /// What the groups' pledges to this pool have paid to settle community
    /// exchanges' defaults (`ReserveDrawn`).
    pub reserve_drawn: Money,
}

impl PoolPosition {
    /// Folds the pool's balances out of its groups' positions and its hub's
    /// obligations.
    pub fn of<'a>(
        pool: &PoolId,
        groups: impl IntoIterator<Item = (&'a GroupId, &'a GroupPosition)>,
        obligations: Option<&PoolObligations>,
    ) -> PoolPosition {
        let (mut deposits, mut loans, mut reserve, mut drawn) = (0i64, 0i64, 0i64, 0i64);
        let mut pledges = Vec::new();
        for (group, position) in groups {
            for (id, balances) in &position.pools {
                if id != pool {
                    continue;
                }
                deposits += balances.deposits.satang();
                loans += balances.loans_payable.satang();
                reserve += balances.reserve_pledged.satang();
                drawn += balances.reserve_drawn.satang();
                if balances.reserve_pledged.is_positive() {
                    pledges.push((group.clone(), balances.reserve_pledged));
                }
            }
        }
        pledges.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        PoolPosition {
            pool: pool.clone(),
            deposits: Money::from_satang(deposits),
            loans_to_groups: Money::from_satang(loans),
            reserve: Money::from_satang(reserve),
            currency_outstanding: obligations.map_or(Money::ZERO, |o| o.currency_outstanding),
            guarantees_outstanding: obligations.map_or(Money::ZERO, |o| o.guarantees_outstanding()),
            min_reserve_ratio_basis_points: obligations
                .and_then(|o| o.min_reserve_ratio_basis_points),
            pledges,
            reserve_drawn: Money::from_satang(drawn),
        }
    }

    pub fn obligations(&self) -> Money {
        Money::from_satang(
            self.currency_outstanding.satang() + self.guarantees_outstanding.satang(),
        )
    }

    /// Reserve ÷ obligations in basis points; `None` when nothing is owed.
    pub fn reserve_ratio_basis_points(&self) -> Option<i64> {
        ratio(self.reserve.satang(), self.obligations().satang())
    }

    /// The ratio if the `n` largest pledging groups withdrew their pledges.
    pub fn ratio_without_largest(&self, n: usize) -> Option<i64> {
        let largest: i64 = self.pledges.iter().take(n).map(|(_, m)| m.satang()).sum();
        ratio(self.reserve.satang() - largest, self.obligations().satang())
    }

    /// Reserve above (positive) or below (negative) what the policy requires.
    pub fn headroom(&self) -> Option<Money> {
        let min = i128::from(self.min_reserve_ratio_basis_points?);
        let product = i128::from(self.obligations().satang()) * min;
        // Rounded up: a policy is met only in whole satang.
        let required = (product + 9_999) / 10_000;
        Some(Money::from_satang(self.reserve.satang() - required as i64))
    }

    pub fn below_policy(&self) -> bool {
        self.headroom().is_some_and(|h| h.satang() < 0)
    }
}

fn member_part(by_source: &[(Source, Money)]) -> Money {
    by_source
        .iter()
        .find(|(source, _)| *source == Source::Member)
        .map_or(Money::ZERO, |(_, amount)| *amount)
}

/// Basis points as a percent number, exactly: `2065` → `20.65`, `-5` →
/// `-0.05`. The one rendering of a ratio for people and spreadsheets.
pub fn basis_points_text(basis_points: i64) -> String {
    let sign = if basis_points < 0 { "-" } else { "" };
    let abs = basis_points.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

fn ratio(numerator: i64, denominator: i64) -> Option<i64> {
    (denominator > 0).then(|| (i128::from(numerator) * 10_000 / i128::from(denominator)) as i64)
}

/// Loans overdue on `as_of`, what is overdue, and the outstanding of those
/// more than `PAR_DAYS` past due (PAR30's numerator).
fn arrears_of(loans: impl Iterator<Item = LoanSchedule>, as_of: Date) -> Arrears {
    let mut arrears = Arrears::default();
    for loan in loans {
        let behind = loan.arrears_on(as_of);
        if behind.overdue.is_positive() {
            arrears.loans += 1;
            arrears.overdue =
                Money::from_satang(arrears.overdue.satang() + behind.overdue.satang());
            if behind.days_past_due > PAR_DAYS {
                arrears.at_risk_outstanding = Money::from_satang(
                    arrears.at_risk_outstanding.satang() + loan.outstanding().satang(),
                );
            }
        }
    }
    arrears
}

/// Member-months from January to `month`: the members at the end of each
/// month of the year so far (on the report date for its own month), walked
/// back from `active` now by undoing each month's joins and leavings.
fn member_months_this_year(
    member_moves: &[(Month, MemberMoves)],
    active: i64,
    month: Month,
) -> i64 {
    let year_start = Month::new(month.year(), 1).unwrap_or(month);
    let net = |moves: &MemberMoves| i64::from(moves.joined) - i64::from(moves.left);
    let mut net_by_month = [0i64; 13];
    for (m, moves) in member_moves {
        if *m >= year_start && *m <= month {
            net_by_month[m.month_of_year() as usize] += net(moves);
        }
    }
    let mut member_months = 0i64;
    let mut at_end = active;
    for m in (1..=month.month_of_year() as usize).rev() {
        member_months += at_end;
        at_end -= net_by_month[m];
    }
    member_months
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Body, Channel, Event, Rules, Sex};
    use crate::ids::LoanNo;
    use crate::ids::MemberNo;

    fn event(seq: u64, date: &str, body: Body) -> Event {
        Event {
            group: GroupId::parse("230101-007").unwrap(),
            seq,
            date: date.parse().unwrap(),
            recorded_at: 0,
            body,
        }
    }

    #[test]
    fn a_loan_three_instalments_behind_is_at_risk_and_fund_cover_counts_months() {
        let events = vec![
            event(
                1,
                "2026-01-01",
                Body::GroupOpened {
                    name: "g".into(),
                    tambon: "230101".into(),
                    province: "23".into(),
                },
            ),
            event(
                2,
                "2026-01-01",
                Body::RulesChanged(Rules {
                    waiting_days: 0,
                    ..Rules::default()
                }),
            ),
            event(
                3,
                "2026-01-01",
                Body::MemberJoined {
                    member: MemberNo(1),
                    birth_year: 1970,
                    sex: Sex::Female,
                },
            ),
            event(
                4,
                "2026-01-02",
                Body::SavingsDeposited {
                    member: MemberNo(1),
                    amount: Money::from_baht(20_000),
                    channel: Channel::Cash,
                },
            ),
            event(
                5,
                "2026-01-05",
                Body::ContributionReceived {
                    member: Some(MemberNo(1)),
                    amount: Money::from_baht(1_200),
                    period: Month::new(2026, 1).unwrap(),
                    source: Source::Member,
                    channel: Channel::Cash,
                    extra: false,
                },
            ),
            // 10,000 over 10 months from 1 February: 1,000 due on the 1st of each month.
            event(
                6,
                "2026-02-01",
                Body::LoanDisbursed {
                    loan: LoanNo(1),
                    member: MemberNo(1),
                    principal: Money::from_baht(10_000),
                    monthly_interest_basis_points: 100,
                    term_months: 10,
                    guarantors: vec![],
                    channel: Channel::Cash,
                    plan: Default::default(),
                },
            ),
            event(
                7,
                "2026-03-01",
                Body::LoanRepaid {
                    loan: LoanNo(1),
                    principal: Money::from_baht(1_000),
                    interest: Money::ZERO,
                    channel: Channel::Cash,
                },
            ),
            event(
                8,
                "2026-03-10",
                Body::BenefitPaid {
                    member: MemberNo(1),
                    kind: BenefitKind::Childbirth,
                    amount: Money::from_baht(300),
                    nights: 0,
                    committee_override: false,
                    override_reason: String::new(),
                    channel: Channel::Cash,
                },
            ),
        ];
        let as_of: Date = "2026-06-15".parse().unwrap();
        let books = Books::fold(GroupId::parse("230101-007").unwrap(), &events).unwrap();
        let p = GroupPosition::of(&books, as_of);
        // Due by 15 June: instalments of 1 Mar, Apr, May, Jun = 4,000; paid 1,000.
        // The oldest unpaid is 1 April: 75 days late, so all 9,000 is at risk.
        assert_eq!(
            p.arrears,
            Arrears {
                loans: 1,
                overdue: Money::from_baht(3_000),
                at_risk_outstanding: Money::from_baht(9_000)
            }
        );
        assert_eq!(p.par30_basis_points(), 10_000);
        // Fund 1,200 − 300 = 900; 300 paid in 12 months = 25 a month; cover 36 months.
        assert_eq!(p.fund_cover_months_x100, Some(3_600));
        assert_eq!(
            p.contributions_ytd,
            vec![(Source::Member, Money::from_baht(1_200))]
        );
        assert_eq!(p.contributions_month, vec![]);
        assert_eq!(
            p.benefits_ytd,
            vec![(BenefitKind::Childbirth, Money::from_baht(300))]
        );
    }
}

#[cfg(test)]
mod growth_tests {
    use super::*;
    use crate::event::{Body, Channel, ContributionPeriod, Event, LeaveReason, Rules, Sex};
    use crate::ids::MemberNo;

    struct Log(Vec<Event>);

    impl Log {
        fn add(&mut self, date: &str, body: Body) {
            let seq = self.0.len() as u64 + 1;
            self.0.push(Event {
                group: GroupId::parse("230101-007").unwrap(),
                seq,
                date: date.parse().unwrap(),
                recorded_at: 0,
                body,
            });
        }

        fn join(&mut self, date: &str, member: u32) {
            self.add(
                date,
                Body::MemberJoined {
                    member: MemberNo(member),
                    birth_year: 1970,
                    sex: Sex::Female,
                },
            );
        }

        fn contribute(&mut self, date: &str, member: Option<u32>, source: Source, baht: i64) {
            let date_parsed: Date = date.parse().unwrap();
            self.add(
                date,
                Body::ContributionReceived {
                    member: member.map(MemberNo),
                    amount: Money::from_baht(baht),
                    period: date_parsed.month(),
                    source,
                    channel: Channel::Cash,
                    extra: false,
                },
            );
        }

        fn books(&self) -> Books {
            Books::fold(GroupId::parse("230101-007").unwrap(), &self.0).unwrap()
        }
    }

    /// Fourteen months of a small group: members joining and leaving, funds
    /// in and out, a reserve pledge.
    fn history() -> Log {
        let mut log = Log(Vec::new());
        log.add(
            "2025-01-01",
            Body::GroupOpened {
                name: "g".into(),
                tambon: "230101".into(),
                province: "23".into(),
            },
        );
        log.add(
            "2025-01-01",
            Body::RulesChanged(Rules {
                waiting_days: 0,
                ..Rules::default()
            }),
        );
        log.join("2025-01-01", 1);
        log.join("2025-01-01", 2);
        log.contribute("2025-02-10", Some(1), Source::Member, 200);
        log.join("2025-03-10", 3);
        log.contribute("2025-06-15", Some(1), Source::Member, 600);
        log.contribute("2025-06-15", None, Source::LocalGovernment, 600);
        log.add(
            "2025-08-01",
            Body::BenefitPaid {
                member: MemberNo(1),
                kind: BenefitKind::Childbirth,
                amount: Money::from_baht(300),
                nights: 0,
                committee_override: false,
                override_reason: String::new(),
                channel: Channel::Cash,
            },
        );
        log.add(
            "2025-12-20",
            Body::MemberLeft {
                member: MemberNo(2),
                reason: LeaveReason::Moved,
                savings_refund: Money::ZERO,
                channel: Channel::Cash,
            },
        );
        log.join("2026-02-05", 4);
        log.join("2026-03-02", 5);
        log.contribute("2026-03-03", Some(1), Source::Member, 90);
        log.contribute("2026-03-03", None, Source::Donation, 10);
        log.add(
            "2026-03-20",
            Body::ReservePledged {
                pool: PoolId::parse("230101").unwrap(),
                amount: Money::from_baht(100),
            },
        );
        log
    }

    #[test]
    fn fund_growth_member_growth_and_collection_rate_by_hand() {
        let books = history().books();
        let as_of: Date = "2026-03-31".parse().unwrap();
        let p = GroupPosition::of(&books, as_of);
        // The fund: 200 + 600 + 600 − 300 + 90 + 10 = 1,200 (1,100 welfare
        // fund and 100 pledged as reserve). Twelve months to March 2026 are
        // April 2025 to March 2026: in 1,300, out 300; so at the end of
        // March 2025 the fund was 1,200 − 1,000 = 200 (February's 200).
        assert_eq!(p.welfare_fund, Money::from_baht(1_100));
        assert_eq!(p.fund(), Money::from_baht(1_200));
        assert_eq!(p.fund_a_year_ago, Money::from_baht(200));
        assert_eq!(p.fund_growth_basis_points(), Some(50_000));
        // Members: 1, 3, 4, 5 now; 1, 2, 3 at the end of March 2025.
        assert_eq!(p.active_members, 4);
        assert_eq!(p.members_a_year_ago, 3);
        assert_eq!(p.member_growth_basis_points(), Some(3_333));
        // Due at 30 baht a month: March 4 × 30 = 120; the year to date
        // (2 at the end of January, 3 of February, 4 on 31 March) 9 × 30 = 270.
        // Received from members: 90 in March (the donation is not a member's).
        assert_eq!(p.contributions_due_month, Money::from_baht(120));
        assert_eq!(p.contributions_due_ytd, Money::from_baht(270));
        assert_eq!(p.member_contributions_month(), Money::from_baht(90));
        assert_eq!(p.member_contributions_ytd(), Money::from_baht(90));
        assert_eq!(p.collection_rate_month_basis_points(), Some(7_500));
        assert_eq!(p.collection_rate_ytd_basis_points(), Some(3_333));
        // The maintained inputs give the very same position.
        assert_eq!(PositionBasis::of(&books).position(as_of), p);

        // A year on, nothing new: no growth, nothing collected.
        let later: Date = "2027-03-31".parse().unwrap();
        let q = PositionBasis::of(&books).position(later);
        assert_eq!(q, GroupPosition::of(&books, later));
        assert_eq!(q.fund_a_year_ago, Money::from_baht(1_200));
        assert_eq!(q.fund_growth_basis_points(), Some(0));
        assert_eq!(q.members_a_year_ago, 4);
        assert_eq!(q.member_growth_basis_points(), Some(0));
        assert_eq!(q.contributions_due_ytd, Money::from_baht(4 * 3 * 30));
        assert_eq!(q.collection_rate_ytd_basis_points(), Some(0));
    }

    #[test]
    fn dues_follow_the_rules_period_rounded_down_once() {
        let mut log = history();
        // 7 baht a week from 25 March: 7 × 52 ÷ 12 a member-month.
        log.add(
            "2026-03-25",
            Body::RulesChanged(Rules {
                waiting_days: 0,
                contribution_amount: Money::from_baht(7),
                contribution_period: ContributionPeriod::Weekly,
                ..Rules::default()
            }),
        );
        let p = GroupPosition::of(&log.books(), "2026-03-31".parse().unwrap());
        // 4 × 700 × 52 ÷ 12 = 12,133.33 satang; 9 × 700 × 52 ÷ 12 = 27,300.
        assert_eq!(p.contributions_due_month, Money::from_satang(12_133));
        assert_eq!(p.contributions_due_ytd, Money::from_satang(27_300));
        // Nothing due, no rate.
        let mut log = history();
        log.add(
            "2026-03-25",
            Body::RulesChanged(Rules {
                waiting_days: 0,
                contribution_amount: Money::ZERO,
                ..Rules::default()
            }),
        );
        let p = GroupPosition::of(&log.books(), "2026-03-31".parse().unwrap());
        assert_eq!(p.contributions_due_month, Money::ZERO);
        assert_eq!(p.collection_rate_month_basis_points(), None);
    }
}

#[cfg(test)]
mod pool_tests {
    use super::*;
    use crate::admin::Guarantee;

    fn position_with(pool: &PoolId, reserve_baht: i64) -> GroupPosition {
        let books = Books::new(GroupId::parse("230101-001").unwrap());
        let mut p = GroupPosition::of(&books, Date::from_days(20_000).unwrap());
        p.pools = vec![(
            pool.clone(),
            PoolBalances {
                reserve_pledged: Money::from_baht(reserve_baht),
                ..Default::default()
            },
        )];
        p
    }

    #[test]
    fn reserve_ratio_headroom_and_concentration_follow_the_pledges() {
        let pool = PoolId::parse("230101").unwrap();
        let ids: Vec<GroupId> = (1..=4)
            .map(|n| GroupId::parse(&format!("230101-00{n}")).unwrap())
            .collect();
        let positions = [
            position_with(&pool, 40_000),
            position_with(&pool, 30_000),
            position_with(&pool, 20_000),
            position_with(&pool, 10_000),
        ];
        let mut obligations = PoolObligations {
            min_reserve_ratio_basis_points: Some(5_000),
            currency_outstanding: Money::from_baht(100_000),
            ..Default::default()
        };
        obligations.guarantees.insert(
            1,
            Guarantee {
                beneficiary: ids[0].clone(),
                lender: "bank".into(),
                amount: Money::from_baht(60_000),
                given_on: Date::EPOCH,
            },
        );
        let p = PoolPosition::of(&pool, ids.iter().zip(positions.iter()), Some(&obligations));
        // Reserve 100,000 against 160,000 of obligations: 62.50%.
        assert_eq!(p.reserve_ratio_basis_points(), Some(6_250));
        // Policy 50% needs 80,000: 20,000 of headroom.
        assert_eq!(p.headroom(), Some(Money::from_baht(20_000)));
        // Without the largest pledge (40,000): 60,000 / 160,000 = 37.50%; without three: 10,000 → 6.25%.
        assert_eq!(p.ratio_without_largest(1), Some(3_750));
        assert_eq!(p.ratio_without_largest(3), Some(625));
        assert!(!p.below_policy());
    }
}
