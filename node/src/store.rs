//! The node's local ledger: one SQLite file per group.
//!
//! The file holds the append-only event log (exact bytes and chain hash per
//! seq), the derived books (rebuildable from the log), the member register
//! (names and phones, which never leave the node) and the group's signing key.
//! An SD card on unreliable power is the expected home, so the database runs in
//! WAL mode with `synchronous=FULL`, and every append is one transaction: the
//! events, their hashes and the derived books commit together or not at all.
//!
//! Events are validated against an in-memory copy of the books before anything
//! is written; the in-memory head and books move only after the commit, so a
//! refused or failed append leaves both the file and the process as they were.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sajja_common::chain::{self, Hash};
use sajja_common::checkpoint::{Checkpoint, KeyError, PublicKey, SignedCheckpoint, SigningKey};
use sajja_common::date::Date;
use sajja_common::event::{Body, Event, Rules};
use sajja_common::ids::{GroupId, MemberNo};
use sajja_common::ledger::{Books, Refusal, Rule, reversal_target};
use sajja_common::verify::{ChainVerifier, VerifyError};
use thiserror::Error;

/// The schema this program writes. `PRAGMA user_version` holds the file's.
pub const SCHEMA_VERSION: u32 = 1;

/// `MIGRATIONS[v]` takes a database from schema version `v` to `v + 1`.
/// Version 0 is SQLite's empty file.
const MIGRATIONS: &[&str] = &[
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
];

/// The most events one chunk of [`Store::events_from`] returns, whatever their size.
pub const MAX_CHUNK_EVENTS: usize = 10_000;
/// The most events one transaction may append (a large paper-ledger import).
pub const MAX_BATCH_EVENTS: usize = 200_000;
/// How long a writer waits for another process (the daemon, a second CLI call)
/// to finish its transaction before giving up.
const BUSY_TIMEOUT_MS: u64 = 10_000;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("refused: {0}")]
    Refused(#[from] Refusal),
    #[error("refused: {0}")]
    Verify(#[from] VerifyError),
    #[error("ledger damaged: {0}")]
    Damaged(#[from] Damage),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database value: {0}")]
    Value(#[from] rusqlite::types::FromSqlError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("a ledger already exists at {0}")]
    AlreadyExists(PathBuf),
    #[error("no ledger at {0}: run `sajja-node init` first")]
    Missing(PathBuf),
    #[error("database schema version {found} is newer than this program's {supported}")]
    SchemaTooNew { found: u32, supported: u32 },
    #[error("group {group}: the ledger changed while this batch was prepared; try again")]
    Concurrent { group: GroupId },
    #[error("group {group}: acknowledged seq {seq} is beyond the local head {head}")]
    AckBeyondHead { group: GroupId, seq: u64, head: u64 },
    #[error("group {group}: seq {seq} is beyond the local head {head}")]
    BeyondHead { group: GroupId, seq: u64, head: u64 },
    #[error("group {group}: a batch of more than {MAX_BATCH_EVENTS} events")]
    BatchTooLarge { group: GroupId },
    #[error("signing key: {0}")]
    Key(#[from] KeyError),
}

/// What `verify` (or opening the ledger) found wrong. Event damage names the
/// first bad sequence number, because everything after it is unverifiable.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum Damage {
    #[error("first bad seq {seq}: {reason}")]
    Event { seq: u64, reason: String },
    #[error("derived books differ from a re-fold of the log: {0}")]
    Derived(String),
    #[error("{0}")]
    Meta(String),
}

/// A member's private register row: it stays in this file and never enters an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterEntry {
    pub member: MemberNo,
    pub name: String,
    pub phone: Option<String>,
    pub national_id: Option<String>,
}

/// The sync position recorded from the hub.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncState {
    pub acked_seq: u64,
    /// Unix seconds of the last successful sync, if any.
    pub last_sync_at: Option<i64>,
}

/// What a new group's `init` needs.
#[derive(Clone, Debug)]
pub struct GroupInit {
    pub group: GroupId,
    pub name: String,
    pub tambon: String,
    pub province: String,
    pub opened_on: Date,
    pub rules: Rules,
}

/// What `verify` checked when everything was fine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    pub group: GroupId,
    pub events: u64,
    pub head: Hash,
    /// `PeriodClosed` events whose digest disagrees with the fold (seq, month).
    pub mismatched_closes: Vec<u64>,
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
    group: GroupId,
    key: SigningKey,
    head_seq: u64,
    head_hash: Hash,
    books: Books,
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn connect(path: &Path) -> Result<Connection, StoreError> {
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

fn schema_version(conn: &Connection) -> Result<u32, StoreError> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

fn damage_at(seq: u64, reason: impl ToString) -> StoreError {
    StoreError::Damaged(Damage::Event {
        seq,
        reason: reason.to_string(),
    })
}

/// Reads and decodes one stored event, for a reversal's target.
fn load_event(conn: &Connection, seq: u64) -> Result<Option<Event>, StoreError> {
    let bytes: Option<Vec<u8>> = conn
        .query_row(
            "SELECT bytes FROM events WHERE seq = ?1",
            [seq as i64],
            |r| r.get(0),
        )
        .optional()?;
    match bytes {
        None => Ok(None),
        Some(bytes) => Event::decode(&bytes)
            .map(Some)
            .map_err(|e| damage_at(seq, format!("undecodable event bytes: {e}"))),
    }
}

fn head_in_db(conn: &Connection) -> Result<u64, StoreError> {
    let seq: i64 = conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))?;
    Ok(seq as u64)
}

