//! Reports: tables a person can read (Thai text aligned by display width),
//! JSON for machines and CSV for spreadsheets. In JSON and CSV every amount
//! is a string of baht with exactly two decimals (`"1234.50"`), every ratio an
//! integer in basis points (10000 = 100%): exact, never a float.

use std::fmt::Write;

use sajja_common::event::Source;
use sajja_common::exchange::ExchangeAlert;
use sajja_common::position::PoolPosition;
use sajja_common::{Date, Money};
use serde_json::{Value, json};

mod exchanges;
mod format;

pub use format::display_width;
use format::{amount, csv_text, optional, pad, percent, pretty};

use crate::read::query::Answer;
use crate::values::alert::Alert;
use crate::values::lines::{Freshness, GroupLine};
use crate::values::scope_position::ScopePosition;
use crate::values::signoff::SignOff;
use crate::values::time::timestamp;

/// How a query prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Table,
    Json,
    Csv,
}

fn truncate(text: &str, width: usize) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if display_width(&out) >= width {
            break;
        }
        out.push(c);
    }
    out
}

fn baht(m: Money) -> String {
    // Whole baht keep wide tables readable; satang stay in the CSV and JSON.
    let whole = Money::from_satang(m.satang() / 100 * 100).to_string();
    whole.trim_end_matches(".00").to_string()
}

const NAME_WIDTH: usize = 24;

pub fn group_table(lines: &[GroupLine], as_of: Date, freshness: Freshness) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Groups as of {as_of} (amounts in baht)");
    let _ = writeln!(
        out,
        "{} {} {:>7} {:>11} {:>11} {:>11} {:>11} {:>11} {:>6} {:>6} {:>7}  status",
        pad("group", 10),
        pad("name", NAME_WIDTH),
        "members",
        "welfare",
        "savings",
        "loans",
        "pool dep.",
        "reserve",
        "PAR30%",
        "events",
        "signed"
    );
    for line in lines {
        let p = &line.position;
        let status = line.health(freshness).name();
        let status = if status == "ok" {
            status.to_string()
        } else {
            status.to_uppercase()
        };
        let par = p.par30_basis_points();
        let signed = line
            .signed_off
            .last()
            .map_or("-".to_string(), |m| m.to_string());
        let _ = writeln!(
            out,
            "{} {} {:>7} {:>11} {:>11} {:>11} {:>11} {:>11} {:>3}.{:02} {:>6} {signed:>7}  {status}",
            pad(line.group.as_str(), 10),
            pad(&truncate(&line.name, NAME_WIDTH), NAME_WIDTH),
            p.active_members,
            baht(p.welfare_fund),
            baht(p.member_savings),
            baht(p.loans_outstanding),
            baht(p.pool_deposits),
            baht(p.reserve_pledged),
            par / 100,
            par % 100,
            line.seq,
        );
    }
    out
}

pub fn pool_table(pools: &[sajja_common::position::PoolPosition], as_of: Date) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Pooled funds as of {as_of} (amounts in baht)");
    let _ = writeln!(
        out,
        "{:<12} {:>11} {:>11} {:>11} {:>11} {:>9} {:>8} {:>11} {:>9} {:>9}  alert",
        "pool",
        "deposits",
        "loans",
        "reserve",
        "obligation",
        "ratio",
        "policy",
        "headroom",
        "w/o top1",
        "w/o top3"
    );
    for p in pools {
        let policy = p.min_reserve_ratio_basis_points.map(i64::from);
        let alert = if p.below_policy() {
            "RESERVE BELOW POLICY"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "{:<12} {:>11} {:>11} {:>11} {:>11} {:>9} {:>8} {:>11} {:>9} {:>9}  {alert}",
            p.pool.as_str(),
            baht(p.deposits),
            baht(p.loans_to_groups),
            baht(p.reserve),
            baht(p.obligations()),
            percent(p.reserve_ratio_basis_points()),
            percent(policy),
            p.headroom().map_or("-".into(), baht),
            percent(p.ratio_without_largest(1)),
            percent(p.ratio_without_largest(3)),
        );
    }
    out
}

