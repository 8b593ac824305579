//! A group's line in every report: its position with the hub's view of its
//! log, how fresh that view is, and the health read from both.

use std::collections::BTreeSet;

use sajja_common::position::GroupPosition;
use sajja_common::{GroupId, PoolId};

use sajja_common::Month;
use std::sync::Arc;

/// A group's position with the hub's view of its log.
#[derive(Clone, Debug)]
pub struct GroupLine {
    pub group: GroupId,
    pub name: String,
    pub seq: u64,
    pub forked: bool,
    /// The scrub found this hub's copy of the log damaged.
    pub damaged: bool,
    /// The group's last verified contact (unix seconds): what "stale" is
    /// measured from. (The wire's `GroupLine.last_sync_at` carries it.)
    pub last_contact_at: Option<i64>,
    /// Shared with the reader's [`PositionCache`], which computed it.
    pub position: Arc<GroupPosition>,
    /// Months signed off for this group, in any administrative log held here.
    pub signed_off: Vec<Month>,
}

/// How a group stands: damaged outranks forked, forked outranks stale, and
/// stale outranks at risk (figures that have stopped arriving say nothing
/// about today).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    Ok,
    AtRisk,
    Stale,
    Forked,
    Damaged,
}

impl Health {
    pub fn name(self) -> &'static str {
        match self {
            Health::Ok => "ok",
            Health::AtRisk => "at_risk",
            Health::Stale => "stale",
            Health::Forked => "forked",
            Health::Damaged => "damaged",
        }
    }
}

/// When a report is made, how old a last sync may be, and what puts a
/// group at risk: everything a group's [`Health`] is judged by.
#[derive(Clone, Copy, Debug)]
pub struct Freshness {
    /// Unix seconds.
    pub now: i64,
    pub stale_after_days: u32,
    pub attention: Attention,
}

/// The thresholds that make a group "at risk" (`[attention]` in hub.toml):
/// a status in positions, alerts, metrics and the dashboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Attention {
    /// Portfolio at risk over 30 days, in percent of loans outstanding,
    /// above which a group is at risk.
    pub par30_percent: u32,
    /// Members' contributions this year as a percent of what the rules make
    /// due, below which a group is at risk.
    pub collection_percent: u32,
    /// Whether a fund smaller than twelve months before puts a group at risk.
    pub falling_fund: bool,
}

impl Default for Attention {
    /// PAR30 above 10% is the microfinance line past which a portfolio needs
    /// action; a group collecting under 80% of what is due is losing members.
    fn default() -> Attention {
        Attention {
            par30_percent: 10,
            collection_percent: 80,
            falling_fund: true,
        }
    }
}

/// Why a group is at risk; each with the figure that crossed its line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Risk {
    Par30 { basis_points: i64 },
    Collection { basis_points: i64 },
    FallingFund { growth_basis_points: i64 },
}

impl Risk {
    pub fn kind(self) -> &'static str {
        match self {
            Risk::Par30 { .. } => "par30",
            Risk::Collection { .. } => "collection",
            Risk::FallingFund { .. } => "falling_fund",
        }
    }
}

impl std::fmt::Display for Risk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pct = |bp: i64| format!("{}%", sajja_common::position::basis_points_text(bp));
        match *self {
            Risk::Par30 { basis_points } => write!(f, "PAR30 {}", pct(basis_points)),
            Risk::Collection { basis_points } => {
                write!(
                    f,
                    "collected {} of contributions due this year",
                    pct(basis_points)
                )
            }
            Risk::FallingFund {
                growth_basis_points,
            } => write!(f, "fund {} in twelve months", pct(growth_basis_points)),
        }
    }
}

impl Attention {
    /// Every line `position` crosses, worst-first in the order people act on.
    pub fn risks(&self, position: &GroupPosition) -> Vec<Risk> {
        let mut out = Vec::new();
        let par = position.par30_basis_points();
        if par > i64::from(self.par30_percent) * 100 {
            out.push(Risk::Par30 { basis_points: par });
        }
        if let Some(rate) = position.collection_rate_ytd_basis_points()
            && rate < i64::from(self.collection_percent) * 100
        {
            out.push(Risk::Collection { basis_points: rate });
        }
        if self.falling_fund
            && let Some(growth) = position.fund_growth_basis_points()
            && growth < 0
        {
            out.push(Risk::FallingFund {
                growth_basis_points: growth,
            });
        }
        out
    }
}

impl GroupLine {
    pub fn health(&self, freshness: Freshness) -> Health {
        if self.damaged {
            Health::Damaged
        } else if self.forked {
            Health::Forked
        } else if is_stale(self, freshness.now, freshness.stale_after_days) {
            Health::Stale
        } else if !freshness.attention.risks(&self.position).is_empty() {
            Health::AtRisk
        } else {
            Health::Ok
        }
    }
}

/// Whether a group counts as stale: no verified contact for `stale_after_days`.
pub fn is_stale(line: &GroupLine, now: i64, stale_after_days: u32) -> bool {
    stale(line.last_contact_at, now, stale_after_days)
}

/// The stale rule, the one place it is written (lines, alerts and metrics
/// ask it): no contact yet, or none for more than `stale_after_days` days.
pub fn stale(last_contact_at: Option<i64>, now: i64, stale_after_days: u32) -> bool {
    last_contact_at.is_none_or(|at| now - at > i64::from(stale_after_days) * 86_400)
}

/// Narrows a list of groups; every filter set must hold (they combine with AND).
#[derive(Clone, Debug, Default)]
pub struct GroupFilter {
    pub stale: bool,
    pub forked: bool,
    /// At least one loan with an instalment overdue.
    pub arrears: bool,
    /// Deals with (deposits in, borrows from or pledges reserve to) a pool
    /// whose reserve is below its policy.
    pub below_reserve: bool,
}

impl GroupFilter {
    pub fn is_empty(&self) -> bool {
        !(self.stale || self.forked || self.arrears || self.below_reserve)
    }
}

/// The lines that pass `filter`. `pools_below` names the pools below policy
/// (used only by `below_reserve`).
pub fn filter_lines(
    lines: Vec<GroupLine>,
    filter: &GroupFilter,
    freshness: Freshness,
    pools_below: &BTreeSet<PoolId>,
) -> Vec<GroupLine> {
    lines
        .into_iter()
        .filter(|line| {
            let health = line.health(freshness);
            (!filter.stale || health == Health::Stale)
                && (!filter.forked || health == Health::Forked)
                && (!filter.arrears || line.position.arrears.loans > 0)
                && (!filter.below_reserve
                    || line
                        .position
                        .pools
                        .iter()
                        .any(|(pool, _)| pools_below.contains(pool)))
        })
        .collect()
}
