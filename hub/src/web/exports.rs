//! Downloads: every table as CSV that opens cleanly in Excel (UTF-8 with a
//! BOM, ISO dates, percentages as numbers with the unit in the header) and
//! JSON; and the researcher's de-identified export of events.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sajja_common::event::Body;
use sajja_common::{Date, Event, Month};

use super::app::{Shared, refused};
use super::pages::{View, lines_of, or_respond, query_failed, scoped_page, trend};
use super::words::Words;
use crate::read::query::Context;
use crate::render as report;
use crate::values::lines::GroupLine;
use crate::values::scope_position::ScopePosition;
use sajja_edge::clock::unix_now;

/// Excel reads a CSV as UTF-8 (and so shows Thai) only after this mark.
const BOM: &str = "\u{feff}";

/// Basis points as a percent number: `2065` → `20.65`. Exact, no float.
pub fn percent_number(basis_points: Option<i64>) -> String {
    basis_points.map_or_else(String::new, sajja_common::position::basis_points_text)
}

/// A unix time as ISO local Thai time, `2026-12-07 17:42`.
fn iso_time(unix: i64) -> String {
    let (date, minutes) = sajja_edge::web::lang::thai_clock(unix);
    format!("{date} {:02}:{:02}", minutes / 60, minutes % 60)
}

fn csv_text(rows: Vec<Vec<String>>) -> Result<String, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.write_record(row)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(format!("{BOM}{}", String::from_utf8_lossy(&bytes)))
}

fn download(content_type: &'static str, filename: String, body: String) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response()
}

fn csv_download(filename: String, rows: Vec<Vec<String>>) -> Response {
    match csv_text(rows) {
        Ok(text) => download("text/csv; charset=utf-8", filename, text),
        Err(error) => super::app::internal(error),
    }
}

const GROUP_HEADER: [&str; 20] = [
    "group",
    "name",
    "as_of",
    "status",
    "last_contact",
    "active_members",
    "cash_baht",
    "bank_baht",
    "welfare_fund_baht",
    "member_savings_baht",
    "loans_outstanding_baht",
    "loans_in_arrears",
    "par30_percent",
    "collection_rate_ytd_percent",
    "fund_growth_12m_percent",
    "pool_deposits_baht",
    "reserve_pledged_baht",
    "contributions_ytd_baht",
    "benefits_ytd_baht",
    "last_signed_off",
];

fn group_record(cx: &Context, line: &GroupLine) -> Vec<String> {
    let p = &line.position;
    fn total<K>(pairs: &[(K, sajja_common::Money)]) -> String {
        sajja_common::Money::from_satang(pairs.iter().map(|(_, m)| m.satang()).sum()).to_plain()
    }
    vec![
        line.group.as_str().to_string(),
        line.name.clone(),
        p.as_of.to_string(),
        line.health(cx.freshness).name().to_string(),
        line.last_contact_at.map(iso_time).unwrap_or_default(),
        p.active_members.to_string(),
        p.cash.to_plain(),
        p.bank.to_plain(),
        p.welfare_fund.to_plain(),
        p.member_savings.to_plain(),
        p.loans_outstanding.to_plain(),
        p.arrears.loans.to_string(),
        percent_number(Some(p.par30_basis_points())),
        percent_number(p.collection_rate_ytd_basis_points()),
        percent_number(p.fund_growth_basis_points()),
        p.pool_deposits.to_plain(),
        p.reserve_pledged.to_plain(),
        total(&p.contributions_ytd),
        total(&p.benefits_ytd),
        line.signed_off
            .last()
            .map(|m| m.to_string())
            .unwrap_or_default(),
    ]
}

pub async fn groups_csv(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(scope): Path<String>,
    Query(view): Query<View>,
) -> Response {
    scoped_page(app, headers, scope, move |_, asked, cx| {
        let as_of = view.as_of(cx.today).unwrap_or(cx.today);
        let lines = or_respond!(lines_of(cx, asked, as_of));
        let mut rows = vec![GROUP_HEADER.map(String::from).to_vec()];
        rows.extend(lines.iter().map(|l| group_record(cx, l)));
        csv_download(format!("groups-{}-{as_of}.csv", asked.scope), rows)
    })
    .await
}

pub async fn groups_json(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(scope): Path<String>,
    Query(view): Query<View>,
) -> Response {
    scoped_page(app, headers, scope, move |_, asked, cx| {
        let as_of = view.as_of(cx.today).unwrap_or(cx.today);
        let lines = or_respond!(lines_of(cx, asked, as_of));
        // The same JSON as `sajja-hub query groups --json`.
        download(
            "application/json",
            format!("groups-{}-{as_of}.json", asked.scope),
            report::groups_json(asked.scope.as_str(), &lines, as_of, cx.freshness),
        )
    })
    .await
}