/// Streams the whole log in order, checking each row against the chain and its
/// stored hash and validating it with the ledger rules, and returns the books,
/// the head and any `PeriodClosed` whose digest disagrees. Rows are read one at
/// a time, so memory does not grow with the log.
fn fold_log(conn: &Connection, group: &GroupId) -> Result<(Books, Hash, Vec<u64>), StoreError> {
    let mut verifier = ChainVerifier::new(group.clone());
    let mut books = Books::new(group.clone());
    let mut statement =
        conn.prepare("SELECT seq, bytes, hash, business_date FROM events ORDER BY seq")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let expected = verifier.seq() + 1;
        let seq: i64 = row.get(0)?;
        if seq as u64 != expected {
            return Err(damage_at(
                expected,
                format!("missing from the log (next stored row is seq {seq})"),
            ));
        }
        let bytes = row
            .get_ref(1)?
            .as_blob()
            .map_err(|e| damage_at(expected, format!("stored bytes: {e}")))?;
        let event = verifier.push(bytes).map_err(|e| damage_at(expected, e))?;
        let stored = row
            .get_ref(2)?
            .as_blob()
            .ok()
            .and_then(Hash::from_slice)
            .ok_or_else(|| damage_at(expected, "stored hash is not 32 bytes"))?;
        verifier
            .expect_head(&stored)
            .map_err(|e| damage_at(expected, e))?;
        let business_date: i64 = row.get(3)?;
        if business_date != i64::from(event.date.days()) {
            return Err(damage_at(
                expected,
                "stored business date differs from the event's",
            ));
        }
        let original = match reversal_target(&event) {
            Some(target) if target < expected => load_event(conn, target)?,
            _ => None,
        };
        books
            .apply(&event, original.as_ref())
            .map_err(|refusal| damage_at(expected, refusal))?;
    }
    let mismatched = books
        .closes
        .iter()
        .filter(|c| !c.matches)
        .map(|c| c.seq)
        .collect();
    Ok((books, verifier.head(), mismatched))
}

