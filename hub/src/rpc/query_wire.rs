//! The `Query` service's messages ↔ the hub's domain values. The service
//! turns an answer into messages here and the client turns them back into
//! the same values, which the one renderer prints; so everything a report
//! shows must survive this round trip (the tests hold it to that).
//!
//! Derived figures (ratios, headroom, health, an alert's sentence) are sent
//! for clients that do not recompute them and ignored on the way back: the
//! renderer derives them from the figures they come from, as it does locally.

use sajja_common::event::{BenefitKind, Source};
use sajja_common::exchange::{AccountNo, Credits, ExchangeAlert};
use sajja_common::ledger::PoolBalances;
use sajja_common::position::{Arrears, GroupPosition, PoolPosition};
use sajja_common::{Date, GroupId, Hash, Money, Month, PoolId};
use sajja_proto::convert::{self, WireError};
use sajja_proto::v1;

use crate::read::query::{
    AlertsAnswer, GroupsAnswer, PositionAnswer, ReservesAnswer, Scope, SignOffsAnswer,
};
use crate::values::alert::Alert;
use crate::values::lines::{Attention, Freshness, GroupLine, Health, Risk};
use crate::values::scope_position::ScopePosition;
use crate::values::signoff::SignOff;
use crate::values::status::GroupStatus;

pub(crate) fn invalid(field: &'static str, reason: impl ToString) -> WireError {
    WireError::Invalid {
        field,
        reason: reason.to_string(),
    }
}

pub(crate) fn date(days: u32, field: &'static str) -> Result<Date, WireError> {
    Date::from_days(days).map_err(|e| invalid(field, e))
}

pub(crate) fn month(yyyymm: u32, field: &'static str) -> Result<Month, WireError> {
    Month::from_yyyymm(yyyymm).map_err(|e| invalid(field, e))
}

pub(crate) fn group(text: &str, field: &'static str) -> Result<GroupId, WireError> {
    GroupId::parse(text).map_err(|e| invalid(field, e))
}

pub(crate) fn pool(text: &str, field: &'static str) -> Result<PoolId, WireError> {
    PoolId::parse(text).map_err(|e| invalid(field, e))
}

pub(crate) fn scope(text: &str, field: &'static str) -> Result<String, WireError> {
    Ok(Scope::parse(text).map_err(|e| invalid(field, e))?.0)
}

pub(crate) fn money(satang: i64) -> Money {
    Money::from_satang(satang)
}

pub fn group_status(status: GroupStatus) -> v1::GroupStatus {
    match status {
        GroupStatus::Ok => v1::GroupStatus::Ok,
        GroupStatus::Forked => v1::GroupStatus::Forked,
        GroupStatus::Damaged => v1::GroupStatus::Damaged,
    }
}

/// What a log's events are, from its id: `-000` logs are hubs' own,
/// `-XNN` logs are community exchanges'.
pub fn log_payload(log: &GroupId) -> v1::LogPayload {
    if log.is_hub_log() {
        v1::LogPayload::AdminEvents
    } else if log.is_exchange_log() {
        v1::LogPayload::ExchangeEvents
    } else {
        v1::LogPayload::GroupEvents
    }
}

fn freshness(f: Freshness) -> v1::Freshness {
    v1::Freshness {
        now: f.now,
        stale_after_days: f.stale_after_days,
        at_risk_par30_percent: Some(f.attention.par30_percent),
        at_risk_collection_percent: Some(f.attention.collection_percent),
        at_risk_falling_fund: Some(f.attention.falling_fund),
    }
}

fn freshness_from(wire: Option<v1::Freshness>) -> Result<Freshness, WireError> {
    let wire = wire.ok_or(WireError::Missing("freshness"))?;
    let default = Attention::default();
    Ok(Freshness {
        now: wire.now,
        stale_after_days: wire.stale_after_days,
        attention: Attention {
            par30_percent: wire.at_risk_par30_percent.unwrap_or(default.par30_percent),
            collection_percent: wire
                .at_risk_collection_percent
                .unwrap_or(default.collection_percent),
            falling_fund: wire.at_risk_falling_fund.unwrap_or(default.falling_fund),
        },
    })
}