fn trend_record(month: Month, p: &ScopePosition) -> Vec<String> {
    vec![
        month.to_string(),
        p.groups.to_string(),
        p.at_risk.to_string(),
        p.members.to_string(),
        p.welfare_fund.to_plain(),
        p.member_savings.to_plain(),
        p.loans_outstanding.to_plain(),
        percent_number(p.par30_basis_points()),
        percent_number(p.collection_rate_ytd_basis_points()),
        p.contributions_ytd.to_plain(),
        p.benefits_ytd.to_plain(),
        p.pool_deposits.to_plain(),
        p.reserve_pledged.to_plain(),
    ]
}

pub async fn trends_csv(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(scope): Path<String>,
    Query(view): Query<View>,
) -> Response {
    scoped_page(app, headers, scope, move |_, asked, cx| {
        let as_of = view.as_of(cx.today).unwrap_or(cx.today);
        let series = or_respond!(
            trend(cx, &asked.scope, &asked.audience, as_of, view.months()).map_err(query_failed)
        );
        let header = [
            "month",
            "groups",
            "groups_at_risk",
            "members",
            "welfare_fund_baht",
            "member_savings_baht",
            "loans_outstanding_baht",
            "par30_percent",
            "collection_rate_ytd_percent",
            "contributions_ytd_baht",
            "benefits_ytd_baht",
            "pool_deposits_baht",
            "reserve_pledged_baht",
        ];
        let mut rows = vec![header.map(String::from).to_vec()];
        rows.extend(series.iter().map(|(m, p)| trend_record(*m, p)));
        csv_download(format!("trends-{}-{as_of}.csv", asked.scope), rows)
    })
    .await
}

// ---- the researcher's export ----

/// Replaces member numbers with pseudonyms that hold for one export only:
/// two exports cannot be joined on them.
struct Pseudonyms {
    key: ring::hmac::Key,
}

impl Pseudonyms {
    fn new() -> Pseudonyms {
        Pseudonyms {
            key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &rand::random::<[u8; 32]>()),
        }
    }

    fn of(&self, group: &str, member: u32) -> String {
        let tag = ring::hmac::sign(&self.key, format!("{group}/{member}").as_bytes());
        format!("p{}", hex::encode(&tag.as_ref()[..6]))
    }
}

/// A birth year as its five-year band: 1957 → `1955-1959`.
fn birth_band(year: u32) -> String {
    let from = year - year % 5;
    format!("{from}-{}", from + 4)
}

pub const RESEARCH_HEADER: [&str; 8] = [
    "group",
    "seq",
    "date",
    "kind",
    "member",
    "amount_baht",
    "birth_years",
    "detail",
];

