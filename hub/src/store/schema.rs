//! Opening the file: pragmas, the schema, and every migration step.

use std::path::Path;

use rusqlite::Connection;

use super::damage::*;
use super::handle::*;
use super::keys::*;
use super::snapshots::*;

/// Version 1 to 2: the snapshot tables, back-filled by folding every log.
pub(super) fn migrate_to_2(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    tx.execute_batch(
        "CREATE TABLE group_books (
             gid INTEGER PRIMARY KEY REFERENCES groups(gid),
             seq INTEGER NOT NULL,
             books BLOB NOT NULL
         );
         CREATE TABLE group_positions (
             gid INTEGER PRIMARY KEY REFERENCES groups(gid),
             seq INTEGER NOT NULL,
             max_date INTEGER,
             basis BLOB NOT NULL
         );
         CREATE TABLE position_cuts (
             gid INTEGER NOT NULL REFERENCES groups(gid),
             seq INTEGER NOT NULL,
             from_date INTEGER NOT NULL,
             until_date INTEGER NOT NULL,
             basis BLOB NOT NULL,
             PRIMARY KEY (gid, seq)
         ) WITHOUT ROWID;",
    )?;
    refold_every_snapshot(&tx)?;
    tx.pragma_update(None, "user_version", 2)?;
    tx.commit()?;
    Ok(())
}

/// Version 3 to 4: every log's snapshots re-folded in the new snapshot
/// version, in one write transaction (as version 2 back-filled them) that
/// checks the version again: another connection may have migrated first.
pub(super) fn migrate_to_4(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version >= 4 {
        return Ok(());
    }
    refold_every_snapshot(&tx)?;
    tx.pragma_update(None, "user_version", 4)?;
    tx.commit()?;
    Ok(())
}

/// `groups.last_contact_at`, each group's last verified contact (see
/// [`Store::record_contact`]), which "stale" is measured from. Added by a
/// guarded `ALTER TABLE` rather than a schema version, so it composes with
/// any version step: the column is added once, in a write transaction that
/// checks again (two processes may open an old file at once), and back-filled
/// from `last_sync_at`, the best earlier evidence of contact.
pub(super) fn add_contact_column(conn: &mut Connection) -> Result<(), StoreError> {
    let has_column = |conn: &Connection| -> Result<bool, StoreError> {
        Ok(conn.query_row(
            "SELECT count(*) FROM pragma_table_info('groups') WHERE name = 'last_contact_at'",
            [],
            |r| r.get::<_, i64>(0),
        )? > 0)
    };
    if has_column(conn)? {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    if !has_column(&tx)? {
        tx.execute_batch(
            "ALTER TABLE groups ADD COLUMN last_contact_at INTEGER;
             UPDATE groups SET last_contact_at = last_sync_at;",
        )?;
    }
    tx.commit()?;
    Ok(())
}

impl Store {
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // Acknowledged means durable: FULL syncs the WAL on every commit.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Position reads touch every group's row: keep them in memory
        // (SQLite's default page cache is 2 MiB). Negative means KiB.
        conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew(version));
        }
        if version == 0 {
            conn.execute_batch(
                "BEGIN;
                 CREATE TABLE groups (
                     gid INTEGER PRIMARY KEY,
                     group_id TEXT NOT NULL UNIQUE,
                     public_key BLOB NOT NULL,
                     fork_epoch INTEGER NOT NULL DEFAULT 0,
                     status TEXT NOT NULL DEFAULT 'ok',
                     seq INTEGER NOT NULL DEFAULT 0,
                     head BLOB NOT NULL,
                     checkpoint BLOB,
                     enrolled_at INTEGER NOT NULL,
                     last_sync_at INTEGER
                 );
                 CREATE TABLE events (
                     gid INTEGER NOT NULL REFERENCES groups(gid),
                     seq INTEGER NOT NULL,
                     bytes BLOB NOT NULL,
                     hash BLOB NOT NULL,
                     business_date INTEGER NOT NULL,
                     PRIMARY KEY (gid, seq)
                 ) WITHOUT ROWID;
                 CREATE TABLE checkpoints (
                     gid INTEGER NOT NULL REFERENCES groups(gid),
                     seq INTEGER NOT NULL,
                     checkpoint BLOB NOT NULL,
                     received_at INTEGER NOT NULL,
                     PRIMARY KEY (gid, seq)
                 ) WITHOUT ROWID;
                 CREATE TABLE forks (
                     id INTEGER PRIMARY KEY,
                     gid INTEGER NOT NULL REFERENCES groups(gid),
                     seq INTEGER NOT NULL,
                     accepted_event BLOB,
                     offered_event BLOB,
                     accepted_checkpoint BLOB,
                     offered_checkpoint BLOB NOT NULL,
                     detected_at INTEGER NOT NULL,
                     resolved_at INTEGER,
                     resolution TEXT
                 );
                 CREATE TABLE abandoned_events (
                     fork_id INTEGER NOT NULL REFERENCES forks(id),
                     seq INTEGER NOT NULL,
                     bytes BLOB NOT NULL,
                     hash BLOB NOT NULL,
                     PRIMARY KEY (fork_id, seq)
                 ) WITHOUT ROWID;
                 PRAGMA user_version = 1;
                 COMMIT;",
            )?;
        }
        if version < 2 {
            migrate_to_2(&mut conn)?;
        }
        if version < 3 {
            conn.execute_batch(
                "BEGIN;
                 CREATE TABLE credentials (
                     serial TEXT PRIMARY KEY,
                     principal TEXT NOT NULL,
                     issued_at INTEGER NOT NULL,
                     not_after INTEGER NOT NULL,
                     revoked_at INTEGER
                 );
                 CREATE INDEX credentials_by_principal ON credentials(principal);
                 PRAGMA user_version = 3;
                 COMMIT;",
            )?;
        }
        if version < 4 {
            if (2..4).contains(&version) {
                migrate_to_4(&mut conn)?;
            } else {
                // New, or just folded by `migrate_to_2` with this code.
                conn.pragma_update(None, "user_version", 4)?;
            }
        }
        create_key_history(&conn)?;
        add_contact_column(&mut conn)?;
        create_damage_table(&conn)?;
        Ok(Store { conn })
    }

    /// A trivial query, for the health check: the database file answers.
    pub fn ping(&self) -> Result<(), StoreError> {
        self.conn
            .query_row("SELECT count(*) FROM groups", [], |r| r.get::<_, i64>(0))?;
        Ok(())
    }

    /// Runs `read` against one snapshot of the database: in a read
    /// transaction of its own, or in the one already open on this
    /// connection. A report's parts then agree with each other even while
    /// another connection commits batches (WAL: the writer never waits).
    pub fn read_snapshot<T>(
        &self,
        read: impl FnOnce() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if !self.conn.is_autocommit() {
            return read();
        }
        /// Ends the read transaction however `read` ends, a panic included,
        /// so the connection never stays on an old snapshot.
        struct End<'a>(&'a Connection);
        impl Drop for End<'_> {
            fn drop(&mut self) {
                if !self.0.is_autocommit()
                    && let Err(e) = self.0.execute_batch("ROLLBACK")
                {
                    tracing::error!(error = %e, "could not end a read transaction");
                }
            }
        }
        self.conn.execute_batch("BEGIN")?;
        let _end = End(&self.conn);
        read()
    }
}
