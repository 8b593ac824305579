//! The coordinators' dashboard: served by `sajja-hub run` when `[web] listen`
//! is set, on its own port.
//!
//! Server-rendered pages (askama templates compiled into the binary) whose
//! forms post normally, so they work without JavaScript and print; charts
//! are SVG drawn on the server. Every figure comes from the same
//! [`crate::read::query`] functions the `Query` service answers with, and every
//! page and download asks `Caller::may_query` about its scope, as a gRPC
//! call does: the dashboard is another rendering of one computation.
//!
//! - [`accounts`]: accounts from one-time codes, sessions (`web_users.sqlite`).
//! - [`words`]: Thai and English labels.
//! - [`charts`]: month-by-month trends as SVG.
//! - [`pages`]: one handler per page, its template in `hub/templates/`.
//! - [`exports`]: CSV and JSON downloads, the researcher's de-identified export.

pub mod accounts;
pub mod charts;
pub mod exports;
pub mod pages;
pub mod words;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use sajja_edge::web::cookie;
use sajja_edge::web::lang::Lang;

use crate::config::HubConfig;
use crate::ingest::accept::Ingest;
use crate::ingest::admin::HubIdentity;
use crate::net::gate::Caller;
use crate::read::cache::Reader;
use crate::read::query::Scope;
use crate::store::StoreError;
use accounts::{Account, AccountError, Accounts};
use words::Words;

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
    identity: HubIdentity,
    /// The dashboard's own connection for reading, as the `Query` service has.
    store: Mutex<Reader>,
    /// The hub's writer, shared with the `Sync` service: a sign-off made here
    /// wakes the relay like any commit.
    ingest: Arc<Mutex<Ingest>>,
    accounts: Mutex<Accounts>,
    throttle: sajja_edge::web::throttle::Throttle,
    /// Cookie names of this hub's dashboard: a browser keeps cookies per
    /// host, not per port, so a province and a tambon dashboard (or a node's
    /// app) on one machine must not overwrite each other's sessions.
    pub session_cookie: String,
    pub login_cookie: String,
}

pub type Shared = Arc<App>;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
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

/// `1234` basis points as `12.34%`.
pub fn percent(basis_points: Option<i64>) -> String {
    basis_points.map_or("–".into(), |bp| {
        format!("{}%", sajja_common::position::basis_points_text(bp))
    })
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

const DASH_CSS: &str = include_str!("../../static/dash.css");

async fn stylesheet() -> Response {
    sajja_edge::web::stylesheet(DASH_CSS).into_response()
}

pub fn router(app: Shared) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/welcome", get(pages::welcome_form).post(pages::welcome))
        .route("/logout", post(pages::logout))
        .route("/lang", get(pages::switch_lang))
        .route("/scope/{scope}", get(pages::overview))
        .route("/scope/{scope}/attention", get(pages::attention))
        .route("/scope/{scope}/groups", get(pages::groups))
        .route("/scope/{scope}/pools", get(pages::pools))
        .route("/scope/{scope}/signoffs", get(pages::sign_offs))
        .route("/scope/{scope}/forum", get(pages::forum))
        .route("/scope/{scope}/groups.csv", get(exports::groups_csv))
        .route("/scope/{scope}/groups.json", get(exports::groups_json))
        .route("/scope/{scope}/trends.csv", get(exports::trends_csv))
        .route("/scope/{scope}/research.csv", get(exports::research_csv))
        .route("/group/{group}", get(pages::group))
        .route("/signoff", post(pages::sign_off))
        .route("/static/dash.css", get(stylesheet))
        .layer(DefaultBodyLimit::max(FORM_BYTES_MAX))
        // gzip when the browser asks: a province's group table is long.
        .layer(tower_http::compression::CompressionLayer::new())
        .with_state(app)
}

/// Binds the dashboard's address and writes `http://addr` to `web.addr` in
/// the data directory (write-then-rename) for scripts, tests and the demo.
pub async fn bind(config: &HubConfig) -> Result<Option<tokio::net::TcpListener>, WebError> {
    let Some(listen) = config.web.listen else {
        return Ok(None);
    };
    let bind_error = |source| WebError::Bind {
        addr: listen,
        source,
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(bind_error)?;
    let addr = listener.local_addr().map_err(bind_error)?;
    let file = config.web_addr_file();
    let tmp = file.with_extension("addr.tmp");
    std::fs::write(&tmp, format!("http://{addr}\n"))
        .and_then(|()| std::fs::rename(&tmp, &file))
        .map_err(bind_error)?;
    tracing::info!(hub = %config.hub_id, %addr, "dashboard listening on http://{addr}");
    Ok(Some(listener))
}

/// Serves the dashboard on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(Arc::new(app)))
        .with_graceful_shutdown(shutdown)
        .await
}
