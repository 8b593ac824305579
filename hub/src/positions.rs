//! Positions read from the hub's store: each group's log folded up to a date.
//!
//! Current positions are read from the position inputs the hub maintains as
//! batches commit (`group_positions`, see [`crate::store`]); a position as of
//! a past month end from the cut stored when the log crossed into the next
//! month (`position_cuts`); any other past date is a fold of the log up to
//! that date. All must equal the direct fold, which anyone holding the logs
//! can redo.

use std::collections::{BTreeMap, BTreeSet};

use sajja_common::admin::{AdminBooks, AdminEvent};
use sajja_common::position::{GroupPosition, PoolPosition, PositionBasis};
use sajja_common::{Books, Date, GroupId, Hash, Money, Month, PoolId};

use crate::signoff;
use crate::store::{GroupRow, GroupStatus, PositionRow, Store, StoreError};

/// A group's position with the hub's view of its log.
#[derive(Clone, Debug)]
pub struct GroupLine {
    pub group: GroupId,
    pub name: String,
    pub seq: u64,
    pub forked: bool,
    pub last_sync_at: Option<i64>,
    pub position: GroupPosition,
    /// Months signed off for this group, in any administrative log held here.
    pub signed_off: Vec<Month>,
}

/// How a group stands: forked outranks stale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    Ok,
    Stale,
    Forked,
}

impl Health {
    pub fn name(self) -> &'static str {
        match self {
            Health::Ok => "ok",
            Health::Stale => "stale",
            Health::Forked => "forked",
        }
    }
}

/// When a report is made and how old a last sync may be.
#[derive(Clone, Copy, Debug)]
pub struct Freshness {
    /// Unix seconds.
    pub now: i64,
    pub stale_after_days: u32,
}

impl GroupLine {
    pub fn health(&self, freshness: Freshness) -> Health {
        if self.forked {
            Health::Forked
        } else if is_stale(self, freshness.now, freshness.stale_after_days) {
            Health::Stale
        } else {
            Health::Ok
        }
    }
}

/// Folds the stored events of `row` (those dated on or before `as_of`, when
/// given): the reference every maintained position must equal.
pub fn fold_group(store: &Store, row: &GroupRow, as_of: Option<Date>) -> Result<Books, StoreError> {
    store.fold(row, as_of)
}

/// A group's position inputs on `as_of`: the ones maintained at commit when
/// they cover the whole log and no event is dated after `as_of` (then the
/// fold up to `as_of` is the fold of the whole log); else a stored month-end
/// cut that holds on `as_of`; else a fold of the log up to `as_of`.
fn basis_on(store: &Store, row: &PositionRow, as_of: Date) -> Result<PositionBasis, StoreError> {
    if let Some((seq, max_date, bytes)) = &row.basis
        && *seq == row.seq
        && max_date.is_none_or(|d| d <= as_of.days())
    {
        match PositionBasis::from_snapshot(bytes) {
            Ok(basis) => return Ok(basis),
            Err(e) => {
                tracing::warn!(group = %row.group, error = %e, "stored position unreadable; re-folding")
            }
        }
    }
    if let Some(bytes) = store.cut_basis(row.gid, as_of)? {
        match PositionBasis::from_snapshot(&bytes) {
            Ok(basis) => return Ok(basis),
            Err(e) => {
                tracing::warn!(group = %row.group, error = %e, "stored cut unreadable; re-folding")
            }
        }
    }
    let Some(group_row) = store.group(&row.group)? else {
        return Err(StoreError::NotEnrolled(row.group.clone()));
    };
    Ok(PositionBasis::of(&fold_group(
        store,
        &group_row,
        Some(as_of),
    )?))
}

