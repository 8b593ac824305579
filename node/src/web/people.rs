//! Who may log in: the treasurer sees the accounts and adds one for a new
//! committee member or viewer from the app, as `sajja-node user add` does on
//! the Pi. Passwords are typed twice and hashed with Argon2id; nothing about
//! accounts leaves this Pi.

use askama::Template;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::app::{App, Shared, lang_of, refused, session};
use super::pages::{Frame, blocking, field, form_session, ledger, render};
use super::users::{PASSWORD_LENGTH_MAX, PASSWORD_LENGTH_MIN, Session, UserError};
use super::words::{Lang, Role, Words};

pub struct Account {
    pub name: String,
    pub role: &'static str,
}

#[derive(Template)]
#[template(path = "people.html")]
struct AccountsPage {
    f: Frame,
    accounts: Vec<Account>,
    name: String,
    role: String,
    error: String,
    notice: String,
    password_min: usize,
}

#[derive(Deserialize)]
pub struct AddedQuery {
    #[serde(default)]
    added: Option<String>,
}

/// The refusal of an account, in the reader's language.
fn say_user_error(lang: Lang, error: &UserError) -> String {
    match (lang, error) {
        (Lang::Th, UserError::Exists(name)) => format!("มีผู้ใช้ชื่อ {name} แล้ว"),
        (Lang::Th, UserError::BadName) => {
            "ชื่อผู้ใช้ยาว 1 ถึง 64 ตัว ใช้ตัวอักษร ตัวเลข จุด ขีด หรือขีดล่าง".to_string()
        }
        (Lang::Th, UserError::BadPassword) => {
            format!("รหัสผ่านยาว {PASSWORD_LENGTH_MIN} ถึง {PASSWORD_LENGTH_MAX} ตัวอักษร")
        }
        (_, other) => other.to_string(),
    }
}

fn accounts_page(
    app: &App,
    lang: Lang,
    session: &Session,
    (name, role): (String, String),
    error: String,
    notice: String,
    status: StatusCode,
) -> Response {
    let w = Words::of(lang);
    let store = or_respond!(ledger(app));
    let accounts = match app.users().list() {
        Ok(list) => list
            .into_iter()
            .map(|(name, role)| Account {
                name,
                role: w.role(role),
            })
            .collect(),
        Err(error) => return super::app::internal(error),
    };
    let page = AccountsPage {
        f: Frame::new(lang, session, &store, "people"),
        accounts,
        name,
        role,
        error,
        notice,
        password_min: PASSWORD_LENGTH_MIN,
    };
    render(&page, status)
}

pub async fn people(
    State(app): State<Shared>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<AddedQuery>,
) -> Response {
    blocking(move || {
        let lang = lang_of(&headers);
        let w = Words::of(lang);
        let session = or_respond!(session(&app, &headers));
        if session.role != Role::Treasurer {
            return refused(StatusCode::FORBIDDEN, w.not_allowed);
        }
        let notice = match query.added {
            Some(name) => format!(
                "{}: {}",
                w.user_added,
                name.chars().take(64).collect::<String>()
            ),
            None => String::new(),
        };
        accounts_page(
            &app,
            lang,
            &session,
            Default::default(),
            String::new(),
            notice,
            StatusCode::OK,
        )
    })
    .await
}

pub async fn add_person(
    State(app): State<Shared>,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    blocking(move || {
        let lang = lang_of(&headers);
        let w = Words::of(lang);
        let session = or_respond!(form_session(&app, &headers, &fields));
        if session.role != Role::Treasurer {
            return refused(StatusCode::FORBIDDEN, w.not_allowed);
        }
        let name = field(&fields, "name").trim().to_string();
        let role_text = field(&fields, "role").to_string();
        let password = field(&fields, "password");
        let kept = (name.clone(), role_text.clone());
        let back = |error: String| {
            accounts_page(
                &app,
                lang,
                &session,
                kept.clone(),
                error,
                String::new(),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        };
        let role = match Role::parse(&role_text) {
            Ok(role) => role,
            Err(error) => return back(error),
        };
        if password != field(&fields, "again") {
            return back(w.passwords_differ.to_string());
        }
        // Bound first: the users lock must be released before the page
        // that lists them is rendered.
        let added = app.users().add(&name, role, password);
        match added {
            Ok(()) => {
                tracing::info!(role = role.name(), "account added in the app");
                // The name may be Thai, which a Location header cannot carry.
                Redirect::to("/people?added=1").into_response()
            }
            Err(error) => back(say_user_error(lang, &error)),
        }
    })
    .await
}