fn source(s: Source) -> v1::FundSource {
    match s {
        Source::Member => v1::FundSource::Member,
        Source::LocalGovernment => v1::FundSource::LocalGovernment,
        Source::NationalGovernment => v1::FundSource::NationalGovernment,
        Source::Donation => v1::FundSource::Donation,
    }
}

fn source_from(value: i32) -> Result<Source, WireError> {
    match v1::FundSource::try_from(value) {
        Ok(v1::FundSource::Member) => Ok(Source::Member),
        Ok(v1::FundSource::LocalGovernment) => Ok(Source::LocalGovernment),
        Ok(v1::FundSource::NationalGovernment) => Ok(Source::NationalGovernment),
        Ok(v1::FundSource::Donation) => Ok(Source::Donation),
        Ok(v1::FundSource::Unspecified) | Err(_) => {
            Err(invalid("source", format!("unknown fund source {value}")))
        }
    }
}

fn benefit(kind: BenefitKind) -> v1::BenefitType {
    match kind {
        BenefitKind::Childbirth => v1::BenefitType::Childbirth,
        BenefitKind::Sickness => v1::BenefitType::Sickness,
        BenefitKind::OldAge => v1::BenefitType::OldAge,
        BenefitKind::Death => v1::BenefitType::Death,
        BenefitKind::Education => v1::BenefitType::Education,
        BenefitKind::Disaster => v1::BenefitType::Disaster,
        BenefitKind::Other => v1::BenefitType::Other,
    }
}

fn benefit_from(value: i32) -> Result<BenefitKind, WireError> {
    match v1::BenefitType::try_from(value) {
        Ok(v1::BenefitType::Childbirth) => Ok(BenefitKind::Childbirth),
        Ok(v1::BenefitType::Sickness) => Ok(BenefitKind::Sickness),
        Ok(v1::BenefitType::OldAge) => Ok(BenefitKind::OldAge),
        Ok(v1::BenefitType::Death) => Ok(BenefitKind::Death),
        Ok(v1::BenefitType::Education) => Ok(BenefitKind::Education),
        Ok(v1::BenefitType::Disaster) => Ok(BenefitKind::Disaster),
        Ok(v1::BenefitType::Other) => Ok(BenefitKind::Other),
        Ok(v1::BenefitType::Unspecified) | Err(_) => {
            Err(invalid("benefit", format!("unknown benefit type {value}")))
        }
    }
}

fn health(h: Health) -> v1::GroupHealth {
    match h {
        Health::Ok => v1::GroupHealth::Ok,
        Health::Stale => v1::GroupHealth::Stale,
        Health::AtRisk => v1::GroupHealth::AtRisk,
        Health::Forked => v1::GroupHealth::Forked,
        Health::Damaged => v1::GroupHealth::Damaged,
    }
}

fn sources(pairs: &[(Source, Money)]) -> Vec<v1::SourceAmount> {
    pairs
        .iter()
        .map(|(s, m)| v1::SourceAmount {
            source: source(*s) as i32,
            amount: m.satang(),
        })
        .collect()
}

fn sources_from(wire: Vec<v1::SourceAmount>) -> Result<Vec<(Source, Money)>, WireError> {
    wire.into_iter()
        .map(|s| Ok((source_from(s.source)?, money(s.amount))))
        .collect()
}

