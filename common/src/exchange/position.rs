//! An exchange's position as of a date, and how much of its debit the
//! reserve covers. Credits and baht stay apart: credit figures are
//! [`Credits`], reserve figures are [`Money`], and the one bridge between
//! them is the exchange's stated rate ([`Credits::valued_at`], rounded up).
//!
//! Every figure is computed as of `date` from the dated data the books
//! keep, so the position of the books now as of a past date equals the
//! position of the fold of only the events dated up to it.

use std::collections::BTreeMap;

use super::books::{AccountStatus, ExchangeBooks};
use super::credits::Credits;
use super::event::{AccountNo, Category};
use crate::date::{Date, Month};
use crate::ids::{GroupId, PoolId};
use crate::money::Money;

/// Transfers of one month and category, net of reversals (a reversal
/// counts in the month of the transfer it undoes, as group reversals do).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Volume {
    pub transfers: u64,
    pub volume: Credits,
}

/// An account's debit and its share of the debit outstanding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccountDebit {
    pub account: AccountNo,
    pub debit: Credits,
    pub share_basis_points: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExchangePosition {
    pub log: GroupId,
    pub date: Date,
    /// The exchange's name, from its terms.
    pub name: String,
    pub unit_name: String,
    pub rate_per_credit: Money,
    pub reserve_pool: PoolId,
    pub accounts_open: usize,
    pub accounts_closed: usize,
    pub accounts_defaulted: usize,
    /// The sum of positive balances.
    pub credit_in_circulation: Credits,
    /// The sum of open accounts' negative balances, as a positive amount.
    pub debit_outstanding: Credits,
    /// Defaulted accounts' debit, written off against the reserve.
    pub debit_written_off: Credits,
    /// What the reserve paid for it, in baht at the stated rate, as the
    /// exchange's log records it.
    pub settled_from_reserve: Money,
    /// What the pledging groups' own logs record paid from their pledges to
    /// the reserve pool to settle it (`ReserveDrawn`), as of the same date:
    /// the caller's input ([`ExchangePosition::with_group_draws`]). Both logs
    /// agree when it equals `settled_from_reserve`.
    pub settled_by_groups: Money,
    pub vouchers_outstanding: Credits,
    pub volume_by_month: BTreeMap<(Month, Category), Volume>,
    /// The reserve pledged to the exchange's pool, from the group logs.
    pub reserve_pledged: Money,
    /// Debit outstanding plus vouchers outstanding, valued at the stated
    /// rate and rounded up to the satang: what the reserve guarantees.
    /// Vouchers count in full beside the debit (conservative: paper is in
    /// bearer hands, outside any account the exchange can see).
    pub exposure: Money,
    /// Reserve ÷ exposure in basis points, rounded down (never overstated);
    /// `None` when nothing is outstanding (coverage unbounded).
    pub coverage_basis_points: Option<i64>,
    pub policy_min_coverage_basis_points: u32,
    /// The reserve the policy asks for: exposure × policy, rounded up.
    pub reserve_required: Money,
    /// How much more debit the reserve covers at the policy minimum, in
    /// credits (rounded down); negative when coverage is below policy (the
    /// debit to be repaid to get back to it); `None` when the policy asks
    /// for no coverage.
    pub headroom: Option<Credits>,
    /// Coverage if the largest pledging group withdrew its reserve.
    pub coverage_without_largest_pledger: Option<i64>,
    /// Coverage if the three largest pledging groups withdrew.
    pub coverage_without_largest_three: Option<i64>,
    pub largest_debtor: Option<AccountDebit>,
    pub concentration_limit_basis_points: u32,
    /// Accounts holding more than the concentration limit of the debit.
    pub debtors_over_limit: Vec<AccountDebit>,
}

