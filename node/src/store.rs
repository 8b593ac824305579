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

use sajja_edge::clock::unix_now;
use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sajja_common::chain::{self, Hash};
use sajja_common::checkpoint::{Checkpoint, KeyError, PublicKey, SignedCheckpoint, SigningKey};
use sajja_common::date::Date;
use sajja_common::event::{Body, Event, Rules};
use sajja_common::ids::{GroupId, MemberNo};
use sajja_common::ledger::{Books, Refusal, Rule, reversal_target};
use sajja_common::verify::{ChainVerifier, VerifyError};
use sajja_edge::enrolment::{Enrolment, Role};
use thiserror::Error;

/// The schema this program writes. `PRAGMA user_version` holds the file's.
pub const SCHEMA_VERSION: u32 = 3;

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

/// The most events one chunk of [`Store::events_from`] returns, whatever their size.
pub const MAX_CHUNK_EVENTS: usize = 10_000;
/// The most events one transaction may append (a large paper-ledger import).
pub const MAX_BATCH_EVENTS: usize = 200_000;
/// How long a writer waits for another process (the daemon, a second CLI call)
/// to finish its transaction before giving up.
const BUSY_TIMEOUT_MS: u64 = 10_000;
/// How many times [`Store::write`] prepares a batch again when another process
/// appended first. Each try re-reads the head and re-validates, so a retry is
/// as safe as the first attempt; 20 covers a handful of busy writers.
pub const WRITE_ATTEMPTS: u32 = 20;

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
    #[error(
        "group {group} seq {seq}: the log's signing key from here on is {key}, which this node does not hold. \
         If that key is lost: make a new one (`sajja-node keygen FILE`), have the hub operator re-key the group to it \
         (`sajja-hub rekey GROUP --key NEW`), and restore with `--key FILE --group-key {key}`"
    )]
    KeyNotHeld {
        group: GroupId,
        seq: u64,
        key: PublicKey,
    },
    #[error(
        "group {group} seq {seq}: the hub's log is signed by key {key}, and none of the keys given is one this log had: \
         restore with the group's key backup (`sajja-node key-export`), or name a public key the group had with --group-key"
    )]
    Untrusted {
        group: GroupId,
        seq: u64,
        key: PublicKey,
    },
    #[error("{0}")]
    Bundle(#[from] BundleError),
    #[error(
        "group {group}: member {member} has no name in this node's register (names are not restored from the hub): \
         give it with `sajja-node member edit {member} --name NAME`"
    )]
    NoRegisterRow { group: GroupId, member: MemberNo },
    #[error(
        "group {group}: {this_file} was imported before, on {at} (as {earlier_file}, seq {first_seq}..={last_seq}): \
         if these are new entries, change the file; to record the same entries a second time, import it with --again"
    )]
    AlreadyImported {
        group: GroupId,
        this_file: String,
        earlier_file: String,
        /// Thai local time, as the treasurer reads it.
        at: String,
        first_seq: u64,
        last_seq: u64,
    },
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

/// What a ledger whose log no longer verifies still tells: whose it is and
/// the keys it holds, so the treasurer can take a key backup and restore
/// from the hub (`status`, `key-export` and `backup` work on it).
pub struct Salvage {
    pub group: GroupId,
    pub public_key: PublicKey,
    /// Every seed held, oldest first, as `key-export` writes them.
    pub seeds: Vec<[u8; 32]>,
    /// The log's damage, if it is damaged.
    pub damage: Option<Damage>,
}

/// A member's private register row: it stays in this file and never enters an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterEntry {
    pub member: MemberNo,
    pub name: String,
    pub phone: Option<String>,
    pub national_id: Option<String>,
}

/// What one CSV import brought in, as the `imports` table keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportRecord {
    /// SHA-256 of the file's exact bytes.
    pub sha256: [u8; 32],
    pub file_name: String,
    pub events: u64,
    pub first_seq: u64,
    pub last_seq: u64,
    /// Unix seconds.
    pub imported_at: i64,
    /// Imported with `--again`, despite an earlier import of the same bytes.
    pub again: bool,
}

/// The file a batch imports: recorded with its events, refused when the same
/// bytes were imported before unless `again`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportSource {
    pub sha256: [u8; 32],
    pub file_name: String,
    pub again: bool,
}

/// A correction of a member's register row; `None` leaves a field as it is,
/// an empty phone or ID number clears it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegisterEdit {
    pub name: Option<String>,
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

/// The hub link as the ledger holds it.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredLink {
    /// `https://host:port`.
    pub url: String,
    /// The hub's geocode; unknown for a link stored before schema version 2.
    pub hub_id: Option<String>,
    /// The hub's CA certificate (PEM).
    pub ca_pem: Vec<u8>,
    /// `None` for a link stored before hubs required client certificates.
    pub client: Option<ClientCert>,
}