pub fn group_position(p: &GroupPosition) -> v1::GroupPosition {
    v1::GroupPosition {
        as_of: p.as_of.days(),
        cash: p.cash.satang(),
        bank: p.bank.satang(),
        welfare_fund: p.welfare_fund.satang(),
        member_savings: p.member_savings.satang(),
        loans_outstanding: p.loans_outstanding.satang(),
        pool_deposits: p.pool_deposits.satang(),
        pool_loans: p.pool_loans.satang(),
        reserve_pledged: p.reserve_pledged.satang(),
        active_members: p.active_members,
        contributions_month: sources(&p.contributions_month),
        contributions_ytd: sources(&p.contributions_ytd),
        benefits_ytd: p
            .benefits_ytd
            .iter()
            .map(|(k, m)| v1::BenefitAmount {
                benefit: benefit(*k) as i32,
                amount: m.satang(),
            })
            .collect(),
        loans_in_arrears: p.arrears.loans,
        arrears_overdue: p.arrears.overdue.satang(),
        at_risk_outstanding: p.arrears.at_risk_outstanding.satang(),
        fund_cover_months_x100: p.fund_cover_months_x100,
        last_event_date: p.last_event_date.map(Date::days),
        pools: p
            .pools
            .iter()
            .map(|(id, b)| v1::PoolBalance {
                pool_id: id.as_str().to_string(),
                deposits: b.deposits.satang(),
                loans_payable: b.loans_payable.satang(),
                reserve_pledged: b.reserve_pledged.satang(),
                reserve_drawn: b.reserve_drawn.satang(),
            })
            .collect(),
        fund_a_year_ago: p.fund_a_year_ago.satang(),
        members_a_year_ago: p.members_a_year_ago,
        contributions_due_month: p.contributions_due_month.satang(),
        contributions_due_ytd: p.contributions_due_ytd.satang(),
    }
}

pub fn group_position_from(wire: v1::GroupPosition) -> Result<GroupPosition, WireError> {
    Ok(GroupPosition {
        as_of: date(wire.as_of, "group.position.as_of")?,
        cash: money(wire.cash),
        bank: money(wire.bank),
        welfare_fund: money(wire.welfare_fund),
        member_savings: money(wire.member_savings),
        loans_outstanding: money(wire.loans_outstanding),
        pool_deposits: money(wire.pool_deposits),
        pool_loans: money(wire.pool_loans),
        reserve_pledged: money(wire.reserve_pledged),
        active_members: wire.active_members,
        contributions_month: sources_from(wire.contributions_month)?,
        contributions_ytd: sources_from(wire.contributions_ytd)?,
        benefits_ytd: wire
            .benefits_ytd
            .into_iter()
            .map(|b| Ok((benefit_from(b.benefit)?, money(b.amount))))
            .collect::<Result<_, WireError>>()?,
        arrears: Arrears {
            loans: wire.loans_in_arrears,
            overdue: money(wire.arrears_overdue),
            at_risk_outstanding: money(wire.at_risk_outstanding),
        },
        fund_cover_months_x100: wire.fund_cover_months_x100,
        last_event_date: wire
            .last_event_date
            .map(|d| date(d, "group.position.last_event_date"))
            .transpose()?,
        pools: wire
            .pools
            .into_iter()
            .map(|b| {
                Ok((
                    pool(&b.pool_id, "group.position.pools.pool_id")?,
                    PoolBalances {
                        deposits: money(b.deposits),
                        reserve_pledged: money(b.reserve_pledged),
                        loans_payable: money(b.loans_payable),
                        reserve_drawn: money(b.reserve_drawn),
                    },
                ))
            })
            .collect::<Result<_, WireError>>()?,
        fund_a_year_ago: money(wire.fund_a_year_ago),
        members_a_year_ago: wire.members_a_year_ago,
        contributions_due_month: money(wire.contributions_due_month),
        contributions_due_ytd: money(wire.contributions_due_ytd),
    })
}

pub fn group_line(line: &GroupLine, fresh: Freshness) -> v1::GroupLine {
    v1::GroupLine {
        group_id: line.group.as_str().to_string(),
        name: line.name.clone(),
        seq: line.seq,
        forked: line.forked,
        damaged: line.damaged,
        last_sync_at: line.last_contact_at,
        health: health(line.health(fresh)) as i32,
        signed_off: line.signed_off.iter().map(|m| m.yyyymm()).collect(),
        position: Some(group_position(&line.position)),
    }
}