/// Positions of every group whose id starts with `scope` (a province or
/// tambon geocode; empty for all).
pub fn group_lines(store: &Store, scope: &str, as_of: Date) -> Result<Vec<GroupLine>, StoreError> {
    let mut signed: BTreeMap<String, Vec<Month>> = BTreeMap::new();
    for log in store.hub_logs()? {
        if let Some(hub) = log.hub_of_log()
            && let Some(books) = signoff::admin_books(store, hub)?
        {
            for (subject, month) in books.sign_offs.keys() {
                signed.entry(subject.clone()).or_default().push(*month);
            }
        }
    }
    let mut lines = Vec::new();
    for row in store.position_rows(scope)? {
        if row.group.is_hub_log() {
            continue;
        }
        let basis = basis_on(store, &row, as_of)?;
        lines.push(GroupLine {
            position: basis.position(as_of),
            name: basis.name,
            signed_off: {
                let mut months = signed.remove(row.group.as_str()).unwrap_or_default();
                months.sort();
                months.dedup();
                months
            },
            group: row.group,
            seq: row.seq,
            forked: row.status == GroupStatus::Forked,
            last_sync_at: row.last_sync_at,
        });
    }
    Ok(lines)
}

/// The fold of hub `hub_id`'s administrative log as of `as_of`, if this store
/// holds it (its own, or a child's relayed one).
pub fn admin_books_as_of(
    store: &Store,
    hub_id: &str,
    as_of: Date,
) -> Result<Option<AdminBooks>, StoreError> {
    let Ok(log) = GroupId::hub_log(hub_id) else {
        return Ok(None);
    };
    let Some(row) = store.group(&log)? else {
        return Ok(None);
    };
    let mut books = AdminBooks::new(log.clone());
    store.for_each_event(row.gid, |seq, bytes| {
        let event = AdminEvent::decode(bytes)
            .map_err(|e| StoreError::Damaged(format!("hub log {log} seq {seq}: {e}")))?;
        if event.date <= as_of {
            books.apply_unchecked(&event);
        }
        Ok(())
    })?;
    Ok(Some(books))
}

/// Every pooled fund managed under `scope` (a province or tambon geocode), as
/// of `as_of`: the groups' side from their logs, the obligations from the
/// managing hub's administrative log.
pub fn pool_positions(
    store: &Store,
    scope: &str,
    as_of: Date,
) -> Result<Vec<PoolPosition>, StoreError> {
    // Groups of a province deal with tambon pools and the province pool alike;
    // folding the province's groups covers both.
    let province = scope.get(..2).unwrap_or(scope);
    let lines = group_lines(store, province, as_of)?;
    pools_of_lines(store, &lines, scope, as_of)
}

/// The pools under `scope` from `lines`, which must cover every group of the
/// scope's province (see [`pool_positions`]).
pub fn pools_of_lines(
    store: &Store,
    lines: &[GroupLine],
    scope: &str,
    as_of: Date,
) -> Result<Vec<PoolPosition>, StoreError> {
    let mut pools: BTreeSet<PoolId> = BTreeSet::new();
    for line in lines {
        pools.extend(line.position.pools.iter().map(|(id, _)| id.clone()));
    }
    let mut admin: BTreeMap<String, Option<AdminBooks>> = BTreeMap::new();
    for network in pools
        .iter()
        .map(|p| p.network().to_string())
        .collect::<BTreeSet<_>>()
    {
        admin.insert(network.clone(), admin_books_as_of(store, &network, as_of)?);
    }
    // Pools known only from a hub's facts (a policy set before any deposit).
    for books in admin.values().flatten() {
        pools.extend(books.pools.keys().cloned());
    }
    let mut out = Vec::new();
    for pool in pools
        .into_iter()
        .filter(|p| p.network().starts_with(scope) || scope.starts_with(p.network()))
    {
        let books = match admin.get(pool.network()) {
            Some(books) => books.clone(),
            None => admin_books_as_of(store, pool.network(), as_of)?,
        };
        let obligations = books.as_ref().and_then(|b| b.pools.get(&pool));
        out.push(PoolPosition::of(
            &pool,
            lines.iter().map(|l| (&l.group, &l.position)),
            obligations,
        ));
    }
    Ok(out)
}

