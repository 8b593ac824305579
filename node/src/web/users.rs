//! The app's accounts and sessions, in `users.sqlite` beside the ledger.
//!
//! A separate file on purpose: the ledger file is what is signed, synced and
//! backed up as the group's books; who may log in to this Pi is local access
//! control and never leaves it. Passwords are hashed with Argon2id; a session
//! cookie holds a random token whose SHA-256 alone is stored, so a copy of the
//! file does not let anyone in.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rusqlite::{Connection, OptionalExtension, params};

use super::words::Role;

pub const USERS_FILE: &str = "users.sqlite";
/// A session ends this long after login, however busy it was: a phone left
/// on the hall table does not stay logged in overnight.
pub const SESSION_SECONDS: i64 = 8 * 3_600;
pub const NAME_LENGTH_MAX: usize = 64;
pub const PASSWORD_LENGTH_MIN: usize = 8;
pub const PASSWORD_LENGTH_MAX: usize = 256;
/// Old sessions are swept at login; this bounds the table all the same.
const SESSIONS_MAX: i64 = 1_000;

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
    conn: Connection,
}

pub fn users_path(data_dir: &Path) -> PathBuf {
    data_dir.join(USERS_FILE)
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Argon2id with OWASP's smallest recommended memory (19 MiB, 2 passes): a
/// login costs a Raspberry Pi a fraction of a second and 19 MiB, once.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn token_hash(token: &str) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, token.as_bytes())
        .as_ref()
        .to_vec()
}

pub fn random_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
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
             CREATE TABLE IF NOT EXISTS sessions (
                 token_hash BLOB PRIMARY KEY,
                 name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
                 csrf TEXT NOT NULL,
                 expires_at INTEGER NOT NULL
             );",
        )?;
        restrict_mode(&path);
        Ok(Users { conn })
    }

    pub fn add(&self, name: &str, role: Role, password: &str) -> Result<(), UserError> {
        check_name(name)?;
        if !(PASSWORD_LENGTH_MIN..=PASSWORD_LENGTH_MAX).contains(&password.chars().count()) {
            return Err(UserError::BadPassword);
        }
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
            .map_err(|e| UserError::Hash(e.to_string()))?;
        let hash = hasher()
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| UserError::Hash(e.to_string()))?
            .to_string();
        let inserted = self.conn.execute(
            "INSERT OR IGNORE INTO users (name, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![name, role.name(), hash, now_unix()],
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
        let Some((role, stored)) = row else {
            let salt =
                SaltString::encode_b64(&[0u8; 16]).map_err(|e| UserError::Hash(e.to_string()))?;
            let _ = hasher().hash_password(password.as_bytes(), &salt);
            return Ok(None);
        };
        let parsed = PasswordHash::new(&stored).map_err(|e| UserError::Hash(e.to_string()))?;
        if hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_err()
        {
            return Ok(None);
        }
        Ok(Some(
            Role::parse(&role).map_err(|_| UserError::BadRole(role))?,
        ))
    }

    /// Starts a session; returns the cookie token (stored only as its hash).
    pub fn start_session(&self, name: &str) -> Result<String, UserError> {
        let now = now_unix();
        self.conn
            .execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])?;
        self.conn.execute(
            "DELETE FROM sessions WHERE token_hash IN (
                 SELECT token_hash FROM sessions ORDER BY expires_at DESC LIMIT -1 OFFSET ?1)",
            [SESSIONS_MAX - 1],
        )?;
        let token = random_token();
        self.conn.execute(
            "INSERT INTO sessions (token_hash, name, csrf, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![
                token_hash(&token),
                name,
                random_token(),
                now + SESSION_SECONDS
            ],
        )?;
        Ok(token)
    }

    pub fn session(&self, token: &str) -> Result<Option<Session>, UserError> {
        let row: Option<(String, String, String)> = self
            .conn
            .query_row(
                "SELECT s.name, u.role, s.csrf FROM sessions s JOIN users u ON u.name = s.name
                 WHERE s.token_hash = ?1 AND s.expires_at > ?2",
                params![token_hash(token), now_unix()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        match row {
            None => Ok(None),
            Some((user, role, csrf)) => Ok(Some(Session {
                user,
                role: Role::parse(&role).map_err(|_| UserError::BadRole(role))?,
                csrf,
            })),
        }
    }

    pub fn end_session(&self, token: &str) -> Result<(), UserError> {
        self.conn.execute(
            "DELETE FROM sessions WHERE token_hash = ?1",
            [token_hash(token)],
        )?;
        Ok(())
    }

    /// Ends every session of `name` now, as if its 8 hours had passed.
    #[cfg(test)]
    pub fn expire_sessions_of(&self, name: &str) -> Result<(), UserError> {
        self.conn
            .execute("UPDATE sessions SET expires_at = 0 WHERE name = ?1", [name])?;
        Ok(())
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