pub fn group_line_from(wire: v1::GroupLine) -> Result<GroupLine, WireError> {
    Ok(GroupLine {
        group: group(&wire.group_id, "group.group_id")?,
        name: wire.name,
        seq: wire.seq,
        forked: wire.forked,
        damaged: wire.damaged,
        last_contact_at: wire.last_sync_at,
        position: std::sync::Arc::new(group_position_from(
            wire.position.ok_or(WireError::Missing("group.position"))?,
        )?),
        signed_off: wire
            .signed_off
            .into_iter()
            .map(|m| month(m, "group.signed_off"))
            .collect::<Result<_, _>>()?,
    })
}

pub fn pool_position(p: &PoolPosition) -> v1::PoolPosition {
    v1::PoolPosition {
        pool_id: p.pool.as_str().to_string(),
        deposits: p.deposits.satang(),
        loans_to_groups: p.loans_to_groups.satang(),
        reserve: p.reserve.satang(),
        currency_outstanding: p.currency_outstanding.satang(),
        guarantees_outstanding: p.guarantees_outstanding.satang(),
        min_reserve_ratio_basis_points: p.min_reserve_ratio_basis_points,
        pledges: p
            .pledges
            .iter()
            .map(|(g, m)| v1::Pledge {
                group_id: g.as_str().to_string(),
                amount: m.satang(),
            })
            .collect(),
        obligations: p.obligations().satang(),
        reserve_ratio_basis_points: p.reserve_ratio_basis_points(),
        headroom: p.headroom().map(Money::satang),
        below_policy: p.below_policy(),
        reserve_drawn: p.reserve_drawn.satang(),
    }
}

pub fn pool_position_from(wire: v1::PoolPosition) -> Result<PoolPosition, WireError> {
    Ok(PoolPosition {
        pool: pool(&wire.pool_id, "pool.pool_id")?,
        deposits: money(wire.deposits),
        loans_to_groups: money(wire.loans_to_groups),
        reserve: money(wire.reserve),
        currency_outstanding: money(wire.currency_outstanding),
        guarantees_outstanding: money(wire.guarantees_outstanding),
        min_reserve_ratio_basis_points: wire.min_reserve_ratio_basis_points,
        pledges: wire
            .pledges
            .into_iter()
            .map(|p| {
                Ok((
                    group(&p.group_id, "pool.pledges.group_id")?,
                    money(p.amount),
                ))
            })
            .collect::<Result<_, WireError>>()?,
        reserve_drawn: money(wire.reserve_drawn),
    })
}

fn pools_from(wire: Vec<v1::PoolPosition>) -> Result<Vec<PoolPosition>, WireError> {
    wire.into_iter().map(pool_position_from).collect()
}

pub fn scope_position(p: &ScopePosition) -> v1::ScopePosition {
    v1::ScopePosition {
        scope: p.scope.clone(),
        groups: p.groups,
        ok: p.ok,
        at_risk: p.at_risk,
        damaged: p.damaged,
        stale: p.stale,
        forked: p.forked,
        members: p.members,
        cash_and_bank: p.cash_and_bank.satang(),
        welfare_fund: p.welfare_fund.satang(),
        member_savings: p.member_savings.satang(),
        loans_outstanding: p.loans_outstanding.satang(),
        loans_at_risk: p.loans_at_risk.satang(),
        pool_deposits: p.pool_deposits.satang(),
        pool_loans: p.pool_loans.satang(),
        reserve_pledged: p.reserve_pledged.satang(),
        loans_in_arrears: p.loans_in_arrears,
        contributions_ytd: p.contributions_ytd.satang(),
        benefits_ytd: p.benefits_ytd.satang(),
        oldest_sync: p.oldest_contact,
        par30_basis_points: p.par30_basis_points(),
        loan_to_fund_basis_points: p.loan_to_fund_basis_points(),
        benefits_to_contributions_basis_points: p.benefits_to_contributions_basis_points(),
        fund_a_year_ago: p.fund_a_year_ago.satang(),
        members_a_year_ago: p.members_a_year_ago,
        member_contributions_month: p.member_contributions_month.satang(),
        contributions_due_month: p.contributions_due_month.satang(),
        member_contributions_ytd: p.member_contributions_ytd.satang(),
        contributions_due_ytd: p.contributions_due_ytd.satang(),
        fund_growth_basis_points: p.fund_growth_basis_points(),
        member_growth_basis_points: p.member_growth_basis_points(),
        collection_rate_month_basis_points: p.collection_rate_month_basis_points(),
        collection_rate_ytd_basis_points: p.collection_rate_ytd_basis_points(),
    }
}

