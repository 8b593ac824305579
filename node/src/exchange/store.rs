//! A community exchange's own SQLite file (`exchange.sqlite` in the data
//! directory): the exchange's log (exact bytes and chain hash per seq), its
//! signing key, the register of account holders' names (which never leave
//! this machine), and the hub link and acknowledged position.
//!
//! The discipline is the group ledger's: every event is validated by
//! [`ExchangeBooks::apply`] (the same code every hub runs on it) against the
//! books as they stand in the file, and written with its hash in one
//! transaction; the in-memory head and books move only after the commit. A
//! refusal leaves file and process as they were. Opening re-verifies the
//! whole chain and re-folds the books, so damage is named, not served.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sajja_common::chain::{self, Hash};
use sajja_common::checkpoint::{Checkpoint, PublicKey, SignedCheckpoint, SigningKey};
use sajja_common::date::Date;
use sajja_common::exchange::{
    AccountNo, Credits, ExchangeBody, ExchangeBooks, ExchangeEvent, ExchangeRefusal, ExchangeTerms,
};
use sajja_common::ids::GroupId;
use sajja_common::verify::{ChainVerifier, VerifyError};
use sajja_edge::clock::unix_now;
use sajja_edge::enrolment::Enrolment;
use thiserror::Error;

use crate::link::{BundleError, check_bundle};

/// The exchange's file in a data directory.
pub const EXCHANGE_FILE: &str = "exchange.sqlite";

/// The most events one sync batch carries, whatever their size.
const MAX_CHUNK_EVENTS: usize = 5_000;

/// How long a writer waits for another process's transaction.
const BUSY_TIMEOUT_MS: u64 = 5_000;

/// The most bytes a holder's name or phone may take.
pub const MAX_HOLDER_TEXT: usize = 200;

const SCHEMA: &str = "
    CREATE TABLE meta (
        id            INTEGER PRIMARY KEY CHECK (id = 1),
        log_id        TEXT    NOT NULL,
        signing_seed  BLOB    NOT NULL,
        fork_epoch    INTEGER NOT NULL DEFAULT 0,
        hub_acked_seq INTEGER NOT NULL DEFAULT 0,
        last_sync_at  INTEGER,
        bundle        TEXT,
        created_at    INTEGER NOT NULL
    );
    CREATE TABLE events (
        seq           INTEGER PRIMARY KEY,
        bytes         BLOB    NOT NULL,
        hash          BLOB    NOT NULL,
        business_date INTEGER NOT NULL
    );
    CREATE TABLE holders (
        account INTEGER PRIMARY KEY,
        name    TEXT NOT NULL,
        phone   TEXT
    );
";

/// Each CSV file imported, by its SHA-256, so the same file is never
/// recorded twice. Made on every open: files from before it gain it.
const IMPORTS: &str = "
    CREATE TABLE IF NOT EXISTS imports (
        sha256      BLOB    PRIMARY KEY,
        first_seq   INTEGER NOT NULL,
        last_seq    INTEGER NOT NULL,
        imported_at INTEGER NOT NULL
    );
";

const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Error)]
pub enum ExchangeStoreError {
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("exchange log damaged: a stored value does not read ({0})")]
    Value(#[from] rusqlite::types::FromSqlError),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} already exists: this data directory already holds an exchange", .0.display())]
    AlreadyExists(PathBuf),
    #[error(
        "{} does not exist: start the exchange with `sajja-node exchange init` (or give --data-dir)",
        .0.display()
    )]
    Missing(PathBuf),
    #[error("{0} is not an exchange's log id: an exchange's log is TTTTTT-XNN, e.g. 230101-X01")]
    NotAnExchange(GroupId),
    #[error(transparent)]
    Refused(#[from] ExchangeRefusal),
    #[error("exchange log damaged: {0}")]
    Damaged(String),
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error("schema version {found} is newer than this program's {supported}: upgrade sajja-node")]
    SchemaTooNew { found: u32, supported: u32 },
    #[error("exchange {log}: the hub acknowledged seq {seq}, beyond this node's head {head}")]
    AckBeyondHead { log: GroupId, seq: u64, head: u64 },
    #[error("{what} is longer than {MAX_HOLDER_TEXT} bytes")]
    TooLong { what: &'static str },
    #[error(
        "this file was imported before, as seq {first}..={last}: importing it again would record every entry twice"
    )]
    AlreadyImported { first: u64, last: u64 },
}

