//! Community exchanges' positions at the hub: each exchange's log folded
//! ([`Store::exchange_books`]) and read as of a date with the reserve its
//! pool holds from the group logs' pledges, and what those pledges paid to
//! settle its defaults (`ReserveDrawn`). Credits are never summed with
//! baht: an exchange's figures stand beside the pools that guarantee it.

use std::collections::BTreeMap;

use sajja_common::exchange::ExchangePosition;
use sajja_common::position::PoolPosition;
use sajja_common::{Date, GroupId, Money};

use crate::read::cache::Reader;
use crate::read::positions;
use crate::store::StoreError;
use crate::values::status::GroupStatus;

/// An exchange's position as of a date, with the hub's copy of its log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExchangeLine {
    pub position: ExchangePosition,
    /// The events this hub holds of the exchange's log.
    pub seq: u64,
    pub status: GroupStatus,
    pub last_contact_at: Option<i64>,
}

/// Every exchange under `scope` (a province or tambon geocode, an exchange's
/// log id, or empty for all) that had opened by `as_of`, in id order, read
/// in one snapshot of the store.
pub fn exchange_lines(
    store: &Reader,
    scope: &str,
    as_of: Date,
) -> Result<Vec<ExchangeLine>, StoreError> {
    store.read_snapshot(|| {
        let mut logs = Vec::new();
        store.for_each_position_row(scope, false, |row, _| {
            if row.group.is_exchange_log() {
                logs.push(row);
            }
            Ok(())
        })?;
        // One fold of a network's pools serves every exchange it guarantees.
        let mut pools: BTreeMap<String, Vec<PoolPosition>> = BTreeMap::new();
        let mut out = Vec::with_capacity(logs.len());
        for row in logs {
            let books = store.exchange_books(row.gid, &row.group)?;
            let Some(terms) = &books.terms else {
                continue;
            };
            let network = terms.reserve_pool.network().to_string();
            if !pools.contains_key(&network) {
                let held = positions::pool_positions(store, &network, as_of)?;
                pools.insert(network.clone(), held);
            }
            let held = &pools[&network];
            let reserve = reserve_by_group(held, &terms.reserve_pool);
            let Some(position) = ExchangePosition::of(&books, as_of, &reserve) else {
                continue;
            };
            // What the groups' logs record paid from the pool, to compare
            // with what the exchange's log settled against it.
            let drawn = held
                .iter()
                .filter(|p| p.pool == terms.reserve_pool)
                .map(|p| p.reserve_drawn)
                .fold(Money::ZERO, |sum, m| {
                    Money::from_satang(sum.satang().saturating_add(m.satang()))
                });
            let position = position.with_group_draws(drawn);
            out.push(ExchangeLine {
                position,
                seq: row.seq,
                status: row.status,
                last_contact_at: row.last_contact_at,
            });
        }
        Ok(out)
    })
}

/// The reserve each group has pledged to `pool`, as the pool's position
/// lists it (the group logs' pledges less releases as of its date).
fn reserve_by_group(
    pools: &[PoolPosition],
    pool: &sajja_common::PoolId,
) -> BTreeMap<GroupId, Money> {
    pools
        .iter()
        .filter(|p| &p.pool == pool)
        .flat_map(|p| p.pledges.iter().cloned())
        .collect()
}