fn cell(value: Option<i64>) -> String {
    value.map_or(String::new(), |v| v.to_string())
}

fn group_value(line: &GroupLine, freshness: Freshness) -> Value {
    let p = &line.position;
    let by_source = |pairs: &[(Source, Money)]| -> Value {
        pairs
            .iter()
            .map(|(s, m)| (s.word().to_string(), Value::from(amount(*m))))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    json!({
        "group": line.group.as_str(),
        "name": line.name,
        "as_of": p.as_of.to_string(),
        "status": line.health(freshness).name(),
        "seq": line.seq,
        "last_contact_at": line.last_contact_at,
        "last_event_date": p.last_event_date.map(|d| d.to_string()),
        "active_members": p.active_members,
        "cash": amount(p.cash),
        "bank": amount(p.bank),
        "welfare_fund": amount(p.welfare_fund),
        "member_savings": amount(p.member_savings),
        "loans_outstanding": amount(p.loans_outstanding),
        "pool_deposits": amount(p.pool_deposits),
        "pool_loans": amount(p.pool_loans),
        "reserve_pledged": amount(p.reserve_pledged),
        "contributions_month": by_source(&p.contributions_month),
        "contributions_ytd": by_source(&p.contributions_ytd),
        "benefits_ytd": p.benefits_ytd
            .iter()
            .map(|(k, m)| (k.word().to_string(), Value::from(amount(*m))))
            .collect::<serde_json::Map<_, _>>(),
        "loans_in_arrears": p.arrears.loans,
        "arrears_overdue": amount(p.arrears.overdue),
        "at_risk_outstanding": amount(p.arrears.at_risk_outstanding),
        "par30_basis_points": p.par30_basis_points(),
        "fund_cover_months_x100": p.fund_cover_months_x100,
        "pools": p.pools.iter().map(|(pool, b)| json!({
            "pool": pool.as_str(),
            "deposits": amount(b.deposits),
            "loans_payable": amount(b.loans_payable),
            "reserve_pledged": amount(b.reserve_pledged),
        })).collect::<Vec<_>>(),
        "signed_off": line.signed_off.iter().map(|m| m.to_string()).collect::<Vec<_>>(),
        "fund_a_year_ago": amount(p.fund_a_year_ago),
        "members_a_year_ago": p.members_a_year_ago,
        "contributions_due_month": amount(p.contributions_due_month),
        "contributions_due_ytd": amount(p.contributions_due_ytd),
        "fund_growth_basis_points": p.fund_growth_basis_points(),
        "member_growth_basis_points": p.member_growth_basis_points(),
        "collection_rate_month_basis_points": p.collection_rate_month_basis_points(),
        "collection_rate_ytd_basis_points": p.collection_rate_ytd_basis_points(),
    })
}

pub fn groups_json(scope: &str, lines: &[GroupLine], as_of: Date, freshness: Freshness) -> String {
    pretty(&json!({
        "scope": scope,
        "as_of": as_of.to_string(),
        "groups": lines.iter().map(|l| group_value(l, freshness)).collect::<Vec<_>>(),
    }))
}

pub fn groups_csv(lines: &[GroupLine], freshness: Freshness) -> String {
    let header = [
        "group",
        "name",
        "as_of",
        "status",
        "seq",
        "last_contact_at",
        "active_members",
        "cash",
        "bank",
        "welfare_fund",
        "member_savings",
        "loans_outstanding",
        "pool_deposits",
        "pool_loans",
        "reserve_pledged",
        "contributions_month",
        "contributions_ytd",
        "benefits_ytd",
        "loans_in_arrears",
        "arrears_overdue",
        "at_risk_outstanding",
        "par30_basis_points",
        "fund_cover_months_x100",
        "last_signed_off",
        "fund_a_year_ago",
        "members_a_year_ago",
        "contributions_due_month",
        "contributions_due_ytd",
        "fund_growth_basis_points",
        "member_growth_basis_points",
        "collection_rate_month_basis_points",
        "collection_rate_ytd_basis_points",
    ];
    let total = |pairs: &mut dyn Iterator<Item = Money>| {
        amount(Money::from_satang(pairs.map(Money::satang).sum()))
    };
    let mut rows = vec![header.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
    for line in lines {
        let p = &line.position;
        rows.push(vec![
            line.group.as_str().to_string(),
            line.name.clone(),
            p.as_of.to_string(),
            line.health(freshness).name().to_string(),
            line.seq.to_string(),
            cell(line.last_contact_at),
            p.active_members.to_string(),
            amount(p.cash),
            amount(p.bank),
            amount(p.welfare_fund),
            amount(p.member_savings),
            amount(p.loans_outstanding),
            amount(p.pool_deposits),
            amount(p.pool_loans),
            amount(p.reserve_pledged),
            total(&mut p.contributions_month.iter().map(|(_, m)| *m)),
            total(&mut p.contributions_ytd.iter().map(|(_, m)| *m)),
            total(&mut p.benefits_ytd.iter().map(|(_, m)| *m)),
            p.arrears.loans.to_string(),
            amount(p.arrears.overdue),
            amount(p.arrears.at_risk_outstanding),
            p.par30_basis_points().to_string(),
            cell(p.fund_cover_months_x100),
            line.signed_off
                .last()
                .map_or(String::new(), |m| m.to_string()),
            amount(p.fund_a_year_ago),
            p.members_a_year_ago.to_string(),
            amount(p.contributions_due_month),
            amount(p.contributions_due_ytd),
            cell(p.fund_growth_basis_points()),
            cell(p.member_growth_basis_points()),
            cell(p.collection_rate_month_basis_points()),
            cell(p.collection_rate_ytd_basis_points()),
        ]);
    }
    csv_text(&rows)
}

fn pool_value(p: &PoolPosition) -> Value {
    json!({
        "pool": p.pool.as_str(),
        "deposits": amount(p.deposits),
        "loans_to_groups": amount(p.loans_to_groups),
        "reserve": amount(p.reserve),
        "currency_outstanding": amount(p.currency_outstanding),
        "guarantees_outstanding": amount(p.guarantees_outstanding),
        "obligations": amount(p.obligations()),
        "reserve_ratio_basis_points": optional(p.reserve_ratio_basis_points()),
        "min_reserve_ratio_basis_points": p.min_reserve_ratio_basis_points,
        "headroom": p.headroom().map(amount),
        "below_policy": p.below_policy(),
        "ratio_without_largest_basis_points": optional(p.ratio_without_largest(1)),
        "ratio_without_largest_three_basis_points": optional(p.ratio_without_largest(3)),
        "pledges": p.pledges.iter().map(|(g, m)| json!({
            "group": g.as_str(),
            "amount": amount(*m),
        })).collect::<Vec<_>>(),
    })
}

pub fn pools_json(scope: &str, pools: &[PoolPosition], as_of: Date) -> String {
    pretty(&json!({
        "scope": scope,
        "as_of": as_of.to_string(),
        "pools": pools.iter().map(pool_value).collect::<Vec<_>>(),
    }))
}

pub fn pools_csv(pools: &[PoolPosition], as_of: Date) -> String {
    let header = [
        "pool",
        "as_of",
        "deposits",
        "loans_to_groups",
        "reserve",
        "currency_outstanding",
        "guarantees_outstanding",
        "obligations",
        "reserve_ratio_basis_points",
        "min_reserve_ratio_basis_points",
        "headroom",
        "below_policy",
        "ratio_without_largest_basis_points",
        "ratio_without_largest_three_basis_points",
    ];
    let mut rows = vec![header.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
    for p in pools {
        rows.push(vec![
            p.pool.as_str().to_string(),
            as_of.to_string(),
            amount(p.deposits),
            amount(p.loans_to_groups),
            amount(p.reserve),
            amount(p.currency_outstanding),
            amount(p.guarantees_outstanding),
            amount(p.obligations()),
            cell(p.reserve_ratio_basis_points()),
            cell(p.min_reserve_ratio_basis_points.map(i64::from)),
            p.headroom().map_or(String::new(), amount),
            p.below_policy().to_string(),
            cell(p.ratio_without_largest(1)),
            cell(p.ratio_without_largest(3)),
        ]);
    }
    csv_text(&rows)
}

fn level_of(scope: &str) -> &'static str {
    match scope.len() {
        0 => "all",
        2 => "province",
        6 => "tambon",
        _ => "group",
    }
}

/// The scope's figures as (name, JSON value, CSV text), in report order.
fn position_fields(p: &ScopePosition, as_of: Date) -> Vec<(&'static str, Value, String)> {
    let money = |m: Money| (Value::from(amount(m)), amount(m));
    let count = |n: u64| (Value::from(n), n.to_string());
    let ratio = |r: Option<i64>| (optional(r), cell(r));
    let fields: Vec<(&'static str, (Value, String))> = vec![
        ("scope", (Value::from(p.scope.clone()), p.scope.clone())),
        (
            "level",
            (
                Value::from(level_of(&p.scope)),
                level_of(&p.scope).to_string(),
            ),
        ),
        ("as_of", (Value::from(as_of.to_string()), as_of.to_string())),
        ("groups", count(p.groups.into())),
        ("ok", count(p.ok.into())),
        ("stale", count(p.stale.into())),
        ("forked", count(p.forked.into())),
        ("at_risk", count(p.at_risk.into())),
        ("damaged", count(p.damaged.into())),
        ("members", count(p.members)),
        ("cash_and_bank", money(p.cash_and_bank)),
        ("welfare_fund", money(p.welfare_fund)),
        ("member_savings", money(p.member_savings)),
        ("loans_outstanding", money(p.loans_outstanding)),
        ("loans_in_arrears", count(p.loans_in_arrears.into())),
        ("loans_at_risk", money(p.loans_at_risk)),
        ("pool_deposits", money(p.pool_deposits)),
        ("pool_loans", money(p.pool_loans)),
        ("reserve_pledged", money(p.reserve_pledged)),
        ("contributions_ytd", money(p.contributions_ytd)),
        ("benefits_ytd", money(p.benefits_ytd)),
        ("par30_basis_points", ratio(p.par30_basis_points())),
        (
            "loan_to_fund_basis_points",
            ratio(p.loan_to_fund_basis_points()),
        ),
        (
            "benefits_to_contributions_basis_points",
            ratio(p.benefits_to_contributions_basis_points()),
        ),
        (
            "oldest_contact",
            (optional(p.oldest_contact), cell(p.oldest_contact)),
        ),
        ("fund_a_year_ago", money(p.fund_a_year_ago)),
        ("members_a_year_ago", count(p.members_a_year_ago)),
        (
            "member_contributions_month",
            money(p.member_contributions_month),
        ),
        ("contributions_due_month", money(p.contributions_due_month)),
        (
            "member_contributions_ytd",
            money(p.member_contributions_ytd),
        ),
        ("contributions_due_ytd", money(p.contributions_due_ytd)),
        (
            "fund_growth_basis_points",
            ratio(p.fund_growth_basis_points()),
        ),
        (
            "member_growth_basis_points",
            ratio(p.member_growth_basis_points()),
        ),
        (
            "collection_rate_month_basis_points",
            ratio(p.collection_rate_month_basis_points()),
        ),
        (
            "collection_rate_ytd_basis_points",
            ratio(p.collection_rate_ytd_basis_points()),
        ),
    ];
    fields
        .into_iter()
        .map(|(name, (json, csv))| (name, json, csv))
        .collect()
}

pub fn position_json(p: &ScopePosition, pools: &[PoolPosition], as_of: Date) -> String {
    let mut object: serde_json::Map<String, Value> = position_fields(p, as_of)
        .into_iter()
        .map(|(name, value, _)| (name.to_string(), value))
        .collect();
    object.insert(
        "pools".into(),
        pools.iter().map(pool_value).collect::<Vec<_>>().into(),
    );
    pretty(&Value::Object(object))
}

pub fn position_csv(p: &ScopePosition, as_of: Date) -> String {
    let fields = position_fields(p, as_of);
    csv_text(&[
        fields.iter().map(|(name, ..)| name.to_string()).collect(),
        fields.into_iter().map(|(.., text)| text).collect(),
    ])
}

pub fn position_table(p: &ScopePosition, pools: &[PoolPosition], as_of: Date, now: i64) -> String {
    let mut out = String::new();
    let what = match level_of(&p.scope) {
        "province" => format!("province {}", p.scope),
        "tambon" => format!("tambon {}", p.scope),
        "group" => format!("group {}", p.scope),
        _ => "every group held here".to_string(),
    };
    let _ = writeln!(out, "Position of {what} as of {as_of} (amounts in baht)");
    let freshness = match p.oldest_contact {
        Some(at) => format!("{} ({} min ago)", timestamp(at), (now - at).max(0) / 60),
        None => "never".into(),
    };
    let rows: Vec<(&str, String)> = vec![
        (
            "groups",
            format!(
                "{} (ok {}, at risk {}, stale {}, forked {}, damaged {})",
                p.groups, p.ok, p.at_risk, p.stale, p.forked, p.damaged
            ),
        ),
        ("active members", p.members.to_string()),
        ("cash and bank", baht(p.cash_and_bank)),
        ("welfare fund", baht(p.welfare_fund)),
        ("member savings", baht(p.member_savings)),
        ("loans outstanding", baht(p.loans_outstanding)),
        ("  loans in arrears", p.loans_in_arrears.to_string()),
        ("  at risk > 30 days", baht(p.loans_at_risk)),
        ("pool deposits", baht(p.pool_deposits)),
        ("pool loans", baht(p.pool_loans)),
        ("reserve pledged", baht(p.reserve_pledged)),
        ("contributions, year to date", baht(p.contributions_ytd)),
        ("benefits paid, year to date", baht(p.benefits_ytd)),
        ("PAR > 30 days", percent(p.par30_basis_points())),
        ("loan-to-fund", percent(p.loan_to_fund_basis_points())),
        (
            "benefits ÷ contributions (ytd)",
            percent(p.benefits_to_contributions_basis_points()),
        ),
        ("fund a year ago", baht(p.fund_a_year_ago)),
        (
            "fund growth, 12 months",
            percent(p.fund_growth_basis_points()),
        ),
        (
            "active members a year ago",
            p.members_a_year_ago.to_string(),
        ),
        (
            "member growth, 12 months",
            percent(p.member_growth_basis_points()),
        ),
        (
            "member contributions, this month",
            format!(
                "{} of {}",
                baht(p.member_contributions_month),
                baht(p.contributions_due_month)
            ),
        ),
        (
            "collection rate, this month",
            percent(p.collection_rate_month_basis_points()),
        ),
        (
            "member contributions, year to date",
            format!(
                "{} of {}",
                baht(p.member_contributions_ytd),
                baht(p.contributions_due_ytd)
            ),
        ),
        (
            "collection rate, year to date",
            percent(p.collection_rate_ytd_basis_points()),
        ),
        ("oldest last contact", freshness),
    ];
    let width = rows
        .iter()
        .map(|(label, _)| display_width(label))
        .max()
        .unwrap_or(0);
    for (label, value) in rows {
        let _ = writeln!(out, "  {} {value:>14}", pad(label, width));
    }
    if !pools.is_empty() {
        out.push('\n');
        out.push_str(&pool_table(pools, as_of));
    }
    out
}

fn alert_value(alert: &Alert) -> Value {
    let mut value = json!({
        "kind": alert.kind(),
        "subject": alert.subject(),
        "message": alert.to_string(),
    });
    let extra = match alert {
        Alert::ReserveBelowPolicy { headroom, .. } => json!({ "headroom": amount(*headroom) }),
        Alert::Forked(_) => json!({}),
        Alert::Damaged { seq, reason, .. } => json!({ "seq": seq, "reason": reason }),
        Alert::Stale { last_sync_at, .. } => json!({ "last_contact_at": last_sync_at }),
        Alert::AtRisk { risks, .. } => json!({
            "risks": risks
                .iter()
                .map(|r| json!({ "kind": r.kind(), "text": r.to_string() }))
                .collect::<Vec<_>>(),
        }),
        Alert::DigestMismatch { seq, month, .. } => {
            json!({ "seq": seq, "month": month.to_string() })
        }
        Alert::SignOffBroken {
            month,
            signed_by,
            signed,
            current,
            ..
        } => json!({
            "month": month.to_string(),
            "signed_by": signed_by,
            "signed_digest": signed.to_hex(),
            "current_digest": current.to_hex(),
        }),
        Alert::Exchange {
            alert:
                ExchangeAlert::CoverageBelowPolicy {
                    coverage_basis_points,
                    policy_basis_points,
                    shortfall,
                },
            ..
        } => json!({
            "coverage_basis_points": coverage_basis_points,
            "policy_basis_points": policy_basis_points,
            "shortfall": amount(*shortfall),
        }),
        Alert::Exchange {
            alert:
                ExchangeAlert::DebitConcentrated {
                    account,
                    debit,
                    share_basis_points,
                    limit_basis_points,
                },
            ..
        } => json!({
            "account": account.0,
            "debit": debit.to_plain(),
            "share_basis_points": share_basis_points,
            "limit_basis_points": limit_basis_points,
        }),
        Alert::Exchange {
            alert:
                ExchangeAlert::SettlementUnmatched {
                    settled_from_reserve,
                    settled_by_groups,
                },
            ..
        } => json!({
            "settled_from_reserve": amount(*settled_from_reserve),
            "settled_by_groups": amount(*settled_by_groups),
        }),
    };
    if let (Value::Object(into), Value::Object(from)) = (&mut value, extra) {
        into.extend(from);
    }
    value
}

pub fn alerts_json(scope: &str, alerts: &[Alert], as_of: Date) -> String {
    pretty(&json!({
        "scope": scope,
        "as_of": as_of.to_string(),
        "alerts": alerts.iter().map(alert_value).collect::<Vec<_>>(),
    }))
}

pub fn alerts_csv(alerts: &[Alert]) -> String {
    let mut rows = vec![vec!["kind".into(), "subject".into(), "message".into()]];
    for alert in alerts {
        rows.push(vec![
            alert.kind().to_string(),
            alert.subject(),
            alert.to_string(),
        ]);
    }
    csv_text(&rows)
}

pub fn alerts_table(scope: &str, alerts: &[Alert], as_of: Date) -> String {
    let mut out = String::new();
    let what = if scope.is_empty() { "all" } else { scope };
    if alerts.is_empty() {
        let _ = writeln!(out, "No alerts under {what} as of {as_of}");
        return out;
    }
    let _ = writeln!(out, "Alerts under {what} as of {as_of}");
    let width = alerts.iter().map(|a| a.kind().len()).max().unwrap_or(0);
    for alert in alerts {
        let _ = writeln!(out, "  {:<width$}  {alert}", alert.kind());
    }
    out
}

fn sign_off_status(s: &SignOff) -> &'static str {
    if s.broken() { "BROKEN" } else { "ok" }
}

pub fn signoffs_json(scope: &str, sign_offs: &[SignOff]) -> String {
    pretty(&json!({
        "scope": scope,
        "sign_offs": sign_offs.iter().map(|s| json!({
            "subject": s.subject,
            "level": if s.is_group() { "group" } else { "tambon" },
            "month": s.month.to_string(),
            "signed_by": s.signed_by,
            "seq": s.seq,
            "signed_digest": s.signed.to_hex(),
            "current_digest": s.current.to_hex(),
            "broken": s.broken(),
        })).collect::<Vec<_>>(),
    }))
}

pub fn signoffs_csv(sign_offs: &[SignOff]) -> String {
    let mut rows = vec![
        ["subject", "level", "month", "signed_by", "seq", "status"]
            .iter()
            .map(|h| h.to_string())
            .collect::<Vec<_>>(),
    ];
    for s in sign_offs {
        rows.push(vec![
            s.subject.clone(),
            if s.is_group() { "group" } else { "tambon" }.to_string(),
            s.month.to_string(),
            s.signed_by.clone(),
            s.seq.to_string(),
            sign_off_status(s).to_lowercase(),
        ]);
    }
    csv_text(&rows)
}

pub fn signoffs_table(scope: &str, sign_offs: &[SignOff]) -> String {
    let mut out = String::new();
    let what = if scope.is_empty() { "all" } else { scope };
    let _ = writeln!(out, "Month sign-offs under {what}");
    let _ = writeln!(
        out,
        "{:<12} {:<7} {:<8} {:<10} {:>6}  status",
        "subject", "month", "level", "signed by", "seq"
    );
    for s in sign_offs {
        let _ = writeln!(
            out,
            "{:<12} {:<7} {:<8} {:<10} {:>6}  {}",
            s.subject,
            s.month.to_string(),
            if s.is_group() { "group" } else { "tambon" },
            s.signed_by,
            s.seq,
            sign_off_status(s)
        );
    }
    out
}

impl Answer {
    /// The one renderer of every query, local or remote.
    pub fn render(&self, output: Output) -> String {
        match self {
            Answer::Position(a) => match output {
                Output::Table => position_table(&a.position, &a.pools, a.as_of, a.freshness.now),
                Output::Json => position_json(&a.position, &a.pools, a.as_of),
                Output::Csv => position_csv(&a.position, a.as_of),
            },
            Answer::Groups(a) => match output {
                Output::Table => group_table(&a.lines, a.as_of, a.freshness),
                Output::Json => groups_json(&a.scope, &a.lines, a.as_of, a.freshness),
                Output::Csv => groups_csv(&a.lines, a.freshness),
            },
            Answer::Reserves(a) => match output {
                Output::Table => pool_table(&a.pools, a.as_of),
                Output::Json => pools_json(&a.scope, &a.pools, a.as_of),
                Output::Csv => pools_csv(&a.pools, a.as_of),
            },
            Answer::Alerts(a) => match output {
                Output::Table => alerts_table(&a.scope, &a.alerts, a.as_of),
                Output::Json => alerts_json(&a.scope, &a.alerts, a.as_of),
                Output::Csv => alerts_csv(&a.alerts),
            },
            Answer::SignOffs(a) => match output {
                Output::Table => signoffs_table(&a.scope, &a.sign_offs),
                Output::Json => signoffs_json(&a.scope, &a.sign_offs),
                Output::Csv => signoffs_csv(&a.sign_offs),
            },
            Answer::Exchanges(a) => match output {
                Output::Table => exchanges::exchanges_table(&a.scope, &a.exchanges, a.as_of),
                Output::Json => exchanges::exchanges_json(&a.scope, &a.exchanges, a.as_of),
                Output::Csv => exchanges::exchanges_csv(&a.exchanges, a.as_of),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_only_fields_that_need_it_and_amounts_stay_exact() {
        let rows = vec![
            vec![
                "กลุ่ม \"หนองบัว\", หมู่ 3".to_string(),
                amount(Money::from_satang(-5)),
            ],
            vec!["plain".to_string(), amount(Money::from_satang(123_456_789))],
        ];
        assert_eq!(
            csv_text(&rows),
            "\"กลุ่ม \"\"หนองบัว\"\", หมู่ 3\",-0.05\r\nplain,1234567.89\r\n"
        );
        assert_eq!(timestamp(86_400 + 3_660), "1970-01-02 01:01 UTC");
    }
}
