//! Community exchanges' positions ↔ the `Query` service's
//! messages. Every field of an [`ExchangePosition`] travels, derived ones
//! included (they are computed from the exchange's books, which do not
//! travel), so the remote report prints exactly what the local one does.

use std::collections::BTreeMap;

use sajja_common::exchange::{
    AccountDebit, AccountNo, Category, Credits, ExchangePosition, Volume,
};
use sajja_proto::convert::WireError;
use sajja_proto::v1;

use super::query_wire::{date, group, group_status, invalid, money, month, pool, scope};
use crate::read::exchanges::ExchangeLine;
use crate::read::query::ExchangesAnswer;
use crate::values::status::GroupStatus;

fn category(c: Category) -> v1::TransferCategory {
    match c {
        Category::Goods => v1::TransferCategory::Goods,
        Category::Produce => v1::TransferCategory::Produce,
        Category::Services => v1::TransferCategory::Services,
        Category::Labour => v1::TransferCategory::Labour,
    }
}

fn category_from(value: i32) -> Result<Category, WireError> {
    match v1::TransferCategory::try_from(value) {
        Ok(v1::TransferCategory::Goods) => Ok(Category::Goods),
        Ok(v1::TransferCategory::Produce) => Ok(Category::Produce),
        Ok(v1::TransferCategory::Services) => Ok(Category::Services),
        Ok(v1::TransferCategory::Labour) => Ok(Category::Labour),
        Err(_) => Err(invalid("exchange.volume.category", value)),
    }
}