/// What a coordinator is told about an exchange.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExchangeAlert {
    CoverageBelowPolicy {
        coverage_basis_points: i64,
        policy_basis_points: u32,
        /// More reserve the policy asks for.
        shortfall: Money,
    },
    DebitConcentrated {
        account: AccountNo,
        debit: Credits,
        share_basis_points: i64,
        limit_basis_points: u32,
    },
    /// The exchange settled defaulted debit against the reserve, and the
    /// groups' logs record a different amount paid from their pledges.
    SettlementUnmatched {
        settled_from_reserve: Money,
        settled_by_groups: Money,
    },
}

/// `numerator × 10_000 ÷ denominator`, rounded down; `None` for a
/// denominator of zero or less (nothing to cover).
fn basis_points(numerator: i128, denominator: i128) -> Option<i64> {
    (denominator > 0).then(|| {
        let ratio = (numerator * 10_000).div_euclid(denominator);
        i64::try_from(ratio).unwrap_or(i64::MAX)
    })
}

fn money(satang: i128) -> Money {
    Money::from_satang(i64::try_from(satang).unwrap_or(i64::MAX))
}

fn credits(centi: i128) -> Credits {
    Credits::from_centi(i64::try_from(centi).unwrap_or(i64::MAX))
}

impl ExchangePosition {
    /// The position of `books` as of the end of `date`, with the reserve
    /// each group has pledged to the exchange's pool as of that date (the
    /// group logs' `ReservePledged` less `ReserveReleased`, folded by the
    /// caller). `None` if the exchange had not opened by then.
    pub fn of(
        books: &ExchangeBooks,
        date: Date,
        reserve_by_group: &BTreeMap<GroupId, Money>,
    ) -> Option<ExchangePosition> {
        let terms = books.terms.as_ref()?;
        if books.opened_on.is_none_or(|opened| opened > date) {
            return None;
        }
        let rate = i128::from(terms.rate_per_credit.satang());
        let (mut open, mut closed, mut defaulted) = (0, 0, 0);
        let (mut credit, mut debit, mut written_off): (i128, i128, i128) = (0, 0, 0);
        let mut settled: i128 = 0;
        let mut debtors: Vec<(AccountNo, i64)> = Vec::new();
        for (number, account) in &books.accounts {
            if account.opened_on > date {
                continue;
            }
            let balance = account.balance_as_of(date).centi();
            if balance > 0 {
                credit += i128::from(balance);
            }
            match account.status.as_of(date) {
                AccountStatus::Open => {
                    open += 1;
                    if balance < 0 {
                        debit -= i128::from(balance);
                        debtors.push((*number, balance.saturating_neg()));
                    }
                }
                AccountStatus::Closed { .. } => closed += 1,
                AccountStatus::Defaulted {
                    written_off: w,
                    settled: s,
                    ..
                } => {
                    defaulted += 1;
                    written_off += i128::from(w.centi());
                    settled += i128::from(s.satang());
                }
            }
        }
        let vouchers = i128::from(books.vouchers.outstanding_as_of(date).centi());

        let mut volume_by_month: BTreeMap<(Month, Category), Volume> = BTreeMap::new();
        for t in books.transfers.values().filter(|t| t.date <= date) {
            if t.reversed_on.is_some_and(|on| on <= date) {
                continue;
            }
            let v = volume_by_month
                .entry((t.date.month(), t.category))
                .or_default();
            v.transfers += 1;
            v.volume = Credits::from_centi(v.volume.centi().saturating_add(t.amount.centi()));
        }

        // Valued at the rate, rounded up to the satang (see `Credits::valued_at`).
        let exposure = ((debit + vouchers) * rate + 99).div_euclid(100);
        let mut pledges: Vec<i128> = reserve_by_group
            .values()
            .map(|m| i128::from(m.satang()))
            .collect();
        pledges.sort_unstable_by(|a, b| b.cmp(a));
        let reserve: i128 = pledges.iter().sum();
        let without = |n: usize| reserve - pledges.iter().take(n).sum::<i128>();
        let policy = i128::from(terms.policy_min_coverage_basis_points);
        let reserve_required = (exposure * policy + 9_999).div_euclid(10_000);
        let headroom = (policy > 0).then(|| {
            let capacity = (reserve * 10_000).div_euclid(policy);
            credits(((capacity - exposure) * 100).div_euclid(rate))
        });

        debtors.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let share = |d: i64| basis_points(i128::from(d), debit).unwrap_or(0);
        let as_debit = |(account, d): (AccountNo, i64)| AccountDebit {
            account,
            debit: Credits::from_centi(d),
            share_basis_points: share(d),
        };
        let limit = terms.concentration_limit_basis_points;
        let debtors_over_limit = debtors
            .iter()
            .copied()
            .map(as_debit)
            .take_while(|d| d.share_basis_points > i64::from(limit))
            .collect();

        Some(ExchangePosition {
            log: books.log.clone(),
            date,
            name: terms.name.clone(),
            unit_name: terms.unit_name.clone(),
            rate_per_credit: terms.rate_per_credit,
            reserve_pool: terms.reserve_pool.clone(),
            accounts_open: open,
            accounts_closed: closed,
            accounts_defaulted: defaulted,
            credit_in_circulation: credits(credit),
            debit_outstanding: credits(debit),
            debit_written_off: credits(written_off),
            settled_from_reserve: money(settled),
            settled_by_groups: Money::ZERO,
            vouchers_outstanding: credits(vouchers),
            volume_by_month,
            reserve_pledged: money(reserve),
            exposure: money(exposure),
            coverage_basis_points: basis_points(reserve, exposure),
            policy_min_coverage_basis_points: terms.policy_min_coverage_basis_points,
            reserve_required: money(reserve_required),
            headroom,
            coverage_without_largest_pledger: basis_points(without(1), exposure),
            coverage_without_largest_three: basis_points(without(3), exposure),
            largest_debtor: debtors.first().copied().map(as_debit),
            concentration_limit_basis_points: limit,
            debtors_over_limit,
        })
    }

