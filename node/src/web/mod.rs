//! The treasurer's screen: a web app served by `sajja-node run` itself when
//! `[web] listen` is set, on the village hall's Wi-Fi.
//!
//! Server-rendered pages (askama templates compiled into the binary) whose
//! forms post normally, so they work without JavaScript; nothing is fetched
//! from the internet. Every page reads the node's own ledger through the same
//! `Store` the CLI uses, and every entry goes through the same batch and the
//! same `Books::apply`: the app is a third rendering of one computation.
//!
//! - [`users`]: accounts and sessions (`users.sqlite`, Argon2id).
//! - [`words`]: Thai and English labels; Buddhist-era dates.
//! - [`sheet`]: the meeting-day collection sheet.
//! - [`benefits`], [`loans`], [`corrections`], [`close`], [`people`]: the
//!   pages beyond the meeting; [`approvals`]: the maker–checker queue.
//! - [`pages`]: one handler per page, its template beside it in `templates/`.

/// The page a failed step returns, as it is.
macro_rules! or_respond {
    ($e:expr) => {
        match $e {
            Ok(value) => value,
            Err(response) => return response,
        }
    };
}

pub mod approvals;
pub mod benefits;
pub mod cli;
pub mod close;
pub mod corrections;
pub mod loans;
pub mod pages;
pub mod people;
pub mod sheet;
pub mod users;
pub mod words;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::store::{Store, StoreError};
use users::{Session, UserError, Users};
use words::Lang;

/// The largest request body the app reads: a 5,000-member meeting sheet with
/// every field typed stays well under it.
pub const FORM_BYTES_MAX: usize = 1024 * 1024;
/// The most fields one form may carry (four a row on the largest sheet).
pub const FORM_FIELDS_MAX: usize = 4 * sheet::SHEET_ROWS_MAX + 16;
pub use sajja_edge::web::{LANG_COOKIE, LOGIN_COOKIE, SESSION_COOKIE};

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Users(#[from] UserError),
    #[error("page template: {0}")]
    Template(#[from] askama::Error),
    #[error("web listener {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

/// What every handler shares: the ledger, the accounts, the login throttle.
pub struct App {
    pub data_dir: PathBuf,
    store: Mutex<Store>,
    paid: Mutex<sheet::PaidPeriods>,
    users: Mutex<Users>,
    throttle: sajja_edge::web::throttle::Throttle,
}

pub type Shared = Arc<App>;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A handler that panicked mid-request left nothing half-written (a batch
    // commits or drops whole), so the data behind a poisoned lock is sound.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl App {
    pub fn open(data_dir: &Path, ledger: &Path) -> Result<App, WebError> {
        Ok(App {
            data_dir: data_dir.to_path_buf(),
            store: Mutex::new(Store::open(ledger)?),
            paid: Mutex::new(sheet::PaidPeriods::default()),
            users: Mutex::new(Users::open(data_dir)?),
            throttle: Default::default(),
        })
    }

    /// The ledger as it stands now, re-read if the CLI appended meanwhile.
    pub fn store(&self) -> Result<MutexGuard<'_, Store>, StoreError> {
        let mut store = lock(&self.store);
        store.refresh()?;
        Ok(store)
    }

    /// Contributions per member and period, brought up to `store`'s head.
    pub fn paid(&self, store: &Store) -> Result<MutexGuard<'_, sheet::PaidPeriods>, StoreError> {
        let mut paid = lock(&self.paid);
        paid.update(store)?;
        Ok(paid)
    }

    pub fn users(&self) -> MutexGuard<'_, Users> {
        lock(&self.users)
    }

    /// How long `name` must still wait before another login try, if at all.
    fn login_wait(&self, name: &str) -> Option<Duration> {
        self.throttle.wait(name)
    }

    fn login_failed(&self, name: &str) {
        self.throttle.failed(name);
    }

    fn login_succeeded(&self, name: &str) {
        self.throttle.succeeded(name);
    }
}

pub use sajja_edge::web::{cookie, same_token, set_cookie};

pub fn lang_of(headers: &HeaderMap) -> Lang {
    Lang::from_code(sajja_edge::web::lang_code(headers))
}

/// Who is asking, or the response that sends them to log in.
// The refusal is the page to send: returned as is, on a path taken once a request.
#[allow(clippy::result_large_err)]
pub fn session(app: &App, headers: &HeaderMap) -> Result<Session, Response> {
    let token = cookie(headers, SESSION_COOKIE).unwrap_or("");
    if token.is_empty() {
        return Err(Redirect::to("/login").into_response());
    }
    match app.users().session(token) {
        Ok(Some(session)) => Ok(session),
        Ok(None) => Err(Redirect::to("/login?expired=1").into_response()),
        Err(error) => Err(internal(error)),
    }
}

pub fn internal(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "web request failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("ระบบขัดข้อง / internal error: {error}"),
    )
        .into_response()
}

/// A store error as the reader should see it: a ledger refusal in their
/// language and without the log's coordinates, anything else as it is.
pub fn say(lang: Lang, error: &StoreError) -> String {
    match (crate::store::refusal_rule(error), lang) {
        (Some(rule), Lang::Th) => rule.thai(),
        (Some(rule), Lang::En) => rule.to_string(),
        (None, _) => error.to_string(),
    }
}

/// A refusal page: one line saying why, in the reader's language.
pub fn refused(status: StatusCode, message: &str) -> Response {
    sajja_edge::web::refusal_page(status, message, "/static/app.css").into_response()
}

const APP_CSS: &str = include_str!("../../static/app.css");

async fn stylesheet() -> Response {
    sajja_edge::web::stylesheet(APP_CSS).into_response()
}

pub fn router(app: Shared) -> Router {
    Router::new()
        .route("/", get(pages::today))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/lang", get(pages::switch_lang))
        .route("/meeting", get(pages::meeting).post(pages::record_meeting))
        .route("/receipt", get(pages::receipt))
        .route("/members", get(pages::members).post(pages::add_member))
        .route("/members/{member}", get(pages::passbook))
        .route(
            "/benefits",
            get(benefits::benefits).post(benefits::post_benefit),
        )
        .route("/loans", get(loans::loans).post(loans::post_loan))
        .route("/approvals", get(approvals::approvals))
        .route("/approvals/{id}", post(approvals::decide))
        .route(
            "/corrections",
            get(corrections::corrections).post(corrections::propose_reversal),
        )
        .route("/close", get(close::close).post(close::close_month))
        .route("/backup", get(close::backup))
        .route("/people", get(people::people).post(people::add_person))
        .route("/balance", get(pages::balance))
        .route("/balance.csv", get(pages::balance_csv))
        .route("/static/app.css", get(stylesheet))
        .layer(DefaultBodyLimit::max(FORM_BYTES_MAX))
        // gzip when the browser asks: HTML tables shrink about tenfold, which
        // is what makes a 2,000-row sheet usable on a slow hall connection.
        .layer(tower_http::compression::CompressionLayer::new())
        .with_state(app)
}

/// Serves the app on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = router(Arc::new(app));
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Binds the app's address; the bound address (with the real port when 0 was
/// asked) is written to `web.addr` in the data directory for scripts and tests.
pub async fn bind(
    listen: &str,
    data_dir: &Path,
) -> Result<(tokio::net::TcpListener, SocketAddr), WebError> {
    let bind_error = |source| WebError::Bind {
        addr: listen.to_string(),
        source,
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(bind_error)?;
    let addr = listener.local_addr().map_err(bind_error)?;
    let _ = std::fs::write(data_dir.join("web.addr"), format!("http://{addr}\n"));
    Ok((listener, addr))
}