/// Sums and counts over the groups (and pools) under a scope.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScopePosition {
    pub scope: String,
    pub groups: u32,
    pub ok: u32,
    pub stale: u32,
    pub forked: u32,
    pub members: u64,
    pub cash_and_bank: Money,
    pub welfare_fund: Money,
    pub member_savings: Money,
    pub loans_outstanding: Money,
    pub loans_at_risk: Money,
    pub pool_deposits: Money,
    pub pool_loans: Money,
    pub reserve_pledged: Money,
    pub loans_in_arrears: u32,
    /// Contributions from every source, 1 January to the report date.
    pub contributions_ytd: Money,
    /// Benefits of every kind paid, 1 January to the report date.
    pub benefits_ytd: Money,
    /// The oldest last-sync time among the groups (unix seconds): how fresh
    /// the figures are at worst.
    pub oldest_sync: Option<i64>,
}

/// Whether a group counts as stale: nothing received for `stale_after_days`.
pub fn is_stale(line: &GroupLine, now: i64, stale_after_days: u32) -> bool {
    line.last_sync_at
        .is_none_or(|at| now - at > i64::from(stale_after_days) * 86_400)
}

pub fn scope_position(
    lines: &[GroupLine],
    scope: &str,
    now: i64,
    stale_after_days: u32,
) -> ScopePosition {
    let add = |a: Money, b: Money| Money::from_satang(a.satang() + b.satang());
    let mut out = ScopePosition {
        scope: scope.to_string(),
        ..Default::default()
    };
    for line in lines {
        let p = &line.position;
        out.groups += 1;
        if line.forked {
            out.forked += 1;
        } else if is_stale(line, now, stale_after_days) {
            out.stale += 1;
        } else {
            out.ok += 1;
        }
        out.members += u64::from(p.active_members);
        out.cash_and_bank = add(out.cash_and_bank, add(p.cash, p.bank));
        out.welfare_fund = add(out.welfare_fund, p.welfare_fund);
        out.member_savings = add(out.member_savings, p.member_savings);
        out.loans_outstanding = add(out.loans_outstanding, p.loans_outstanding);
        out.loans_at_risk = add(out.loans_at_risk, p.arrears.at_risk_outstanding);
        out.pool_deposits = add(out.pool_deposits, p.pool_deposits);
        out.pool_loans = add(out.pool_loans, p.pool_loans);
        out.reserve_pledged = add(out.reserve_pledged, p.reserve_pledged);
        out.loans_in_arrears += p.arrears.loans;
        for (_, amount) in &p.contributions_ytd {
            out.contributions_ytd = add(out.contributions_ytd, *amount);
        }
        for (_, amount) in &p.benefits_ytd {
            out.benefits_ytd = add(out.benefits_ytd, *amount);
        }
        out.oldest_sync = match (out.oldest_sync, line.last_sync_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    out
}

impl ScopePosition {
    /// Portfolio at risk > 30 days: outstanding principal of loans more than
    /// 30 days behind ÷ loans outstanding, in basis points; `None` without loans.
    pub fn par30_basis_points(&self) -> Option<i64> {
        ratio_basis_points(self.loans_at_risk, self.loans_outstanding)
    }

    /// Loan-to-fund: loans outstanding ÷ the funds members own or hold in
    /// common (member savings + welfare fund), in basis points.
    pub fn loan_to_fund_basis_points(&self) -> Option<i64> {
        ratio_basis_points(
            self.loans_outstanding,
            Money::from_satang(self.member_savings.satang() + self.welfare_fund.satang()),
        )
    }

    /// Benefits paid ÷ contributions received (every source), year to date,
    /// in basis points: how much of what comes in goes out again as welfare.
    pub fn benefits_to_contributions_basis_points(&self) -> Option<i64> {
        ratio_basis_points(self.benefits_ytd, self.contributions_ytd)
    }
}

/// `numerator ÷ denominator` in basis points, rounded toward zero; `None`
/// when the denominator is not positive. Exact integer arithmetic.
pub fn ratio_basis_points(numerator: Money, denominator: Money) -> Option<i64> {
    (denominator.satang() > 0).then(|| {
        (i128::from(numerator.satang()) * 10_000 / i128::from(denominator.satang())) as i64
    })
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

/// Something a coordinator must look at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Alert {
    ReserveBelowPolicy {
        pool: PoolId,
        headroom: Money,
    },
    Forked(GroupId),
    Stale {
        group: GroupId,
        last_sync_at: Option<i64>,
    },
    /// A `PeriodClosed` whose digest differs from the hub's own fold.
    DigestMismatch {
        group: GroupId,
        seq: u64,
        month: sajja_common::Month,
    },
    /// A month sign-off whose digest the logs held now no longer reproduce:
    /// an event dated in or before the month arrived after the sign-off (see
    /// [`crate::signoff`] for the exact definition).
    SignOffBroken {
        subject: String,
        month: Month,
        signed_by: String,
        signed: Hash,
        current: Hash,
    },
}

impl Alert {
    /// A stable name for machines.
    pub fn kind(&self) -> &'static str {
        match self {
            Alert::ReserveBelowPolicy { .. } => "reserve_below_policy",
            Alert::Forked(_) => "forked",
            Alert::Stale { .. } => "stale",
            Alert::DigestMismatch { .. } => "digest_mismatch",
            Alert::SignOffBroken { .. } => "sign_off_broken",
        }
    }

    /// The pool, group or tambon the alert is about.
    pub fn subject(&self) -> String {
        match self {
            Alert::ReserveBelowPolicy { pool, .. } => pool.as_str().to_string(),
            Alert::Forked(group)
            | Alert::Stale { group, .. }
            | Alert::DigestMismatch { group, .. } => group.as_str().to_string(),
            Alert::SignOffBroken { subject, .. } => subject.clone(),
        }
    }
}

impl std::fmt::Display for Alert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Alert::ReserveBelowPolicy { pool, headroom } => {
                write!(
                    f,
                    "pool {pool}: reserve below policy by {}",
                    Money::from_satang(-headroom.satang())
                )
            }
            Alert::Forked(group) => {
                write!(f, "group {group}: forked; pushes refused until resolved")
            }
            Alert::Stale {
                group,
                last_sync_at: Some(at),
            } => write!(f, "group {group}: stale, last synced at {at}"),
            Alert::Stale {
                group,
                last_sync_at: None,
            } => write!(f, "group {group}: stale, never synced"),
            Alert::DigestMismatch { group, seq, month } => {
                write!(
                    f,
                    "group {group}: month {month} closed at seq {seq} with a trial balance this hub does not reproduce"
                )
            }
            Alert::SignOffBroken {
                subject,
                month,
                signed_by,
                ..
            } => {
                write!(
                    f,
                    "{subject}: sign-off of {month} by hub {signed_by} is BROKEN: events dated in or before the month changed its books after the sign-off"
                )
            }
        }
    }
}

