//! The dashboard's accounts, in `web_users.sqlite` in the hub's data
//! directory (not in `hub.sqlite`, which is relayed and kept as evidence).
//!
//! An account is made by `sajja-hub enrol coordinator|agency|researcher|operator`,
//! which prints a one-time code; the person sets a password with it at
//! `/welcome`. Codes and session tokens are stored only as their SHA-256 and
//! passwords only as Argon2id hashes, so a copy of the file lets no one in.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use sajja_edge::clock::unix_now;
use sajja_edge::web::password::{self, PasswordError};
use sajja_edge::web::sessions;

use crate::values::principal::{Principal, check_name, is_scope_geocode};

/// A one-time code is good for a week: long enough to reach a coordinator
/// by phone, short enough that a lost note stops mattering.
pub const CODE_SECONDS: i64 = 7 * 86_400;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("dashboard accounts database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error("'{0}' is not an account name: a-z, 0-9, '.', '_', '-'")]
    BadName(String),
    #[error("'{0}' is not a scope: a province (2 digits) or tambon (6 digits) geocode")]
    BadScope(String),
    #[error("stored role '{0}' is unknown: the accounts file is damaged")]
    BadRole(String),
}

/// The network's knowledge-management roles (BRIEF.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebRole {
    /// คุณอำนวย: sees everything in the scope.
    Coordinator,
    /// คุณเอื้อ: the scope's figures and groups.
    Agency,
    /// คุณวิจัย: also the de-identified export.
    Researcher,
    /// Signs off months; sees the whole hub.
    Operator,
}

impl WebRole {
    pub fn name(self) -> &'static str {
        match self {
            WebRole::Coordinator => "coordinator",
            WebRole::Agency => "agency",
            WebRole::Researcher => "researcher",
            WebRole::Operator => "operator",
        }
    }

    pub fn parse(text: &str) -> Option<WebRole> {
        [
            WebRole::Coordinator,
            WebRole::Agency,
            WebRole::Researcher,
            WebRole::Operator,
        ]
        .into_iter()
        .find(|r| r.name() == text)
    }

    pub fn may_sign_off(self) -> bool {
        self == WebRole::Operator
    }

    pub fn may_export_research(self) -> bool {
        matches!(self, WebRole::Researcher | WebRole::Operator)
    }

    /// Loans in arrears and sign-offs are the coordinator's work; an agency
    /// reads the figures and the groups.
    pub fn sees_details(self) -> bool {
        self != WebRole::Agency
    }
}

/// Someone logged in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub role: WebRole,
    /// The geocode the account may read; the hub's own for an operator.
    pub scope: String,
    /// The form token every POST of this session must carry.
    pub csrf: String,
}

impl Account {
    /// The principal the `Query` service's rules are asked about: the same
    /// `Caller::may_query` and `Audience` decide for the web as for gRPC.
    pub fn principal(&self) -> Principal {
        match self.role {
            WebRole::Operator => Principal::Operator(self.name.clone()),
            _ => Principal::Coordinator {
                name: self.name.clone(),
                scope: self.scope.clone(),
            },
        }
    }
}

pub struct Accounts {
    conn: Connection,
}

/// One researcher export as recorded: when (unix), who, which scope and
/// period (ISO dates), and how many rows it gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportRecord {
    pub at: i64,
    pub account: String,
    pub scope: String,
    pub from: String,
    pub until: String,
    pub rows: i64,
}

fn digest(text: &str) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, text.as_bytes())
        .as_ref()
        .to_vec()
}

/// A code a person reads off a screen and types: 12 letters and digits
/// without look-alikes (no 0/O, 1/I/L), in three groups.
fn new_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let bytes = rand::random::<[u8; 12]>();
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// A typed code as stored: upper case, without spaces or dashes.
fn normal_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