/// The client certificate a hub issued to this group at enrolment.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCert {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
    /// Hex, as `sajja-hub revoke` names it.
    pub serial: String,
    /// Unix seconds.
    pub not_after: i64,
}

// Neither Debug shows the client key: these values reach log lines and errors.
impl std::fmt::Debug for StoredLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredLink")
            .field("url", &self.url)
            .field("hub_id", &self.hub_id)
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ClientCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCert")
            .field("serial", &self.serial)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

/// Why an enrolment bundle cannot be this ledger's hub link. A hub accepts a
/// group's log only under the key the bundle binds, so a bundle for another
/// group or another key would fail later, at the hub, far less clearly.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum BundleError {
    #[error(
        "this bundle enrols a {role} ({subject}), not a group: ask the hub operator for this group's bundle (`sajja-hub enrol group {group} --key KEY`)"
    )]
    NotAGroup {
        role: &'static str,
        subject: String,
        group: GroupId,
    },
    #[error("this bundle enrols {bundle}, this ledger is {ledger}")]
    OtherGroup { bundle: String, ledger: GroupId },
    #[error(
        "the bundle binds key {bundle} but this ledger signs with {ledger}: give the hub operator this ledger's public key (`sajja-node status` shows it) and install the bundle issued for it"
    )]
    OtherKey { bundle: String, ledger: PublicKey },
    #[error(
        "the bundle binds no group key: ask the hub operator to enrol this ledger's key (`sajja-hub enrol group {group} --key {ledger}`)"
    )]
    NoKey { group: GroupId, ledger: PublicKey },
    #[error("the bundle's hub address: {0}")]
    Url(String),
    #[error(
        "the bundle's certificate expired on {expired} (today here is {today}): ask the hub operator for a new bundle"
    )]
    Expired { expired: Date, today: Date },
}

/// A bundle's text as it may appear in a message or on screen: it came from a
/// file, so control characters are dropped and its length is bounded.
pub fn printable(text: &str) -> String {
    const SHOWN_MAX: usize = 80;
    let mut out: String = text
        .chars()
        .filter(|c| !c.is_control())
        .take(SHOWN_MAX)
        .collect();
    if text.chars().count() > SHOWN_MAX {
        out.push('…');
    }
    out
}

/// Checks that `bundle` enrols `group` under `key`: the group's own bundle for
/// this ledger. Expiry is not checked here: a running node keeps trying with
/// the certificate it has (a Pi's clock may be wrong), and `status` warns.
pub fn check_bundle(
    bundle: &Enrolment,
    group: &GroupId,
    key: &PublicKey,
) -> Result<(), BundleError> {
    if bundle.role != Role::Group {
        return Err(BundleError::NotAGroup {
            role: bundle.role.name(),
            subject: printable(&bundle.subject),
            group: group.clone(),
        });
    }
    if bundle.subject != group.as_str() {
        return Err(BundleError::OtherGroup {
            bundle: printable(&bundle.subject),
            ledger: group.clone(),
        });
    }
    let Some(bound) = bundle.public_key.as_deref() else {
        return Err(BundleError::NoKey {
            group: group.clone(),
            ledger: *key,
        });
    };
    if PublicKey::from_hex(bound).as_ref() != Some(key) {
        return Err(BundleError::OtherKey {
            bundle: printable(bound),
            ledger: *key,
        });
    }
    crate::config::check_hub_url(&bundle.hub_url).map_err(BundleError::Url)
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
    keys: Keys,
    head_seq: u64,
    head_hash: Hash,
    books: Books,
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

fn already_imported(group: &GroupId, this_file: &str, earlier: &ImportRecord) -> StoreError {
    StoreError::AlreadyImported {
        group: group.clone(),
        this_file: printable(this_file),
        earlier_file: printable(&earlier.file_name),
        at: crate::compose::local_date_time(earlier.imported_at),
        first_seq: earlier.first_seq,
        last_seq: earlier.last_seq,
    }
}

fn import_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ImportRecord> {
    let digest: Vec<u8> = r.get(0)?;
    Ok(ImportRecord {
        sha256: digest.try_into().unwrap_or([0; 32]),
        file_name: r.get(1)?,
        events: r.get::<_, i64>(2)? as u64,
        first_seq: r.get::<_, i64>(3)? as u64,
        last_seq: r.get::<_, i64>(4)? as u64,
        imported_at: r.get(5)?,
        again: r.get(6)?,
    })
}

fn latest_import(conn: &Connection, sha256: &[u8; 32]) -> Result<Option<ImportRecord>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT sha256, file_name, events, first_seq, last_seq, imported_at, again
             FROM imports WHERE sha256 = ?1 ORDER BY id DESC LIMIT 1",
            [&sha256[..]],
            import_row,
        )
        .optional()?)
}

fn head_in_db(conn: &Connection) -> Result<u64, StoreError> {
    let seq: i64 = conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))?;
    Ok(seq as u64)
}

