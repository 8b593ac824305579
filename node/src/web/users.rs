//! The app's accounts and sessions, in `users.sqlite` beside the ledger.
//!
//! A separate file on purpose: the ledger file is what is signed, synced and
//! backed up as the group's books; who may log in to this Pi is local access
//! control and never leaves it. Passwords are hashed with Argon2id; a session
//! cookie holds a random token whose SHA-256 alone is stored, so a copy of the
//! file does not let anyone in.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};
use sajja_edge::clock::unix_now;
use sajja_edge::web::password::{self, PasswordError};
pub use sajja_edge::web::password::{PASSWORD_LENGTH_MAX, PASSWORD_LENGTH_MIN};
pub use sajja_edge::web::random_token;
use sajja_edge::web::sessions;
pub use sajja_edge::web::sessions::SESSION_SECONDS;

use super::words::Role;

/// The maker–checker queue of [`super::approvals`], kept in the same file as
/// the accounts (local access control, never synced).
pub const PROPOSALS_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS proposals (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    fields TEXT NOT NULL,
    reason TEXT NOT NULL,
    proposed_by TEXT NOT NULL,
    proposed_at INTEGER NOT NULL,
    decided_by TEXT,
    decided_at INTEGER,
    outcome TEXT,
    seq INTEGER
);";

pub const USERS_FILE: &str = "users.sqlite";
pub const NAME_LENGTH_MAX: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("users database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("user '{0}' already exists")]
    Exists(String),
    #[error("no user '{0}'")]
    Unknown(String),
    #[error("a user name is 1 to {NAME_LENGTH_MAX} letters, digits, '.', '-' or '_'")]
    BadName,
    #[error("a password is {PASSWORD_LENGTH_MIN} to {PASSWORD_LENGTH_MAX} characters")]
    BadPassword,
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("{0} proposals are already waiting for approval: decide those first")]
    QueueFull(usize),
    #[error("stored role '{0}' is unknown: the users file is damaged")]
    BadRole(String),
}

/// Someone logged in, as a request sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub user: String,
    pub role: Role,
    /// The form token every POST of this session must carry.
    pub csrf: String,
}

pub struct Users {
    /// Shared with [`super::approvals`], whose queue lives in the same file.
    pub(super) conn: Connection,
}

pub fn users_path(data_dir: &Path) -> PathBuf {
    data_dir.join(USERS_FILE)
}

fn check_name(name: &str) -> Result<(), UserError> {
    let ok = !name.is_empty()
        && name.len() <= NAME_LENGTH_MAX
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok { Ok(()) } else { Err(UserError::BadName) }
}

impl Users {
    pub fn open(data_dir: &Path) -> Result<Users, UserError> {
        let path = users_path(data_dir);
        let conn = Connection::open(&path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE IF NOT EXISTS users (
                 name TEXT PRIMARY KEY,
                 role TEXT NOT NULL,
                 password_hash TEXT NOT NULL,
                 created_at INTEGER NOT NULL
             );
",
        )?;
        conn.execute_batch(sessions::SCHEMA)?;
        conn.execute_batch(PROPOSALS_SCHEMA)?;
        restrict_mode(&path);
        Ok(Users { conn })
    }

    pub fn add(&self, name: &str, role: Role, password: &str) -> Result<(), UserError> {
        check_name(name)?;
        let hash = password::hash(password).map_err(|e| match e {
            PasswordError::BadLength => UserError::BadPassword,
            PasswordError::Hash(e) => UserError::Hash(e),
        })?;
        let inserted = self.conn.execute(
            "INSERT OR IGNORE INTO users (name, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![name, role.name(), hash, unix_now()],
        )?;
        if inserted == 0 {
            return Err(UserError::Exists(name.to_string()));
        }
        Ok(())
    }

    pub fn list(&self) -> Result<Vec<(String, Role)>, UserError> {
        let mut statement = self
            .conn
            .prepare("SELECT name, role FROM users ORDER BY name")?;
        let rows =
            statement.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (name, role) = row?;
            out.push((
                name,
                Role::parse(&role).map_err(|_| UserError::BadRole(role))?,
            ));
        }
        Ok(out)
    }

    /// Checks a password; the hash is computed even for an unknown name, so
    /// the answer's timing does not tell which names exist.
    pub fn check_password(&self, name: &str, password: &str) -> Result<Option<Role>, UserError> {
        let row: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT role, password_hash FROM users WHERE name = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let stored = row.as_ref().map(|(_, hash)| hash.as_str());
        if !password::verify(password, stored).map_err(|e| UserError::Hash(e.to_string()))? {
            return Ok(None);
        }
        let Some((role, _)) = row else {
            return Ok(None);
        };
        Ok(Some(
            Role::parse(&role).map_err(|_| UserError::BadRole(role))?,
        ))
    }

    /// Starts a session; returns the cookie token (stored only as its hash).
    pub fn start_session(&self, name: &str) -> Result<String, UserError> {
        Ok(sessions::start(&self.conn, name)?)
    }

    pub fn session(&self, token: &str) -> Result<Option<Session>, UserError> {
        let Some(live) = sessions::find(&self.conn, token)? else {
            return Ok(None);
        };
        let role: Option<String> = self
            .conn
            .query_row(
                "SELECT role FROM users WHERE name = ?1",
                [&live.name],
                |r| r.get(0),
            )
            .optional()?;
        match role {
            None => Ok(None),
            Some(role) => Ok(Some(Session {
                user: live.name,
                role: Role::parse(&role).map_err(|_| UserError::BadRole(role))?,
                csrf: live.csrf,
            })),
        }
    }

    pub fn end_session(&self, token: &str) -> Result<(), UserError> {
        Ok(sessions::end(&self.conn, token)?)
    }

    /// Ends every session of `name` now, as if its 8 hours had passed.
    #[cfg(test)]
    pub fn expire_sessions_of(&self, name: &str) -> Result<(), UserError> {
        Ok(sessions::expire_all_of(&self.conn, name)?)
    }
}

fn restrict_mode(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_opens_a_session_and_a_wrong_one_does_not() {
        let dir = tempfile::tempdir().expect("dir");
        let users = Users::open(dir.path()).expect("open");
        users
            .add("somchai", Role::Treasurer, "correct horse")
            .expect("add");
        assert!(matches!(
            users.add("somchai", Role::Viewer, "another one"),
            Err(UserError::Exists(_))
        ));
        assert_eq!(
            users
                .check_password("somchai", "wrong pass")
                .expect("check"),
            None
        );
        assert_eq!(
            users
                .check_password("nobody", "correct horse")
                .expect("check"),
            None
        );
        let role = users
            .check_password("somchai", "correct horse")
            .expect("check");
        assert_eq!(role, Some(Role::Treasurer));
        let token = users.start_session("somchai").expect("session");
        let session = users.session(&token).expect("read").expect("live");
        assert_eq!(session.role, Role::Treasurer);
        assert_eq!(users.session("not-a-token").expect("read"), None);
        users.expire_sessions_of("somchai").expect("expire");
        assert_eq!(users.session(&token).expect("read"), None);
    }
}