/// Rewrites the derived books from `new`. With `old`, only members whose
/// figures changed are touched, so a one-event append costs a few rows.
fn write_derived(conn: &Connection, old: Option<&Books>, new: &Books) -> Result<(), StoreError> {
    conn.execute("DELETE FROM book_lines", [])?;
    {
        let mut insert = conn.prepare_cached(
            "INSERT INTO book_lines (account, debit, credit) VALUES (?1, ?2, ?3)",
        )?;
        for line in new.trial_balance() {
            insert.execute(params![
                line.account,
                line.debit.satang(),
                line.credit.satang()
            ])?;
        }
    }
    match old {
        None => {
            conn.execute("DELETE FROM book_members", [])?;
        }
        Some(old) => {
            let mut delete = conn.prepare_cached("DELETE FROM book_members WHERE member = ?1")?;
            for member in old.members.keys() {
                if !new.members.contains_key(member) {
                    delete.execute([member.0])?;
                }
            }
        }
    }
    let mut upsert = conn.prepare_cached(
        "INSERT OR REPLACE INTO book_members (member, savings, contributed, active)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (number, member) in &new.members {
        let unchanged = old.and_then(|o| o.members.get(number)).is_some_and(|o| {
            o.savings == member.savings
                && o.contributed == member.contributed
                && o.is_active() == member.is_active()
        });
        if !unchanged {
            upsert.execute(params![
                number.0,
                member.savings.satang(),
                member.contributed.satang(),
                member.is_active()
            ])?;
        }
    }
    conn.execute("UPDATE meta SET books_seq = ?1", [new.last_seq as i64])?;
    Ok(())
}

/// Compares the stored derived books with a fresh fold; names the first difference.
fn check_derived(conn: &Connection, books: &Books) -> Result<(), StoreError> {
    let derived = |what: String| StoreError::Damaged(Damage::Derived(what));
    let books_seq: i64 = conn.query_row("SELECT books_seq FROM meta", [], |r| r.get(0))?;
    if books_seq as u64 != books.last_seq {
        return Err(derived(format!(
            "stored books are at seq {books_seq}, the log at seq {}",
            books.last_seq
        )));
    }
    let mut stored: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let mut statement = conn.prepare("SELECT account, debit, credit FROM book_lines")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        stored.insert(row.get(0)?, (row.get(1)?, row.get(2)?));
    }
    let folded: BTreeMap<String, (i64, i64)> = books
        .trial_balance()
        .into_iter()
        .map(|l| (l.account, (l.debit.satang(), l.credit.satang())))
        .collect();
    for account in stored.keys().chain(folded.keys()) {
        let (s, f) = (stored.get(account), folded.get(account));
        if s != f {
            return Err(derived(format!(
                "account {account}: stored {s:?}, re-fold {f:?} (debit, credit in satang)"
            )));
        }
    }
    let mut stored: BTreeMap<u32, (i64, i64, bool)> = BTreeMap::new();
    let mut statement =
        conn.prepare("SELECT member, savings, contributed, active FROM book_members")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        stored.insert(row.get(0)?, (row.get(1)?, row.get(2)?, row.get(3)?));
    }
    let folded: BTreeMap<u32, (i64, i64, bool)> = books
        .members
        .iter()
        .map(|(n, m)| {
            (
                n.0,
                (m.savings.satang(), m.contributed.satang(), m.is_active()),
            )
        })
        .collect();
    for member in stored.keys().chain(folded.keys()) {
        let (s, f) = (stored.get(member), folded.get(member));
        if s != f {
            return Err(derived(format!(
                "member {member}: stored {s:?}, re-fold {f:?} (savings, contributed, active)"
            )));
        }
    }
    Ok(())
}

fn read_identity(conn: &Connection) -> Result<(GroupId, SigningKey), StoreError> {
    let group: Option<String> = conn
        .query_row("SELECT group_id FROM meta WHERE id = 1", [], |r| r.get(0))
        .optional()?;
    let group = group.ok_or_else(|| Damage::Meta("the meta row is missing".into()))?;
    let group = GroupId::parse(&group).map_err(|e| Damage::Meta(e.to_string()))?;
    let seed: Option<Vec<u8>> = conn
        .query_row("SELECT signing_seed FROM secrets WHERE id = 1", [], |r| {
            r.get(0)
        })
        .optional()?;
    let seed = seed.ok_or_else(|| Damage::Meta("the signing key is missing".into()))?;
    Ok((group, SigningKey::from_seed(&seed)?))
}

