//! What every page of the dashboard shares: the app's state (config,
//! stores, accounts), the session and scope checks, the language, and the
//! refusal pages.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use sajja_edge::web::cookie;
use sajja_edge::web::lang::Lang;

use crate::config::HubConfig;
use crate::ingest::accept::Ingest;
use crate::ingest::admin::HubIdentity;
use crate::net::gate::Caller;
use crate::read::cache::Reader;
use crate::read::query::Scope;
use crate::store::StoreError;
use crate::web::accounts::{Account, AccountError, Accounts};
use crate::web::words::Words;

/// The largest request body read: every form here is a few fields.
pub const FORM_BYTES_MAX: usize = 16 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Accounts(#[from] AccountError),
    #[error("dashboard listener {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// What every handler shares.
pub struct App {
    pub config: HubConfig,
    pub(super) identity: HubIdentity,
    /// The dashboard's own connection for reading, as the `Query` service has.
    store: Mutex<Reader>,
    /// The hub's writer, shared with the `Sync` service: a sign-off made here
    /// wakes the relay like any commit.
    pub(super) ingest: Arc<Mutex<Ingest>>,
    accounts: Mutex<Accounts>,
    pub(super) throttle: sajja_edge::web::throttle::Throttle,
    /// Cookie names of this hub's dashboard: a browser keeps cookies per
    /// host, not per port, so a province and a tambon dashboard (or a node's
    /// app) on one machine must not overwrite each other's sessions.
    pub session_cookie: String,
    pub login_cookie: String,
}

pub type Shared = Arc<App>;

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Writes commit whole or not at all, so the data behind a poisoned lock
    // is sound.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl App {
    pub fn open(
        config: HubConfig,
        identity: HubIdentity,
        ingest: Arc<Mutex<Ingest>>,
    ) -> Result<App, WebError> {
        Ok(App {
            session_cookie: format!("sajja_hub{}_session", config.hub_id),
            login_cookie: format!("sajja_hub{}_login", config.hub_id),
            store: Mutex::new(Reader::open(&config.database_path())?),
            accounts: Mutex::new(Accounts::open(&config.web_users_path())?),
            config,
            identity,
            ingest,
            throttle: Default::default(),
        })
    }

    pub fn store(&self) -> MutexGuard<'_, Reader> {
        lock(&self.store)
    }

    pub fn accounts(&self) -> MutexGuard<'_, Accounts> {
        lock(&self.accounts)
    }
}

pub fn lang_of(headers: &HeaderMap) -> Lang {
    Lang::from_code(sajja_edge::web::lang_code(headers))
}

/// Who is asking, or the response that sends them to log in.
#[allow(clippy::result_large_err)]
pub fn session(app: &App, headers: &HeaderMap) -> Result<Account, Response> {
    let token = cookie(headers, &app.session_cookie).unwrap_or("");
    if token.is_empty() {
        return Err(Redirect::to("/login").into_response());
    }
    match app.accounts().session(token) {
        Ok(Some(account)) => Ok(account),
        Ok(None) => Err(Redirect::to("/login?expired=1").into_response()),
        Err(error) => Err(internal(error)),
    }
}

/// The session and the scope it asks for, checked with the `Query`
/// service's own rule; a refusal names the account's scope and nothing of
/// the one asked for.
#[allow(clippy::result_large_err)]
pub fn access(app: &App, headers: &HeaderMap, scope: &str) -> Result<(Account, Scope), Response> {
    let account = session(app, headers)?;
    let w = Words::of(lang_of(headers));
    let Ok(scope) = Scope::parse(scope) else {
        return Err(refused(StatusCode::NOT_FOUND, w.bad_request));
    };
    let caller = Caller {
        principal: account.principal(),
        serial: "web".to_string(),
    };
    if caller.may_query(scope.as_str()).is_err() {
        return Err(refused(
            StatusCode::FORBIDDEN,
            &format!("{} {}", w.not_your_scope, account.scope),
        ));
    }
    Ok((account, scope))
}

pub fn internal(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "dashboard request failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("ระบบขัดข้อง / internal error: {error}"),
    )
        .into_response()
}

/// A refusal page: one line saying why, in the reader's language.
pub fn refused(status: StatusCode, message: &str) -> Response {
    sajja_edge::web::refusal_page(status, message, "/static/dash.css").into_response()
}
