//! What every handler shares: the app's state ([`App`]: the ledger, the
//! accounts, the login throttle), who is asking, and the refusal and error
//! pages. The handlers' modules use this file; it uses none of them.

/// The page a failed step returns, as it is.
macro_rules! or_respond {
    ($e:expr) => {
        match $e {
            Ok(value) => value,
            Err(response) => return response,
        }
    };
}

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::sheet;
use super::users::{Session, UserError, Users};
use super::words::Lang;
use crate::exchange::{ExchangeStore, ExchangeStoreError};
use crate::store::{Damage, Store, StoreError};

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
    Exchange(#[from] ExchangeStoreError),
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

/// What the app keeps the books of: a group's ledger (the treasurer's
/// screen) or a community exchange's log (exchange mode). Each mode has its
/// own router ([`super::router`], [`super::exchange_router`]); login,
/// sessions and the language switch are shared.
enum Ledger {
    Group(Box<GroupLedger>),
    Exchange(Box<Mutex<ExchangeStore>>),
}

struct GroupLedger {
    store: Mutex<Store>,
    paid: Mutex<sheet::PaidPeriods>,
}

/// What every handler shares: the ledger, the accounts, the login throttle.
pub struct App {
    pub data_dir: PathBuf,
    ledger: Ledger,
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
            ledger: Ledger::Group(Box::new(GroupLedger {
                store: Mutex::new(Store::open(ledger)?),
                paid: Mutex::new(sheet::PaidPeriods::default()),
            })),
            users: Mutex::new(Users::open(data_dir)?),
            throttle: Default::default(),
        })
    }

    /// The app of an exchange's node, on its `exchange.sqlite`.
    pub fn open_exchange(data_dir: &Path, file: &Path) -> Result<App, WebError> {
        Ok(App {
            data_dir: data_dir.to_path_buf(),
            ledger: Ledger::Exchange(Box::new(Mutex::new(ExchangeStore::open(file)?))),
            users: Mutex::new(Users::open(data_dir)?),
            throttle: Default::default(),
        })
    }

    /// Whether this app keeps a community exchange (exchange mode).
    pub fn is_exchange(&self) -> bool {
        matches!(self.ledger, Ledger::Exchange(_))
    }

    /// The ledger as it stands now, re-read if the CLI appended meanwhile.
    pub fn store(&self) -> Result<MutexGuard<'_, Store>, StoreError> {
        let Ledger::Group(group) = &self.ledger else {
            return Err(Damage::Meta(
                "this node keeps a community exchange, not a group's ledger".into(),
            )
            .into());
        };
        let mut store = lock(&group.store);
        store.refresh()?;
        Ok(store)
    }

    /// The exchange's log as it stands now, re-read if the CLI appended.
    pub fn exchange(&self) -> Result<MutexGuard<'_, ExchangeStore>, ExchangeStoreError> {
        let Ledger::Exchange(store) = &self.ledger else {
            return Err(ExchangeStoreError::Damaged(
                "this node keeps a group's ledger, not a community exchange".into(),
            ));
        };
        let mut store = lock(store);
        store.refresh()?;
        Ok(store)
    }

    /// Contributions per member and period, brought up to `store`'s head.
    pub fn paid(&self, store: &Store) -> Result<MutexGuard<'_, sheet::PaidPeriods>, StoreError> {
        let Ledger::Group(group) = &self.ledger else {
            return Err(Damage::Meta(
                "this node keeps a community exchange, not a group's ledger".into(),
            )
            .into());
        };
        let mut paid = lock(&group.paid);
        paid.update(store)?;
        Ok(paid)
    }

    pub fn users(&self) -> MutexGuard<'_, Users> {
        lock(&self.users)
    }

    /// How long `name` must still wait before another login try, if at all.
    pub(super) fn login_wait(&self, name: &str) -> Option<Duration> {
        self.throttle.wait(name)
    }

    pub(super) fn login_failed(&self, name: &str) {
        self.throttle.failed(name);
    }

    pub(super) fn login_succeeded(&self, name: &str) {
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