/// Every alert under a scope as of `as_of`.
pub fn alerts(
    store: &Store,
    scope: &str,
    as_of: Date,
    now: i64,
    stale_after_days: u32,
) -> Result<Vec<Alert>, StoreError> {
    let mut out = Vec::new();
    for pool in pool_positions(store, scope, as_of)? {
        if pool.below_policy() {
            out.push(Alert::ReserveBelowPolicy {
                headroom: pool.headroom().unwrap_or_default(),
                pool: pool.pool,
            });
        }
    }
    for row in store.position_rows(scope)? {
        let group = row.group.clone();
        if group.is_hub_log() {
            continue;
        }
        if row.status == GroupStatus::Forked {
            out.push(Alert::Forked(group.clone()));
        } else if row
            .last_sync_at
            .is_none_or(|at| now - at > i64::from(stale_after_days) * 86_400)
        {
            out.push(Alert::Stale {
                group: group.clone(),
                last_sync_at: row.last_sync_at,
            });
        }
        for close in &basis_on(store, &row, as_of)?.mismatched_closes {
            out.push(Alert::DigestMismatch {
                group: group.clone(),
                seq: close.seq,
                month: close.month,
            });
        }
    }
    for sign_off in signoff::sign_offs(store, scope)? {
        if sign_off.broken() {
            out.push(Alert::SignOffBroken {
                subject: sign_off.subject,
                month: sign_off.month,
                signed_by: sign_off.signed_by,
                signed: sign_off.signed,
                current: sign_off.current,
            });
        }
    }
    Ok(out)
}