/// A holder's name and phone, as the exchange's register keeps them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub name: String,
    pub phone: Option<String>,
}

/// The exchange's log, books and key, open on its file.
pub struct ExchangeStore {
    conn: Connection,
    path: PathBuf,
    log: GroupId,
    key: SigningKey,
    books: ExchangeBooks,
    head_seq: u64,
    head_hash: Hash,
}

fn connect(path: &Path) -> Result<Connection, ExchangeStoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS))?;
    // As the group ledger: WAL for readers, FULL so a power cut loses at most
    // the transaction in flight.
    conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))?;
    conn.execute_batch("PRAGMA synchronous = FULL;")?;
    conn.execute_batch(IMPORTS)?;
    Ok(conn)
}

fn damaged(what: impl std::fmt::Display) -> ExchangeStoreError {
    ExchangeStoreError::Damaged(what.to_string())
}

fn check_text(text: &str, what: &'static str) -> Result<(), ExchangeStoreError> {
    if text.len() > MAX_HOLDER_TEXT {
        return Err(ExchangeStoreError::TooLong { what });
    }
    Ok(())
}

/// The events of the file, verified from the genesis of `log` and folded by
/// the exchange's rules: what `open` trusts, and what a write re-reads when
/// another process appended first.
fn fold_file(
    conn: &Connection,
    log: &GroupId,
    key: PublicKey,
) -> Result<(ExchangeBooks, u64, Hash), ExchangeStoreError> {
    let mut verifier = ChainVerifier::new(log.clone(), key);
    let mut books = ExchangeBooks::new(log.clone());
    let mut statement = conn.prepare_cached("SELECT seq, bytes, hash FROM events ORDER BY seq")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let seq: u64 = row.get(0)?;
        let bytes = row.get_ref(1)?.as_blob()?;
        let event = verifier
            .push_exchange(bytes)
            .map_err(|e| damaged(format!("seq {seq}: {e}")))?;
        let stored = Hash::from_slice(row.get_ref(2)?.as_blob()?);
        if stored != Some(verifier.head()) {
            return Err(damaged(format!(
                "seq {seq}: its bytes do not hash to the stored chain"
            )));
        }
        books
            .apply(&event)
            .map_err(|e| damaged(format!("seq {seq} no longer passes the rules: {e}")))?;
    }
    Ok((books, verifier.seq(), verifier.head()))
}

