//! The file itself: schema versions and their migrations, the connection's
//! pragmas (WAL, `synchronous=FULL`), opening an existing file, removing a
//! half-made one.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, TransactionBehavior};

use super::error::StoreError;
use super::limits::BUSY_TIMEOUT_MS;

/// The schema this program writes. `PRAGMA user_version` holds the file's.
pub const SCHEMA_VERSION: u32 = 3;

/// `MIGRATIONS[v]` takes a database from schema version `v` to `v + 1`.
/// Version 0 is SQLite's empty file.
pub(super) const MIGRATIONS: &[&str] = &[
    // 0 -> 1: the first schema.
    "
    CREATE TABLE meta (
        id             INTEGER PRIMARY KEY CHECK (id = 1),
        group_id       TEXT    NOT NULL,
        fork_epoch     INTEGER NOT NULL DEFAULT 0,
        hub_acked_seq  INTEGER NOT NULL DEFAULT 0,
        last_sync_at   INTEGER,
        books_seq      INTEGER NOT NULL DEFAULT 0,
        created_at     INTEGER NOT NULL,
        hub_url        TEXT,
        hub_ca_pem     BLOB
    );
    CREATE TABLE secrets (
        id           INTEGER PRIMARY KEY CHECK (id = 1),
        signing_seed BLOB    NOT NULL
    );
    CREATE TABLE events (
        seq           INTEGER PRIMARY KEY,
        bytes         BLOB    NOT NULL,
        hash          BLOB    NOT NULL,
        business_date INTEGER NOT NULL
    );
    CREATE TABLE member_register (
        member      INTEGER PRIMARY KEY,
        name        TEXT NOT NULL,
        phone       TEXT,
        national_id TEXT
    );
    CREATE TABLE book_lines (
        account TEXT PRIMARY KEY,
        debit   INTEGER NOT NULL,
        credit  INTEGER NOT NULL
    );
    CREATE TABLE book_members (
        member      INTEGER PRIMARY KEY,
        savings     INTEGER NOT NULL,
        contributed INTEGER NOT NULL,
        active      INTEGER NOT NULL
    );
    ",
    // 1 -> 2: hubs require a client certificate (mutual TLS), so the link
    // holds the one the group's enrolment bundle carries. A link migrated from
    // version 1 keeps its url and CA and has no certificate until a bundle is
    // installed; `sync` says so rather than failing the handshake.
    "
    ALTER TABLE meta ADD COLUMN hub_id             TEXT;
    ALTER TABLE meta ADD COLUMN hub_cert_pem       BLOB;
    ALTER TABLE meta ADD COLUMN hub_key_pem        BLOB;
    ALTER TABLE meta ADD COLUMN hub_cert_serial    TEXT;
    ALTER TABLE meta ADD COLUMN hub_cert_not_after INTEGER;
    ",
    // 2 -> 3: each CSV import records the digest of the file it brought in,
    // in the transaction of its events, so the same file is not imported
    // twice by mistake. Ledgers from before have no record, so nothing they
    // imported is refused again: the table simply starts empty.
    "
    CREATE TABLE imports (
        id          INTEGER PRIMARY KEY,
        sha256      BLOB    NOT NULL,
        file_name   TEXT    NOT NULL,
        events      INTEGER NOT NULL,
        first_seq   INTEGER NOT NULL,
        last_seq    INTEGER NOT NULL,
        imported_at INTEGER NOT NULL,
        again       INTEGER NOT NULL
    );
    CREATE INDEX imports_by_digest ON imports (sha256);
    ",
];

pub(super) fn connect(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS))?;
    // WAL keeps readers (the daemon) off the writer's back; FULL fsyncs the WAL
    // on every commit, so a power cut loses at most the transaction in flight.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(mode, "database did not switch to WAL");
    }
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
    Ok(conn)
}

/// Brings the schema up to [`SCHEMA_VERSION`], one version per transaction.
pub fn migrate(conn: &mut Connection) -> Result<u32, StoreError> {
    let mut version: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    while version < SCHEMA_VERSION {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(MIGRATIONS[version as usize])?;
        version += 1;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
        tracing::info!(version, "database schema migrated");
    }
    Ok(version)
}

pub(super) fn schema_version(conn: &Connection) -> Result<u32, StoreError> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// `retired_keys` holds the keys the log has handed on, with their seeds:
/// a hub that is behind still needs checkpoints before a rotation signed with
/// the key of that time. Created on open rather than by a schema version: it
/// starts empty, which is right for every ledger that never rotated.
pub(super) fn create_key_history(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS retired_keys (
             until_seq    INTEGER PRIMARY KEY,
             public_key   BLOB NOT NULL,
             signing_seed BLOB
         );",
    )?;
    Ok(())
}

/// Opens an existing database file read-write, refusing a missing one (so a
/// typo in `--data-dir` never creates an empty ledger).
pub(super) fn open_existing(path: &Path) -> Result<Connection, StoreError> {
    if !path.exists() {
        return Err(StoreError::Missing(path.to_path_buf()));
    }
    let mut conn = connect(path)?;
    migrate(&mut conn)?;
    create_key_history(&conn)?;
    Ok(conn)
}

/// Removes a ledger file and its WAL and shared-memory files (a ledger
/// half-made by a failed create or restore).
pub fn remove_database(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}
