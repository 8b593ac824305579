//! Positions read from the hub's store: each group's log folded up to a date.
//!
//! Current positions are read from the position inputs the hub maintains as
//! batches commit (`group_positions`, see [`crate::store`]); a position as of
//! a past month end from the cut stored when the log crossed into the next
//! month (`position_cuts`); any other past date is a fold of the log up to
//! that date. All must equal the direct fold, which anyone holding the logs
//! can redo.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use sajja_common::admin::{AdminBooks, AdminEvent};
use sajja_common::ledger::PeriodClose;
use sajja_common::position::{GroupPosition, PoolPosition, PositionBasis};
use sajja_common::{Books, Date, GroupId, Hash, Money, Month, PoolId};

use crate::signoff;
use crate::store::{GroupRow, GroupStatus, PositionRow, Store, StoreError, StoredBasis};

/// A group's position with the hub's view of its log.
#[derive(Clone, Debug)]
pub struct GroupLine {
    pub group: GroupId,
    pub name: String,
    pub seq: u64,
    pub forked: bool,
    /// The scrub found this hub's copy of the log damaged.
    pub damaged: bool,
    /// The group's last verified contact (unix seconds; `last_contact_at`
    /// in reports): what "stale" is measured from.
    pub last_sync_at: Option<i64>,
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

/// Folds the stored events of `row` (those dated on or before `as_of`, when
/// given): the reference every maintained position must equal.
pub fn fold_group(store: &Store, row: &GroupRow, as_of: Option<Date>) -> Result<Books, StoreError> {
    store.fold(row, as_of)
}

/// What one reading connection keeps between position queries, so that a
/// long-lived reader (the `Query` service) neither reads nor decodes nor
/// recomputes what has not changed since its last answer:
///
/// - per group log, the maintained [`PositionBasis`] decoded, with the last
///   position computed from it (and its date), under the log's seq and
///   chain head: a new batch moves the seq, a fork resolution that cuts the
///   log and grows it back to the same seq ends at another head, so a hit is
///   always the basis the store holds now. A position for another date
///   (today moved on, or an as-of query) is recomputed from the basis;
/// - per hub administrative log, the months it signs off, under its seq and
///   head, and all of them merged by subject.
///
/// Every read goes through the store first (the rows with seq and head, in
/// one snapshot), so nothing here can be older than the store; it holds no
/// lock but the connection's own and is never shared between connections.
#[derive(Debug, Default)]
pub struct PositionCache {
    groups: HashMap<i64, CachedBasis>,
    hub_logs: HashMap<GroupId, CachedSignOffs>,
    /// The hub logs (id, seq, head) `signed` was merged from.
    signed_from: Vec<(GroupId, u64, Hash)>,
    signed: Arc<BTreeMap<String, Vec<Month>>>,
}

/// A hub log's seq and head, and the (subject, month) pairs it signs off.
type CachedSignOffs = (u64, Hash, Vec<(String, Month)>);

#[derive(Debug)]
struct CachedBasis {
    seq: u64,
    head: Hash,
    /// The latest business date in the log (days).
    max_date: Option<u32>,
    basis: PositionBasis,
    last: Option<Arc<GroupPosition>>,
}

impl PositionCache {
    /// How many group bases are held (for tests and metrics).
    pub fn groups_held(&self) -> usize {
        self.groups.len()
    }

    /// The maintained basis of `row`'s log, if it covers the whole log
    /// (folded to the log's seq) and `as_of` (no event dated after it): from
    /// this cache, or else read from `stored`, decoded and kept.
    fn current(
        &mut self,
        row: &PositionRow,
        stored: StoredBasis<'_>,
        as_of: Date,
    ) -> Result<Option<&mut CachedBasis>, StoreError> {
        let hit = self
            .groups
            .get(&row.gid)
            .is_some_and(|c| c.seq == row.seq && c.head == row.head);
        if !hit {
            self.groups.remove(&row.gid);
            let Some(inputs) = stored.read()? else {
                return Ok(None);
            };
            // Not kept when it does not hold for `as_of` (a past date):
            // the cut or fold answers, and the next current query decodes.
            if inputs.seq != row.seq || inputs.max_date.is_some_and(|d| d > as_of.days()) {
                return Ok(None);
            }
            match PositionBasis::from_snapshot(&inputs.bytes) {
                Ok(basis) => {
                    self.groups.insert(
                        row.gid,
                        CachedBasis {
                            seq: row.seq,
                            head: row.head,
                            max_date: inputs.max_date,
                            basis,
                            last: None,
                        },
                    );
                }
                Err(e) => {
                    tracing::warn!(group = %row.group, error = %e, "stored position unreadable; re-folding");
                    return Ok(None);
                }
            }
        }
        Ok(self
            .groups
            .get_mut(&row.gid)
            .filter(|c| c.max_date.is_none_or(|d| d <= as_of.days())))
    }

