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
//! - [`exchange_app`], [`exchange_words`]: exchange mode's screens (accounts,
//!   transfers, vouchers, statements), served by [`exchange_router`].

#[macro_use]
mod app;
pub mod approvals;
pub mod benefits;
pub mod cli;
pub mod close;
pub mod corrections;
pub mod exchange_app;
pub mod exchange_words;
pub mod forms;
pub mod loans;
pub mod pages;
pub mod people;
pub mod sheet;
pub mod users;
pub mod words;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub use app::{
    App, FORM_BYTES_MAX, FORM_FIELDS_MAX, LANG_COOKIE, LOGIN_COOKIE, SESSION_COOKIE, Shared,
    WebError, cookie, internal, lang_of, refused, same_token, say, session, set_cookie,
};

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

/// Exchange mode's router: the exchange's screens, with the login, the
/// language switch and the stylesheet shared with the group's app.
pub fn exchange_router(app: Shared) -> Router {
    Router::new()
        .route("/", get(exchange_app::home))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/lang", get(pages::switch_lang))
        .route(
            "/transfer",
            get(exchange_app::transfer_form).post(exchange_app::post_transfer),
        )
        .route(
            "/open",
            get(exchange_app::open_form).post(exchange_app::post_open),
        )
        .route(
            "/vouchers",
            get(exchange_app::vouchers_form).post(exchange_app::post_vouchers),
        )
        .route("/accounts/{account}", get(exchange_app::statement))
        .route("/accounts/{account}/limit", post(exchange_app::post_limit))
        .route("/static/app.css", get(stylesheet))
        .layer(DefaultBodyLimit::max(FORM_BYTES_MAX))
        .layer(tower_http::compression::CompressionLayer::new())
        .with_state(app)
}

/// Serves the app on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = if app.is_exchange() {
        exchange_router(Arc::new(app))
    } else {
        router(Arc::new(app))
    };
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