pub fn scope_position_from(wire: v1::ScopePosition) -> Result<ScopePosition, WireError> {
    Ok(ScopePosition {
        scope: scope(&wire.scope, "position.scope")?,
        groups: wire.groups,
        ok: wire.ok,
        at_risk: wire.at_risk,
        damaged: wire.damaged,
        stale: wire.stale,
        forked: wire.forked,
        members: wire.members,
        cash_and_bank: money(wire.cash_and_bank),
        welfare_fund: money(wire.welfare_fund),
        member_savings: money(wire.member_savings),
        loans_outstanding: money(wire.loans_outstanding),
        loans_at_risk: money(wire.loans_at_risk),
        pool_deposits: money(wire.pool_deposits),
        pool_loans: money(wire.pool_loans),
        reserve_pledged: money(wire.reserve_pledged),
        loans_in_arrears: wire.loans_in_arrears,
        contributions_ytd: money(wire.contributions_ytd),
        benefits_ytd: money(wire.benefits_ytd),
        oldest_contact: wire.oldest_sync,
        fund_a_year_ago: money(wire.fund_a_year_ago),
        members_a_year_ago: wire.members_a_year_ago,
        member_contributions_month: money(wire.member_contributions_month),
        contributions_due_month: money(wire.contributions_due_month),
        member_contributions_ytd: money(wire.member_contributions_ytd),
        contributions_due_ytd: money(wire.contributions_due_ytd),
    })
}

pub fn alert(a: &Alert) -> v1::Alert {
    use v1::alert::Kind;
    let kind = match a {
        Alert::ReserveBelowPolicy { pool, headroom } => {
            Kind::ReserveBelowPolicy(v1::ReserveBelowPolicy {
                pool_id: pool.as_str().to_string(),
                headroom: headroom.satang(),
            })
        }
        Alert::Forked(group) => Kind::Forked(v1::GroupForked {
            group_id: group.as_str().to_string(),
        }),
        Alert::Damaged { group, seq, reason } => Kind::Damaged(v1::GroupDamaged {
            group_id: group.as_str().to_string(),
            seq: *seq,
            reason: reason.clone(),
        }),
        Alert::Stale {
            group,
            last_sync_at,
        } => Kind::Stale(v1::GroupStale {
            group_id: group.as_str().to_string(),
            last_sync_at: *last_sync_at,
        }),
        Alert::AtRisk { group, risks } => Kind::AtRisk(v1::GroupAtRisk {
            group_id: group.as_str().to_string(),
            risks: risks.iter().map(|r| risk(*r)).collect(),
        }),
        Alert::DigestMismatch { group, seq, month } => {
            Kind::DigestMismatch(v1::CloseDigestMismatch {
                group_id: group.as_str().to_string(),
                seq: *seq,
                month: month.yyyymm(),
            })
        }
        Alert::SignOffBroken {
            subject,
            month,
            signed_by,
            signed,
            current,
        } => Kind::SignOffBroken(v1::SignOffBroken {
            subject: subject.clone(),
            month: month.yyyymm(),
            signed_by: signed_by.clone(),
            signed_digest: signed.as_bytes().to_vec(),
            current_digest: current.as_bytes().to_vec(),
        }),
        Alert::Exchange { exchange, alert } => Kind::Exchange(exchange_alert(exchange, alert)),
    };
    v1::Alert {
        kind: Some(kind),
        message: a.to_string(),
    }
}

