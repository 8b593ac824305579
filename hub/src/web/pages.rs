//! One handler per page; each template sits in `hub/templates/` under the
//! page's name. Handlers run on the blocking pool: SQLite, folds and Argon2
//! never hold up the executor the `Sync` service shares.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use sajja_common::event::{BenefitKind, Source};
use sajja_common::exchange::ExchangeAlert;
use sajja_common::position::basis_points_text;
use sajja_common::{Date, GroupId, Money, Month};
use sajja_edge::web::lang::Lang;
use sajja_edge::web::sessions::SESSION_SECONDS;
use sajja_edge::web::{LANG_COOKIE, cookie, login_token, same_token, set_cookie};
use serde::Deserialize;

use super::accounts::Account;
use super::app::{App, Shared, access, internal, lang_of, refused, session};
use super::charts::{self, Unit};
use super::words::Words;
use super::words::percent;
use crate::ingest::admin;
use crate::ingest::admin::SignedOff;
use crate::read::exchanges::ExchangeLine;
use crate::read::query;
use crate::read::query::{Audience, Context, QueryError, Scope};
use crate::values::alert::Alert;
use crate::values::lines::{GroupFilter, GroupLine, Health};
use crate::values::scope_position::ScopePosition;
use crate::values::signoff::SignOff;
use sajja_edge::clock::unix_now;

/// The most months a trend reaches back.
pub const TREND_MONTHS_MAX: u32 = 36;

/// What every page around its content shows.
pub struct Frame {
    pub w: &'static Words,
    pub other_lang: &'static str,
    pub user: String,
    pub role_label: &'static str,
    pub csrf: String,
    /// The scope the page is about, and the account's own.
    pub scope: String,
    pub scope_label: String,
    pub nav: &'static str,
    pub may_research: bool,
}

impl Frame {
    pub fn new(lang: Lang, account: &Account, scope: &str, nav: &'static str) -> Frame {
        let w = Words::of(lang);
        Frame {
            w,
            other_lang: lang.other().code(),
            user: account.name.clone(),
            role_label: w.role(account.role),
            csrf: account.csrf.clone(),
            scope_label: scope_label(w, scope),
            scope: scope.to_string(),
            nav,
            may_research: account.role.may_export_research(),
        }
    }
}

fn scope_label(w: &Words, scope: &str) -> String {
    match scope.len() {
        2 => format!("{} {scope}", w.province),
        6 => format!("{} {scope}", w.tambon),
        _ => format!("{} {scope}", w.group),
    }
}

pub async fn blocking(work: impl FnOnce() -> Response + Send + 'static) -> Response {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(internal)
}

pub fn render(template: &impl Template, status: StatusCode) -> Response {
    match template.render() {
        Ok(html) => (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response(),
        Err(error) => internal(error),
    }
}

macro_rules! or_respond {
    ($e:expr) => {
        match $e {
            Ok(value) => value,
            Err(response) => return response,
        }
    };
}
pub(crate) use or_respond;

pub fn query_failed(error: QueryError) -> Response {
    internal(error)
}

/// The reading of a request: which date, how many months of trend.
#[derive(Debug, Default, Deserialize)]
pub struct View {
    #[serde(default)]
    pub date: String,
    #[serde(default)]
    pub months: Option<u32>,
    #[serde(default)]
    pub month: String,
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub until: String,
}

impl View {
    /// The business date asked for (either era), else today in Thailand;
    /// an unreadable date is said so, never silently replaced.
    pub fn as_of(&self, today: Date) -> Result<Date, String> {
        let text = self.date.trim();
        if text.is_empty() {
            return Ok(today);
        }
        Date::parse_either_era(text).map_err(|e| format!("{text}: {e}"))
    }

    pub fn months(&self) -> u32 {
        self.months.unwrap_or(12).clamp(3, TREND_MONTHS_MAX)
    }
}

/// Every group line of the asked scope as of `as_of`.
// The refusal is the page to send, on a path taken once a request.
#[allow(clippy::result_large_err)]
pub fn lines_of(cx: &Context, asked: &Asked, as_of: Date) -> Result<Vec<GroupLine>, Response> {
    query::groups(cx, &asked.scope, Some(as_of), &GroupFilter::default())
        .map(|a| a.lines)
        .map_err(query_failed)
}

/// The position of `scope` at the end of each of the `months` months up to
/// `as_of` (the last one as of `as_of` itself), oldest first.
pub fn trend(
    cx: &Context,
    scope: &Scope,
    audience: &Audience,
    as_of: Date,
    months: u32,
) -> Result<Vec<(Month, ScopePosition)>, QueryError> {
    let mut out = Vec::with_capacity(months as usize);
    for back in (0..months).rev() {
        let month = as_of.month().minus(back);
        let date = if back == 0 { as_of } else { month.last_day() };
        let answer = query::position(cx, scope, Some(date), audience)?;
        out.push((month, answer.position));
    }
    Ok(out)
}

/// A chart of one figure over the trend.
pub struct Chart {
    pub title: &'static str,
    pub latest: String,
    pub svg: String,
}

fn charts_of(lang: Lang, series: &[(Month, ScopePosition)], size: (u32, u32)) -> Vec<Chart> {
    let w = Words::of(lang);
    let ticks: Vec<String> = series.iter().map(|(m, _)| lang.month_tick(*m)).collect();
    type Pick = fn(&ScopePosition) -> i64;
    let figures: [(&'static str, Unit, Pick); 8] = [
        (w.welfare_fund, Unit::Satang, |p| p.welfare_fund.satang()),
        (w.member_savings, Unit::Satang, |p| {
            p.member_savings.satang()
        }),
        (w.loans_outstanding, Unit::Satang, |p| {
            p.loans_outstanding.satang()
        }),
        (w.par30, Unit::BasisPoints, |p| {
            p.par30_basis_points().unwrap_or(0)
        }),
        (w.collection_rate, Unit::BasisPoints, |p| {
            p.collection_rate_ytd_basis_points().unwrap_or(0)
        }),
        (w.members, Unit::Count, |p| {
            i64::try_from(p.members).unwrap_or(i64::MAX)
        }),
        (w.pool_deposits, Unit::Satang, |p| p.pool_deposits.satang()),
        (w.reserve_pledged, Unit::Satang, |p| {
            p.reserve_pledged.satang()
        }),
    ];
    figures
        .into_iter()
        .map(|(title, unit, pick)| {
            let values: Vec<i64> = series.iter().map(|(_, p)| pick(p)).collect();
            let latest = values.last().copied().unwrap_or(0);
            Chart {
                title,
                latest: figure_text(unit, latest),
                svg: charts::trend_svg(&ticks, &values, unit, lang, size),
            }
        })
        .collect()
}

fn figure_text(unit: Unit, value: i64) -> String {
    match unit {
        Unit::Satang => Money::from_satang(value).to_string(),
        Unit::BasisPoints => percent(Some(value)),
        Unit::Count => value.to_string(),
    }
}

/// The figures a network reports, as label and value, in the reader's words.
pub fn key_figures(w: &Words, p: &ScopePosition) -> Vec<(&'static str, String)> {
    vec![
        (w.welfare_fund, p.welfare_fund.to_string()),
        (w.member_savings, p.member_savings.to_string()),
        (w.cash_and_bank, p.cash_and_bank.to_string()),
        (w.loans_outstanding, p.loans_outstanding.to_string()),
        (w.loans_in_arrears, p.loans_in_arrears.to_string()),
        (w.par30, percent(p.par30_basis_points())),
        (
            w.collection_rate,
            percent(p.collection_rate_ytd_basis_points()),
        ),
        (w.members, p.members.to_string()),
        (w.contributions_ytd, p.contributions_ytd.to_string()),
        (w.benefits_ytd, p.benefits_ytd.to_string()),
        (w.pool_deposits, p.pool_deposits.to_string()),
        (w.reserve_pledged, p.reserve_pledged.to_string()),
        (w.fund_growth, percent(p.fund_growth_basis_points())),
    ]
}

/// Rows of a two-column table: a label and its value as shown.
pub type Labelled = Vec<(&'static str, String)>;

/// Contributions by source and benefits by kind over the groups.
fn breakdowns(w: &Words, lines: &[GroupLine]) -> (Labelled, Labelled) {
    let mut sources: BTreeMap<Source, i64> = BTreeMap::new();
    let mut kinds: BTreeMap<BenefitKind, i64> = BTreeMap::new();
    for line in lines {
        for (source, amount) in &line.position.contributions_ytd {
            *sources.entry(*source).or_default() += amount.satang();
        }
        for (kind, amount) in &line.position.benefits_ytd {
            *kinds.entry(*kind).or_default() += amount.satang();
        }
    }
    (
        sources
            .into_iter()
            .map(|(s, a)| (w.source(s), Money::from_satang(a).to_string()))
            .collect(),
        kinds
            .into_iter()
            .map(|(k, a)| (w.benefit(k), Money::from_satang(a).to_string()))
            .collect(),
    )
}

// ---- login ----

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    w: &'static Words,
    other_lang: &'static str,
    csrf: String,
    error: String,
    user: String,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    expired: Option<String>,
}

fn with_login_cookie(app: &App, mut response: Response, token: &str) -> Response {
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&app.login_cookie, token, 3_600),
    );
    response
}

