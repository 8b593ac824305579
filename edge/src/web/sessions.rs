//! Sessions in a `sessions` table of an app's users database: the cookie
//! holds a random token whose SHA-256 alone is stored, so a copy of the file
//! lets no one in; each session has its own CSRF token for every form.

use rusqlite::{Connection, OptionalExtension, params};

use super::random_token;

/// A session ends this long after login, however busy it was: a screen left
/// open does not stay logged in overnight.
pub const SESSION_SECONDS: i64 = 8 * 3_600;
/// Old sessions are swept at login; this bounds the table all the same.
const SESSIONS_MAX: i64 = 1_000;

/// The table, referring to `users(name)` of the same database.
pub const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS sessions (
     token_hash BLOB PRIMARY KEY,
     name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
     csrf TEXT NOT NULL,
     expires_at INTEGER NOT NULL
 );";

use crate::clock::unix_now;

fn token_hash(token: &str) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, token.as_bytes())
        .as_ref()
        .to_vec()
}

/// A live session: whose, and the form token its POSTs must carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Live {
    pub name: String,
    pub csrf: String,
}

/// Starts a session for `name`; returns the cookie token.
pub fn start(conn: &Connection, name: &str) -> rusqlite::Result<String> {
    let now = unix_now();
    conn.execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])?;
    conn.execute(
        "DELETE FROM sessions WHERE token_hash IN (
             SELECT token_hash FROM sessions ORDER BY expires_at DESC LIMIT -1 OFFSET ?1)",
        [SESSIONS_MAX - 1],
    )?;
    let token = random_token();
    conn.execute(
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

/// The session a cookie token opens, if it is live.
pub fn find(conn: &Connection, token: &str) -> rusqlite::Result<Option<Live>> {
    conn.query_row(
        "SELECT name, csrf FROM sessions WHERE token_hash = ?1 AND expires_at > ?2",
        params![token_hash(token), unix_now()],
        |r| {
            Ok(Live {
                name: r.get(0)?,
                csrf: r.get(1)?,
            })
        },
    )
    .optional()
}

pub fn end(conn: &Connection, token: &str) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM sessions WHERE token_hash = ?1",
        [token_hash(token)],
    )?;
    Ok(())
}

/// Ends every session of `name` now, as if its hours had passed.
pub fn expire_all_of(conn: &Connection, name: &str) -> rusqlite::Result<()> {
    conn.execute("UPDATE sessions SET expires_at = 0 WHERE name = ?1", [name])?;
    Ok(())
}