fn risk(r: Risk) -> v1::Risk {
    use v1::risk::Kind;
    let (kind, basis_points) = match r {
        Risk::Par30 { basis_points } => (Kind::Par30, basis_points),
        Risk::Collection { basis_points } => (Kind::Collection, basis_points),
        Risk::FallingFund {
            growth_basis_points,
        } => (Kind::FallingFund, growth_basis_points),
    };
    v1::Risk {
        kind: kind as i32,
        basis_points,
    }
}

fn risk_from(wire: v1::Risk) -> Result<Risk, WireError> {
    use v1::risk::Kind;
    let basis_points = wire.basis_points;
    match Kind::try_from(wire.kind) {
        Ok(Kind::Par30) => Ok(Risk::Par30 { basis_points }),
        Ok(Kind::Collection) => Ok(Risk::Collection { basis_points }),
        Ok(Kind::FallingFund) => Ok(Risk::FallingFund {
            growth_basis_points: basis_points,
        }),
        _ => Err(WireError::Missing("alert.risks.kind")),
    }
}

pub fn alert_from(wire: v1::Alert) -> Result<Alert, WireError> {
    use v1::alert::Kind;
    Ok(match wire.kind.ok_or(WireError::Missing("alert.kind"))? {
        Kind::ReserveBelowPolicy(a) => Alert::ReserveBelowPolicy {
            pool: pool(&a.pool_id, "alert.pool_id")?,
            headroom: money(a.headroom),
        },
        Kind::Forked(a) => Alert::Forked(group(&a.group_id, "alert.group_id")?),
        Kind::Damaged(a) => Alert::Damaged {
            group: group(&a.group_id, "alert.group_id")?,
            seq: a.seq,
            reason: a.reason,
        },
        Kind::Stale(a) => Alert::Stale {
            group: group(&a.group_id, "alert.group_id")?,
            last_sync_at: a.last_sync_at,
        },
        Kind::AtRisk(a) => Alert::AtRisk {
            group: group(&a.group_id, "alert.group_id")?,
            risks: a
                .risks
                .into_iter()
                .map(risk_from)
                .collect::<Result<_, _>>()?,
        },
        Kind::DigestMismatch(a) => Alert::DigestMismatch {
            group: group(&a.group_id, "alert.group_id")?,
            seq: a.seq,
            month: month(a.month, "alert.month")?,
        },
        Kind::SignOffBroken(a) => Alert::SignOffBroken {
            subject: a.subject,
            month: month(a.month, "alert.month")?,
            signed_by: a.signed_by,
            signed: convert::hash(&a.signed_digest, "alert.signed_digest")?,
            current: convert::hash(&a.current_digest, "alert.current_digest")?,
        },
        Kind::Exchange(a) => exchange_alert_from(a)?,
    })
}

fn exchange_alert(exchange: &GroupId, alert: &ExchangeAlert) -> v1::ExchangeAlert {
    use v1::exchange_alert::Kind;
    let kind = match alert {
        ExchangeAlert::CoverageBelowPolicy {
            coverage_basis_points,
            policy_basis_points,
            shortfall,
        } => Kind::CoverageBelowPolicy(v1::ExchangeCoverageBelowPolicy {
            coverage_basis_points: *coverage_basis_points,
            policy_basis_points: *policy_basis_points,
            shortfall: shortfall.satang(),
        }),
        ExchangeAlert::DebitConcentrated {
            account,
            debit,
            share_basis_points,
            limit_basis_points,
        } => Kind::DebitConcentrated(v1::ExchangeDebitConcentrated {
            account: account.0,
            debit: debit.centi(),
            share_basis_points: *share_basis_points,
            limit_basis_points: *limit_basis_points,
        }),
        ExchangeAlert::SettlementUnmatched {
            settled_from_reserve,
            settled_by_groups,
        } => Kind::SettlementUnmatched(v1::ExchangeSettlementUnmatched {
            settled_from_reserve: settled_from_reserve.satang(),
            settled_by_groups: settled_by_groups.satang(),
        }),
    };
    v1::ExchangeAlert {
        exchange_id: exchange.as_str().to_string(),
        kind: Some(kind),
    }
}