/// Streams the whole log in order, checking each row against the chain and its
/// stored hash and validating it with the ledger rules, and returns the books,
/// the head and any `PeriodClosed` whose digest disagrees. Rows are read one at
/// a time, so memory does not grow with the log.
fn fold_log(
    conn: &Connection,
    group: &GroupId,
    keys: &Keys,
) -> Result<(Books, Hash, Vec<u64>), StoreError> {
    let mut verifier = ChainVerifier::new(group.clone(), keys.key_for(0));
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
        // A hub operator's re-key is in no event; the key table records it.
        let recorded = keys.key_for(expected);
        if verifier.key() != recorded {
            verifier.adopt_key(recorded);
        }
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
    create_key_history(&conn)?;
    Ok(conn)
}

/// Re-checks a whole ledger file: every event against the chain and its stored
/// hash, every ledger rule by a fresh fold, and the derived books against that
/// fold. Works on a ledger too damaged for [`Store::open`].
pub fn verify(path: &Path) -> Result<VerifyReport, StoreError> {
    let conn = open_existing(path)?;
    let (group, key) = read_identity(&conn)?;
    let keys = Keys::read(&conn, key)?;
    let (books, head, mismatched_closes) = fold_log(&conn, &group, &keys)?;
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
            create_key_history(&conn)?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO meta (id, group_id, created_at) VALUES (1, ?1, ?2)",
                params![group.as_str(), unix_now()],
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
            keys: Keys::only(key),
        })
    }

    /// Opens a ledger, verifying the chain and re-folding the books from the
    /// log (streamed row by row). A damaged ledger is refused with the first
    /// bad seq; `verify` says more.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = open_existing(path)?;
        let (group, key) = read_identity(&conn)?;
        let keys = Keys::read(&conn, key)?;
        let (books, head_hash, _) = fold_log(&conn, &group, &keys)?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            head_seq: books.last_seq,
            head_hash,
            books,
            group,
            keys,
        })
    }

    /// Reads what a damaged ledger still tells (see [`Salvage`]) without
    /// trusting its log: the identity and keys are read, the log is only
    /// re-verified to say where it breaks.
    pub fn salvage(path: &Path) -> Result<Salvage, StoreError> {
        let conn = open_existing(path)?;
        let (group, key) = read_identity(&conn)?;
        let keys = Keys::read(&conn, key)?;
        let damage = match fold_log(&conn, &group, &keys) {
            Ok(_) => None,
            Err(StoreError::Damaged(damage)) => Some(damage),
            Err(other) => return Err(other),
        };
        Ok(Salvage {
            public_key: keys.current.public(),
            seeds: keys.held_seeds(),
            group,
            damage,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn group(&self) -> &GroupId {
        &self.group
    }

    /// The key this node signs new checkpoints with.
    pub fn public_key(&self) -> PublicKey {
        self.keys.current.public()
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
        .sign(self.keys.signer_for(self.head_seq)))
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
        .sign(self.keys.signer_for(seq)))
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
        *self.keys.current.seed()
    }

    /// The hub this node syncs with, as installed by `init --bundle` (or
    /// `connect`, before schema version 2).
    pub fn hub_link(&self) -> Result<Option<StoredLink>, StoreError> {
        type Row = (
            Option<String>,
            Option<Vec<u8>>,
            Option<String>,
            Option<Vec<u8>>,
            Option<Vec<u8>>,
            Option<String>,
            Option<i64>,
        );
        let (url, ca_pem, hub_id, cert_pem, key_pem, serial, not_after): Row =
            self.conn.query_row(
                "SELECT hub_url, hub_ca_pem, hub_id, hub_cert_pem, hub_key_pem,
                        hub_cert_serial, hub_cert_not_after
                 FROM meta",
                [],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ))
                },
            )?;
        let Some(url) = url else {
            return Ok(None);
        };
        let client = match (cert_pem, key_pem, serial, not_after) {
            (Some(cert_pem), Some(key_pem), Some(serial), Some(not_after)) => Some(ClientCert {
                cert_pem,
                key_pem,
                serial,
                not_after,
            }),
            (None, None, None, None) => None,
            // Written by one UPDATE, so a partial row is not ours.
            _ => {
                return Err(Damage::Meta(
                    "the hub link's client certificate is incomplete: install the group's bundle again (`sajja-node init --bundle FILE`)".into(),
                )
                .into());
            }
        };
        Ok(Some(StoredLink {
            url,
            hub_id,
            ca_pem: ca_pem.unwrap_or_default(),
            client,
        }))
    }

    /// Makes `bundle` this ledger's hub link, replacing any earlier one (a
    /// bundle re-issued after a revocation or before expiry is installed the
    /// same way). Refused unless it enrols this group under this ledger's key
    /// and has not expired at `now_unix`.
    pub fn set_hub_link(&self, bundle: &Enrolment, now_unix: i64) -> Result<(), StoreError> {
        self.check_own_bundle(bundle)?;
        if bundle.not_after <= now_unix {
            return Err(BundleError::Expired {
                expired: Date::thai_date_at(bundle.not_after),
                today: Date::thai_date_at(now_unix),
            }
            .into());
        }
        self.conn.execute(
            "UPDATE meta SET hub_url = ?1, hub_ca_pem = ?2, hub_id = ?3, hub_cert_pem = ?4,
                             hub_key_pem = ?5, hub_cert_serial = ?6, hub_cert_not_after = ?7",
            params![
                bundle.hub_url,
                bundle.ca.as_bytes(),
                bundle.hub_id,
                bundle.cert.as_bytes(),
                bundle.key.as_bytes(),
                bundle.serial,
                bundle.not_after
            ],
        )?;
        tracing::info!(group = %self.group, hub = %bundle.hub_url, serial = %bundle.serial, "enrolment bundle installed");
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

    /// Corrects member `member`'s register row (or writes the row a restore
    /// left out: then `edit.name` is required). Local only: no event is
    /// written, so nothing of it reaches the log or a hub. Returns the row.
    pub fn edit_register(
        &mut self,
        member: MemberNo,
        edit: &RegisterEdit,
    ) -> Result<RegisterEntry, StoreError> {
        self.refresh()?;
        if !self.books.members.contains_key(&member) {
            return Err(StoreError::Refused(Refusal {
                group: self.group.clone(),
                seq: self.head_seq + 1,
                rule: Rule::UnknownMember(member),
            }));
        }
        let cleared = |value: &Option<String>| {
            value
                .as_ref()
                .map(|v| Some(v.trim().to_string()).filter(|v| !v.is_empty()))
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current: Option<RegisterEntry> = tx
            .query_row(
                "SELECT member, name, phone, national_id FROM member_register WHERE member = ?1",
                [member.0],
                |r| {
                    Ok(RegisterEntry {
                        member: MemberNo(r.get(0)?),
                        name: r.get(1)?,
                        phone: r.get(2)?,
                        national_id: r.get(3)?,
                    })
                },
            )
            .optional()?;
        let given = edit
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty());
        let name = match (given, &current) {
            (Some(name), _) => name.to_string(),
            (None, Some(current)) => current.name.clone(),
            _ => {
                return Err(StoreError::NoRegisterRow {
                    group: self.group.clone(),
                    member,
                });
            }
        };
        let entry = RegisterEntry {
            member,
            name,
            phone: cleared(&edit.phone)
                .unwrap_or_else(|| current.as_ref().and_then(|c| c.phone.clone())),
            national_id: cleared(&edit.national_id)
                .unwrap_or_else(|| current.as_ref().and_then(|c| c.national_id.clone())),
        };
        tx.execute(
            "INSERT OR REPLACE INTO member_register (member, name, phone, national_id)
             VALUES (?1, ?2, ?3, ?4)",
            params![entry.member.0, entry.name, entry.phone, entry.national_id],
        )?;
        tx.commit()?;
        // The member number only: a name never goes to a log line.
        tracing::info!(group = %self.group, member = member.0, "member register corrected");
        Ok(entry)
    }

    /// The latest import of a file with these exact bytes, if any.
    pub fn import_of(&self, sha256: &[u8; 32]) -> Result<Option<ImportRecord>, StoreError> {
        latest_import(&self.conn, sha256)
    }

    /// Every import this ledger recorded, oldest first.
    pub fn imports(&self) -> Result<Vec<ImportRecord>, StoreError> {
        let mut statement = self.conn.prepare(
            "SELECT sha256, file_name, events, first_seq, last_seq, imported_at, again
             FROM imports ORDER BY id",
        )?;
        let rows = statement.query_map([], import_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The refusal for a file whose bytes were imported as `earlier`.
    pub fn already_imported(&self, this_file: &str, earlier: &ImportRecord) -> StoreError {
        already_imported(&self.group, this_file, earlier)
    }

    /// Re-reads the log if another process (the daemon, another CLI call) has
    /// appended since this handle last looked.
    pub fn refresh(&mut self) -> Result<(), StoreError> {
        if head_in_db(&self.conn)? != self.head_seq {
            // Another process may have rotated the key with what it appended.
            let (_, key) = read_identity(&self.conn)?;
            self.keys = Keys::read(&self.conn, key)?;
            let (books, head_hash, _) = fold_log(&self.conn, &self.group, &self.keys)?;
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
            key: self.keys.key_for(self.head_seq),
            rotated_at: None,
            keys: None,
            pending: Vec::new(),
            import: None,
            store: self,
        })
    }

    /// Appends one event dated `date`; returns its seq. Another process
    /// appending at the same moment is waited out (see [`Store::write`]).
    pub fn append(&mut self, date: Date, body: Body) -> Result<u64, StoreError> {
        let (seq, _) = self.write(|batch| batch.push(date, body.clone()))?;
        Ok(seq)
    }

    /// Builds a batch with `build` against the books as they stand and commits
    /// it. When another process (the daemon, a second CLI call, a web form)
    /// appended in between, the batch is dropped and `build` runs again on
    /// the re-read books, up to [`WRITE_ATTEMPTS`] times: the treasurer never
    /// sees the race. `build` must derive everything from the batch's books
    /// (member numbers, refunds), never from an earlier read.
    pub fn write<T, E: From<StoreError>>(
        &mut self,
        mut build: impl FnMut(&mut Batch<'_>) -> Result<T, E>,
    ) -> Result<(T, Option<(u64, u64)>), E> {
        let mut attempt = 1;
        loop {
            let mut batch = self.begin()?;
            let built = build(&mut batch)?;
            match batch.commit() {
                Ok(committed) => return Ok((built, committed)),
                Err(StoreError::Concurrent { group }) if attempt < WRITE_ATTEMPTS => {
                    tracing::debug!(%group, attempt, "another process appended first; preparing the batch again");
                    std::thread::sleep(retry_pause(attempt));
                    attempt += 1;
                }
                Err(other) => return Err(other.into()),
            }
        }
    }

    /// Appends events received from a hub (a tail the node lacked): each
    /// must continue this log's chain and pass the ledger rules, and
    /// `checkpoint` — signed with the group's key in effect there, at this
    /// node's fork epoch — must name the head they end at. The chain alone
    /// cannot tell a flipped byte from a different honest event; the
    /// signature can. The exact bytes are stored, all in one transaction.
    /// Returns the new head. A tail that rotates the key is refused: the new
    /// key was made on another node, so this one could not sign after it.
    pub fn append_verified_bytes(
        &mut self,
        events: &[Vec<u8>],
        checkpoint: &SignedCheckpoint,
    ) -> Result<(u64, Hash), StoreError> {
        let fork_epoch = self.fork_epoch()?;
        let mut batch = self.begin()?;
        for bytes in events {
            batch.push_bytes(bytes.clone())?;
        }
        ChainVerifier::resume(batch.store.group.clone(), batch.seq, batch.head, batch.key)
            .finish(checkpoint, fork_epoch)?;
        if batch.key != batch.store.keys.current.public() {
            return Err(StoreError::KeyNotHeld {
                group: batch.store.group.clone(),
                seq: batch.rotated_at.unwrap_or(batch.seq),
                key: batch.key,
            });
        }
        batch.commit()?;
        Ok(self.head())
    }
}

/// A short pause before writing again, growing with the attempt and varied by
/// process so that two writers that collided do not collide again in step.
fn retry_pause(attempt: u32) -> std::time::Duration {
    let jitter = u64::from(std::process::id() % 7) + u64::from(attempt % 3);
    std::time::Duration::from_millis(u64::from(attempt.min(10)) * 5 + jitter)
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
    /// The key in effect after `seq`, as the pushed events hand it on.
    key: PublicKey,
    /// The seq of the last `KeyRotated` pushed, if any.
    rotated_at: Option<u64>,
    /// What the commit writes to the key table.
    keys: Option<KeyUpdate>,
    pending: Vec<Pending>,
    /// The CSV file these events come from, recorded with them.
    import: Option<ImportSource>,
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

    /// Records, in the commit's transaction, that these events are `source`'s
    /// import; the commit is refused if the same bytes were imported before
    /// (unless `source.again`), so two imports racing cannot both land.
    pub fn record_import(&mut self, source: ImportSource) {
        self.import = Some(source);
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
            recorded_at: unix_now(),
            body,
        };
        sajja_common::ledger::check_not_future(&event, sajja_edge::clock::today())?;
        let bytes = event.encode();
        debug_assert_eq!(Event::decode(&bytes).as_ref(), Ok(&event));
        let mut key = self.key;
        if let Body::KeyRotated { new_key, .. } = &event.body {
            // Only `rotate_key` writes a rotation: it alone stores the new
            // key's seed with it, and the verifier checks the old key's consent.
            let stored = match &self.keys {
                Some(KeyUpdate::Rotated { new, .. }) => new.public() == *new_key,
                _ => false,
            };
            if !stored {
                return Err(StoreError::KeyNotHeld {
                    group: self.store.group.clone(),
                    seq: event.seq,
                    key: *new_key,
                });
            }
            let mut verifier =
                ChainVerifier::resume(self.store.group.clone(), self.seq, self.head, key);
            verifier.push(&bytes)?;
            key = verifier.key();
        }
        let original = self.original(&event)?;
        self.books.apply(&event, original.as_ref())?;
        if key != self.key {
            self.key = key;
            self.rotated_at = Some(event.seq);
        }
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
        let mut verifier =
            ChainVerifier::resume(self.store.group.clone(), self.seq, self.head, self.key);
        let event = verifier.push(&bytes)?;
        let original = self.original(&event)?;
        self.books.apply(&event, original.as_ref())?;
        self.seq = verifier.seq();
        self.head = verifier.head();
        if verifier.key() != self.key {
            self.key = verifier.key();
            self.rotated_at = Some(self.seq);
        }
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
            keys,
            pending,
            import,
            ..
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
        if let Some(source) = &import {
            if !source.again
                && let Some(earlier) = latest_import(&tx, &source.sha256)?
            {
                return Err(already_imported(&store.group, &source.file_name, &earlier));
            }
            tx.execute(
                "INSERT INTO imports (sha256, file_name, events, first_seq, last_seq, imported_at, again)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    &source.sha256[..],
                    source.file_name,
                    pending.len() as i64,
                    first as i64,
                    seq as i64,
                    unix_now(),
                    source.again
                ],
            )?;
        }
        write_derived(&tx, Some(&store.books), &books)?;
        let keys = match keys {
            Some(update) => Some(update.write(&tx, &store.keys)?),
            None => None,
        };
        tx.commit()?;
        tracing::info!(group = %store.group, from = first, to = seq, "appended");
        store.head_seq = seq;
        store.head_hash = head;
        store.books = books;
        if let Some(keys) = keys {
            store.keys = keys;
        }
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
    let (group, key) = read_identity(&conn)?;
    let keys = Keys::read(&conn, key)?;
    let (books, _, _) = fold_log(&conn, &group, &keys)?;
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

/// The keys this group's log has had, as this node knows them. A checkpoint
/// at seq N is signed by the key in effect after event N.
pub struct Keys {
    /// Oldest first.
    retired: Vec<RetiredKey>,
    /// Signs new checkpoints.
    current: SigningKey,
}

/// A key the log has handed on.
pub struct RetiredKey {
    /// It signs checkpoints before this seq (and from the previous retired
    /// key's `until_seq`): the seq of the `KeyRotated` that replaced it, or
    /// of the restore that found it lost.
    pub until_seq: u64,
    pub public: PublicKey,
    /// `None` for a lost key, which a hub operator's re-key replaced.
    seed: Option<SigningKey>,
}

impl RetiredKey {
    /// Whether this node can still sign with it.
    pub fn held(&self) -> bool {
        self.seed.is_some()
    }
}

/// `retired_keys` holds the keys the log has handed on, with their seeds:
/// a hub that is behind still needs checkpoints before a rotation signed with
/// the key of that time. Created on open rather than by a schema version: it
/// starts empty, which is right for every ledger that never rotated.
fn create_key_history(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS retired_keys (
             until_seq    INTEGER PRIMARY KEY,
             public_key   BLOB NOT NULL,
             signing_seed BLOB
         );",
    )?;
    Ok(())
}

impl Keys {
    /// Every seed held, oldest first, the current one last.
    fn held_seeds(&self) -> Vec<[u8; 32]> {
        self.retired
            .iter()
            .filter_map(|k| k.seed.as_ref().map(|s| *s.seed()))
            .chain(std::iter::once(*self.current.seed()))
            .collect()
    }

    fn only(current: SigningKey) -> Keys {
        Keys {
            retired: Vec::new(),
            current,
        }
    }

    fn read(conn: &Connection, current: SigningKey) -> Result<Keys, StoreError> {
        let mut statement = conn.prepare(
            "SELECT until_seq, public_key, signing_seed FROM retired_keys ORDER BY until_seq",
        )?;
        let mut rows = statement.query([])?;
        let mut retired = Vec::new();
        while let Some(row) = rows.next()? {
            let until_seq: i64 = row.get(0)?;
            let public: Vec<u8> = row.get(1)?;
            let seed: Option<Vec<u8>> = row.get(2)?;
            let public = PublicKey::from_slice(&public)
                .ok_or_else(|| Damage::Meta(format!("retired key until seq {until_seq}")))?;
            let seed = seed.map(|s| SigningKey::from_seed(&s)).transpose()?;
            if seed.as_ref().is_some_and(|s| s.public() != public) {
                return Err(Damage::Meta(format!(
                    "retired key until seq {until_seq}: the seed is not the public key's"
                ))
                .into());
            }
            retired.push(RetiredKey {
                until_seq: until_seq as u64,
                public,
                seed,
            });
        }
        Ok(Keys { retired, current })
    }

    /// Which key the log says is in effect after event `seq`.
    fn key_for(&self, seq: u64) -> PublicKey {
        self.retired
            .iter()
            .find(|k| k.until_seq > seq)
            .map_or(self.current.public(), |k| k.public)
    }

    /// The key that signs a checkpoint at `seq`. A hub operator's re-key
    /// replaces the lost key for the whole log up to it, so at or before a
    /// lost key this node signs with the key that replaced it, as the
    /// re-keyed hub verifies.
    fn signer_for(&self, seq: u64) -> &SigningKey {
        let at = self
            .retired
            .iter()
            .position(|k| k.until_seq > seq)
            .unwrap_or(self.retired.len());
        let floor = self
            .retired
            .iter()
            .rposition(|k| k.seed.is_none())
            .map_or(0, |lost| lost + 1);
        let index = at.max(floor);
        self.retired
            .get(index)
            .and_then(|k| k.seed.as_ref())
            .unwrap_or(&self.current)
    }
}

/// What a commit writes to the key table, with the events.
enum KeyUpdate {
    /// `rotate-key`: the current key retires at `seq`; `new` signs from there.
    Rotated { seq: u64, new: SigningKey },
    /// A restore: the keys the restored log proved, and the one to sign with.
    Restored {
        retired: Vec<(u64, PublicKey, Option<[u8; 32]>)>,
        current: SigningKey,
    },
}

impl KeyUpdate {
    /// Writes the update; returns the keys as they will be after the commit.
    fn write(self, conn: &Connection, keys: &Keys) -> Result<Keys, StoreError> {
        let current = match self {
            KeyUpdate::Rotated { seq, new } => {
                conn.execute(
                    "INSERT INTO retired_keys (until_seq, public_key, signing_seed) VALUES (?1, ?2, ?3)",
                    params![
                        seq as i64,
                        keys.current.public().as_bytes().as_slice(),
                        keys.current.seed().as_slice()
                    ],
                )?;
                new
            }
            KeyUpdate::Restored { retired, current } => {
                conn.execute("DELETE FROM retired_keys", [])?;
                for (until, public, seed) in retired {
                    conn.execute(
                        "INSERT INTO retired_keys (until_seq, public_key, signing_seed) VALUES (?1, ?2, ?3)",
                        params![
                            until as i64,
                            public.as_bytes().as_slice(),
                            seed.as_ref().map(|s| s.as_slice())
                        ],
                    )?;
                }
                current
            }
        };
        conn.execute(
            "UPDATE secrets SET signing_seed = ?1 WHERE id = 1",
            [current.seed().as_slice()],
        )?;
        Keys::read(conn, current)
    }
}

/// What a restore trusts: the treasurer's own keys.
pub struct RestoreKeys {
    /// Seeds from the key backup, oldest first; a new key made for a lost
    /// one (`sajja-node keygen`) is given the same way.
    pub seeds: Vec<SigningKey>,
    /// Public keys the group had, for a restore whose seeds are lost.
    pub public: Vec<PublicKey>,
}

impl Store {
    /// The keys the log has handed on, oldest first.
    pub fn retired_keys(&self) -> &[RetiredKey] {
        &self.keys.retired
    }

    /// Is `bundle` this ledger's? A bundle issued before a `rotate-key`
    /// binds a key this ledger signed with earlier: the certificate still
    /// names this group, so it stays valid until the hub re-issues it.
    pub fn check_own_bundle(&self, bundle: &Enrolment) -> Result<(), BundleError> {
        let bound = bundle.public_key.as_deref().and_then(PublicKey::from_hex);
        let key = match bound {
            Some(key) if self.had_key(&key) => key,
            _ => self.public_key(),
        };
        check_bundle(bundle, &self.group, &key)
    }

    /// Whether `key` is this group's signing key now or was one before a
    /// rotation (an enrolment bundle issued before a rotation binds the old one).
    pub fn had_key(&self, key: &PublicKey) -> bool {
        self.public_key() == *key || self.keys.retired.iter().any(|k| k.public == *key)
    }

    /// Every seed this node holds, oldest first, ending with the current one:
    /// what `key-export` writes, since a restore may need to sign checkpoints
    /// before a rotation for a hub that is behind.
    pub fn held_seeds(&self) -> Vec<[u8; 32]> {
        self.keys.held_seeds()
    }

    /// Hands the group's signing key on to a fresh one: appends a
    /// `KeyRotated` signed by the key in effect and, in the same transaction,
    /// keeps the old key (it still signs checkpoints before the rotation, for
    /// a hub that is behind) and stores the new one. Returns the event's seq
    /// and the new public key.
    pub fn rotate_key(&mut self, date: Date) -> Result<(u64, PublicKey), StoreError> {
        let new = SigningKey::generate()?;
        let new_public = new.public();
        let mut batch = self.begin()?;
        let seq = batch.next_seq();
        let signer = batch.store.keys.signer_for(batch.seq);
        if signer.public() != batch.key {
            return Err(StoreError::KeyNotHeld {
                group: batch.store.group.clone(),
                seq: batch.seq,
                key: batch.key,
            });
        }
        let body = Body::key_rotated(&batch.store.group, seq, &batch.head, signer, new_public);
        batch.keys = Some(KeyUpdate::Rotated { seq, new });
        batch.push(date, body)?;
        batch.commit()?;
        tracing::info!(group = %self.group, seq, key = %new_public, "signing key rotated");
        Ok((seq, new_public))
    }

    /// Fills this empty ledger with the group's log from its hub, verified
    /// whole: the chain, every ledger rule, every key rotation (from the
    /// first key, which the log's first rotation names), and `checkpoint` at
    /// the end with the key in effect there, or with a key the treasurer
    /// holds (the hub operator re-keyed the group to it). The log must be
    /// vouched for by `trusted`: a key it had, or the key that signed its
    /// head. This node then signs with the held key in effect at the head,
    /// or, if that one is lost, with a held key the log never had (the
    /// replacement the hub operator re-keys the group to). Returns the head.
    pub fn restore_log(
        &mut self,
        events: &[Vec<u8>],
        checkpoint: &SignedCheckpoint,
        trusted: &RestoreKeys,
    ) -> Result<(u64, Hash), StoreError> {
        let group = self.group.clone();
        if self.head_seq != 0 {
            return Err(Damage::Meta("a restore fills an empty ledger".into()).into());
        }
        let fork_epoch = self.fork_epoch()?;
        let held = |key: &PublicKey| trusted.seeds.iter().find(|s| s.public() == *key);
        let vouching: Vec<PublicKey> = trusted
            .seeds
            .iter()
            .map(SigningKey::public)
            .chain(trusted.public.iter().copied())
            .collect();
        let first_rotation = events.iter().find_map(|bytes| match Event::decode(bytes) {
            Ok(Event {
                body: Body::KeyRotated { old_key, .. },
                ..
            }) => Some(old_key),
            _ => None,
        });
        let start = match first_rotation {
            Some(key) => key,
            // One key all along: the one that signed the head.
            None => vouching
                .iter()
                .copied()
                .find(|key| checkpoint.verify(key))
                .ok_or_else(|| VerifyError::BadSignature {
                    group: group.clone(),
                    seq: checkpoint.checkpoint.seq,
                })?,
        };
        let mut batch = self.begin()?;
        batch.key = start;
        let mut chain_keys = vec![start];
        let mut rotations = Vec::new();
        for bytes in events {
            let before = batch.key;
            batch.push_bytes(bytes.clone())?;
            if batch.key != before {
                chain_keys.push(batch.key);
                rotations.push((batch.seq, before));
            }
        }
        let (head_seq, end_key) = (batch.seq, batch.key);
        let at_head =
            |key: PublicKey| ChainVerifier::resume(group.clone(), head_seq, batch.head, key);
        let signed_by = match at_head(end_key).finish(checkpoint, fork_epoch) {
            Ok(()) => end_key,
            // A key the log handed on stays retired; only a key it never
            // had can be one the hub operator re-keyed the group to.
            Err(VerifyError::BadSignature { seq, .. }) => trusted
                .seeds
                .iter()
                .map(SigningKey::public)
                .filter(|key| !chain_keys.contains(key))
                .find(|key| at_head(*key).finish(checkpoint, fork_epoch).is_ok())
                .ok_or(VerifyError::BadSignature {
                    group: group.clone(),
                    seq,
                })?,
            Err(error) => return Err(error.into()),
        };
        let vouched =
            held(&signed_by).is_some() || chain_keys.iter().any(|key| vouching.contains(key));
        if !vouched {
            return Err(StoreError::Untrusted {
                group,
                seq: head_seq,
                key: signed_by,
            });
        }
        let current = match held(&signed_by) {
            Some(seed) => seed,
            None => trusted
                .seeds
                .iter()
                .rev()
                .find(|s| !chain_keys.contains(&s.public()))
                .ok_or(StoreError::KeyNotHeld {
                    group: group.clone(),
                    seq: rotations.last().map_or(head_seq, |(seq, _)| *seq),
                    key: signed_by,
                })?,
        };
        let mut retired: Vec<(u64, PublicKey, Option<[u8; 32]>)> = rotations
            .iter()
            .map(|(seq, key)| (*seq, *key, held(key).map(|s| *s.seed())))
            .collect();
        let last_until = rotations.last().map_or(0, |(seq, _)| *seq);
        if current.public() != end_key && head_seq > last_until {
            retired.push((head_seq, end_key, held(&end_key).map(|s| *s.seed())));
        }
        batch.keys = Some(KeyUpdate::Restored {
            retired,
            current: SigningKey::from_seed(current.seed())?,
        });
        batch.commit()?;
        if self.public_key() != end_key {
            tracing::warn!(group = %group, key = %self.public_key(), "restored with a key the log never had: the hub operator must re-key the group to it");
        }
        Ok(self.head())
    }
}

#[cfg(test)]
mod key_tests;
#[cfg(test)]
mod tests;
