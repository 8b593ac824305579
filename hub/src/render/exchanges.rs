//! `query exchanges`: each community exchange's figures beside the reserve
//! that guarantees it. Credits are the exchange's own unit and are printed
//! as such (hundredths as two decimals, like amounts, but never called
//! baht); only reserve figures are baht. No line adds one to the other.

use std::fmt::Write;

use sajja_common::exchange::{AccountDebit, Credits, ExchangePosition};
use sajja_common::{Date, Money};
use serde_json::{Value, json};

use super::format::{amount, csv_text, display_width, optional, pad, percent, pretty};
use crate::read::exchanges::ExchangeLine;

/// Baht with satang and thousands separators: the reserve is exact.
fn money(m: Money) -> String {
    m.to_string()
}

fn money_text(satang: i64) -> String {
    Money::from_satang(satang).to_string()
}

fn debtor(d: &AccountDebit) -> String {
    format!(
        "account {}: {} ({})",
        d.account,
        d.debit,
        percent(Some(d.share_basis_points))
    )
}

fn headroom(p: &ExchangePosition) -> String {
    p.headroom.map_or("-".into(), |h| h.to_string())
}

pub fn exchanges_table(scope: &str, lines: &[ExchangeLine], as_of: Date) -> String {
    let mut out = String::new();
    let what = if scope.is_empty() { "all" } else { scope };
    let _ = writeln!(out, "Community exchanges under {what} as of {as_of}");
    let _ = writeln!(
        out,
        "Credits are each exchange's own unit, not money: never converted to baht. Reserve figures are baht."
    );
    if lines.is_empty() {
        let _ = writeln!(out, "\n(no exchange had opened by {as_of})");
    }
    for line in lines {
        let p = &line.position;
        let unit = &p.unit_name;
        let _ = writeln!(
            out,
            "\n{} {} (unit {unit}; {} baht a credit values its debit against the reserve), seq {}, {}",
            p.log,
            p.name,
            money(p.rate_per_credit),
            line.seq,
            line.status.as_str()
        );
        let mut rows: Vec<(String, String)> = vec![
            (
                "accounts open / closed / defaulted".into(),
                format!(
                    "{} / {} / {}",
                    p.accounts_open, p.accounts_closed, p.accounts_defaulted
                ),
            ),
            (
                format!("credit in circulation ({unit})"),
                p.credit_in_circulation.to_string(),
            ),
            (
                format!("debit outstanding ({unit})"),
                p.debit_outstanding.to_string(),
            ),
            (
                format!("vouchers outstanding ({unit})"),
                p.vouchers_outstanding.to_string(),
            ),
            (
                format!("debit written off ({unit})"),
                p.debit_written_off.to_string(),
            ),
            (
                "settled from the reserve (baht)".into(),
                money(p.settled_from_reserve),
            ),
            (
                "paid by the groups' pledges (baht)".into(),
                money(p.settled_by_groups),
            ),
            (
                format!("reserve pledged to {} (baht)", p.reserve_pool),
                money(p.reserve_pledged),
            ),
            (
                "debit and vouchers at the rate (baht)".into(),
                money(p.exposure),
            ),
            ("coverage".into(), percent(p.coverage_basis_points)),
            (
                "policy minimum".into(),
                percent(Some(i64::from(p.policy_min_coverage_basis_points))),
            ),
            (
                "reserve the policy asks for (baht)".into(),
                money(p.reserve_required),
            ),
            (format!("headroom ({unit})"), headroom(p)),
            (
                "coverage without the largest pledger".into(),
                percent(p.coverage_without_largest_pledger),
            ),
            (
                "coverage without the largest three".into(),
                percent(p.coverage_without_largest_three),
            ),
            (
                "largest debtor".into(),
                p.largest_debtor.as_ref().map_or("-".into(), debtor),
            ),
        ];
        // The last three months' trade, up to the report's date.
        for month in (0..3).rev().map(|n| as_of.month().minus(n)) {
            let total = p.month_total(month);
            // Months before the first trade are not the exchange's.
            if total.transfers == 0 && month != as_of.month() {
                continue;
            }
            rows.push((
                format!("transfers in {month} ({unit})"),
                format!("{}: {}", total.transfers, total.volume),
            ));
        }
        let width = rows
            .iter()
            .map(|(label, _)| display_width(label))
            .max()
            .unwrap_or(0);
        for (label, value) in rows {
            let _ = writeln!(out, "  {} {value:>16}", pad(&label, width));
        }
        if p.coverage_basis_points
            .is_some_and(|c| c < i64::from(p.policy_min_coverage_basis_points))
        {
            let _ = writeln!(
                out,
                "  COVERAGE BELOW POLICY: {} baht more reserve is needed",
                money_text(p.reserve_required.satang() - p.reserve_pledged.satang())
            );
        }
        for d in &p.debtors_over_limit {
            let _ = writeln!(
                out,
                "  DEBIT CONCENTRATED: {} above the limit of {}",
                debtor(d),
                percent(Some(i64::from(p.concentration_limit_basis_points)))
            );
        }
    }
    out
}