fn exchange_alert_from(wire: v1::ExchangeAlert) -> Result<Alert, WireError> {
    use v1::exchange_alert::Kind;
    let alert = match wire.kind.ok_or(WireError::Missing("alert.exchange.kind"))? {
        Kind::CoverageBelowPolicy(a) => ExchangeAlert::CoverageBelowPolicy {
            coverage_basis_points: a.coverage_basis_points,
            policy_basis_points: a.policy_basis_points,
            shortfall: money(a.shortfall),
        },
        Kind::DebitConcentrated(a) => ExchangeAlert::DebitConcentrated {
            account: AccountNo(a.account),
            debit: Credits::from_centi(a.debit),
            share_basis_points: a.share_basis_points,
            limit_basis_points: a.limit_basis_points,
        },
        Kind::SettlementUnmatched(a) => ExchangeAlert::SettlementUnmatched {
            settled_from_reserve: money(a.settled_from_reserve),
            settled_by_groups: money(a.settled_by_groups),
        },
    };
    Ok(Alert::Exchange {
        exchange: group(&wire.exchange_id, "alert.exchange.exchange_id")?,
        alert,
    })
}

pub fn sign_off(s: &SignOff) -> v1::SignOff {
    v1::SignOff {
        signed_by: s.signed_by.clone(),
        subject: s.subject.clone(),
        month: s.month.yyyymm(),
        seq: s.seq,
        signed_digest: s.signed.as_bytes().to_vec(),
        current_digest: s.current.as_bytes().to_vec(),
        broken: s.broken(),
    }
}

pub fn sign_off_from(wire: v1::SignOff) -> Result<SignOff, WireError> {
    let digest = |bytes: &[u8], field| -> Result<Hash, WireError> { convert::hash(bytes, field) };
    Ok(SignOff {
        signed_by: wire.signed_by,
        subject: wire.subject,
        month: month(wire.month, "sign_off.month")?,
        seq: wire.seq,
        signed: digest(&wire.signed_digest, "sign_off.signed_digest")?,
        current: digest(&wire.current_digest, "sign_off.current_digest")?,
    })
}

/// `items` cut into messages of at most `per` items; always at least one
/// message, so an empty answer still says what it is about.
fn chunked<T, M>(items: &[T], per: usize, make: impl Fn(&[T]) -> M) -> Vec<M> {
    if items.is_empty() {
        return vec![make(&[])];
    }
    items.chunks(per.max(1)).map(make).collect()
}

/// The messages of a streamed answer after the first must repeat its header.
fn same_header<H: PartialEq>(first: &H, next: &H, what: &'static str) -> Result<(), WireError> {
    if first == next {
        Ok(())
    } else {
        Err(invalid(
            what,
            "a later chunk names another scope, date or time",
        ))
    }
}

pub fn position_response(a: &PositionAnswer) -> v1::PositionResponse {
    v1::PositionResponse {
        as_of: a.as_of.days(),
        freshness: Some(freshness(a.freshness)),
        position: Some(scope_position(&a.position)),
        pools: a.pools.iter().map(pool_position).collect(),
    }
}

pub fn position_answer(wire: v1::PositionResponse) -> Result<PositionAnswer, WireError> {
    Ok(PositionAnswer {
        as_of: date(wire.as_of, "as_of")?,
        freshness: freshness_from(wire.freshness)?,
        position: scope_position_from(wire.position.ok_or(WireError::Missing("position"))?)?,
        pools: pools_from(wire.pools)?,
    })
}

pub fn groups_responses(a: &GroupsAnswer, per: usize) -> Vec<v1::GroupsResponse> {
    chunked(&a.lines, per, |lines| v1::GroupsResponse {
        scope: a.scope.clone(),
        as_of: a.as_of.days(),
        freshness: Some(freshness(a.freshness)),
        groups: lines.iter().map(|l| group_line(l, a.freshness)).collect(),
    })
}

