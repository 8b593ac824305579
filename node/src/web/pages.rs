//! One handler per page; each template sits in `node/templates/` under the
//! page's name. Handlers run the ledger work on the blocking pool: SQLite and
//! Argon2 never hold up the async executor the sync daemon shares.

use sajja_edge::clock::unix_now;
use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use sajja_common::Event;
use sajja_common::date::Date;
use sajja_common::event::{Body, Sex, Source};
use sajja_common::ids::MemberNo;
use sajja_common::money::Money;
use serde::Deserialize;

use super::app::{
    App, FORM_FIELDS_MAX, LANG_COOKIE, LOGIN_COOKIE, SESSION_COOKIE, Shared, cookie, internal,
    lang_of, refused, same_token, session, set_cookie,
};
use super::sheet::{self, Row, Sheet};
use super::users::{SESSION_SECONDS, Session, random_token};
use super::words::{Lang, Words};
use crate::compose;
use crate::report::Passbook;
use crate::store::{RegisterEntry, Store, StoreError};
use crate::vocab;

/// What every page around its content shows: the group, the menu, who is
/// logged in, the language switch and the logout form's token.
pub struct Frame {
    pub w: &'static Words,
    pub lang: Lang,
    pub other_lang: &'static str,
    pub user: String,
    pub role_label: &'static str,
    pub may_record: bool,
    pub csrf: String,
    pub group: String,
    pub nav: &'static str,
}

impl Frame {
    pub(super) fn new(lang: Lang, session: &Session, store: &Store, nav: &'static str) -> Frame {
        let name = store
            .books()
            .opened
            .as_ref()
            .map(|o| o.name.clone())
            .unwrap_or_default();
        Frame::titled(lang, session, format!("{} {name}", store.group()), nav)
    }

    /// The frame of a page whose heading is `title` (a group's id and name,
    /// or an exchange's).
    pub(super) fn titled(lang: Lang, session: &Session, title: String, nav: &'static str) -> Frame {
        Frame {
            w: Words::of(lang),
            lang,
            other_lang: lang.other().code(),
            user: session.user.clone(),
            role_label: Words::of(lang).role(session.role),
            may_record: session.role.may_record(),
            csrf: session.csrf.clone(),
            group: title,
            nav,
        }
    }
}

pub(super) async fn blocking(work: impl FnOnce() -> Response + Send + 'static) -> Response {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(internal)
}