fn status_from(value: i32) -> Result<GroupStatus, WireError> {
    match v1::GroupStatus::try_from(value) {
        Ok(v1::GroupStatus::Forked) => Ok(GroupStatus::Forked),
        Ok(v1::GroupStatus::Damaged) => Ok(GroupStatus::Damaged),
        Ok(_) => Ok(GroupStatus::Ok),
        Err(_) => Err(invalid("exchange.status", value)),
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn debit(d: &AccountDebit) -> v1::ExchangeAccountDebit {
    v1::ExchangeAccountDebit {
        account: d.account.0,
        debit: d.debit.centi(),
        share_basis_points: d.share_basis_points,
    }
}

fn debit_from(wire: v1::ExchangeAccountDebit) -> AccountDebit {
    AccountDebit {
        account: AccountNo(wire.account),
        debit: Credits::from_centi(wire.debit),
        share_basis_points: wire.share_basis_points,
    }
}

pub fn exchange_position(line: &ExchangeLine) -> v1::ExchangePosition {
    let p = &line.position;
    v1::ExchangePosition {
        exchange_id: p.log.as_str().to_string(),
        seq: line.seq,
        status: group_status(line.status) as i32,
        last_contact_at: line.last_contact_at,
        name: p.name.clone(),
        unit_name: p.unit_name.clone(),
        rate_per_credit: p.rate_per_credit.satang(),
        reserve_pool: p.reserve_pool.as_str().to_string(),
        accounts_open: count(p.accounts_open),
        accounts_closed: count(p.accounts_closed),
        accounts_defaulted: count(p.accounts_defaulted),
        credit_in_circulation: p.credit_in_circulation.centi(),
        debit_outstanding: p.debit_outstanding.centi(),
        debit_written_off: p.debit_written_off.centi(),
        settled_from_reserve: p.settled_from_reserve.satang(),
        settled_by_groups: p.settled_by_groups.satang(),
        vouchers_outstanding: p.vouchers_outstanding.centi(),
        volume: p
            .volume_by_month
            .iter()
            .map(|((m, c), v)| v1::ExchangeVolume {
                month: m.yyyymm(),
                category: category(*c) as i32,
                transfers: v.transfers,
                volume: v.volume.centi(),
            })
            .collect(),
        reserve_pledged: p.reserve_pledged.satang(),
        exposure: p.exposure.satang(),
        coverage_basis_points: p.coverage_basis_points,
        policy_min_coverage_basis_points: p.policy_min_coverage_basis_points,
        reserve_required: p.reserve_required.satang(),
        headroom: p.headroom.map(Credits::centi),
        coverage_without_largest_pledger: p.coverage_without_largest_pledger,
        coverage_without_largest_three: p.coverage_without_largest_three,
        largest_debtor: p.largest_debtor.as_ref().map(debit),
        concentration_limit_basis_points: p.concentration_limit_basis_points,
        debtors_over_limit: p.debtors_over_limit.iter().map(debit).collect(),
    }
}

pub fn exchange_position_from(
    wire: v1::ExchangePosition,
    as_of: sajja_common::Date,
) -> Result<ExchangeLine, WireError> {
    let mut volume_by_month = BTreeMap::new();
    for v in wire.volume {
        volume_by_month.insert(
            (
                month(v.month, "exchange.volume.month")?,
                category_from(v.category)?,
            ),
            Volume {
                transfers: v.transfers,
                volume: Credits::from_centi(v.volume),
            },
        );
    }
    let log = group(&wire.exchange_id, "exchange.exchange_id")?;
    if !log.is_exchange_log() {
        return Err(invalid("exchange.exchange_id", "not an exchange's log id"));
    }
    let position = ExchangePosition {
        log,
        date: as_of,
        name: wire.name,
        unit_name: wire.unit_name,
        rate_per_credit: money(wire.rate_per_credit),
        reserve_pool: pool(&wire.reserve_pool, "exchange.reserve_pool")?,
        accounts_open: wire.accounts_open as usize,
        accounts_closed: wire.accounts_closed as usize,
        accounts_defaulted: wire.accounts_defaulted as usize,
        credit_in_circulation: Credits::from_centi(wire.credit_in_circulation),
        debit_outstanding: Credits::from_centi(wire.debit_outstanding),
        debit_written_off: Credits::from_centi(wire.debit_written_off),
        settled_from_reserve: money(wire.settled_from_reserve),
        settled_by_groups: money(wire.settled_by_groups),
        vouchers_outstanding: Credits::from_centi(wire.vouchers_outstanding),
        volume_by_month,
        reserve_pledged: money(wire.reserve_pledged),
        exposure: money(wire.exposure),
        coverage_basis_points: wire.coverage_basis_points,
        policy_min_coverage_basis_points: wire.policy_min_coverage_basis_points,
        reserve_required: money(wire.reserve_required),
        headroom: wire.headroom.map(Credits::from_centi),
        coverage_without_largest_pledger: wire.coverage_without_largest_pledger,
        coverage_without_largest_three: wire.coverage_without_largest_three,
        largest_debtor: wire.largest_debtor.map(debit_from),
        concentration_limit_basis_points: wire.concentration_limit_basis_points,
        debtors_over_limit: wire
            .debtors_over_limit
            .into_iter()
            .map(debit_from)
            .collect(),
    };
    Ok(ExchangeLine {
        position,
        seq: wire.seq,
        status: status_from(wire.status)?,
        last_contact_at: wire.last_contact_at,
    })
}

pub fn exchanges_response(a: &ExchangesAnswer) -> v1::ExchangesResponse {
    v1::ExchangesResponse {
        scope: a.scope.clone(),
        as_of: a.as_of.days(),
        exchanges: a.exchanges.iter().map(exchange_position).collect(),
    }
}

pub fn exchanges_answer(wire: v1::ExchangesResponse) -> Result<ExchangesAnswer, WireError> {
    let as_of = date(wire.as_of, "as_of")?;
    Ok(ExchangesAnswer {
        scope: scope(&wire.scope, "scope")?,
        as_of,
        exchanges: wire
            .exchanges
            .into_iter()
            .map(|e| exchange_position_from(e, as_of))
            .collect::<Result<_, _>>()?,
    })
}