/// The rows of one event, de-identified: no free text (reasons may name
/// people), members as pseudonyms, birth years banded, a joining date as
/// its month.
fn research_rows(event: &Event, names: &Pseudonyms) -> Vec<Vec<String>> {
    let group = event.group.as_str();
    let who = |m: u32| names.of(group, m);
    let row = |member: String, amount: String, band: String, detail: String| {
        vec![
            group.to_string(),
            event.seq.to_string(),
            event.date.to_string(),
            event.body.kind().to_string(),
            member,
            amount,
            band,
            detail,
        ]
    };
    let none = String::new;
    match &event.body {
        Body::MemberJoined {
            member,
            birth_year,
            sex,
        } => vec![vec![
            group.to_string(),
            event.seq.to_string(),
            // Joining is reported to the month only.
            event.date.month().to_string(),
            event.body.kind().to_string(),
            who(member.0),
            none(),
            birth_band(*birth_year),
            format!("{sex:?}").to_lowercase(),
        ]],
        Body::MemberLeft {
            member,
            savings_refund,
            reason,
            ..
        } => vec![row(
            who(member.0),
            savings_refund.to_plain(),
            none(),
            format!("{reason:?}").to_lowercase(),
        )],
        Body::ContributionReceived {
            member,
            amount,
            period,
            source,
            ..
        } => vec![row(
            member.map(|m| who(m.0)).unwrap_or_default(),
            amount.to_plain(),
            none(),
            format!("{} {period}", source.word()),
        )],
        Body::SavingsDeposited { member, amount, .. }
        | Body::SavingsWithdrawn { member, amount, .. } => {
            vec![row(who(member.0), amount.to_plain(), none(), none())]
        }
        Body::BenefitPaid {
            member,
            kind,
            amount,
            ..
        } => vec![row(
            who(member.0),
            amount.to_plain(),
            none(),
            kind.word().to_string(),
        )],
        Body::LoanDisbursed {
            member,
            principal,
            term_months,
            ..
        } => vec![row(
            who(member.0),
            principal.to_plain(),
            none(),
            format!("{term_months} months"),
        )],
        Body::DividendPaid { lines, year } => lines
            .iter()
            .map(|(m, amount)| row(who(m.0), amount.to_plain(), none(), year.to_string()))
            .collect(),
        Body::IncomeReceived { amount, .. }
        | Body::ExpensePaid { amount, .. }
        | Body::CashBanked { amount }
        | Body::CashDrawn { amount }
        | Body::PoolDeposited { amount, .. }
        | Body::PoolWithdrawn { amount, .. }
        | Body::ReservePledged { amount, .. }
        | Body::ReserveReleased { amount, .. }
        | Body::ReserveDrawn { amount, .. }
        | Body::PoolLoanReceived { amount, .. } => {
            vec![row(none(), amount.to_plain(), none(), none())]
        }
        Body::LoanRepaid { principal, .. }
        | Body::LoanWrittenOff { principal, .. }
        | Body::PoolLoanRepaid { principal, .. } => {
            vec![row(none(), principal.to_plain(), none(), none())]
        }
        Body::Reversal { reversed_seq, .. } => {
            vec![row(
                none(),
                none(),
                none(),
                format!("reverses seq {reversed_seq}"),
            )]
        }
        Body::GroupOpened { .. }
        | Body::RulesChanged(_)
        | Body::PeriodClosed { .. }
        | Body::KeyRotated { .. } => vec![row(none(), none(), none(), none())],
    }
}

/// The most events one export reads: a province's year is about a
/// hundred million bytes of CSV beyond this, which a browser will not keep.
pub const RESEARCH_EVENTS_MAX: usize = 2_000_000;

pub async fn research_csv(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(scope): Path<String>,
    Query(view): Query<View>,
) -> Response {
    scoped_page(app, headers, scope, move |app, asked, cx| {
        let w = Words::of(asked.lang);
        if !asked.account.role.may_export_research() {
            return refused(StatusCode::FORBIDDEN, w.not_allowed);
        }
        let until = Date::parse_either_era(view.until.trim()).unwrap_or(cx.today);
        let from = Date::parse_either_era(view.from.trim())
            .unwrap_or_else(|_| until.month().minus(11).first_day());
        let groups = or_respond!(lines_of(cx, asked, until));
        let names = Pseudonyms::new();
        let mut rows = vec![RESEARCH_HEADER.map(String::from).to_vec()];
        let mut events_read = 0usize;
        for line in &groups {
            let events =
                or_respond!(crate::read::signoff::group_events(cx.store, &line.group).map_err(super::app::internal));
            events_read += events.len();
            if events_read > RESEARCH_EVENTS_MAX {
                return refused(StatusCode::PAYLOAD_TOO_LARGE, w.bad_request);
            }
            for event in events.iter().filter(|e| e.date >= from && e.date <= until) {
                rows.extend(research_rows(event, &names));
            }
        }
        let exported = rows.len() - 1;
        if let Err(error) = app.accounts().record_export(
            &asked.account.name,
            asked.scope.as_str(),
            from,
            until,
            exported,
            unix_now(),
        ) {
            // An export that cannot be recorded is not given.
            return super::app::internal(error);
        }
        tracing::info!(hub = %app.config.hub_id, scope = %asked.scope, account = %asked.account.name, %from, %until, rows = exported, "researcher export");
        csv_download(format!("research-{}-{from}-{until}.csv", asked.scope), rows)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_are_exact_numbers_and_bands_hold_five_years() {
        assert_eq!(percent_number(Some(2_065)), "20.65");
        assert_eq!(percent_number(Some(-5)), "-0.05");
        assert_eq!(percent_number(None), "");
        assert_eq!(birth_band(1957), "1955-1959");
        assert_eq!(birth_band(1960), "1960-1964");
        let names = Pseudonyms::new();
        assert_eq!(names.of("230101-001", 7), names.of("230101-001", 7));
        assert_ne!(names.of("230101-001", 7), names.of("230101-002", 7));
        assert_ne!(
            names.of("230101-001", 7),
            Pseudonyms::new().of("230101-001", 7)
        );
    }
}
