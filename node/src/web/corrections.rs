//! Corrections: find an entry in the log, see it in words, and propose its
//! reversal with a reason. A reversal is written only once a second
//! committee member approves it ([`super::approvals`]); the log itself is
//! never edited: a `Reversal` negates its target's effect, and both stay.

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use sajja_common::event::Body;
use serde::Deserialize;

use super::app::{App, Shared, lang_of, refused, say, session};
use super::approvals::{self, Kind};
use super::forms;
use super::pages::form_session;
use super::pages::{Frame, Line, blocking, describe, field, ledger, render, store_error};
use super::users::Session;
use super::words::{Lang, Role, Words};
use crate::store::Store;

/// The most entries the page lists at once: the latest, or those found.
pub const ENTRIES_SHOWN: usize = 50;

pub struct Entry {
    pub line: Line,
    pub reversed: bool,
    /// Whether the ledger could reverse it at all (opening, closes, key
    /// changes and reversals themselves cannot be).
    pub reversible: bool,
}

#[derive(Template)]
#[template(path = "corrections.html")]
struct CorrectionsPage {
    f: Frame,
    find: String,
    entries: Vec<Entry>,
    error: String,
    may_propose: bool,
}

#[derive(Deserialize)]
pub struct FindQuery {
    #[serde(default)]
    find: String,
}

fn reversible(body: &Body) -> bool {
    !matches!(
        body,
        Body::GroupOpened { .. }
            | Body::PeriodClosed { .. }
            | Body::KeyRotated { .. }
            | Body::Reversal { .. }
            | Body::RulesChanged(_)
    )
}

/// The entries matching `find` (a seq, or a member number as `m12` or a
/// bare number that is not a seq), else the latest ones.
fn entries(lang: Lang, store: &Store, find: &str) -> Result<Vec<Entry>, crate::store::StoreError> {
    let register = store.register()?;
    let books = store.books();
    let entry = |event: &sajja_common::Event| Entry {
        line: describe(lang, event, &register),
        reversed: books.reversed.contains(&event.seq),
        reversible: reversible(&event.body),
    };
    let wanted = crate::vocab::whole_number(find.trim().trim_start_matches(['m', 'M']));
    let mut out = Vec::new();
    match wanted {
        Some(seq) if !find.trim().starts_with(['m', 'M']) => {
            if let Some(event) = store.event(u64::from(seq))? {
                out.push(entry(&event));
            }
        }
        Some(member) => {
            let member = sajja_common::ids::MemberNo(member);
            store.scan(1, |event| {
                if super::pages::touches_member(event, member, books) {
                    out.push(entry(event));
                }
                true
            })?;
            let skip = out.len().saturating_sub(ENTRIES_SHOWN);
            out.drain(..skip);
        }
        None => {
            let (head, _) = store.head();
            let from = head.saturating_sub(ENTRIES_SHOWN as u64 - 1).max(1);
            store.scan(from, |event| {
                out.push(entry(event));
                true
            })?;
        }
    }
    out.reverse();
    Ok(out)
}

fn corrections_page(
    lang: Lang,
    session: &Session,
    store: &Store,
    find: String,
    error: String,
    status: StatusCode,
) -> Response {
    let entries = match entries(lang, store, &find) {
        Ok(entries) => entries,
        Err(error) => return store_error(error),
    };
    let page = CorrectionsPage {
        f: Frame::new(lang, session, store, "corrections"),
        find,
        entries,
        error,
        may_propose: matches!(session.role, Role::Treasurer | Role::Committee),
    };
    render(&page, status)
}

pub async fn corrections(
    State(app): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<FindQuery>,
) -> Response {
    blocking(move || {
        let lang = lang_of(&headers);
        let session = or_respond!(session(&app, &headers));
        let store = or_respond!(ledger(&app));
        let find: String = query.find.chars().take(20).collect();
        corrections_page(lang, &session, &store, find, String::new(), StatusCode::OK)
    })
    .await
}

/// Proposes a reversal: checked against the ledger now (a batch that is
/// dropped), queued for a second committee member.
pub async fn propose_reversal(
    State(app): State<Shared>,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    blocking(move || propose(&app, &headers, &fields)).await
}

fn propose(app: &App, headers: &HeaderMap, fields: &[(String, String)]) -> Response {
    let lang = lang_of(headers);
    let w = Words::of(lang);
    let session = or_respond!(form_session(app, headers, fields));
    if !matches!(session.role, Role::Treasurer | Role::Committee) {
        return refused(StatusCode::FORBIDDEN, w.not_allowed);
    }
    let mut store = or_respond!(ledger(app));
    let reason = field(fields, "reason").trim().to_string();
    let checked = forms::reversal_entry(fields, &reason).and_then(|(date, body)| {
        let mut batch = store.begin().map_err(|e| say(lang, &e))?;
        batch
            .push(date, body)
            .map(|_| ())
            .map_err(|e| say(lang, &e))
    });
    if let Err(error) = checked {
        let error = if reason.is_empty() {
            w.reason_needed.to_string()
        } else {
            error
        };
        let find = field(fields, "seq").to_string();
        return corrections_page(
            lang,
            &session,
            &store,
            find,
            error,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    drop(store);
    approvals::queue(app, &session, Kind::Reversal, fields, &reason)
}
