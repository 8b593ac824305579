//! Month close and backup: the trial balance as the books stand, the months
//! already closed (and whether their recorded digest still matches the
//! books), closing the next ended month, and a verified backup to download.

use askama::Template;
use axum::body::Body as HttpBody;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use sajja_common::date::Month;
use sajja_common::ledger::TrialBalanceLine;
use sajja_common::money::Money;

use super::app::{App, Shared, lang_of, refused, say, session};
use super::pages::{Frame, blocking, business_today, field, ledger, recorder, render};
use super::users::Session;
use super::words::{Lang, Role, Words};
use crate::compose;
use crate::store::{self, Store};

pub struct Closed {
    pub month: String,
    pub seq: u64,
    pub matches: bool,
}

pub struct MonthOption {
    pub value: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "close.html")]
struct ClosePage {
    f: Frame,
    lines: Vec<TrialBalanceLine>,
    total_debit: Money,
    total_credit: Money,
    closed: Vec<Closed>,
    months: Vec<MonthOption>,
    error: String,
    may_backup: bool,
}

/// The months that may be closed now: after the last closed one (or from the
/// group's opening), up to the last month that has ended.
fn closable(store: &Store) -> Vec<Month> {
    let books = store.books();
    let last_ended = business_today().month().minus(1);
    let first = match books.closes.iter().map(|c| c.month).max() {
        Some(closed) => closed.first_day().add_months(1).month(),
        None => match &books.opened {
            Some(opened) => opened.on.month(),
            None => return Vec::new(),
        },
    };
    let mut months = Vec::new();
    let mut month = first;
    // At most three years of unclosed months are offered: older ones are
    // closed from the CLI, one by one.
    while month <= last_ended && months.len() < 36 {
        months.push(month);
        month = month.first_day().add_months(1).month();
    }
    months
}

fn close_page(
    lang: Lang,
    session: &Session,
    store: &Store,
    error: String,
    status: StatusCode,
) -> Response {
    let books = store.books();
    let w = Words::of(lang);
    let lines: Vec<TrialBalanceLine> = books
        .trial_balance()
        .into_iter()
        .map(|l| TrialBalanceLine {
            account: super::pages::account_label(w, &l.account),
            ..l
        })
        .collect();
    let total = |pick: fn(&TrialBalanceLine) -> Money| {
        Money::from_satang(lines.iter().map(|l| pick(l).satang()).sum())
    };
    let page = ClosePage {
        f: Frame::new(lang, session, store, "close"),
        total_debit: total(|l| l.debit),
        total_credit: total(|l| l.credit),
        closed: books
            .closes
            .iter()
            .rev()
            .map(|c| Closed {
                month: lang.month(c.month),
                seq: c.seq,
                matches: c.matches,
            })
            .collect(),
        months: closable(store)
            .into_iter()
            .rev()
            .map(|m| MonthOption {
                value: m.to_string(),
                label: lang.month(m),
            })
            .collect(),
        lines,
        error,
        may_backup: session.role == Role::Treasurer,
    };
    render(&page, status)
}

pub async fn close(State(app): State<Shared>, headers: HeaderMap) -> Response {
    blocking(move || {
        let lang = lang_of(&headers);
        let session = or_respond!(session(&app, &headers));
        let store = or_respond!(ledger(&app));
        close_page(lang, &session, &store, String::new(), StatusCode::OK)
    })
    .await
}

/// Closes a month: a `PeriodClosed` whose digest is the trial balance of the
/// books the batch validates against.
pub async fn close_month(
    State(app): State<Shared>,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    blocking(move || {
        let lang = lang_of(&headers);
        let w = Words::of(lang);
        if fields.len() > 8 {
            return refused(StatusCode::PAYLOAD_TOO_LARGE, "too many fields");
        }
        let session = or_respond!(recorder(&app, &headers, field(&fields, "csrf")));
        let mut store = or_respond!(ledger(&app));
        let month: Month = match field(&fields, "month").parse() {
            Ok(month) if closable(&store).contains(&month) => month,
            _ => {
                let error = format!("{}: {}", w.close_this, field(&fields, "month"));
                return close_page(
                    lang,
                    &session,
                    &store,
                    error,
                    StatusCode::UNPROCESSABLE_ENTITY,
                );
            }
        };
        let written = store.write(|batch| {
            let body = compose::month_close(batch.books(), month);
            batch.push(business_today(), body)
        });
        match written {
            Ok((seq, _)) => {
                tracing::info!(group = %store.group(), seq, %month, "month closed");
                Redirect::to(&format!("/receipt?from={seq}&to={seq}")).into_response()
            }
            Err(error) => close_page(
                lang,
                &session,
                &store,
                say(lang, &error),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
        }
    })
    .await
}

/// A verified backup of the ledger, for the treasurer only: it holds the
/// group's signing key and the member register.
pub async fn backup(State(app): State<Shared>, headers: HeaderMap) -> Response {
    blocking(move || {
        let w = Words::of(lang_of(&headers));
        let session = or_respond!(session(&app, &headers));
        if session.role != Role::Treasurer {
            return refused(StatusCode::FORBIDDEN, w.not_allowed);
        }
        let store = or_respond!(ledger(&app));
        match backup_bytes(&app, &store) {
            Ok((name, bytes)) => {
                tracing::info!(group = %store.group(), bytes = bytes.len(), "backup downloaded");
                let disposition = format!("attachment; filename=\"{name}\"");
                let mut response = HttpBody::from(bytes).into_response();
                let h = response.headers_mut();
                h.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/vnd.sqlite3"),
                );
                h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                if let Ok(value) = HeaderValue::from_str(&disposition) {
                    h.insert(header::CONTENT_DISPOSITION, value);
                }
                response
            }
            Err(error) => super::app::internal(error),
        }
    })
    .await
}

/// An online copy of the ledger, verified as `sajja-node backup` verifies it,
/// read into memory (a group's ledger is a few megabytes) and removed.
fn backup_bytes(app: &App, store: &Store) -> Result<(String, Vec<u8>), String> {
    let dir = app.data_dir.join("web-backup");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let dest = dir.join("ledger.backup.sqlite");
    let pending =
        sajja_edge::backup::PendingBackup::start(store.path(), &dest).map_err(|e| e.to_string())?;
    let report = store::verify(pending.path()).map_err(|e| e.to_string())?;
    let dest = pending.finish().map_err(|e| e.to_string())?;
    let bytes = std::fs::read(&dest).map_err(|e| format!("{}: {e}", dest.display()));
    let _ = std::fs::remove_file(&dest);
    let name = format!(
        "sajja-{}-seq{}-{}.sqlite",
        report.group,
        report.events,
        business_today()
    );
    Ok((name, bytes?))
}