/// Opens an existing database file read-write, refusing a missing one (so a
/// typo in `--data-dir` never creates an empty ledger).
fn open_existing(path: &Path) -> Result<Connection, StoreError> {
    if !path.exists() {
        return Err(StoreError::Missing(path.to_path_buf()));
    }
    let mut conn = connect(path)?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// Re-checks a whole ledger file: every event against the chain and its stored
/// hash, every ledger rule by a fresh fold, and the derived books against that
/// fold. Works on a ledger too damaged for [`Store::open`].
pub fn verify(path: &Path) -> Result<VerifyReport, StoreError> {
    let conn = open_existing(path)?;
    let (group, _key) = read_identity(&conn)?;
    let (books, head, mismatched_closes) = fold_log(&conn, &group)?;
    check_derived(&conn, &books)?;
    Ok(VerifyReport {
        group,
        events: books.last_seq,
        head,
        mismatched_closes,
    })
}

impl Store {
    /// Creates a new group's ledger file (mode 0600: it holds the signing key)
    /// with its opening events: `GroupOpened` and the starting `RulesChanged`.
    pub fn create(path: &Path, init: GroupInit, key: SigningKey) -> Result<Store, StoreError> {
        let mut store = Store::create_empty(path, init.group.clone(), key)?;
        let opened = (|| {
            let mut batch = store.begin()?;
            batch.push(
                init.opened_on,
                Body::GroupOpened {
                    name: init.name,
                    tambon: init.tambon,
                    province: init.province,
                },
            )?;
            batch.push(init.opened_on, Body::RulesChanged(init.rules))?;
            batch.commit()
        })();
        if let Err(error) = opened {
            drop(store);
            remove_database(path);
            return Err(error);
        }
        Ok(store)
    }

    /// Creates a ledger file with the group's identity and an empty log, for a
    /// node rebuilt from its hub: the log then arrives by
    /// [`Store::append_verified_bytes`].
    pub fn create_empty(path: &Path, group: GroupId, key: SigningKey) -> Result<Store, StoreError> {
        let io = |source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        };
        // Create the file ourselves with 0600 before SQLite touches it; SQLite
        // gives the -wal and -shm files the same mode.
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    StoreError::AlreadyExists(path.to_path_buf())
                } else {
                    io(e)
                }
            })?;
        let result = (|| {
            let mut conn = connect(path)?;
            migrate(&mut conn)?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO meta (id, group_id, created_at) VALUES (1, ?1, ?2)",
                params![group.as_str(), now_unix()],
            )?;
            tx.execute(
                "INSERT INTO secrets (id, signing_seed) VALUES (1, ?1)",
                [&key.seed()[..]],
            )?;
            tx.commit()?;
            Ok(conn)
        })();
        let conn = match result {
            Ok(conn) => conn,
            Err(error) => {
                remove_database(path);
                return Err(error);
            }
        };
        tracing::info!(group = %group, "ledger created");
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            head_seq: 0,
            head_hash: chain::genesis(&group),
            books: Books::new(group.clone()),
            group,
            key,
        })
    }

    /// Opens a ledger, verifying the chain and re-folding the books from the
    /// log (streamed row by row). A damaged ledger is refused with the first
    /// bad seq; `verify` says more.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = open_existing(path)?;
        let (group, key) = read_identity(&conn)?;
        let (books, head_hash, _) = fold_log(&conn, &group)?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            head_seq: books.last_seq,
            head_hash,
            books,
            group,
            key,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn group(&self) -> &GroupId {
        &self.group
    }

    pub fn public_key(&self) -> PublicKey {
        self.key.public()
    }

    /// The books after the last committed event.
    pub fn books(&self) -> &Books {
        &self.books
    }

    /// The last committed seq and the chain hash there (genesis for an empty log).
    pub fn head(&self) -> (u64, Hash) {
        (self.head_seq, self.head_hash)
    }

    pub fn schema_version(&self) -> Result<u32, StoreError> {
        schema_version(&self.conn)
    }

    /// The chain hash after `seq` (the genesis value for 0), if the log reaches it.
    pub fn hash_at(&self, seq: u64) -> Result<Option<Hash>, StoreError> {
        if seq == 0 {
            return Ok(Some(chain::genesis(&self.group)));
        }
        let bytes: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT hash FROM events WHERE seq = ?1",
                [seq as i64],
                |r| r.get(0),
            )
            .optional()?;
        match bytes {
            None => Ok(None),
            Some(bytes) => Hash::from_slice(&bytes)
                .map(Some)
                .ok_or_else(|| damage_at(seq, "stored hash is not 32 bytes")),
        }
    }

    /// Exact stored bytes from `from_seq` on, in order: as many events as fit in
    /// `max_bytes` (but always at least one, so a large event cannot stall a
    /// sync) and at most [`MAX_CHUNK_EVENTS`].
    pub fn events_from(
        &self,
        from_seq: u64,
        max_bytes: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let mut statement = self
            .conn
            .prepare_cached("SELECT seq, bytes FROM events WHERE seq >= ?1 ORDER BY seq")?;
        let mut rows = statement.query([from_seq.max(1) as i64])?;
        let mut chunk = Vec::new();
        let mut total_bytes = 0usize;
        while let Some(row) = rows.next()? {
            let bytes = row.get_ref(1)?.as_blob()?;
            if !chunk.is_empty()
                && (total_bytes + bytes.len() > max_bytes || chunk.len() >= MAX_CHUNK_EVENTS)
            {
                break;
            }
            total_bytes += bytes.len();
            let seq: i64 = row.get(0)?;
            chunk.push((seq as u64, bytes.to_vec()));
        }
        Ok(chunk)
    }

    /// Visits stored events from `from_seq` on, decoded, one row at a time,
    /// until `visit` returns false.
    pub fn scan(
        &self,
        from_seq: u64,
        mut visit: impl FnMut(&Event) -> bool,
    ) -> Result<(), StoreError> {
        let mut statement = self
            .conn
            .prepare("SELECT seq, bytes FROM events WHERE seq >= ?1 ORDER BY seq")?;
        let mut rows = statement.query([from_seq.max(1) as i64])?;
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get(0)?;
            let event = Event::decode(row.get_ref(1)?.as_blob()?)
                .map_err(|e| damage_at(seq as u64, format!("undecodable event bytes: {e}")))?;
            if !visit(&event) {
                break;
            }
        }
        Ok(())
    }

    /// The stored event at `seq`, decoded.
    pub fn event(&self, seq: u64) -> Result<Option<Event>, StoreError> {
        load_event(&self.conn, seq)
    }

    /// The books as of the end of `date`: the events dated on or before it, in
    /// log order (the same as `Books::fold_as_of`, but streamed).
    pub fn books_as_of(&self, date: Date) -> Result<Books, StoreError> {
        let mut books = Books::new(self.group.clone());
        let mut statement = self
            .conn
            .prepare("SELECT seq, bytes FROM events WHERE business_date <= ?1 ORDER BY seq")?;
        let mut rows = statement.query([i64::from(date.days())])?;
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get(0)?;
            let event = Event::decode(row.get_ref(1)?.as_blob()?)
                .map_err(|e| damage_at(seq as u64, format!("undecodable event bytes: {e}")))?;
            let original = match reversal_target(&event) {
                Some(target) => load_event(&self.conn, target)?,
                None => None,
            };
            books.apply_unchecked(&event, original.as_ref());
        }
        Ok(books)
    }

    /// A signed checkpoint at the head, at the fork epoch recorded in meta.
    pub fn sign_checkpoint(&self) -> Result<SignedCheckpoint, StoreError> {
        let fork_epoch = self.fork_epoch()?;
        Ok(Checkpoint {
            group: self.group.clone(),
            seq: self.head_seq,
            head: self.head_hash,
            fork_epoch,
        }
        .sign(&self.key))
    }

    /// A signed checkpoint at an earlier position of this log (the end of a
    /// sync batch), at the fork epoch recorded in meta.
    pub fn sign_checkpoint_at(&self, seq: u64) -> Result<SignedCheckpoint, StoreError> {
        let head = self.hash_at(seq)?.ok_or_else(|| StoreError::BeyondHead {
            group: self.group.clone(),
            seq,
            head: self.head_seq,
        })?;
        let fork_epoch = self.fork_epoch()?;
        Ok(Checkpoint {
            group: self.group.clone(),
            seq,
            head,
            fork_epoch,
        }
        .sign(&self.key))
    }

    pub fn fork_epoch(&self) -> Result<u32, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT fork_epoch FROM meta", [], |r| r.get(0))?)
    }

    pub fn set_fork_epoch(&self, epoch: u32) -> Result<(), StoreError> {
        self.conn
            .execute("UPDATE meta SET fork_epoch = ?1", [epoch])?;
        Ok(())
    }

    /// Records that the hub has durably accepted everything up to `seq`.
    pub fn set_acked(&self, seq: u64, at_unix: i64) -> Result<(), StoreError> {
        let head = head_in_db(&self.conn)?;
        if seq > head {
            return Err(StoreError::AckBeyondHead {
                group: self.group.clone(),
                seq,
                head,
            });
        }
        self.conn.execute(
            "UPDATE meta SET hub_acked_seq = ?1, last_sync_at = ?2",
            params![seq as i64, at_unix],
        )?;
        Ok(())
    }

    pub fn acked(&self) -> Result<SyncState, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT hub_acked_seq, last_sync_at FROM meta", [], |r| {
                Ok(SyncState {
                    acked_seq: r.get::<_, i64>(0)? as u64,
                    last_sync_at: r.get(1)?,
                })
            })?)
    }

    /// The group's signing key seed, for the treasurer's offline backup
    /// (`sajja-node key export`): without it a lost node cannot sign again.
    pub fn signing_seed(&self) -> [u8; 32] {
        *self.key.seed()
    }

    /// The hub this node syncs with: its URL and CA certificate (PEM).
    pub fn hub_link(&self) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        let (url, ca): (Option<String>, Option<Vec<u8>>) =
            self.conn
                .query_row("SELECT hub_url, hub_ca_pem FROM meta", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
        Ok(url.map(|url| (url, ca.unwrap_or_default())))
    }

    pub fn set_hub_link(&self, url: &str, ca_pem: &[u8]) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE meta SET hub_url = ?1, hub_ca_pem = ?2",
            params![url, ca_pem],
        )?;
        Ok(())
    }

    /// The member register: local only, never in an event.
    pub fn register(&self) -> Result<BTreeMap<MemberNo, RegisterEntry>, StoreError> {
        let mut statement = self
            .conn
            .prepare("SELECT member, name, phone, national_id FROM member_register")?;
        let rows = statement.query_map([], |r| {
            Ok(RegisterEntry {
                member: MemberNo(r.get(0)?),
                name: r.get(1)?,
                phone: r.get(2)?,
                national_id: r.get(3)?,
            })
        })?;
        let mut out = BTreeMap::new();
        for row in rows {
            let row = row?;
            out.insert(row.member, row);
        }
        Ok(out)
    }

    /// Re-reads the log if another process (the daemon, another CLI call) has
    /// appended since this handle last looked.
    pub fn refresh(&mut self) -> Result<(), StoreError> {
        if head_in_db(&self.conn)? != self.head_seq {
            let (books, head_hash, _) = fold_log(&self.conn, &self.group)?;
            self.head_seq = books.last_seq;
            self.head_hash = head_hash;
            self.books = books;
        }
        Ok(())
    }

    /// Starts a batch of appends that will commit in one transaction.
    pub fn begin(&mut self) -> Result<Batch<'_>, StoreError> {
        self.refresh()?;
        Ok(Batch {
            books: self.books.clone(),
            seq: self.head_seq,
            head: self.head_hash,
            pending: Vec::new(),
            store: self,
        })
    }

    /// Appends one event dated `date`; returns its seq.
    pub fn append(&mut self, date: Date, body: Body) -> Result<u64, StoreError> {
        let mut batch = self.begin()?;
        let seq = batch.push(date, body)?;
        batch.commit()?;
        Ok(seq)
    }

    /// Appends events received from a hub (a restore, or a tail the node lacked):
    /// each must continue this log's chain and pass the ledger rules, and
    /// `checkpoint` — signed with this group's key at this node's fork epoch —
    /// must name the head they end at. The chain alone cannot tell a flipped
    /// byte from a different honest event; the signature can. The exact bytes
    /// are stored, all in one transaction. Returns the new head.
    pub fn append_verified_bytes(
        &mut self,
        events: &[Vec<u8>],
        checkpoint: &SignedCheckpoint,
    ) -> Result<(u64, Hash), StoreError> {
        let fork_epoch = self.fork_epoch()?;
        let key = self.key.public();
        let mut batch = self.begin()?;
        for bytes in events {
            batch.push_bytes(bytes.clone())?;
        }
        ChainVerifier::resume(batch.store.group.clone(), batch.seq, batch.head)
            .finish(checkpoint, &key, fork_epoch)?;
        batch.commit()?;
        Ok(self.head())
    }
}