impl ExchangeStore {
    /// Creates the exchange's file (mode 0600: it holds the signing key and
    /// holders' names) with `ExchangeOpened` as its first event.
    pub fn create(
        path: &Path,
        log: GroupId,
        terms: ExchangeTerms,
        opened_on: Date,
        key: SigningKey,
    ) -> Result<ExchangeStore, ExchangeStoreError> {
        if !log.is_exchange_log() {
            return Err(ExchangeStoreError::NotAnExchange(log));
        }
        // Check the opening before any file exists: a refusal leaves nothing.
        let opening = ExchangeEvent {
            log: log.clone(),
            seq: 1,
            date: opened_on,
            recorded_at: unix_now(),
            body: ExchangeBody::ExchangeOpened(terms),
        };
        ExchangeBooks::new(log.clone()).apply(&opening)?;
        // Made ours, mode 0600, before SQLite touches it; SQLite gives the
        // -wal and -shm files the same mode.
        sajja_edge::enrolment::write_private(path, b"").map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                ExchangeStoreError::AlreadyExists(path.to_path_buf())
            } else {
                ExchangeStoreError::Io {
                    path: path.to_path_buf(),
                    source: e,
                }
            }
        })?;
        let created = (|| {
            let mut conn = connect(path)?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute_batch(SCHEMA)?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            tx.execute(
                "INSERT INTO meta (id, log_id, signing_seed, created_at) VALUES (1, ?1, ?2, ?3)",
                params![log.as_str(), &key.seed()[..], unix_now()],
            )?;
            tx.commit()?;
            Ok(conn)
        })();
        let conn = match created {
            Ok(conn) => conn,
            Err(error) => {
                let _ = std::fs::remove_file(path);
                return Err(error);
            }
        };
        let mut store = ExchangeStore {
            conn,
            path: path.to_path_buf(),
            head_hash: chain::genesis(&log),
            books: ExchangeBooks::new(log.clone()),
            log,
            key,
            head_seq: 0,
        };
        store.append(opened_on, opening.body, None)?;
        Ok(store)
    }

    /// Opens the exchange's file and re-verifies its whole log.
    pub fn open(path: &Path) -> Result<ExchangeStore, ExchangeStoreError> {
        if !path.exists() {
            return Err(ExchangeStoreError::Missing(path.to_path_buf()));
        }
        let conn = connect(path)?;
        let version: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(ExchangeStoreError::SchemaTooNew {
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        let (log, seed): (String, Vec<u8>) = conn
            .query_row("SELECT log_id, signing_seed FROM meta", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(|e| damaged(format!("the exchange's identity does not read: {e}")))?;
        let log = GroupId::parse(&log).map_err(damaged)?;
        let key = SigningKey::from_seed(&seed).map_err(damaged)?;
        let (books, head_seq, head_hash) = fold_file(&conn, &log, key.public())?;
        Ok(ExchangeStore {
            conn,
            path: path.to_path_buf(),
            log,
            key,
            books,
            head_seq,
            head_hash,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn log(&self) -> &GroupId {
        &self.log
    }

    pub fn books(&self) -> &ExchangeBooks {
        &self.books
    }

    pub fn public_key(&self) -> PublicKey {
        self.key.public()
    }

    /// The head seq and chain hash.
    pub fn head(&self) -> (u64, Hash) {
        (self.head_seq, self.head_hash)
    }

    /// Re-reads the log if another process appended since this one last
    /// looked.
    pub fn refresh(&mut self) -> Result<(), ExchangeStoreError> {
        let in_file: u64 =
            self.conn
                .query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))?;
        if in_file != self.head_seq {
            let (books, seq, hash) = fold_file(&self.conn, &self.log, self.key.public())?;
            (self.books, self.head_seq, self.head_hash) = (books, seq, hash);
        }
        Ok(())
    }

    /// Validates `body` as the next event on `date` against the books in
    /// the file and appends it, with the holder's name for an account it
    /// opens, in one transaction; returns its seq. A refusal writes nothing.
    pub fn append(
        &mut self,
        date: Date,
        body: ExchangeBody,
        holder: Option<&Holder>,
    ) -> Result<u64, ExchangeStoreError> {
        self.append_all(vec![(date, body, holder.cloned())])
    }

    /// Appends every entry or none (an import): each is validated against
    /// the books the ones before it leave, all commit in one transaction.
    /// Returns the last seq.
    pub fn append_all(
        &mut self,
        entries: Vec<(Date, ExchangeBody, Option<Holder>)>,
    ) -> Result<u64, ExchangeStoreError> {
        self.append_recorded(entries, None)
    }

    /// [`ExchangeStore::append_all`] for the rows of a file whose SHA-256
    /// is `sha256`: refused if that file was imported before, and recorded
    /// with the entries, in their transaction. Returns the seq range.
    pub fn import_file(
        &mut self,
        entries: Vec<(Date, ExchangeBody, Option<Holder>)>,
        sha256: [u8; 32],
    ) -> Result<(u64, u64), ExchangeStoreError> {
        let first = self.head_seq + 1;
        let last = self.append_recorded(entries, Some(sha256))?;
        Ok((first, last))
    }

    fn append_recorded(
        &mut self,
        entries: Vec<(Date, ExchangeBody, Option<Holder>)>,
        import: Option<[u8; 32]>,
    ) -> Result<u64, ExchangeStoreError> {
        for (_, _, holder) in &entries {
            if let Some(h) = holder {
                check_text(&h.name, "the holder's name")?;
                check_text(h.phone.as_deref().unwrap_or(""), "the holder's phone")?;
            }
        }
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let in_file: u64 =
            tx.query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))?;
        let (mut books, mut seq, mut head) = if in_file == self.head_seq {
            (self.books.clone(), self.head_seq, self.head_hash)
        } else {
            // Another process appended first: validate against its books.
            fold_file(&tx, &self.log, self.key.public())?
        };
        if let Some(sha256) = import {
            let earlier: Option<(u64, u64)> = tx
                .query_row(
                    "SELECT first_seq, last_seq FROM imports WHERE sha256 = ?1",
                    [&sha256[..]],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            if let Some((first, last)) = earlier {
                return Err(ExchangeStoreError::AlreadyImported { first, last });
            }
        }
        let first_seq = seq + 1;
        let now = unix_now();
        for (date, body, holder) in entries {
            let event = ExchangeEvent {
                log: self.log.clone(),
                seq: seq + 1,
                date,
                recorded_at: now,
                body,
            };
            books.apply(&event)?;
            let bytes = event.encode();
            let hash = chain::next(&head, &bytes);
            tx.execute(
                "INSERT INTO events (seq, bytes, hash, business_date) VALUES (?1, ?2, ?3, ?4)",
                params![event.seq, bytes, hash.as_bytes().as_slice(), date.days()],
            )?;
            if let (Some(h), ExchangeBody::AccountOpened { account, .. }) = (holder, &event.body) {
                tx.execute(
                    "INSERT OR REPLACE INTO holders (account, name, phone) VALUES (?1, ?2, ?3)",
                    params![account.0, h.name, h.phone],
                )?;
            }
            tracing::debug!(exchange = %self.log, seq = event.seq, kind = event.body.kind(), "exchange event validated");
            (seq, head) = (event.seq, hash);
        }
        if let Some(sha256) = import {
            tx.execute(
                "INSERT INTO imports (sha256, first_seq, last_seq, imported_at) VALUES (?1, ?2, ?3, ?4)",
                params![&sha256[..], first_seq, seq, now],
            )?;
        }
        tx.commit()?;
        tracing::info!(exchange = %self.log, seq, "exchange events appended");
        (self.books, self.head_seq, self.head_hash) = (books, seq, head);
        Ok(seq)
    }

    /// Every event, decoded, in log order.
    pub fn events(&self) -> Result<Vec<ExchangeEvent>, ExchangeStoreError> {
        let mut statement = self
            .conn
            .prepare_cached("SELECT seq, bytes FROM events ORDER BY seq")?;
        let mut rows = statement.query([])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let seq: u64 = row.get(0)?;
            let event = ExchangeEvent::decode(row.get_ref(1)?.as_blob()?)
                .map_err(|e| damaged(format!("seq {seq}: {e}")))?;
            out.push(event);
        }
        Ok(out)
    }

    /// Every entry that moved `account`'s balance, in log order, with the
    /// change and the balance after it. The log is replayed through the
    /// books, which decide every movement (a returned voucher's value, a
    /// reversal's), so a statement cannot disagree with them.
    pub fn statement(
        &self,
        account: AccountNo,
    ) -> Result<Vec<(ExchangeEvent, Credits, Credits)>, ExchangeStoreError> {
        let mut replay = ExchangeBooks::new(self.log.clone());
        let mut before = Credits::ZERO;
        let mut lines = Vec::new();
        for event in self.events()? {
            replay.apply_unchecked(&event);
            let after = replay
                .accounts
                .get(&account)
                .map_or(Credits::ZERO, |a| a.balance);
            if after != before {
                let change = Credits::from_centi(after.centi() - before.centi());
                lines.push((event, change, after));
                before = after;
            }
        }
        Ok(lines)
    }

    /// Stored events from `from_seq`, as bytes, up to `max_bytes` (at least one).
    pub fn events_from(
        &self,
        from_seq: u64,
        max_bytes: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, ExchangeStoreError> {
        let mut statement = self
            .conn
            .prepare_cached("SELECT seq, bytes FROM events WHERE seq >= ?1 ORDER BY seq")?;
        let mut rows = statement.query([from_seq.max(1)])?;
        let mut chunk = Vec::new();
        let mut total = 0usize;
        while let Some(row) = rows.next()? {
            let bytes = row.get_ref(1)?.as_blob()?;
            if !chunk.is_empty()
                && (total + bytes.len() > max_bytes || chunk.len() >= MAX_CHUNK_EVENTS)
            {
                break;
            }
            total += bytes.len();
            chunk.push((row.get(0)?, bytes.to_vec()));
        }
        Ok(chunk)
    }

    /// The chain hash after `seq` (the genesis at 0), if the log reaches it.
    pub fn hash_at(&self, seq: u64) -> Result<Option<Hash>, ExchangeStoreError> {
        if seq == 0 {
            return Ok(Some(chain::genesis(&self.log)));
        }
        let stored: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT hash FROM events WHERE seq = ?1", [seq], |r| {
                r.get(0)
            })
            .optional()?;
        stored
            .map(|h| Hash::from_slice(&h).ok_or_else(|| damaged(format!("seq {seq}: hash"))))
            .transpose()
    }

    /// A checkpoint at `seq`, signed with the exchange's key at the current
    /// fork epoch.
    pub fn sign_checkpoint_at(&self, seq: u64) -> Result<SignedCheckpoint, ExchangeStoreError> {
        let head = self
            .hash_at(seq)?
            .ok_or_else(|| damaged(format!("no seq {seq} to sign")))?;
        Ok(Checkpoint {
            group: self.log.clone(),
            seq,
            head,
            fork_epoch: self.fork_epoch()?,
        }
        .sign(&self.key))
    }

    pub fn fork_epoch(&self) -> Result<u32, ExchangeStoreError> {
        Ok(self
            .conn
            .query_row("SELECT fork_epoch FROM meta", [], |r| r.get(0))?)
    }

    pub fn set_fork_epoch(&self, epoch: u32) -> Result<(), ExchangeStoreError> {
        self.conn
            .execute("UPDATE meta SET fork_epoch = ?1", [epoch])?;
        Ok(())
    }

    /// Records that the hub has durably accepted everything up to `seq`.
    pub fn set_acked(&self, seq: u64, at_unix: i64) -> Result<(), ExchangeStoreError> {
        if seq > self.head_seq {
            return Err(ExchangeStoreError::AckBeyondHead {
                log: self.log.clone(),
                seq,
                head: self.head_seq,
            });
        }
        self.conn.execute(
            "UPDATE meta SET hub_acked_seq = ?1, last_sync_at = ?2",
            params![seq, at_unix],
        )?;
        Ok(())
    }

    /// The hub's acknowledged seq and when it was acknowledged.
    pub fn acked(&self) -> Result<(u64, Option<i64>), ExchangeStoreError> {
        Ok(self
            .conn
            .query_row("SELECT hub_acked_seq, last_sync_at FROM meta", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?)
    }

    /// Makes `bundle` the exchange's hub link: refused unless it enrols
    /// this exchange's log under this exchange's key and has not expired.
    pub fn set_hub_link(
        &self,
        bundle: &Enrolment,
        now_unix: i64,
    ) -> Result<(), ExchangeStoreError> {
        check_bundle(bundle, &self.log, &self.public_key())?;
        if bundle.not_after <= now_unix {
            return Err(BundleError::Expired {
                expired: Date::thai_date_at(bundle.not_after),
                today: Date::thai_date_at(now_unix),
            }
            .into());
        }
        self.conn
            .execute("UPDATE meta SET bundle = ?1", [bundle.to_text()])?;
        tracing::info!(exchange = %self.log, hub = %bundle.hub_url, "enrolment bundle installed");
        Ok(())
    }

    /// The installed hub link, if any.
    pub fn hub_link(&self) -> Result<Option<Enrolment>, ExchangeStoreError> {
        let text: Option<String> = self
            .conn
            .query_row("SELECT bundle FROM meta", [], |r| r.get(0))?;
        text.map(|t| Enrolment::parse(&t).map_err(|e| damaged(format!("the hub link: {e}"))))
            .transpose()
    }

    /// The holder of `account` as the register keeps them.
    pub fn holder(&self, account: AccountNo) -> Result<Option<Holder>, ExchangeStoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT name, phone FROM holders WHERE account = ?1",
                [account.0],
                |r| {
                    Ok(Holder {
                        name: r.get(0)?,
                        phone: r.get(1)?,
                    })
                },
            )
            .optional()?)
    }
}