pub(super) fn render(template: &impl Template, status: StatusCode) -> Response {
    match template.render() {
        Ok(html) => (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response(),
        Err(error) => internal(error),
    }
}

pub(super) fn business_today() -> Date {
    sajja_edge::clock::today()
}

pub(super) fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// The session, checked for a form: its token must match, and the caller must
/// be allowed to record. Returns the refusal to send otherwise.
// The refusal is the page to send: returned as is, on a path taken once a request.
#[allow(clippy::result_large_err)]
pub(super) fn recorder(app: &App, headers: &HeaderMap, csrf: &str) -> Result<Session, Response> {
    let w = Words::of(lang_of(headers));
    let session = session(app, headers)?;
    if !same_token(csrf, &session.csrf) {
        return Err(refused(StatusCode::FORBIDDEN, w.form_expired));
    }
    if !session.role.may_record() {
        return Err(refused(StatusCode::FORBIDDEN, w.not_allowed));
    }
    Ok(session)
}

/// The session of a posted form whose token matches, whatever its role: the
/// page decides what the role may do. Returns the refusal to send otherwise.
#[allow(clippy::result_large_err)]
pub(super) fn form_session(
    app: &App,
    headers: &HeaderMap,
    fields: &[(String, String)],
) -> Result<Session, Response> {
    let w = Words::of(lang_of(headers));
    if fields.len() > FORM_FIELDS_MAX {
        return Err(refused(StatusCode::PAYLOAD_TOO_LARGE, "too many fields"));
    }
    let session = session(app, headers)?;
    if !same_token(field(fields, "csrf"), &session.csrf) {
        return Err(refused(StatusCode::FORBIDDEN, w.form_expired));
    }
    Ok(session)
}

/// Active members with their register names, for a page's member picker.
pub(super) fn active_members(store: &Store) -> Vec<(u32, String)> {
    let register = store.register().unwrap_or_default();
    store
        .books()
        .members
        .iter()
        .filter(|(_, m)| m.is_active())
        .map(|(n, _)| {
            (
                n.0,
                register.get(n).map_or(String::new(), |r| r.name.clone()),
            )
        })
        .collect()
}

pub(super) fn store_error(error: StoreError) -> Response {
    internal(error)
}

/// The ledger for one request, or the error page.
#[allow(clippy::result_large_err)]
pub(super) fn ledger(app: &App) -> Result<std::sync::MutexGuard<'_, Store>, Response> {
    app.store().map_err(store_error)
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

pub async fn login_form(headers: HeaderMap, Query(query): Query<LoginQuery>) -> Response {
    let lang = lang_of(&headers);
    // Double-submit token: the login form has no session yet, so its token
    // lives in a cookie that another site can neither read nor set.
    let csrf = cookie(&headers, LOGIN_COOKIE)
        .filter(|t| t.len() == 64)
        .map_or_else(random_token, str::to_string);
    let page = LoginPage {
        w: Words::of(lang),
        other_lang: lang.other().code(),
        csrf: csrf.clone(),
        error: if query.expired.is_some() {
            Words::of(lang).session_expired.to_string()
        } else {
            String::new()
        },
        user: String::new(),
    };
    let mut response = render(&page, StatusCode::OK);
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie(LOGIN_COOKIE, &csrf, 3_600));
    response
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

pub async fn login(
    State(app): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    blocking(move || {
        let lang = lang_of(&headers);
        let w = Words::of(lang);
        let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or("");
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
        if let Some(wait) = app.login_wait(&user) {
            return again(
                format!("{} {} s", w.login_wait, wait.as_secs().max(1)),
                StatusCode::TOO_MANY_REQUESTS,
            );
        }
        let users = app.users();
        match users.check_password(&user, &form.password) {
            Err(error) => internal(error),
            Ok(None) => {
                drop(users);
                app.login_failed(&user);
                tracing::warn!("web login refused");
                again(w.login_failed.to_string(), StatusCode::UNAUTHORIZED)
            }
            Ok(Some(_)) => {
                app.login_succeeded(&user);
                let token = match users.start_session(&user) {
                    Ok(token) => token,
                    Err(error) => return internal(error),
                };
                tracing::info!("web login");
                let mut response = Redirect::to("/").into_response();
                let cookies = response.headers_mut();
                cookies.append(
                    header::SET_COOKIE,
                    set_cookie(SESSION_COOKIE, &token, SESSION_SECONDS),
                );
                cookies.append(header::SET_COOKIE, set_cookie(LOGIN_COOKIE, "", 0));
                response
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
        let session = or_respond!(session(&app, &headers));
        if !same_token(&form.csrf, &session.csrf) {
            return refused(
                StatusCode::FORBIDDEN,
                Words::of(lang_of(&headers)).form_expired,
            );
        }
        if let Some(token) = cookie(&headers, SESSION_COOKIE)
            && let Err(error) = app.users().end_session(token)
        {
            return internal(error);
        }
        let mut response = Redirect::to("/login").into_response();
        response
            .headers_mut()
            .append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", 0));
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
pub async fn switch_lang(headers: HeaderMap, Query(query): Query<LangQuery>) -> Response {
    let lang = Lang::from_code(&query.to);
    let back = if cookie(&headers, SESSION_COOKIE).is_some() {
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

// ---- today ----

#[derive(Template)]
#[template(path = "today.html")]
struct TodayPage {
    f: Frame,
    date: String,
    cash: Money,
    bank: Money,
    welfare_fund: Money,
    savings: Money,
    loans_out: Money,
    paid_count: usize,
    active_count: usize,
    behind: Vec<(u32, String)>,
    loans_overdue: usize,
    sync_line: String,
}

fn sync_line(lang: Lang, store: &Store) -> Result<String, StoreError> {
    let w = Words::of(lang);
    if store.hub_link()?.is_none() {
        return Ok(w.sync_no_hub.to_string());
    }
    let state = store.acked()?;
    let (head, _) = store.head();
    let waiting = head.saturating_sub(state.acked_seq);
    Ok(match (waiting, state.last_sync_at) {
        (_, None) if head > 0 => format!("{} · {waiting} {}", w.sync_never, w.sync_waiting),
        (0, Some(at)) => format!("{} {head} ({})", w.sync_all_held, lang.time(at)),
        (0, None) => w.sync_never.to_string(),
        (waiting, _) => format!("{waiting} {}", w.sync_waiting),
    })
}

fn today_page(app: &App, headers: &HeaderMap) -> Response {
    let lang = lang_of(headers);
    let session = or_respond!(session(app, headers));
    let store = or_respond!(ledger(app));
    let build = || -> Result<TodayPage, StoreError> {
        let date = business_today();
        let register = store.register()?;
        let paid = app.paid(&store)?;
        let sheet = sheet::sheet_for(&store, &paid, &register, date)?;
        let books = store.books();
        let a = &books.accounts;
        let loans_overdue = books
            .loans
            .values()
            .filter(|l| l.arrears_on(date).days_past_due > 0)
            .count();
        Ok(TodayPage {
            f: Frame::new(lang, &session, &store, "today"),
            date: lang.date(date),
            cash: a.cash,
            bank: a.bank,
            welfare_fund: a.welfare_fund,
            savings: a.member_savings,
            loans_out: a.loans_receivable,
            paid_count: sheet.rows.len() - sheet.not_paid().count(),
            active_count: sheet.rows.len(),
            behind: sheet
                .not_paid()
                .map(|r| (r.member, r.name.clone()))
                .collect(),
            loans_overdue,
            sync_line: sync_line(lang, &store)?,
        })
    };
    match build() {
        Ok(page) => render(&page, StatusCode::OK),
        Err(error) => store_error(error),
    }
}

pub async fn today(State(app): State<Shared>, headers: HeaderMap) -> Response {
    blocking(move || today_page(&app, &headers)).await
}

// ---- the meeting sheet ----

#[derive(Template)]
#[template(path = "meeting.html")]
struct MeetingPage {
    f: Frame,
    sheet: Sheet,
    date_text: String,
    period_text: String,
    total_due: Money,
}

#[derive(Deserialize)]
pub struct DateQuery {
    #[serde(default)]
    date: String,
}

fn meeting_page(f: Frame, sheet: Sheet, status: StatusCode) -> Response {
    let lang = f.lang;
    let total_due = Money::from_satang(
        sheet
            .rows
            .iter()
            .filter(|r| !r.paid_already.is_positive())
            .map(|r| r.due.satang())
            .sum(),
    );
    let page = MeetingPage {
        date_text: lang.date(sheet.date),
        period_text: lang.month(sheet.period),
        f,
        sheet,
        total_due,
    };
    render(&page, status)
}

pub(super) fn parse_sheet_date(text: &str) -> Result<Date, String> {
    if text.trim().is_empty() {
        Ok(business_today())
    } else {
        vocab::parse_date(text)
    }
}

pub async fn meeting(
    State(app): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<DateQuery>,
) -> Response {
    blocking(move || {
        let lang = lang_of(&headers);
        let session = or_respond!(session(&app, &headers));
        let store = or_respond!(ledger(&app));
        let (date, error) = match parse_sheet_date(&query.date) {
            Ok(date) => (date, String::new()),
            Err(error) => (business_today(), error),
        };
        let register = match store.register() {
            Ok(register) => register,
            Err(error) => return store_error(error),
        };
        let paid = match app.paid(&store) {
            Ok(paid) => paid,
            Err(error) => return store_error(error),
        };
        let mut sheet = match sheet::sheet_for(&store, &paid, &register, date) {
            Ok(sheet) => sheet,
            Err(error) => return store_error(error),
        };
        sheet.error = error;
        let frame = Frame::new(lang, &session, &store, "meeting");
        meeting_page(frame, sheet, StatusCode::OK)
    })
    .await
}

fn duplicate_message(lang: Lang, period: sajja_common::date::Month) -> impl Fn(&Row) -> String {
    move |row: &Row| match lang {
        Lang::Th => format!(
            "จ่ายเงินสัจจะงวด {} แล้ว {} บาท: ถ้าเป็นการจ่ายเพิ่ม ให้ติ๊ก \"จ่ายเพิ่ม\"",
            lang.month(period),
            row.paid_already
        ),
        Lang::En => format!(
            "already paid {} for {}: tick \"extra\" if this is an additional payment",
            row.paid_already,
            lang.month(period)
        ),
    }
}

/// Writes a whole sheet in one transaction, or nothing and the sheet back
/// with each problem beside its row.
pub async fn record_meeting(
    State(app): State<Shared>,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    blocking(move || {
        let lang = lang_of(&headers);
        let w = Words::of(lang);
        if fields.len() > FORM_FIELDS_MAX {
            return refused(StatusCode::PAYLOAD_TOO_LARGE, "too many fields");
        }
        let session = or_respond!(recorder(&app, &headers, field(&fields, "csrf")));
        let mut store = or_respond!(ledger(&app));
        let date = match parse_sheet_date(field(&fields, "date")) {
            Ok(date) => date,
            Err(error) => return refused(StatusCode::UNPROCESSABLE_ENTITY, &error),
        };
        let register = match store.register() {
            Ok(register) => register,
            Err(error) => return store_error(error),
        };
        let paid = match app.paid(&store) {
            Ok(paid) => paid,
            Err(error) => return store_error(error),
        };
        let mut sheet = match sheet::sheet_for(&store, &paid, &register, date) {
            Ok(sheet) => sheet,
            Err(error) => return store_error(error),
        };
        sheet::fill(&mut sheet, &fields);
        let period = sheet.period;
        let entries = sheet::entries(&mut sheet, duplicate_message(lang, period));
        let outcome: Result<(u64, u64), (Option<usize>, String)> = if sheet::has_errors(&sheet) {
            Err((None, String::new()))
        } else if entries.is_empty() {
            Err((None, w.no_entries.to_string()))
        } else {
            let mut batch = match store.begin() {
                Ok(batch) => batch,
                Err(error) => return store_error(error),
            };
            let mut refusal = None;
            for entry in entries {
                if let Err(error) = batch.push(date, entry.body) {
                    refusal = Some((entry.row, super::app::say(lang, &error)));
                    break;
                }
            }
            match refusal {
                Some(refusal) => Err(refusal),
                None => match batch.commit() {
                    Ok(Some(range)) => Ok(range),
                    Ok(None) => Err((None, w.no_entries.to_string())),
                    Err(error) => Err((None, error.to_string())),
                },
            }
        };
        match outcome {
            Ok((from, to)) => {
                tracing::info!(group = %store.group(), from, to, "meeting sheet recorded");
                Redirect::to(&format!("/receipt?from={from}&to={to}")).into_response()
            }
            Err((row, message)) => {
                match row {
                    Some(index) => sheet.rows[index].error = message,
                    None if !message.is_empty() => sheet.error = message,
                    None => {}
                }
                if sheet.error.is_empty() {
                    sheet.error = w.sheet_refused.to_string();
                }
                let frame = Frame::new(lang, &session, &store, "meeting");
                meeting_page(frame, sheet, StatusCode::UNPROCESSABLE_ENTITY)
            }
        }
    })
    .await
}

// ---- receipts ----

/// One entry as the receipt and the passbook say it.
pub struct Line {
    pub seq: u64,
    pub date: String,
    pub member: String,
    pub what: String,
    pub amount: Money,
}

pub(super) fn describe(
    lang: Lang,
    event: &Event,
    register: &BTreeMap<MemberNo, RegisterEntry>,
) -> Line {
    let w = Words::of(lang);
    let who = |m: &MemberNo| {
        let name = register.get(m).map_or("", |r| r.name.as_str());
        format!("{} {name}", m.0)
    };
    let (member, what, amount) = match &event.body {
        Body::ContributionReceived {
            member: Some(m),
            amount,
            period,
            source: Source::Member,
            ..
        } => (
            who(m),
            format!("{} {}", w.kind_contribution, lang.month(*period)),
            *amount,
        ),
        Body::ContributionReceived {
            amount,
            period,
            source,
            ..
        } => (
            String::new(),
            format!(
                "{} {} ({})",
                w.kind_matching,
                lang.month(*period),
                match source {
                    Source::LocalGovernment => w.matching_local,
                    Source::NationalGovernment => w.matching_national,
                    _ => vocab::source_word(*source),
                }
            ),
            *amount,
        ),
        Body::SavingsDeposited { member, amount, .. } => {
            (who(member), w.kind_savings.to_string(), *amount)
        }
        Body::LoanRepaid {
            loan,
            principal,
            interest,
            ..
        } => (
            String::new(),
            format!("{} {} ({principal} + {interest})", w.kind_repayment, loan.0),
            Money::from_satang(principal.satang() + interest.satang()),
        ),
        Body::MemberJoined { member, .. } => (who(member), w.kind_joined.to_string(), Money::ZERO),
        Body::BenefitPaid {
            member,
            kind,
            amount,
            committee_override,
            ..
        } => (
            who(member),
            format!(
                "{} {}{}",
                w.benefits,
                super::words::kind_label(lang, *kind),
                if *committee_override {
                    w.by_override
                } else {
                    ""
                }
            ),
            *amount,
        ),
        Body::SavingsWithdrawn { member, amount, .. } => {
            (who(member), w.kind_withdrawal.to_string(), *amount)
        }
        Body::LoanDisbursed {
            loan,
            member,
            principal,
            ..
        } => (
            who(member),
            format!("{} {}", w.disburse, loan.0),
            *principal,
        ),
        Body::MemberLeft {
            member,
            savings_refund,
            ..
        } => (who(member), w.kind_left.to_string(), *savings_refund),
        Body::Reversal {
            reversed_seq,
            reason,
        } => (
            String::new(),
            format!("{} {reversed_seq}: {reason}", w.reversal_of),
            Money::ZERO,
        ),
        Body::PeriodClosed { month, .. } => (
            String::new(),
            format!("{} {}", w.close_month, lang.month(*month)),
            Money::ZERO,
        ),
        other => (
            String::new(),
            format!("{} ({})", w.kind_other, other.kind()),
            Money::ZERO,
        ),
    };
    Line {
        seq: event.seq,
        date: lang.date(event.date),
        member,
        what,
        amount,
    }
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    f: Frame,
    lines: Vec<Line>,
    total: Money,
    from: u64,
    to: u64,
    printed_at: String,
}

#[derive(Deserialize)]
pub struct RangeQuery {
    from: u64,
    to: u64,
    #[serde(default)]
    member: Option<u32>,
}

/// The most entries one receipt lists.
const RECEIPT_LINES_MAX: u64 = 20_000;

pub async fn receipt(
    State(app): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<RangeQuery>,
) -> Response {
    blocking(move || {
        let lang = lang_of(&headers);
        let session = or_respond!(session(&app, &headers));
        let store = or_respond!(ledger(&app));
        let register = match store.register() {
            Ok(register) => register,
            Err(error) => return store_error(error),
        };
        let to = query.to.min(query.from.saturating_add(RECEIPT_LINES_MAX));
        let mut lines = Vec::new();
        let scanned = store.scan(query.from, |event| {
            if event.seq > to {
                return false;
            }
            let mine = match query.member {
                None => true,
                Some(m) => touches_member(event, MemberNo(m), store.books()),
            };
            if mine {
                lines.push(describe(lang, event, &register));
            }
            true
        });
        if let Err(error) = scanned {
            return store_error(error);
        }
        let total = Money::from_satang(lines.iter().map(|l| l.amount.satang()).sum());
        let page = ReceiptPage {
            f: Frame::new(lang, &session, &store, "meeting"),
            lines,
            total,
            from: query.from,
            to,
            printed_at: lang.time(unix_now()),
        };
        render(&page, StatusCode::OK)
    })
    .await
}

pub(super) fn touches_member(
    event: &Event,
    member: MemberNo,
    books: &sajja_common::ledger::Books,
) -> bool {
    match &event.body {
        Body::ContributionReceived { member: m, .. } => *m == Some(member),
        Body::SavingsDeposited { member: m, .. }
        | Body::SavingsWithdrawn { member: m, .. }
        | Body::MemberJoined { member: m, .. } => *m == member,
        Body::LoanRepaid { loan, .. } => books.loans.get(loan).is_some_and(|l| l.member == member),
        _ => false,
    }
}

// ---- members ----

pub struct MemberLine {
    pub number: u32,
    pub name: String,
    pub savings: Money,
    pub contributed: Money,
    pub active: bool,
    pub joined: String,
}

#[derive(Template)]
#[template(path = "members.html")]
struct MembersPage {
    f: Frame,
    members: Vec<MemberLine>,
    form: MemberForm,
    error: String,
}

#[derive(Deserialize, Default, Clone)]
pub struct MemberForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    birth_year: String,
    #[serde(default)]
    sex: String,
    #[serde(default)]
    joined: String,
}

fn members_page(
    f: Frame,
    store: &Store,
    form: MemberForm,
    error: String,
    status: StatusCode,
) -> Response {
    let register = match store.register() {
        Ok(register) => register,
        Err(error) => return store_error(error),
    };
    let lang = f.lang;
    let members = store
        .books()
        .members
        .iter()
        .map(|(number, m)| MemberLine {
            number: number.0,
            name: register
                .get(number)
                .map(|r| r.name.clone())
                .unwrap_or_default(),
            savings: m.savings,
            contributed: m.contributed,
            active: m.is_active(),
            joined: lang.date(m.joined_on),
        })
        .collect();
    render(
        &MembersPage {
            f,
            members,
            form,
            error,
        },
        status,
    )
}

pub async fn members(State(app): State<Shared>, headers: HeaderMap) -> Response {
    blocking(move || {
        let lang = lang_of(&headers);
        let session = or_respond!(session(&app, &headers));
        let store = or_respond!(ledger(&app));
        let frame = Frame::new(lang, &session, &store, "members");
        members_page(
            frame,
            &store,
            MemberForm::default(),
            String::new(),
            StatusCode::OK,
        )
    })
    .await
}

/// A birth year in either era: 2512 (B.E.) is 1969.
fn parse_birth_year(text: &str) -> Result<u32, String> {
    let digits = sajja_common::money::arabic_digits(text.trim());
    match digits.parse::<u32>() {
        Ok(year) if (2_400..=2_700).contains(&year) => Ok(year - 543),
        Ok(year) if (1_880..=2_200).contains(&year) => Ok(year),
        _ => Err(format!(
            "'{text}' is not a birth year: write e.g. 2512 (B.E.) or 1969"
        )),
    }
}

fn member_body(form: &MemberForm, number: MemberNo) -> Result<(Date, Body, RegisterEntry), String> {
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err("a name of 1 to 200 characters is needed".into());
    }
    let birth_year = parse_birth_year(&form.birth_year)?;
    let sex = match form.sex.as_str() {
        "f" => Sex::Female,
        "m" => Sex::Male,
        _ => return Err("choose female or male".into()),
    };
    let date = parse_sheet_date(&form.joined)?;
    let phone = Some(form.phone.trim().to_string()).filter(|p| !p.is_empty());
    if phone.as_ref().is_some_and(|p| p.chars().count() > 40) {
        return Err("a phone number of at most 40 characters".into());
    }
    Ok((
        date,
        compose::joining(number, birth_year, Some(sex)),
        RegisterEntry {
            member: number,
            name: name.to_string(),
            phone,
            national_id: None,
        },
    ))
}

pub async fn add_member(
    State(app): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<MemberForm>,
) -> Response {
    blocking(move || {
        let lang = lang_of(&headers);
        let session = or_respond!(recorder(&app, &headers, &form.csrf));
        let mut store = or_respond!(ledger(&app));
        let number = compose::next_member(store.books());
        let result = member_body(&form, number).and_then(|(date, body, entry)| {
            let mut batch = store.begin().map_err(|e| e.to_string())?;
            batch
                .push_with_register(date, body, Some(entry))
                .map_err(|e| e.to_string())?;
            batch.commit().map_err(|e| e.to_string())
        });
        match result {
            Ok(Some((from, to))) => {
                Redirect::to(&format!("/receipt?from={from}&to={to}")).into_response()
            }
            Ok(None) => Redirect::to("/members").into_response(),
            Err(error) => {
                let frame = Frame::new(lang, &session, &store, "members");
                members_page(frame, &store, form, error, StatusCode::UNPROCESSABLE_ENTITY)
            }
        }
    })
    .await
}

#[derive(Template)]
#[template(path = "passbook.html")]
struct PassbookPage {
    f: Frame,
    number: u32,
    name: String,
    lines: Vec<(u64, String, String, Money, Money)>,
    savings: Money,
    contributed: Money,
}

pub async fn passbook(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(member): Path<u32>,
) -> Response {
    blocking(move || {
        let lang = lang_of(&headers);
        let session = or_respond!(session(&app, &headers));
        let store = or_respond!(ledger(&app));
        let number = MemberNo(member);
        let Some(figures) = store.books().members.get(&number).cloned() else {
            return refused(
                StatusCode::NOT_FOUND,
                &format!("{} {member}?", Words::of(lang).member),
            );
        };
        let name = match store.register() {
            Ok(register) => register
                .get(&number)
                .map(|r| r.name.clone())
                .unwrap_or_default(),
            Err(error) => return store_error(error),
        };
        let mut book = Passbook::new(number);
        if let Err(error) = store.scan(1, |event| {
            book.visit(event);
            true
        }) {
            return store_error(error);
        }
        let lines = book
            .lines
            .iter()
            .map(|l| {
                (
                    l.seq,
                    lang.date(l.date),
                    l.note.clone(),
                    l.amount,
                    l.savings_balance,
                )
            })
            .collect();
        let page = PassbookPage {
            f: Frame::new(lang, &session, &store, "members"),
            number: member,
            name,
            lines,
            savings: figures.savings,
            contributed: figures.contributed,
        };
        render(&page, StatusCode::OK)
    })
    .await
}

// ---- the balance as of a date ----

#[derive(Template)]
#[template(path = "balance.html")]
struct BalancePage {
    f: Frame,
    date_text: String,
    date_input: String,
    lines: Vec<(String, Money, Money)>,
    summary: Vec<(String, String)>,
    error: String,
}

/// A trial-balance account (`cash`, `pool_deposits:23`, `income:Fee`) in
/// the reader's words; the part after the colon is kept as it is.
pub(super) fn account_label(w: &Words, account: &str) -> String {
    let (name, detail) = account.split_once(':').unwrap_or((account, ""));
    let label = match name {
        "loans_receivable" => w.loans_out.to_string(),
        "pool_loans_payable" => w.pool_loans.to_string(),
        "dividends" => w.dividends.to_string(),
        other => summary_label(w, other),
    };
    if detail.is_empty() {
        label
    } else {
        format!("{label} {detail}")
    }
}

fn summary_label(w: &Words, item: &str) -> String {
    match item {
        "cash" => w.cash,
        "bank" => w.bank,
        "welfare_fund" => w.welfare_fund,
        "member_savings" => w.savings,
        "loans_outstanding" => w.loans_out,
        "active_members" => w.members,
        "pool_deposits" => w.pool_deposits,
        "pool_loans" => w.pool_loans,
        "reserve_pledged" => w.reserve_pledged,
        "income" => w.income,
        "expenses" => w.expenses,
        "surplus" => w.surplus,
        other => other,
    }
    .to_string()
}

pub async fn balance(
    State(app): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<DateQuery>,
) -> Response {
    blocking(move || {
        let lang = lang_of(&headers);
        let session = or_respond!(session(&app, &headers));
        let store = or_respond!(ledger(&app));
        let (date, error) = match parse_sheet_date(&query.date) {
            Ok(date) => (date, String::new()),
            Err(error) => (business_today(), error),
        };
        let books = match store.books_as_of(date) {
            Ok(books) => books,
            Err(error) => return store_error(error),
        };
        let w = Words::of(lang);
        let page = BalancePage {
            date_text: lang.date(date),
            date_input: date.buddhist_iso(),
            lines: books
                .trial_balance()
                .into_iter()
                .map(|l| (account_label(w, &l.account), l.debit, l.credit))
                .collect(),
            summary: crate::report::fund_summary(&books)
                .into_iter()
                .map(|(item, value)| (summary_label(w, item), value))
                .collect(),
            error,
            f: Frame::new(lang, &session, &store, "balance"),
        };
        render(&page, StatusCode::OK)
    })
    .await
}

/// The balance as CSV for Excel: UTF-8 with a byte-order mark (without it
/// Excel shows Thai as mojibake), ISO dates, plain amounts.
pub async fn balance_csv(
    State(app): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<DateQuery>,
) -> Response {
    blocking(move || {
        let _session = or_respond!(session(&app, &headers));
        let store = or_respond!(ledger(&app));
        let date = match parse_sheet_date(&query.date) {
            Ok(date) => date,
            Err(error) => return refused(StatusCode::UNPROCESSABLE_ENTITY, &error),
        };
        let books = match store.books_as_of(date) {
            Ok(books) => books,
            Err(error) => return store_error(error),
        };
        let mut body = b"\xEF\xBB\xBF".to_vec();
        if let Err(error) = crate::report::balance_csv(&books, date, &mut body) {
            return internal(error);
        }
        let disposition = format!(
            "attachment; filename=\"balance-{}-{date}.csv\"",
            store.group()
        );
        (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            body,
        )
            .into_response()
    })
    .await
}