fn remove_database(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

struct Pending {
    event: Event,
    bytes: Vec<u8>,
    hash: Hash,
    register: Option<RegisterEntry>,
}

/// Events validated against a working copy of the books, written by
/// [`Batch::commit`] in one transaction. Dropping a batch writes nothing.
pub struct Batch<'a> {
    store: &'a mut Store,
    books: Books,
    seq: u64,
    head: Hash,
    pending: Vec<Pending>,
}

impl Batch<'_> {
    /// The books as they would be after the events pushed so far.
    pub fn books(&self) -> &Books {
        &self.books
    }

    pub fn group(&self) -> &GroupId {
        &self.store.group
    }

    /// The seq the next pushed event will get.
    pub fn next_seq(&self) -> u64 {
        self.seq + 1
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    fn original(&self, event: &Event) -> Result<Option<Event>, StoreError> {
        let Some(target) = reversal_target(event) else {
            return Ok(None);
        };
        if target == 0 || target >= event.seq {
            return Ok(None);
        }
        if target > self.store.head_seq {
            let index = (target - self.store.head_seq - 1) as usize;
            return Ok(self.pending.get(index).map(|p| p.event.clone()));
        }
        load_event(&self.store.conn, target)
    }

    fn check_room(&self) -> Result<(), StoreError> {
        if self.pending.len() >= MAX_BATCH_EVENTS {
            return Err(StoreError::BatchTooLarge {
                group: self.store.group.clone(),
            });
        }
        Ok(())
    }

    /// Builds, validates and encodes (once) the next event; returns its seq.
    pub fn push(&mut self, date: Date, body: Body) -> Result<u64, StoreError> {
        self.push_with_register(date, body, None)
    }

    /// As [`Batch::push`], also writing the member's register row in the same
    /// transaction (for `MemberJoined`).
    pub fn push_with_register(
        &mut self,
        date: Date,
        body: Body,
        register: Option<RegisterEntry>,
    ) -> Result<u64, StoreError> {
        self.check_room()?;
        let event = Event {
            group: self.store.group.clone(),
            seq: self.seq + 1,
            date,
            recorded_at: now_unix(),
            body,
        };
        let original = self.original(&event)?;
        self.books.apply(&event, original.as_ref())?;
        let bytes = event.encode();
        debug_assert_eq!(Event::decode(&bytes).as_ref(), Ok(&event));
        let hash = chain::next(&self.head, &bytes);
        self.seq = event.seq;
        self.head = hash;
        self.pending.push(Pending {
            event,
            bytes,
            hash,
            register,
        });
        Ok(self.seq)
    }

    /// Verifies bytes received from elsewhere against the chain and the rules,
    /// keeping them exactly as received.
    pub fn push_bytes(&mut self, bytes: Vec<u8>) -> Result<u64, StoreError> {
        self.check_room()?;
        let mut verifier = ChainVerifier::resume(self.store.group.clone(), self.seq, self.head);
        let event = verifier.push(&bytes)?;
        let original = self.original(&event)?;
        self.books.apply(&event, original.as_ref())?;
        self.seq = verifier.seq();
        self.head = verifier.head();
        self.pending.push(Pending {
            event,
            bytes,
            hash: self.head,
            register: None,
        });
        Ok(self.seq)
    }

    /// Writes every pushed event, its hash, the register rows and the derived
    /// books in one transaction; only then does the store's head move.
    pub fn commit(self) -> Result<Option<(u64, u64)>, StoreError> {
        let Batch {
            store,
            books,
            seq,
            head,
            pending,
        } = self;
        let Some(first) = pending.first().map(|p| p.event.seq) else {
            return Ok(None);
        };
        let tx = store
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Another process may have appended since this batch began; its events
        // were not part of our validation, so nothing of ours may follow them.
        if head_in_db(&tx)? != store.head_seq {
            return Err(StoreError::Concurrent {
                group: store.group.clone(),
            });
        }
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO events (seq, bytes, hash, business_date) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut register = tx.prepare_cached(
                "INSERT OR REPLACE INTO member_register (member, name, phone, national_id)
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            for p in &pending {
                insert.execute(params![
                    p.event.seq as i64,
                    p.bytes,
                    &p.hash.as_bytes()[..],
                    i64::from(p.event.date.days())
                ])?;
                if let Some(r) = &p.register {
                    register.execute(params![r.member.0, r.name, r.phone, r.national_id])?;
                }
            }
        }
        write_derived(&tx, Some(&store.books), &books)?;
        tx.commit()?;
        tracing::info!(group = %store.group, from = first, to = seq, "appended");
        store.head_seq = seq;
        store.head_hash = head;
        store.books = books;
        wake_daemon(&store.path);
        Ok(Some((first, seq)))
    }
}