pub fn groups_answer(
    chunks: impl IntoIterator<Item = v1::GroupsResponse>,
) -> Result<GroupsAnswer, WireError> {
    let mut chunks = chunks.into_iter();
    let first = chunks.next().ok_or(WireError::Missing("groups answer"))?;
    let header = (first.scope, first.as_of, first.freshness);
    let mut lines = Vec::new();
    let mut rest = first.groups;
    loop {
        for line in rest {
            lines.push(group_line_from(line)?);
        }
        let Some(next) = chunks.next() else { break };
        same_header(
            &header,
            &(next.scope, next.as_of, next.freshness),
            "groups chunk",
        )?;
        rest = next.groups;
    }
    let (scope_text, as_of, fresh) = header;
    Ok(GroupsAnswer {
        scope: scope(&scope_text, "scope")?,
        as_of: date(as_of, "as_of")?,
        freshness: freshness_from(fresh)?,
        lines,
    })
}

pub fn reserves_response(a: &ReservesAnswer) -> v1::ReservesResponse {
    v1::ReservesResponse {
        scope: a.scope.clone(),
        as_of: a.as_of.days(),
        pools: a.pools.iter().map(pool_position).collect(),
    }
}

pub fn reserves_answer(wire: v1::ReservesResponse) -> Result<ReservesAnswer, WireError> {
    Ok(ReservesAnswer {
        scope: scope(&wire.scope, "scope")?,
        as_of: date(wire.as_of, "as_of")?,
        pools: pools_from(wire.pools)?,
    })
}

pub fn alerts_responses(a: &AlertsAnswer, per: usize) -> Vec<v1::AlertsResponse> {
    chunked(&a.alerts, per, |alerts| v1::AlertsResponse {
        scope: a.scope.clone(),
        as_of: a.as_of.days(),
        alerts: alerts.iter().map(alert).collect(),
    })
}

pub fn alerts_answer(
    chunks: impl IntoIterator<Item = v1::AlertsResponse>,
) -> Result<AlertsAnswer, WireError> {
    let mut chunks = chunks.into_iter();
    let first = chunks.next().ok_or(WireError::Missing("alerts answer"))?;
    let header = (first.scope, first.as_of);
    let mut alerts = Vec::new();
    let mut rest = first.alerts;
    loop {
        for a in rest {
            alerts.push(alert_from(a)?);
        }
        let Some(next) = chunks.next() else { break };
        same_header(&header, &(next.scope, next.as_of), "alerts chunk")?;
        rest = next.alerts;
    }
    Ok(AlertsAnswer {
        scope: scope(&header.0, "scope")?,
        as_of: date(header.1, "as_of")?,
        alerts,
    })
}

pub fn sign_offs_responses(a: &SignOffsAnswer, per: usize) -> Vec<v1::SignOffsResponse> {
    chunked(&a.sign_offs, per, |sign_offs| v1::SignOffsResponse {
        scope: a.scope.clone(),
        sign_offs: sign_offs.iter().map(sign_off).collect(),
    })
}

pub fn sign_offs_answer(
    chunks: impl IntoIterator<Item = v1::SignOffsResponse>,
) -> Result<SignOffsAnswer, WireError> {
    let mut chunks = chunks.into_iter();
    let first = chunks
        .next()
        .ok_or(WireError::Missing("sign-offs answer"))?;
    let header = first.scope;
    let mut sign_offs = Vec::new();
    let mut rest = first.sign_offs;
    loop {
        for s in rest {
            sign_offs.push(sign_off_from(s)?);
        }
        let Some(next) = chunks.next() else { break };
        same_header(&header, &next.scope, "sign-offs chunk")?;
        rest = next.sign_offs;
    }
    Ok(SignOffsAnswer {
        scope: scope(&header, "scope")?,
        sign_offs,
    })
}
