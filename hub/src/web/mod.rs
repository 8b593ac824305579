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
pub mod app;
pub mod charts;
pub mod exports;
pub mod pages;
pub mod words;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::config::HubConfig;
use app::{App, FORM_BYTES_MAX, Shared, WebError};

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