pub async fn login_form(
    State(app): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Response {
    let lang = lang_of(&headers);
    let w = Words::of(lang);
    // Double-submit token: the login form has no session yet, so its token
    // lives in a cookie another site can neither read nor set.
    let csrf = login_token(&headers, &app.login_cookie);
    let page = LoginPage {
        w,
        other_lang: lang.other().code(),
        csrf: csrf.clone(),
        error: if query.expired.is_some() {
            w.session_expired.to_string()
        } else {
            String::new()
        },
        user: String::new(),
    };
    with_login_cookie(&app, render(&page, StatusCode::OK), &csrf)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

fn logged_in(app: &App, token: &str) -> Response {
    let mut response = Redirect::to("/").into_response();
    let cookies = response.headers_mut();
    cookies.append(
        header::SET_COOKIE,
        set_cookie(&app.session_cookie, token, SESSION_SECONDS),
    );
    cookies.append(header::SET_COOKIE, set_cookie(&app.login_cookie, "", 0));
    response
}

pub async fn login(
    State(app): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    blocking(move || {
        let lang = lang_of(&headers);
        let w = Words::of(lang);
        let expected = cookie(&headers, &app.login_cookie).unwrap_or("");
        if expected.is_empty() || !same_token(&form.csrf, expected) {
            return refused(StatusCode::FORBIDDEN, w.form_expired);
        }
        let user = form.user.trim().to_string();
        let again = |error: String, status| {
            render(
                &LoginPage {
                    w,
                    other_lang: lang.other().code(),
                    csrf: expected.to_string(),
                    error,
                    user: user.clone(),
                },
                status,
            )
        };
        if let Some(wait) = app.throttle.wait(&user) {
            return again(
                format!("{} ({} s)", w.login_wait, wait.as_secs().max(1)),
                StatusCode::TOO_MANY_REQUESTS,
            );
        }
        let accounts = app.accounts();
        match accounts.check_password(&user, &form.password) {
            Err(error) => internal(error),
            Ok(false) => {
                drop(accounts);
                app.throttle.failed(&user);
                tracing::warn!(hub = %app.config.hub_id, "dashboard login refused");
                again(w.login_failed.to_string(), StatusCode::UNAUTHORIZED)
            }
            Ok(true) => {
                app.throttle.succeeded(&user);
                match accounts.start_session(&user) {
                    Ok(token) => {
                        tracing::info!(hub = %app.config.hub_id, "dashboard login");
                        logged_in(&app, &token)
                    }
                    Err(error) => internal(error),
                }
            }
        }
    })
    .await
}

#[derive(Template)]
#[template(path = "welcome.html")]
struct WelcomePage {
    w: &'static Words,
    other_lang: &'static str,
    csrf: String,
    error: String,
    user: String,
}

pub async fn welcome_form(State(app): State<Shared>, headers: HeaderMap) -> Response {
    let lang = lang_of(&headers);
    let csrf = login_token(&headers, &app.login_cookie);
    let page = WelcomePage {
        w: Words::of(lang),
        other_lang: lang.other().code(),
        csrf: csrf.clone(),
        error: String::new(),
        user: String::new(),
    };
    with_login_cookie(&app, render(&page, StatusCode::OK), &csrf)
}

#[derive(Deserialize)]
pub struct WelcomeForm {
    #[serde(default)]
    user: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_again: String,
    #[serde(default)]
    csrf: String,
}

/// Sets a first password with a one-time code, then logs in. Tries count
/// against the same throttle as logins: a code is a password for a week.
pub async fn welcome(
    State(app): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<WelcomeForm>,
) -> Response {
    blocking(move || {
        let lang = lang_of(&headers);
        let w = Words::of(lang);
        let expected = cookie(&headers, &app.login_cookie).unwrap_or("");
        if expected.is_empty() || !same_token(&form.csrf, expected) {
            return refused(StatusCode::FORBIDDEN, w.form_expired);
        }
        let user = form.user.trim().to_string();
        let again = |error: &str, status| {
            render(
                &WelcomePage {
                    w,
                    other_lang: lang.other().code(),
                    csrf: expected.to_string(),
                    error: error.to_string(),
                    user: user.clone(),
                },
                status,
            )
        };
        if let Some(wait) = app.throttle.wait(&user) {
            return again(
                &format!("{} ({} s)", w.login_wait, wait.as_secs().max(1)),
                StatusCode::TOO_MANY_REQUESTS,
            );
        }
        if form.password != form.password_again {
            return again(w.passwords_differ, StatusCode::BAD_REQUEST);
        }
        let accounts = app.accounts();
        match accounts.redeem(&user, &form.code, &form.password) {
            Err(super::accounts::AccountError::Password(_)) => {
                again(w.password_length, StatusCode::BAD_REQUEST)
            }
            Err(error) => internal(error),
            Ok(false) => {
                drop(accounts);
                app.throttle.failed(&user);
                again(w.code_failed, StatusCode::UNAUTHORIZED)
            }
            Ok(true) => {
                app.throttle.succeeded(&user);
                tracing::info!(hub = %app.config.hub_id, "dashboard password set from a one-time code");
                match accounts.start_session(&user) {
                    Ok(token) => logged_in(&app, &token),
                    Err(error) => internal(error),
                }
            }
        }
    })
    .await
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    State(app): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    blocking(move || {
        let account = or_respond!(session(&app, &headers));
        if !same_token(&form.csrf, &account.csrf) {
            return refused(
                StatusCode::FORBIDDEN,
                Words::of(lang_of(&headers)).form_expired,
            );
        }
        if let Some(token) = cookie(&headers, &app.session_cookie)
            && let Err(error) = app.accounts().end_session(token)
        {
            return internal(error);
        }
        let mut response = Redirect::to("/login").into_response();
        response
            .headers_mut()
            .append(header::SET_COOKIE, set_cookie(&app.session_cookie, "", 0));
        response
    })
    .await
}

#[derive(Deserialize)]
pub struct LangQuery {
    #[serde(default)]
    to: String,
}

/// Switches the language. A GET on purpose: it changes only how pages read.
pub async fn switch_lang(
    State(app): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<LangQuery>,
) -> Response {
    let lang = Lang::from_code(&query.to);
    let back = if cookie(&headers, &app.session_cookie).is_some() {
        "/"
    } else {
        "/login"
    };
    let mut response = Redirect::to(back).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(LANG_COOKIE, lang.code(), 365 * 86_400),
    );
    response
}

pub async fn home(State(app): State<Shared>, headers: HeaderMap) -> Response {
    blocking(move || {
        let account = or_respond!(session(&app, &headers));
        Redirect::to(&format!("/scope/{}", account.scope)).into_response()
    })
    .await
}

/// What a page handler gets once its scope is checked: who, what, and the
/// query context, fixed for the whole page.
pub struct Asked {
    pub lang: Lang,
    pub account: Account,
    pub scope: Scope,
    pub audience: Audience,
}

/// Runs `page` on the blocking pool for a checked scope.
pub async fn scoped_page(
    app: Shared,
    headers: HeaderMap,
    scope: String,
    page: impl FnOnce(&App, &Asked, &Context) -> Response + Send + 'static,
) -> Response {
    blocking(move || {
        let (account, scope) = or_respond!(access(&app, &headers, &scope));
        let asked = Asked {
            lang: lang_of(&headers),
            audience: Audience::of(&account.principal()),
            account,
            scope,
        };
        let store = app.store();
        let cx = Context::new(&store, app.config.freshness(unix_now()));
        page(&app, &asked, &cx)
    })
    .await
}

// ---- overview ----

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    f: Frame,
    date_text: String,
    date_input: String,
    error: String,
    months: u32,
    counts: Vec<(&'static str, &'static str, u32)>,
    figures: Vec<(&'static str, String)>,
    by_source: Vec<(&'static str, String)>,
    by_kind: Vec<(&'static str, String)>,
    charts: Vec<Chart>,
    freshness: String,
}

fn counts(w: &Words, p: &ScopePosition) -> Vec<(&'static str, &'static str, u32)> {
    vec![
        ("ok", w.status_ok, p.ok),
        ("at_risk", w.status_at_risk, p.at_risk),
        ("stale", w.status_stale, p.stale),
        ("forked", w.status_forked, p.forked),
        ("damaged", w.status_damaged, p.damaged),
    ]
}

pub async fn overview(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(scope): Path<String>,
    Query(view): Query<View>,
) -> Response {
    scoped_page(app, headers, scope, move |_, asked, cx| {
        let lang = asked.lang;
        let w = Words::of(lang);
        let (as_of, error) = match view.as_of(cx.today) {
            Ok(date) => (date, String::new()),
            Err(error) => (cx.today, error),
        };
        let months = view.months();
        let series = or_respond!(
            trend(cx, &asked.scope, &asked.audience, as_of, months).map_err(query_failed)
        );
        let lines = or_respond!(lines_of(cx, asked, as_of));
        let Some((_, now)) = series.last() else {
            return internal("no trend computed");
        };
        let (by_source, by_kind) = breakdowns(w, &lines);
        let page = OverviewPage {
            f: Frame::new(lang, &asked.account, asked.scope.as_str(), "overview"),
            date_text: lang.date(as_of),
            date_input: as_of.buddhist_iso(),
            error,
            months,
            counts: counts(w, now),
            figures: key_figures(w, now),
            by_source,
            by_kind,
            freshness: now
                .oldest_contact
                .map_or(w.never.to_string(), |at| lang.time(at)),
            charts: charts_of(lang, &series, (340, 150)),
        };
        render(&page, StatusCode::OK)
    })
    .await
}

// ---- needs attention ----

/// A group or pool that needs attention, with every reason in words.
pub struct Concern {
    pub subject: String,
    pub name: String,
    pub link: String,
    pub health: &'static str,
    pub reasons: Vec<String>,
    rank: u32,
}

/// One alert as a sentence for a coordinator, and how urgent it is (lower
/// first): broken evidence before money at risk before silence.
fn alert_words(lang: Lang, alert: &Alert) -> (u32, String) {
    let w = Words::of(lang);
    let th = lang == Lang::Th;
    match alert {
        Alert::Damaged { seq, .. } => (
            0,
            if th {
                format!("สำเนาบัญชีที่ศูนย์ตรวจไม่ผ่านตั้งแต่รายการที่ {seq}: ศูนย์ซ่อมเองเมื่อกลุ่มซิงค์ครั้งต่อไป")
            } else {
                format!(
                    "the hub's copy fails verification from seq {seq}: it is repaired at the group's next sync"
                )
            },
        ),
        Alert::Forked(_) => (0, w.forked_note.to_string()),
        Alert::DigestMismatch { month, seq, .. } => (
            1,
            if th {
                format!(
                    "ปิดบัญชีเดือน {} (รายการที่ {seq}) ไม่ตรงกับที่ศูนย์คำนวณ",
                    lang.month(*month)
                )
            } else {
                format!(
                    "closed {} at seq {seq} with books this hub does not reproduce",
                    lang.month(*month)
                )
            },
        ),
        Alert::SignOffBroken { month, .. } => (
            2,
            if th {
                format!(
                    "การรับรองเดือน {} ไม่ตรงกับข้อมูลปัจจุบัน: มีรายการย้อนหลังเข้ามา",
                    lang.month(*month)
                )
            } else {
                format!(
                    "the sign-off of {} no longer matches: back-dated entries arrived",
                    lang.month(*month)
                )
            },
        ),
        Alert::AtRisk { risks, .. } => (
            3,
            risks
                .iter()
                .map(|r| w.risk(lang, *r))
                .collect::<Vec<_>>()
                .join(" · "),
        ),
        Alert::ReserveBelowPolicy { headroom, .. } => (
            4,
            if th {
                format!(
                    "เงินสำรองต่ำกว่าเกณฑ์ {} บาท",
                    Money::from_satang(-headroom.satang())
                )
            } else {
                format!(
                    "reserve {} baht below policy",
                    Money::from_satang(-headroom.satang())
                )
            },
        ),
        Alert::Exchange { alert, .. } => (4, exchange_alert_words(th, alert)),
        Alert::Stale { last_sync_at, .. } => (
            5,
            match last_sync_at {
                Some(at) if th => format!("ไม่ได้ติดต่อศูนย์ตั้งแต่ {}", lang.time(*at)),
                Some(at) => format!("no contact since {}", lang.time(*at)),
                None if th => "ยังไม่เคยส่งข้อมูลถึงศูนย์".to_string(),
                None => "has never reached the hub".to_string(),
            },
        ),
    }
}

/// An exchange's alert in words. Credits are the exchange's own unit, never
/// baht: only the reserve's shortfall is in baht.
fn exchange_alert_words(th: bool, alert: &ExchangeAlert) -> String {
    match alert {
        ExchangeAlert::CoverageBelowPolicy {
            coverage_basis_points,
            policy_basis_points,
            shortfall,
        } => {
            let (coverage, policy) = (
                basis_points_text(*coverage_basis_points),
                basis_points_text(i64::from(*policy_basis_points)),
            );
            if th {
                format!(
                    "เงินสำรองค้ำประกันครอบคลุมยอดติดลบและคูปองได้ {coverage}% ต่ำกว่าเกณฑ์ {policy}%: ต้องเพิ่มเงินสำรองอีก {shortfall} บาท"
                )
            } else {
                format!(
                    "the reserve covers {coverage}% of the debit and vouchers, below the policy of {policy}%: {shortfall} baht more reserve is needed"
                )
            }
        }
        ExchangeAlert::DebitConcentrated {
            account,
            share_basis_points,
            limit_basis_points,
            ..
        } => {
            let (share, limit) = (
                basis_points_text(*share_basis_points),
                basis_points_text(i64::from(*limit_basis_points)),
            );
            if th {
                format!("บัญชี {account} มียอดติดลบ {share}% ของทั้งหมด เกินเกณฑ์ {limit}%")
            } else {
                format!(
                    "account {account} holds {share}% of the debit, above the limit of {limit}%"
                )
            }
        }
        ExchangeAlert::SettlementUnmatched {
            settled_from_reserve,
            settled_by_groups,
        } => {
            if th {
                format!(
                    "ตลาดตัดชดเชยยอดติดลบจากเงินสำรอง {settled_from_reserve} บาท แต่บัญชีของกลุ่มบันทึกการจ่ายจากทุนสำรอง {settled_by_groups} บาท"
                )
            } else {
                format!(
                    "{settled_from_reserve} baht settled against the reserve, but the groups' logs record {settled_by_groups} baht paid from their pledges"
                )
            }
        }
    }
}

/// Every subject with alerts under the scope, most urgent first.
pub fn concerns(
    lang: Lang,
    cx: &Context,
    asked: &Asked,
    as_of: Date,
) -> Result<Vec<Concern>, QueryError> {
    let w = Words::of(lang);
    let alerts = query::alerts(cx, &asked.scope, Some(as_of), &asked.audience)?.alerts;
    let lines = query::groups(cx, &asked.scope, Some(as_of), &GroupFilter::default())?.lines;
    let lines: BTreeMap<&str, &GroupLine> = lines.iter().map(|l| (l.group.as_str(), l)).collect();
    let mut by_subject: BTreeMap<String, Concern> = BTreeMap::new();
    for alert in &alerts {
        let subject = alert.subject();
        let (rank, reason) = alert_words(lang, alert);
        let line = lines.get(subject.as_str());
        let entry = by_subject
            .entry(subject.clone())
            .or_insert_with(|| Concern {
                // An exchange has no group page: its figures are the scope's.
                link: if let Ok(exchange) = GroupId::parse(&subject)
                    && exchange.is_exchange_log()
                {
                    format!("/scope/{}", exchange.tambon())
                } else if GroupId::parse(&subject).is_ok() {
                    format!("/group/{subject}")
                } else if subject.len() == 6 || subject.len() == 2 {
                    format!("/scope/{subject}")
                } else {
                    format!("/scope/{}/pools", asked.scope)
                },
                name: line.map(|l| l.name.clone()).unwrap_or_default(),
                health: line.map_or("", |l| w.health(l.health(cx.freshness))),
                subject,
                reasons: Vec::new(),
                rank,
            });
        entry.rank = entry.rank.min(rank);
        entry.reasons.push(reason);
    }
    let mut out: Vec<Concern> = by_subject.into_values().collect();
    out.sort_by(|a, b| a.rank.cmp(&b.rank).then_with(|| a.subject.cmp(&b.subject)));
    Ok(out)
}

#[derive(Template)]
#[template(path = "attention.html")]
struct AttentionPage {
    f: Frame,
    date_text: String,
    concerns: Vec<Concern>,
}

pub async fn attention(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(scope): Path<String>,
    Query(view): Query<View>,
) -> Response {
    scoped_page(app, headers, scope, move |_, asked, cx| {
        let lang = asked.lang;
        let as_of = view.as_of(cx.today).unwrap_or(cx.today);
        let concerns = or_respond!(concerns(lang, cx, asked, as_of).map_err(query_failed));
        let page = AttentionPage {
            f: Frame::new(lang, &asked.account, asked.scope.as_str(), "attention"),
            date_text: lang.date(as_of),
            concerns,
        };
        render(&page, StatusCode::OK)
    })
    .await
}

// ---- groups ----

/// One row of the groups table, in display form, with sort keys.
pub struct GroupRow {
    pub group: String,
    pub name: String,
    pub status: &'static str,
    pub status_key: &'static str,
    pub members: u32,
    pub welfare_fund: String,
    pub savings: String,
    pub loans: String,
    pub par30: String,
    pub last_contact: String,
    fund_key: i64,
    par_key: i64,
}

pub fn group_rows(lang: Lang, cx: &Context, lines: &[GroupLine]) -> Vec<GroupRow> {
    let w = Words::of(lang);
    lines
        .iter()
        .map(|l| {
            let health = l.health(cx.freshness);
            let p = &l.position;
            GroupRow {
                group: l.group.as_str().to_string(),
                name: l.name.clone(),
                status: w.health(health),
                status_key: health.name(),
                members: p.active_members,
                welfare_fund: p.welfare_fund.to_string(),
                savings: p.member_savings.to_string(),
                loans: p.loans_outstanding.to_string(),
                par30: percent(Some(p.par30_basis_points())),
                last_contact: l
                    .last_contact_at
                    .map_or(w.never.to_string(), |at| lang.time(at)),
                fund_key: p.fund().satang(),
                par_key: p.par30_basis_points(),
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "groups.html")]
struct GroupsPage {
    f: Frame,
    date_text: String,
    date_input: String,
    q: String,
    status: String,
    sort: String,
    statuses: Vec<(&'static str, &'static str)>,
    rows: Vec<GroupRow>,
    total: usize,
}

pub async fn groups(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(scope): Path<String>,
    Query(view): Query<View>,
) -> Response {
    scoped_page(app, headers, scope, move |_, asked, cx| {
        let lang = asked.lang;
        let w = Words::of(lang);
        let as_of = view.as_of(cx.today).unwrap_or(cx.today);
        let lines = or_respond!(lines_of(cx, asked, as_of));
        let total = lines.len();
        let q = view.q.trim().to_lowercase();
        let mut rows: Vec<GroupRow> = group_rows(lang, cx, &lines)
            .into_iter()
            .filter(|r| {
                q.is_empty() || r.group.starts_with(&q) || r.name.to_lowercase().contains(&q)
            })
            .filter(|r| view.status.is_empty() || r.status_key == view.status)
            .collect();
        match view.sort.as_str() {
            "name" => rows.sort_by(|a, b| a.name.cmp(&b.name)),
            "fund" => rows.sort_by_key(|r| std::cmp::Reverse(r.fund_key)),
            "par30" => rows.sort_by_key(|r| std::cmp::Reverse(r.par_key)),
            "members" => rows.sort_by_key(|r| std::cmp::Reverse(r.members)),
            _ => {}
        }
        let page = GroupsPage {
            f: Frame::new(lang, &asked.account, asked.scope.as_str(), "groups"),
            date_text: lang.date(as_of),
            date_input: as_of.buddhist_iso(),
            q: view.q.clone(),
            status: view.status.clone(),
            sort: view.sort.clone(),
            statuses: [
                Health::Ok,
                Health::AtRisk,
                Health::Stale,
                Health::Forked,
                Health::Damaged,
            ]
            .into_iter()
            .map(|h| (h.name(), w.health(h)))
            .collect(),
            rows,
            total,
        };
        render(&page, StatusCode::OK)
    })
    .await
}

// ---- one group ----

#[derive(Template)]
#[template(path = "group.html")]
struct GroupPage {
    f: Frame,
    group: String,
    name: String,
    status: &'static str,
    status_key: &'static str,
    forked: bool,
    reasons: Vec<String>,
    date_text: String,
    last_contact: String,
    seq: u64,
    figures: Vec<(&'static str, String)>,
    arrears: Vec<(&'static str, String)>,
    sign_offs: Vec<(String, &'static str, &'static str)>,
    charts: Vec<Chart>,
    tambon: String,
}

pub async fn group(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(group): Path<String>,
    Query(view): Query<View>,
) -> Response {
    scoped_page(app, headers, group, move |_, asked, cx| {
        let lang = asked.lang;
        let w = Words::of(lang);
        let as_of = view.as_of(cx.today).unwrap_or(cx.today);
        let lines = or_respond!(lines_of(cx, asked, as_of));
        let Some(line) = lines.first() else {
            return refused(StatusCode::NOT_FOUND, w.bad_request);
        };
        let series = or_respond!(
            trend(cx, &asked.scope, &asked.audience, as_of, view.months()).map_err(query_failed)
        );
        let sign_offs =
            or_respond!(query::sign_offs(cx, &asked.scope).map_err(query_failed)).sign_offs;
        let health = line.health(cx.freshness);
        let p = &line.position;
        let scope_now = series.last().map(|(_, s)| s.clone()).unwrap_or_default();
        let page = GroupPage {
            f: Frame::new(lang, &asked.account, asked.scope.as_str(), "groups"),
            group: line.group.as_str().to_string(),
            tambon: line.group.tambon().to_string(),
            name: line.name.clone(),
            status: w.health(health),
            status_key: health.name(),
            forked: line.forked,
            reasons: cx
                .freshness
                .attention
                .risks(p)
                .into_iter()
                .map(|r| w.risk(lang, r))
                .collect(),
            date_text: lang.date(as_of),
            last_contact: line
                .last_contact_at
                .map_or(w.never.to_string(), |at| lang.time(at)),
            seq: line.seq,
            figures: key_figures(w, &scope_now),
            arrears: if asked.account.role.sees_details() {
                vec![
                    (w.loans_in_arrears, p.arrears.loans.to_string()),
                    (w.overdue, p.arrears.overdue.to_string()),
                    (w.par30, percent(Some(p.par30_basis_points()))),
                ]
            } else {
                Vec::new()
            },
            sign_offs: sign_off_cells(w, lang, &sign_offs),
            charts: charts_of(lang, &series, (340, 150)),
        };
        render(&page, StatusCode::OK)
    })
    .await
}

/// Sign-offs as (what, state key, state label) for a list.
fn sign_off_cells<'a>(
    w: &Words,
    lang: Lang,
    sign_offs: impl IntoIterator<Item = &'a SignOff>,
) -> Vec<(String, &'static str, &'static str)> {
    sign_offs
        .into_iter()
        .map(|s| {
            let (key, label) = if s.broken() {
                ("broken", w.broken)
            } else {
                ("signed", w.signed)
            };
            (
                format!("{} {} ← {}", s.subject, lang.month(s.month), s.signed_by),
                key,
                label,
            )
        })
        .collect()
}

// ---- pools ----

pub struct PoolRow {
    pub pool: String,
    pub deposits: String,
    pub loans: String,
    pub reserve: String,
    pub obligations: String,
    pub ratio: String,
    pub policy: String,
    pub headroom: String,
    pub without_one: String,
    pub without_three: String,
    pub currency: String,
    pub guarantees: String,
    pub below: bool,
    pub svg: String,
}

fn pool_row(p: &sajja_common::position::PoolPosition, svg: String) -> PoolRow {
    PoolRow {
        pool: p.pool.as_str().to_string(),
        deposits: p.deposits.to_string(),
        loans: p.loans_to_groups.to_string(),
        reserve: p.reserve.to_string(),
        obligations: p.obligations().to_string(),
        ratio: percent(p.reserve_ratio_basis_points()),
        policy: percent(p.min_reserve_ratio_basis_points.map(i64::from)),
        headroom: p.headroom().map_or("–".into(), |m| m.to_string()),
        without_one: percent(p.ratio_without_largest(1)),
        without_three: percent(p.ratio_without_largest(3)),
        currency: p.currency_outstanding.to_string(),
        guarantees: p.guarantees_outstanding.to_string(),
        below: p.below_policy(),
        svg,
    }
}

/// One community exchange's card: credits in its own unit, the reserve in
/// baht, never one added to the other.
pub struct ExchangeRow {
    pub exchange: String,
    pub name: String,
    pub unit: String,
    pub accounts_open: usize,
    pub credit: String,
    pub debit: String,
    pub vouchers: String,
    pub written_off: String,
    pub reserve: String,
    pub exposure: String,
    pub coverage: String,
    pub policy: String,
    pub without_one: String,
    pub largest_debtor: String,
    pub transfers: String,
    pub transfers_last_month: String,
    pub below: bool,
    pub svg: String,
}

fn exchange_row(line: &ExchangeLine, svg: String) -> ExchangeRow {
    let p = &line.position;
    let month = p.month_total(p.date.month());
    let last_month = p.month_total(p.date.month().minus(1));
    ExchangeRow {
        exchange: p.log.as_str().to_string(),
        name: p.name.clone(),
        unit: p.unit_name.clone(),
        accounts_open: p.accounts_open,
        credit: p.credit_in_circulation.to_string(),
        debit: p.debit_outstanding.to_string(),
        vouchers: p.vouchers_outstanding.to_string(),
        written_off: p.debit_written_off.to_string(),
        reserve: p.reserve_pledged.to_string(),
        exposure: p.exposure.to_string(),
        coverage: percent(p.coverage_basis_points),
        policy: percent(Some(i64::from(p.policy_min_coverage_basis_points))),
        without_one: percent(p.coverage_without_largest_pledger),
        largest_debtor: p.largest_debtor.as_ref().map_or("–".into(), |d| {
            format!(
                "#{} · {} ({})",
                d.account,
                d.debit,
                percent(Some(d.share_basis_points))
            )
        }),
        transfers: format!("{} · {}", month.transfers, month.volume),
        transfers_last_month: format!("{} · {}", last_month.transfers, last_month.volume),
        below: p
            .coverage_basis_points
            .is_some_and(|c| c < i64::from(p.policy_min_coverage_basis_points)),
        svg,
    }
}

#[derive(Template)]
#[template(path = "pools.html")]
struct PoolsPage {
    f: Frame,
    date_text: String,
    pools: Vec<PoolRow>,
    exchanges: Vec<ExchangeRow>,
}

pub async fn pools(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(scope): Path<String>,
    Query(view): Query<View>,
) -> Response {
    scoped_page(app, headers, scope, move |_, asked, cx| {
        let lang = asked.lang;
        let w = Words::of(lang);
        if asked.scope.is_group() {
            return refused(StatusCode::NOT_FOUND, w.no_pools);
        }
        let as_of = view.as_of(cx.today).unwrap_or(cx.today);
        let months = view.months();
        // Each pool's reserve ratio and each exchange's coverage at each
        // month end, for their trends.
        let mut ratios: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        let mut coverage: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        let mut ticks = Vec::new();
        for back in (0..months).rev() {
            let month = as_of.month().minus(back);
            let date = if back == 0 { as_of } else { month.last_day() };
            ticks.push(lang.month_tick(month));
            let answer = or_respond!(
                query::reserves(cx, &asked.scope, Some(date), &asked.audience)
                    .map_err(query_failed)
            );
            for pool in &answer.pools {
                ratios
                    .entry(pool.pool.as_str().to_string())
                    .or_insert_with(|| vec![0; (months - 1 - back) as usize])
                    .push(pool.reserve_ratio_basis_points().unwrap_or(0));
            }
            let exchanges =
                or_respond!(query::exchanges(cx, &asked.scope, Some(date)).map_err(query_failed));
            // An exchange's trend starts in the month it opened: before
            // that there was nothing to cover, not a coverage of zero.
            for line in &exchanges.exchanges {
                coverage
                    .entry(line.position.log.as_str().to_string())
                    .or_default()
                    .push(line.position.coverage_basis_points.unwrap_or(0));
            }
        }
        let exchanges =
            or_respond!(query::exchanges(cx, &asked.scope, Some(as_of)).map_err(query_failed));
        let exchanges = exchanges
            .exchanges
            .iter()
            .map(|line| {
                let values = coverage
                    .get(line.position.log.as_str())
                    .map_or(&[][..], Vec::as_slice);
                let since = ticks.len().saturating_sub(values.len());
                let svg =
                    charts::trend_svg(&ticks[since..], values, Unit::BasisPoints, lang, (340, 150));
                exchange_row(line, svg)
            })
            .collect();
        let now = or_respond!(
            query::reserves(cx, &asked.scope, Some(as_of), &asked.audience).map_err(query_failed)
        );
        let pools = now
            .pools
            .iter()
            .map(|p| {
                let svg = charts::trend_svg(
                    &ticks,
                    ratios.get(p.pool.as_str()).map_or(&[][..], Vec::as_slice),
                    Unit::BasisPoints,
                    lang,
                    (340, 150),
                );
                pool_row(p, svg)
            })
            .collect();
        let page = PoolsPage {
            f: Frame::new(lang, &asked.account, asked.scope.as_str(), "pools"),
            date_text: lang.date(as_of),
            pools,
            exchanges,
        };
        render(&page, StatusCode::OK)
    })
    .await
}

// ---- sign-offs ----

/// One subject's row of the month grid.
pub struct SignOffRow {
    pub subject: String,
    pub name: String,
    /// Per month: (month as YYYY-MM, state key, label, whether it may be
    /// signed now).
    pub cells: Vec<(String, &'static str, &'static str, bool)>,
}

/// The months each group under a tambon hub has closed with a digest that
/// matched its books: only those can be signed off; any other waits for the
/// group's close. `None` at a province hub, whose subjects are tambons (the
/// sign-off itself checks them).
fn closed_months(
    app: &App,
    cx: &Context,
    subjects: &[(String, String)],
) -> Result<Option<BTreeMap<String, Vec<Month>>>, QueryError> {
    if app.config.level != crate::config::Level::Tambon {
        return Ok(None);
    }
    let mut out = BTreeMap::new();
    for (subject, _) in subjects {
        let Ok(group) = GroupId::parse(subject) else {
            continue;
        };
        let Some(row) = cx.store.group(&group)? else {
            continue;
        };
        let books = match cx.store.stored_books(row.gid, row.seq)? {
            Some(books) => books,
            None => cx.store.fold(&row, None)?,
        };
        let months = books
            .closes
            .iter()
            .filter(|c| c.matches)
            .map(|c| c.month)
            .collect();
        out.insert(subject.clone(), months);
    }
    Ok(Some(out))
}

#[derive(Template)]
#[template(path = "signoffs.html")]
struct SignOffsPage {
    f: Frame,
    months: Vec<(String, String)>,
    rows: Vec<SignOffRow>,
    may_sign: bool,
    message: String,
    last_month: String,
}

/// Who this hub signs off under `scope`: a tambon hub its groups, a province
/// hub its tambons; elsewhere the rows are the subjects with sign-offs.
fn signable_subjects(
    app: &App,
    cx: &Context,
    scope: &Scope,
) -> Result<Vec<(String, String)>, QueryError> {
    match app.config.level {
        crate::config::Level::Tambon => {
            let lines = query::groups(cx, scope, None, &GroupFilter::default())?.lines;
            Ok(lines
                .into_iter()
                .map(|l| (l.group.as_str().to_string(), l.name))
                .collect())
        }
        crate::config::Level::Province => Ok(app
            .config
            .children
            .iter()
            .filter(|c| c.hub_id.starts_with(scope.as_str()))
            .map(|c| (c.hub_id.clone(), String::new()))
            .collect()),
    }
}

#[derive(Deserialize)]
pub struct SignOffsQuery {
    #[serde(default)]
    done: String,
    /// The last month of the grid (YYYY-MM); the month before this one by
    /// default, the latest that can be closed.
    #[serde(default)]
    month: String,
}

pub async fn sign_offs(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(scope): Path<String>,
    Query(query): Query<SignOffsQuery>,
) -> Response {
    scoped_page(app, headers, scope, move |app, asked, cx| {
        let lang = asked.lang;
        let w = Words::of(lang);
        let signed =
            or_respond!(query::sign_offs(cx, &asked.scope).map_err(query_failed)).sign_offs;
        let subjects = or_respond!(signable_subjects(app, cx, &asked.scope).map_err(query_failed));
        let closed = or_respond!(closed_months(app, cx, &subjects).map_err(query_failed));
        // The twelve months before this one: a month is signed once closed.
        let last = query
            .month
            .parse::<Month>()
            .unwrap_or_else(|_| cx.today.month().minus(1));
        let months: Vec<Month> = (0..12).rev().map(|b| last.minus(b)).collect();
        let mut state: BTreeMap<(&str, Month), bool> = BTreeMap::new();
        for s in &signed {
            if s.signed_by == app.config.hub_id
                || !state.contains_key(&(s.subject.as_str(), s.month))
            {
                state.insert((s.subject.as_str(), s.month), s.broken());
            }
        }
        let rows = subjects
            .iter()
            .map(|(subject, name)| SignOffRow {
                subject: subject.clone(),
                name: name.clone(),
                cells: months
                    .iter()
                    .map(|m| {
                        let is_closed = closed
                            .as_ref()
                            .is_none_or(|c| c.get(subject).is_some_and(|ms| ms.contains(m)));
                        let (key, label, signable) = match state.get(&(subject.as_str(), *m)) {
                            Some(false) => ("signed", w.signed, false),
                            Some(true) => ("broken", w.broken, true),
                            None if is_closed => ("waiting", w.waiting, true),
                            None => ("not_closed", w.not_closed, false),
                        };
                        (m.to_string(), key, label, signable)
                    })
                    .collect(),
            })
            .collect();
        let page = SignOffsPage {
            f: Frame::new(lang, &asked.account, asked.scope.as_str(), "signoffs"),
            months: months
                .iter()
                .map(|m| (m.to_string(), lang.month(*m)))
                .collect(),
            rows,
            may_sign: asked.account.role.may_sign_off(),
            last_month: last.to_string(),
            message: if query.done.is_empty() {
                String::new()
            } else {
                format!("{}: {}", w.signed_off_done, query.done)
            },
        };
        render(&page, StatusCode::OK)
    })
    .await
}

#[derive(Deserialize)]
pub struct SignOffForm {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    month: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    back: String,
}

/// An operator signs off a month: the same signed fact as `sajja-hub signoff`.
pub async fn sign_off(
    State(app): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<SignOffForm>,
) -> Response {
    blocking(move || {
        let w = Words::of(lang_of(&headers));
        let account = or_respond!(session(&app, &headers));
        if !same_token(&form.csrf, &account.csrf) {
            return refused(StatusCode::FORBIDDEN, w.form_expired);
        }
        if !account.role.may_sign_off() {
            return refused(StatusCode::FORBIDDEN, w.not_allowed);
        }
        let Ok(month) = form.month.parse::<Month>() else {
            return refused(StatusCode::BAD_REQUEST, w.bad_request);
        };
        let mut ingest = super::app::lock(&app.ingest);
        match admin::sign_off(&mut ingest, &app.identity, &app.config, &form.subject, month) {
            Ok(done) => {
                let seq = match done {
                    SignedOff::Already { seq } | SignedOff::New { seq, .. } => seq,
                };
                tracing::info!(hub = %app.config.hub_id, subject = %form.subject, %month, seq, operator = %account.name, "month signed off from the dashboard");
                let back = match Scope::parse(&form.back) {
                    Ok(scope) => scope.as_str().to_string(),
                    Err(_) => app.config.hub_id.clone(),
                };
                Redirect::to(&format!(
                    "/scope/{back}/signoffs?done={}-{month}&month={month}",
                    form.subject
                ))
                .into_response()
            }
            Err(error) => refused(
                StatusCode::CONFLICT,
                &sign_off_refusal(lang_of(&headers), &error),
            ),
        }
    })
    .await
}

/// Why a month cannot be signed off, and what to do, in the reader's words.
fn sign_off_refusal(lang: Lang, error: &admin::AdminError) -> String {
    use crate::read::signoff::SignOffError as E;
    let admin::AdminError::SignOff(error) = error else {
        return error.to_string();
    };
    if lang == Lang::En {
        return error.to_string();
    }
    match error {
        E::NotClosed { group, month } => format!(
            "กลุ่ม {group} ยังไม่ได้ปิดบัญชีเดือน {}: รอให้เหรัญญิกปิดเดือนและซิงค์ แล้วจึงรับรอง",
            lang.month(*month)
        ),
        E::CloseMismatch { group, month, seq } => format!(
            "กลุ่ม {group} ปิดบัญชีเดือน {} (รายการที่ {seq}) ไม่ตรงกับที่ศูนย์คำนวณ: ตรวจสอบกับเหรัญญิกก่อนรับรอง",
            lang.month(*month)
        ),
        E::ChangedSinceClose { group, month, seq } => format!(
            "บัญชีเดือน {} ของกลุ่ม {group} เปลี่ยนหลังปิดบัญชี (รายการที่ {seq}): ให้กลุ่มปิดเดือนใหม่ก่อนรับรอง",
            lang.month(*month)
        ),
        E::Forked(group) => {
            format!("กลุ่ม {group} มีประวัติบัญชีขัดแย้ง: ผู้ดูแลต้องตัดสินก่อนรับรองเดือนใด ๆ")
        }
        E::GroupNotSignedOff {
            tambon,
            group,
            month,
        } => format!(
            "ศูนย์ตำบล {tambon} ยังไม่ได้รับรองเดือน {} ของกลุ่ม {group}: รอการรับรองระดับตำบลก่อน",
            lang.month(*month)
        ),
        E::NoGroups { tambon, month } => {
            format!("ตำบล {tambon} ไม่มีกลุ่มที่มีบัญชีในเดือน {}", lang.month(*month))
        }
        other => other.to_string(),
    }
}

// ---- the public-forum report ----

#[derive(Template)]
#[template(path = "forum.html")]
struct ForumPage {
    f: Frame,
    month_text: String,
    month_input: String,
    date_text: String,
    printed_at: String,
    counts: Vec<(&'static str, &'static str, u32)>,
    figures: Vec<(&'static str, String)>,
    by_source: Vec<(&'static str, String)>,
    by_kind: Vec<(&'static str, String)>,
    charts: Vec<Chart>,
    pools: Vec<PoolRow>,
    rows: Vec<GroupRow>,
    signed: Vec<(String, &'static str, &'static str)>,
}

pub async fn forum(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(scope): Path<String>,
    Query(view): Query<View>,
) -> Response {
    scoped_page(app, headers, scope, move |_, asked, cx| {
        let lang = asked.lang;
        let w = Words::of(lang);
        // The month reported: the one asked for, else the last full month.
        let month = view
            .month
            .parse::<Month>()
            .unwrap_or_else(|_| cx.today.month().minus(1));
        let as_of = if month == cx.today.month() {
            cx.today
        } else {
            month.last_day()
        };
        let series =
            or_respond!(trend(cx, &asked.scope, &asked.audience, as_of, 12).map_err(query_failed));
        let Some((_, now)) = series.last() else {
            return internal("no trend computed");
        };
        let lines = or_respond!(lines_of(cx, asked, as_of));
        let (by_source, by_kind) = breakdowns(w, &lines);
        let reserves = if asked.scope.is_group() {
            Vec::new()
        } else {
            or_respond!(
                query::reserves(cx, &asked.scope, Some(as_of), &asked.audience)
                    .map_err(query_failed)
            )
            .pools
        };
        let sign_offs =
            or_respond!(query::sign_offs(cx, &asked.scope).map_err(query_failed)).sign_offs;
        let page = ForumPage {
            f: Frame::new(lang, &asked.account, asked.scope.as_str(), "forum"),
            month_text: lang.month(month),
            month_input: month.to_string(),
            date_text: lang.date(as_of),
            printed_at: lang.time(unix_now()),
            counts: counts(w, now),
            figures: key_figures(w, now),
            by_source,
            by_kind,
            charts: charts_of(lang, &series, (300, 130)),
            pools: reserves
                .iter()
                .map(|p| pool_row(p, String::new()))
                .collect(),
            rows: group_rows(lang, cx, &lines),
            signed: sign_off_cells(w, lang, sign_offs.iter().filter(|s| s.month == month)),
        };
        render(&page, StatusCode::OK)
    })
    .await
}
