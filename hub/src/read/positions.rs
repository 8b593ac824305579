//! Positions read from the hub's store: each group's log folded up to a date.
//!
//! Current positions are read from the position inputs the hub maintains as
//! batches commit (`group_positions`, see [`crate::store`]); a position as of
//! a past month end from the cut stored when the log crossed into the next
//! month (`position_cuts`); any other past date is a fold of the log up to
//! that date. All must equal the direct fold, which anyone holding the logs
//! can redo.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use sajja_common::admin::{AdminBooks, AdminEvent};
use sajja_common::ledger::PeriodClose;
use sajja_common::position::{GroupPosition, PoolPosition};
use sajja_common::{Books, Date, GroupId, PoolId};

use crate::read::cache::{PositionCache, Reader, past_basis};
use crate::read::signoff;
use crate::store::{GroupRow, PositionRow, Store, StoreError, StoredBasis};
use crate::values::alert::Alert;
use crate::values::lines::{Freshness, GroupLine, stale};
use crate::values::status::GroupStatus;

/// Folds the stored events of `row` (those dated on or before `as_of`, when
/// given): the reference every maintained position must equal.
pub fn fold_group(store: &Store, row: &GroupRow, as_of: Option<Date>) -> Result<Books, StoreError> {
    store.fold(row, as_of)
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
pub fn group_lines(store: &Reader, scope: &str, as_of: Date) -> Result<Vec<GroupLine>, StoreError> {
    store.read_snapshot(|| {
        let mut cache = store.cache();
        let signed = cache.signed(store)?;
        let mut lines = Vec::new();
        let joined = cache.needs_most();
        store.for_each_position_row(scope, joined, |row, stored| {
            if !row.group.is_group() {
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
                last_contact_at: row.last_contact_at,
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
    store: &Reader,
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

/// Every alert under a scope as of `as_of`.
pub fn alerts(
    store: &Reader,
    scope: &str,
    as_of: Date,
    freshness: Freshness,
) -> Result<Vec<Alert>, StoreError> {
    store.read_snapshot(|| alerts_in_snapshot(store, scope, as_of, freshness))
}

fn alerts_in_snapshot(
    store: &Reader,
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
    let mut cache = store.cache();
    let joined = cache.needs_most();
    store.for_each_position_row(scope, joined, |row, stored| {
        let group = row.group.clone();
        // Hub logs have no position; an exchange's alerts are its own
        // ([`crate::read::query::alerts`]).
        if !group.is_group() {
            return Ok(());
        }
        // A damaged log has its own alert, above.
        if row.status == GroupStatus::Forked {
            out.push(Alert::Forked(group.clone()));
        } else if row.status != GroupStatus::Damaged
            && stale(row.last_contact_at, now, stale_after_days)
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
    use crate::values::lines::{Attention, GroupLine};
    use crate::values::scope_position::scope_position;
    use sajja_common::Money;
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
            last_contact_at: Some(0),
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
        let table = crate::render::position_table(&one, &[], as_of, 0);
        assert!(table.contains("fund growth, 12 months") && table.contains("-16.66%"));
        assert!(table.contains("collection rate, this month") && table.contains("40.00%"));
        let csv = crate::render::position_csv(&scope, as_of);
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
            serde_json::from_str(&crate::render::position_json(&scope, &[], as_of)).unwrap();
        assert_eq!(json["member_growth_basis_points"], 714);
        assert_eq!(json["fund_a_year_ago"], "1600.00");
    }
}