/// Where a running `sajja-node run` listens for "something new was appended",
/// beside the ledger file.
pub fn daemon_socket(ledger: &Path) -> PathBuf {
    ledger.with_file_name("daemon.sock")
}

/// Tells a running daemon, if any, that events were committed, so it pushes
/// now rather than at its next poll. Best effort: with no daemon listening the
/// datagram goes nowhere and the daemon's poll still finds the events.
fn wake_daemon(ledger: &Path) {
    if let Ok(socket) = std::os::unix::net::UnixDatagram::unbound() {
        let _ = socket.set_nonblocking(true);
        let _ = socket.send_to(b"appended", daemon_socket(ledger));
    }
}

/// Rebuilds the derived books of a ledger from its log (after a bug fix or a
/// schema change). The log is verified first.
pub fn rebuild_derived(path: &Path) -> Result<(), StoreError> {
    let mut conn = open_existing(path)?;
    let (group, _) = read_identity(&conn)?;
    let (books, _, _) = fold_log(&conn, &group)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    write_derived(&tx, None, &books)?;
    tx.commit()?;
    Ok(())
}

/// The rule a store error carries, if it is a ledger refusal.
pub fn refusal_rule(error: &StoreError) -> Option<&Rule> {
    match error {
        StoreError::Refused(refusal) => Some(&refusal.rule),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