    /// The position with what the pledging groups' logs record paid from
    /// the reserve pool (the sum of their `ReserveDrawn` to it, as of the
    /// position's date).
    pub fn with_group_draws(mut self, settled_by_groups: Money) -> ExchangePosition {
        self.settled_by_groups = settled_by_groups;
        self
    }

    /// Coverage below policy, each account holding more than the
    /// concentration limit of the debit, and a settlement the two kinds of
    /// log do not agree on.
    pub fn alerts(&self) -> Vec<ExchangeAlert> {
        let mut alerts = Vec::new();
        if self.settled_from_reserve != self.settled_by_groups {
            alerts.push(ExchangeAlert::SettlementUnmatched {
                settled_from_reserve: self.settled_from_reserve,
                settled_by_groups: self.settled_by_groups,
            });
        }
        if let Some(coverage) = self.coverage_basis_points
            && coverage < i64::from(self.policy_min_coverage_basis_points)
        {
            alerts.push(ExchangeAlert::CoverageBelowPolicy {
                coverage_basis_points: coverage,
                policy_basis_points: self.policy_min_coverage_basis_points,
                shortfall: Money::from_satang(
                    self.reserve_required.satang() - self.reserve_pledged.satang(),
                ),
            });
        }
        for d in &self.debtors_over_limit {
            alerts.push(ExchangeAlert::DebitConcentrated {
                account: d.account,
                debit: d.debit,
                share_basis_points: d.share_basis_points,
                limit_basis_points: self.concentration_limit_basis_points,
            });
        }
        alerts
    }

    /// The transfers and volume of `month`, over every category.
    pub fn month_total(&self, month: Month) -> Volume {
        Category::ALL
            .iter()
            .filter_map(|c| self.volume_by_month.get(&(month, *c)))
            .fold(Volume::default(), |total, v| Volume {
                transfers: total.transfers + v.transfers,
                volume: Credits::from_centi(total.volume.centi().saturating_add(v.volume.centi())),
            })
    }
}