    /// Whether to read the stored inputs with the rows (most will be
    /// needed) or look them up one by one (most are held).
    fn needs_most(&self) -> bool {
        self.groups.is_empty()
    }

    /// The months signed off per subject in every hub log held, re-folding
    /// only the logs that changed since the last call.
    fn signed(&mut self, store: &Store) -> Result<Arc<BTreeMap<String, Vec<Month>>>, StoreError> {
        let heads = store.hub_log_heads()?;
        if heads == self.signed_from {
            return Ok(self.signed.clone());
        }
        self.hub_logs
            .retain(|log, _| heads.iter().any(|(id, ..)| id == log));
        for (log, seq, head) in &heads {
            if self
                .hub_logs
                .get(log)
                .is_some_and(|(s, h, _)| s == seq && h == head)
            {
                continue;
            }
            let mut months = Vec::new();
            if let Some(hub) = log.hub_of_log()
                && let Some(books) = signoff::admin_books(store, hub)?
            {
                months.extend(books.sign_offs.keys().cloned());
            }
            self.hub_logs.insert(log.clone(), (*seq, *head, months));
        }
        let mut signed: BTreeMap<String, Vec<Month>> = BTreeMap::new();
        for (_, _, months) in self.hub_logs.values() {
            for (subject, month) in months {
                signed.entry(subject.clone()).or_default().push(*month);
            }
        }
        for months in signed.values_mut() {
            months.sort();
            months.dedup();
        }
        self.signed = Arc::new(signed);
        self.signed_from = heads;
        Ok(self.signed.clone())
    }
}

/// A group's position inputs on `as_of` when the maintained ones do not
/// hold (an event is dated after `as_of`): a stored month-end cut that holds
/// on `as_of`, else a fold of the log up to `as_of`.
fn past_basis(store: &Store, row: &PositionRow, as_of: Date) -> Result<PositionBasis, StoreError> {
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

/// A group's name and position on `as_of`: from the maintained inputs when
/// they cover the whole log and no event is dated after `as_of` (then the
/// fold up to `as_of` is the fold of the whole log), kept decoded by the
/// connection's [`PositionCache`]; else from [`past_basis`].
fn name_and_position(
    store: &Store,
    cache: &mut PositionCache,
    row: &PositionRow,
    stored: StoredBasis<'_>,
    as_of: Date,
) -> Result<(String, Arc<GroupPosition>), StoreError> {
    if let Some(cached) = cache.current(row, stored, as_of)? {
        let position = match &cached.last {
            Some(last) if last.as_of == as_of => last.clone(),
            _ => {
                let position = Arc::new(cached.basis.position(as_of));
                cached.last = Some(position.clone());
                position
            }
        };
        return Ok((cached.basis.name.clone(), position));
    }
    let basis = past_basis(store, row, as_of)?;
    let position = Arc::new(basis.position(as_of));
    Ok((basis.name, position))
}

/// The month closes of `row`'s log, as of `as_of`, whose digest did not match.
fn mismatched_closes(
    store: &Store,
    cache: &mut PositionCache,
    row: &PositionRow,
    stored: StoredBasis<'_>,
    as_of: Date,
) -> Result<Vec<PeriodClose>, StoreError> {
    if let Some(cached) = cache.current(row, stored, as_of)? {
        return Ok(cached.basis.mismatched_closes.clone());
    }
    Ok(past_basis(store, row, as_of)?.mismatched_closes)
}

/// Positions of every group whose id starts with `scope` (a province or
/// tambon geocode; empty for all), read in one snapshot of the store.
pub fn group_lines(store: &Store, scope: &str, as_of: Date) -> Result<Vec<GroupLine>, StoreError> {
    store.read_snapshot(|| {
        let mut cache = store.position_cache();
        let signed = cache.signed(store)?;
        let mut lines = Vec::new();
        let joined = cache.needs_most();
        store.for_each_position_row(scope, joined, |row, stored| {
            if row.group.is_hub_log() {
                return Ok(());
            }
            let (name, position) = name_and_position(store, &mut cache, &row, stored, as_of)?;
            lines.push(GroupLine {
                position,
                name,
                signed_off: signed.get(row.group.as_str()).cloned().unwrap_or_default(),
                group: row.group,
                seq: row.seq,
                forked: row.status == GroupStatus::Forked,
                damaged: row.status == GroupStatus::Damaged,
                last_sync_at: row.last_contact_at,
            });
            Ok(())
        })?;
        Ok(lines)
    })
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
            lines.iter().map(|l| (&l.group, &*l.position)),
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
    /// Neither stale nor forked, past an `[attention]` line.
    pub at_risk: u32,
    pub stale: u32,
    pub forked: u32,
    /// The hub's stored copy no longer verifies (see [`crate::scrub`]).
    pub damaged: u32,
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
    /// The oldest last contact among the groups (unix seconds): how fresh
    /// the figures are at worst.
    pub oldest_sync: Option<i64>,
    /// The groups' funds (welfare fund + reserve pledged) twelve months
    /// before (see `GroupPosition::fund_a_year_ago`).
    pub fund_a_year_ago: Money,
    /// The groups' active members twelve months before.
    pub members_a_year_ago: u64,
    /// Contributions from members themselves (not matching funds) received
    /// in the report date's month, and due from them by the rules.
    pub member_contributions_month: Money,
    pub contributions_due_month: Money,
    /// The same from 1 January to the report date.
    pub member_contributions_ytd: Money,
    pub contributions_due_ytd: Money,
}

/// Whether a group counts as stale: no verified contact for `stale_after_days`.
pub fn is_stale(line: &GroupLine, now: i64, stale_after_days: u32) -> bool {
    line.last_sync_at
        .is_none_or(|at| now - at > i64::from(stale_after_days) * 86_400)
}

pub fn scope_position(lines: &[GroupLine], scope: &str, freshness: Freshness) -> ScopePosition {
    let add = |a: Money, b: Money| Money::from_satang(a.satang() + b.satang());
    let mut out = ScopePosition {
        scope: scope.to_string(),
        ..Default::default()
    };
    for line in lines {
        let p = &line.position;
        out.groups += 1;
        match line.health(freshness) {
            Health::Damaged => out.damaged += 1,
            Health::Forked => out.forked += 1,
            Health::Stale => out.stale += 1,
            Health::AtRisk => out.at_risk += 1,
            Health::Ok => out.ok += 1,
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
        out.fund_a_year_ago = add(out.fund_a_year_ago, p.fund_a_year_ago);
        out.members_a_year_ago += u64::from(p.members_a_year_ago);
        out.member_contributions_month = add(
            out.member_contributions_month,
            p.member_contributions_month(),
        );
        out.contributions_due_month = add(out.contributions_due_month, p.contributions_due_month);
        out.member_contributions_ytd =
            add(out.member_contributions_ytd, p.member_contributions_ytd());
        out.contributions_due_ytd = add(out.contributions_due_ytd, p.contributions_due_ytd);
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

    /// The groups' funds: welfare fund + reserve pledged (every contribution
    /// received less every benefit paid).
    pub fn fund(&self) -> Money {
        Money::from_satang(self.welfare_fund.satang() + self.reserve_pledged.satang())
    }

    /// Fund growth over twelve months: (fund − fund a year ago) ÷ fund a
    /// year ago, summed over the groups, in basis points (negative when the
    /// fund shrank); `None` without a fund a year ago.
    pub fn fund_growth_basis_points(&self) -> Option<i64> {
        ratio_basis_points(
            Money::from_satang(self.fund().satang() - self.fund_a_year_ago.satang()),
            self.fund_a_year_ago,
        )
    }

    /// Member growth over twelve months: (members − members a year ago) ÷
    /// members a year ago, in basis points; `None` without members then.
    pub fn member_growth_basis_points(&self) -> Option<i64> {
        (self.members_a_year_ago > 0).then(|| {
            ((i128::from(self.members) - i128::from(self.members_a_year_ago)) * 10_000
                / i128::from(self.members_a_year_ago)) as i64
        })
    }

    /// Collection rate of the month: member contributions received ÷ due,
    /// summed over the groups, in basis points; `None` when nothing is due.
    pub fn collection_rate_month_basis_points(&self) -> Option<i64> {
        ratio_basis_points(
            self.member_contributions_month,
            self.contributions_due_month,
        )
    }

    /// Collection rate from 1 January to the report date.
    pub fn collection_rate_ytd_basis_points(&self) -> Option<i64> {
        ratio_basis_points(self.member_contributions_ytd, self.contributions_due_ytd)
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
    /// The scrub found this hub's copy of the log damaged from `seq`.
    Damaged {
        group: GroupId,
        seq: u64,
        reason: String,
    },
    Stale {
        group: GroupId,
        last_sync_at: Option<i64>,
    },
    /// Past an `[attention]` line (neither stale nor forked).
    AtRisk {
        group: GroupId,
        risks: Vec<Risk>,
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
            Alert::Damaged { .. } => "damaged",
            Alert::Stale { .. } => "stale",
            Alert::AtRisk { .. } => "at_risk",
            Alert::DigestMismatch { .. } => "digest_mismatch",
            Alert::SignOffBroken { .. } => "sign_off_broken",
        }
    }

    /// The pool, group or tambon the alert is about.
    pub fn subject(&self) -> String {
        match self {
            Alert::ReserveBelowPolicy { pool, .. } => pool.as_str().to_string(),
            Alert::Forked(group)
            | Alert::Damaged { group, .. }
            | Alert::Stale { group, .. }
            | Alert::AtRisk { group, .. }
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
            Alert::Damaged { group, seq, reason } => write!(
                f,
                "group {group}: this hub's copy is damaged from seq {seq} ({reason}); pushes held until the node pushes it again"
            ),
            Alert::Stale {
                group,
                last_sync_at: Some(at),
            } => write!(f, "group {group}: stale, last contact at {at}"),
            Alert::Stale {
                group,
                last_sync_at: None,
            } => write!(f, "group {group}: stale, no contact yet"),
            Alert::AtRisk { group, risks } => {
                let why = risks.iter().map(Risk::to_string).collect::<Vec<_>>();
                write!(f, "group {group}: at risk: {}", why.join("; "))
            }
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
    freshness: Freshness,
) -> Result<Vec<Alert>, StoreError> {
    store.read_snapshot(|| alerts_in_snapshot(store, scope, as_of, freshness))
}

fn alerts_in_snapshot(
    store: &Store,
    scope: &str,
    as_of: Date,
    freshness: Freshness,
) -> Result<Vec<Alert>, StoreError> {
    let Freshness {
        now,
        stale_after_days,
        attention,
    } = freshness;
    let mut out = Vec::new();
    for pool in pool_positions(store, scope, as_of)? {
        if pool.below_policy() {
            out.push(Alert::ReserveBelowPolicy {
                headroom: pool.headroom().unwrap_or_default(),
                pool: pool.pool,
            });
        }
    }
    // Any damaged log, a hub's administrative log included.
    for damage in store.damaged_logs()? {
        if damage.group.as_str().starts_with(scope) {
            out.push(Alert::Damaged {
                group: damage.group,
                seq: damage.seq,
                reason: damage.reason,
            });
        }
    }
    let mut cache = store.position_cache();
    let joined = cache.needs_most();
    store.for_each_position_row(scope, joined, |row, stored| {
        let group = row.group.clone();
        if group.is_hub_log() {
            return Ok(());
        }
        // A damaged log has its own alert, above.
        if row.status == GroupStatus::Forked {
            out.push(Alert::Forked(group.clone()));
        } else if row.status != GroupStatus::Damaged
            && row
                .last_contact_at
                .is_none_or(|at| now - at > i64::from(stale_after_days) * 86_400)
        {
            out.push(Alert::Stale {
                group: group.clone(),
                last_sync_at: row.last_contact_at,
            });
        } else {
            let (_, position) = name_and_position(store, &mut cache, &row, stored, as_of)?;
            let risks = attention.risks(&position);
            if !risks.is_empty() {
                out.push(Alert::AtRisk {
                    group: group.clone(),
                    risks,
                });
            }
        }
        for close in mismatched_closes(store, &mut cache, &row, stored, as_of)? {
            out.push(Alert::DigestMismatch {
                group: group.clone(),
                seq: close.seq,
                month: close.month,
            });
        }
        Ok(())
    })?;
    drop(cache);
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

#[cfg(test)]
mod tests {
    use super::*;
    use sajja_common::event::Source;

    fn freshness() -> Freshness {
        Freshness {
            now: 0,
            stale_after_days: 7,
            attention: Attention::default(),
        }
    }

    /// A line with the figures the twelve-month indicators read.
    fn line(
        id: &str,
        fund: (i64, i64, i64),
        members: (u32, u32),
        month: (i64, i64),
        ytd: (i64, i64),
    ) -> GroupLine {
        let group = GroupId::parse(id).unwrap();
        let as_of = Date::from_ymd(2026, 3, 31).unwrap();
        let mut position = GroupPosition::of(&Books::new(group.clone()), as_of);
        (
            position.welfare_fund,
            position.reserve_pledged,
            position.fund_a_year_ago,
        ) = (
            Money::from_baht(fund.0),
            Money::from_baht(fund.1),
            Money::from_baht(fund.2),
        );
        (position.active_members, position.members_a_year_ago) = members;
        position.contributions_month = vec![
            (Source::Member, Money::from_baht(month.0)),
            (Source::LocalGovernment, Money::from_baht(1_000)),
        ];
        position.contributions_due_month = Money::from_baht(month.1);
        position.contributions_ytd = vec![(Source::Member, Money::from_baht(ytd.0))];
        position.contributions_due_ytd = Money::from_baht(ytd.1);
        GroupLine {
            group,
            name: String::new(),
            seq: 1,
            forked: false,
            damaged: false,
            last_sync_at: Some(0),
            position: Arc::new(position),
            signed_off: Vec::new(),
        }
    }

    #[test]
    fn a_scopes_growth_and_collection_rate_are_ratios_of_its_sums() {
        let lines = [
            line(
                "230101-001",
                (1_000, 200, 1_000),
                (10, 8),
                (300, 300),
                (900, 900),
            ),
            line("230101-002", (500, 0, 600), (5, 6), (60, 150), (600, 450)),
        ];
        let scope = scope_position(&lines, "230101", freshness());
        // Fund 1,700 against 1,600 a year ago: +6.25%.
        assert_eq!(scope.fund(), Money::from_baht(1_700));
        assert_eq!(scope.fund_a_year_ago, Money::from_baht(1_600));
        assert_eq!(scope.fund_growth_basis_points(), Some(625));
        // Members 15 against 14: +7.14% (rounded toward zero).
        assert_eq!((scope.members, scope.members_a_year_ago), (15, 14));
        assert_eq!(scope.member_growth_basis_points(), Some(714));
        // Members' own contributions only: 360 of 450 this month, 1,500 of
        // 1,350 this year (the second group caught up on arrears).
        assert_eq!(scope.member_contributions_month, Money::from_baht(360));
        assert_eq!(scope.collection_rate_month_basis_points(), Some(8_000));
        assert_eq!(scope.collection_rate_ytd_basis_points(), Some(11_111));
        // The second group alone shrank: −16.66%, and reports show the sign.
        let one = scope_position(&lines[1..], "230101-002", freshness());
        assert_eq!(one.fund_growth_basis_points(), Some(-1_666));
        assert_eq!(one.member_growth_basis_points(), Some(-1_666));
        let as_of = lines[0].position.as_of;
        let table = crate::report::position_table(&one, &[], as_of, 0);
        assert!(table.contains("fund growth, 12 months") && table.contains("-16.66%"));
        assert!(table.contains("collection rate, this month") && table.contains("40.00%"));
        let csv = crate::report::position_csv(&scope, as_of);
        let mut csv_lines = csv.lines();
        let (header, row) = (csv_lines.next().unwrap(), csv_lines.next().unwrap());
        let value = |name: &str| {
            let at = header.split(',').position(|h| h == name).unwrap();
            row.split(',').nth(at).unwrap().to_string()
        };
        assert_eq!(value("fund_growth_basis_points"), "625");
        assert_eq!(value("collection_rate_ytd_basis_points"), "11111");
        assert_eq!(value("contributions_due_month"), "450.00");
        let json: serde_json::Value =
            serde_json::from_str(&crate::report::position_json(&scope, &[], as_of)).unwrap();
        assert_eq!(json["member_growth_basis_points"], 714);
        assert_eq!(json["fund_a_year_ago"], "1600.00");
    }
}