impl Accounts {
    pub fn open(path: &Path) -> Result<Accounts, AccountError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS users (
                 name TEXT PRIMARY KEY,
                 role TEXT NOT NULL,
                 scope TEXT NOT NULL,
                 password_hash TEXT,
                 code_hash BLOB,
                 code_expires_at INTEGER
             );
             CREATE TABLE IF NOT EXISTS export_audit (
                 at INTEGER NOT NULL,
                 account TEXT NOT NULL,
                 scope TEXT NOT NULL,
                 from_date TEXT NOT NULL,
                 until_date TEXT NOT NULL,
                 rows INTEGER NOT NULL
             );",
        )?;
        conn.execute_batch(sessions::SCHEMA)?;
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        Ok(Accounts { conn })
    }

    /// Makes the account (or resets it: a forgotten password is a new code)
    /// and returns the one-time code to hand over. Its sessions end.
    pub fn issue_code(
        &self,
        name: &str,
        role: WebRole,
        scope: &str,
    ) -> Result<String, AccountError> {
        if !check_name(name) {
            return Err(AccountError::BadName(name.to_string()));
        }
        if !is_scope_geocode(scope) {
            return Err(AccountError::BadScope(scope.to_string()));
        }
        let code = new_code();
        self.conn.execute(
            "INSERT INTO users (name, role, scope, password_hash, code_hash, code_expires_at)
             VALUES (?1, ?2, ?3, NULL, ?4, ?5)
             ON CONFLICT(name) DO UPDATE SET role = ?2, scope = ?3, password_hash = NULL,
                 code_hash = ?4, code_expires_at = ?5",
            params![
                name,
                role.name(),
                scope,
                digest(&normal_code(&code)),
                unix_now() + CODE_SECONDS
            ],
        )?;
        sessions::expire_all_of(&self.conn, name)?;
        Ok(code)
    }

    /// Sets the password of `name` if `code` is its live one-time code; the
    /// code is spent. False when the code is wrong, used or expired.
    pub fn redeem(&self, name: &str, code: &str, new_password: &str) -> Result<bool, AccountError> {
        let hash = password::hash(new_password)?;
        let changed = self.conn.execute(
            "UPDATE users SET password_hash = ?1, code_hash = NULL, code_expires_at = NULL
             WHERE name = ?2 AND code_hash = ?3 AND code_expires_at > ?4",
            params![hash, name, digest(&normal_code(code)), unix_now()],
        )?;
        Ok(changed == 1)
    }

    /// The account `name` opens with `password`, timing-blind to unknown names.
    pub fn check_password(&self, name: &str, password: &str) -> Result<bool, AccountError> {
        let stored: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT password_hash FROM users WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()?;
        Ok(password::verify(password, stored.flatten().as_deref())?)
    }

    /// Starts a session; returns the cookie token (stored only as its hash).
    pub fn start_session(&self, name: &str) -> Result<String, AccountError> {
        Ok(sessions::start(&self.conn, name)?)
    }

    pub fn session(&self, token: &str) -> Result<Option<Account>, AccountError> {
        let Some(live) = sessions::find(&self.conn, token)? else {
            return Ok(None);
        };
        let row: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT role, scope FROM users WHERE name = ?1 AND password_hash IS NOT NULL",
                [&live.name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((role, scope)) = row else {
            return Ok(None);
        };
        Ok(Some(Account {
            role: WebRole::parse(&role).ok_or(AccountError::BadRole(role))?,
            name: live.name,
            scope,
            csrf: live.csrf,
        }))
    }

    pub fn end_session(&self, token: &str) -> Result<(), AccountError> {
        Ok(sessions::end(&self.conn, token)?)
    }

    /// Records who took which researcher export, before it is given.
    pub fn record_export(
        &self,
        account: &str,
        scope: &str,
        from: sajja_common::Date,
        until: sajja_common::Date,
        rows: usize,
        at: i64,
    ) -> Result<(), AccountError> {
        self.conn.execute(
            "INSERT INTO export_audit (at, account, scope, from_date, until_date, rows)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                at,
                account,
                scope,
                from.to_string(),
                until.to_string(),
                rows as i64
            ],
        )?;
        Ok(())
    }

    /// Every researcher export taken, oldest first.
    pub fn export_audit(&self) -> Result<Vec<ExportRecord>, AccountError> {
        let mut stmt = self.conn.prepare(
            "SELECT at, account, scope, from_date, until_date, rows FROM export_audit ORDER BY rowid",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(ExportRecord {
                    at: r.get(0)?,
                    account: r.get(1)?,
                    scope: r.get(2)?,
                    from: r.get(3)?,
                    until: r.get(4)?,
                    rows: r.get(5)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_one_time_code_sets_a_password_once() {
        let dir = tempfile::tempdir().expect("dir");
        let accounts = Accounts::open(&dir.path().join("web_users.sqlite")).expect("open");
        let code = accounts
            .issue_code("somchai", WebRole::Coordinator, "230101")
            .expect("code");
        assert_eq!(code.len(), 14, "{code}");
        assert!(!accounts.check_password("somchai", "").expect("check"));
        assert!(
            !accounts
                .redeem("somchai", "AAAA-BBBB-CCCC", "a long password")
                .expect("redeem")
        );
        // Typed in lower case with spaces, as people do.
        let typed = code.to_lowercase().replace('-', " ");
        assert!(
            accounts
                .redeem("somchai", &typed, "a long password")
                .expect("redeem")
        );
        assert!(
            !accounts
                .redeem("somchai", &code, "another password")
                .expect("a spent code"),
            "a code opens once"
        );
        assert!(
            accounts
                .check_password("somchai", "a long password")
                .expect("check")
        );
        let token = accounts.start_session("somchai").expect("session");
        let account = accounts.session(&token).expect("find").expect("live");
        assert_eq!(account.role, WebRole::Coordinator);
        assert_eq!(account.scope, "230101");
        // A new code (a forgotten password) ends the old sessions.
        accounts
            .issue_code("somchai", WebRole::Coordinator, "230101")
            .expect("reset");
        assert_eq!(accounts.session(&token).expect("find"), None);
        assert!(
            !accounts
                .check_password("somchai", "a long password")
                .expect("check")
        );
    }
}