/// Credits in JSON and CSV: hundredths as two decimals in a string, like
/// amounts, under names that say `credits`.
fn credits(c: Credits) -> String {
    c.to_plain()
}

fn debit_value(d: &AccountDebit) -> Value {
    json!({
        "account": d.account.0,
        "debit_credits": credits(d.debit),
        "share_basis_points": d.share_basis_points,
    })
}

fn exchange_value(line: &ExchangeLine) -> Value {
    let p = &line.position;
    json!({
        "exchange": p.log.as_str(),
        "name": p.name,
        "seq": line.seq,
        "status": line.status.as_str(),
        "last_contact_at": line.last_contact_at,
        "unit_name": p.unit_name,
        "rate_per_credit": amount(p.rate_per_credit),
        "reserve_pool": p.reserve_pool.as_str(),
        "accounts_open": p.accounts_open,
        "accounts_closed": p.accounts_closed,
        "accounts_defaulted": p.accounts_defaulted,
        "credit_in_circulation_credits": credits(p.credit_in_circulation),
        "debit_outstanding_credits": credits(p.debit_outstanding),
        "vouchers_outstanding_credits": credits(p.vouchers_outstanding),
        "debit_written_off_credits": credits(p.debit_written_off),
        "settled_from_reserve": amount(p.settled_from_reserve),
        "settled_by_groups": amount(p.settled_by_groups),
        "reserve_pledged": amount(p.reserve_pledged),
        "exposure": amount(p.exposure),
        "coverage_basis_points": optional(p.coverage_basis_points),
        "policy_min_coverage_basis_points": p.policy_min_coverage_basis_points,
        "reserve_required": amount(p.reserve_required),
        "headroom_credits": p.headroom.map(credits),
        "coverage_without_largest_pledger_basis_points": optional(p.coverage_without_largest_pledger),
        "coverage_without_largest_three_basis_points": optional(p.coverage_without_largest_three),
        "largest_debtor": p.largest_debtor.as_ref().map(debit_value),
        "concentration_limit_basis_points": p.concentration_limit_basis_points,
        "debtors_over_limit": p.debtors_over_limit.iter().map(debit_value).collect::<Vec<_>>(),
        "volume_by_month": p.volume_by_month.iter().map(|((month, category), v)| json!({
            "month": month.to_string(),
            "category": category.name(),
            "transfers": v.transfers,
            "volume_credits": credits(v.volume),
        })).collect::<Vec<_>>(),
    })
}

pub fn exchanges_json(scope: &str, lines: &[ExchangeLine], as_of: Date) -> String {
    pretty(&json!({
        "scope": scope,
        "as_of": as_of.to_string(),
        "exchanges": lines.iter().map(exchange_value).collect::<Vec<_>>(),
    }))
}

/// One row per exchange; the monthly volume is in the JSON.
pub fn exchanges_csv(lines: &[ExchangeLine], as_of: Date) -> String {
    let header = [
        "as_of",
        "exchange",
        "seq",
        "status",
        "unit_name",
        "rate_per_credit",
        "reserve_pool",
        "accounts_open",
        "accounts_closed",
        "accounts_defaulted",
        "credit_in_circulation_credits",
        "debit_outstanding_credits",
        "vouchers_outstanding_credits",
        "debit_written_off_credits",
        "settled_from_reserve",
        "settled_by_groups",
        "reserve_pledged",
        "exposure",
        "coverage_basis_points",
        "policy_min_coverage_basis_points",
        "reserve_required",
        "headroom_credits",
        "coverage_without_largest_pledger_basis_points",
        "coverage_without_largest_three_basis_points",
    ];
    let mut rows = vec![header.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
    let or_empty = |v: Option<i64>| v.map_or(String::new(), |v| v.to_string());
    for line in lines {
        let p = &line.position;
        rows.push(vec![
            as_of.to_string(),
            p.log.as_str().to_string(),
            line.seq.to_string(),
            line.status.as_str().to_string(),
            p.unit_name.clone(),
            amount(p.rate_per_credit),
            p.reserve_pool.as_str().to_string(),
            p.accounts_open.to_string(),
            p.accounts_closed.to_string(),
            p.accounts_defaulted.to_string(),
            credits(p.credit_in_circulation),
            credits(p.debit_outstanding),
            credits(p.vouchers_outstanding),
            credits(p.debit_written_off),
            amount(p.settled_from_reserve),
            amount(p.settled_by_groups),
            amount(p.reserve_pledged),
            amount(p.exposure),
            or_empty(p.coverage_basis_points),
            p.policy_min_coverage_basis_points.to_string(),
            amount(p.reserve_required),
            p.headroom.map_or(String::new(), credits),
            or_empty(p.coverage_without_largest_pledger),
            or_empty(p.coverage_without_largest_three),
        ]);
    }
    csv_text(&rows)
}
