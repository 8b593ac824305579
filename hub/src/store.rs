//! The hub's SQLite store: every enrolled group's log, its latest signed
//! checkpoint, fork evidence, and the group's summary figures.
//!
//! Events are stored exactly as the node encoded them, keyed by a small integer
//! per group. Nothing here decides what may be stored; `ingest` does.

use std::path::Path;

use prost::Message;
use rusqlite::{Connection, OptionalExtension, params};
use sajja_common::ledger::reversal_target;
use sajja_common::position::{PositionBasis, PositionCuts};
use sajja_common::{Books, Date, Event, GroupId, Hash, PublicKey, SignedCheckpoint, chain};
use sajja_proto::v1;
use thiserror::Error;

use crate::values::principal::Principal;
use crate::values::status::{Damage, GroupStatus};

/// 1: logs, checkpoints, forks. 2: adds `group_books` and `group_positions`,
/// each group's folded books and position inputs, written with every batch.
/// 3: adds `credentials`, the client certificates this hub issued.
/// 4: the stored books and position inputs are snapshot version 2 (the
/// position inputs carry what fund growth, member growth and the collection
/// rate read): re-folded from every log.
const SCHEMA_VERSION: i64 = 4;

/// How finely a group's last contact is kept, in seconds: a hub writes it at
/// most once a minute however often the group's node says hello (each write
/// is a synced transaction), and the relay passes on at most that many
/// changes; "stale" is counted in days.
pub const CONTACT_RESOLUTION_S: i64 = 60;

/// The page cache of the hub's connection, in KiB.
const CACHE_KIB: i64 = 64 * 1024;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("group {0} is already enrolled with a different key")]
    KeyConflict(GroupId),
    #[error("group {0} is not enrolled")]
    NotEnrolled(GroupId),
    #[error("database schema version {0} is newer than this hub understands ({SCHEMA_VERSION})")]
    SchemaTooNew(i64),
    #[error("stored data is damaged: {0}")]
    Damaged(String),
}

/// What the hub has committed for one group.
#[derive(Clone, Debug)]
pub struct GroupRow {
    pub gid: i64,
    pub group: GroupId,
    pub key: PublicKey,
    pub fork_epoch: u32,
    pub status: GroupStatus,
    pub seq: u64,
    pub head: Hash,
    pub checkpoint: Option<SignedCheckpoint>,
    /// When this hub last committed a batch of the log (unix seconds).
    pub last_sync_at: Option<i64>,
    /// The group's last verified contact (unix seconds): see
    /// [`Store::record_contact`]. What "stale" is measured from.
    pub last_contact_at: Option<i64>,
}

/// One log's status and size, without its key or checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupSummary {
    pub group: GroupId,
    pub status: GroupStatus,
    pub seq: u64,
    pub last_sync_at: Option<i64>,
    pub last_contact_at: Option<i64>,
}

/// Two conflicting signed histories of one group.
#[derive(Clone, Debug)]
pub struct ForkRecord {
    pub id: i64,
    pub group: GroupId,
    pub seq: u64,
    pub accepted_event: Option<Vec<u8>>,
    pub offered_event: Option<Vec<u8>>,
    pub accepted_checkpoint: Option<SignedCheckpoint>,
    pub offered_checkpoint: SignedCheckpoint,
    pub detected_at: i64,
    pub resolution: Option<String>,
}

/// A new event ready to store: its exact bytes, chain hash and business date.
pub struct NewEvent<'a> {
    pub bytes: &'a [u8],
    pub hash: Hash,
    pub business_date: u32,
}

pub struct Store {
    conn: Connection,
}

fn encode_checkpoint(checkpoint: &SignedCheckpoint) -> Vec<u8> {
    v1::Checkpoint::from(checkpoint).encode_to_vec()
}

fn decode_checkpoint(bytes: &[u8]) -> Result<SignedCheckpoint, StoreError> {
    let wire = v1::Checkpoint::decode(bytes)
        .map_err(|e| StoreError::Damaged(format!("checkpoint: {e}")))?;
    SignedCheckpoint::try_from(&wire).map_err(|e| StoreError::Damaged(format!("checkpoint: {e}")))
}

fn damaged(what: &str) -> StoreError {
    StoreError::Damaged(what.to_string())
}

/// A group's folded state, encoded for the store: the full books (what the
/// accept rule continues from) and the position inputs (what queries read).
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub books: Vec<u8>,
    pub basis: Vec<u8>,
    /// The latest business date of any event in the log, in days.
    pub max_date: Option<u32>,
    /// Month-end cuts made by the events being committed: seq, from and
    /// until dates (days) and the encoded [`PositionBasis`].
    pub cuts: Vec<(u64, u32, u32, Vec<u8>)>,
    /// The earliest date among the events being committed: cuts stored
    /// before them hold only before it.
    pub earliest: Option<u32>,
}

impl Snapshot {
    /// The books after a batch, with the cuts its events made.
    pub fn of(books: &Books, cuts: PositionCuts) -> Result<Snapshot, StoreError> {
        let damaged = |e: sajja_common::snapshot::SnapshotError| {
            StoreError::Damaged(format!("group {}: {e}", books.group))
        };
        let cuts = cuts.finish();
        Ok(Snapshot {
            books: books.to_snapshot().map_err(damaged)?,
            basis: PositionBasis::of(books).to_snapshot().map_err(damaged)?,
            max_date: books.last_date.map(|d| d.days()),
            earliest: cuts.earliest.map(|d| d.days()),
            cuts: cuts
                .cuts
                .iter()
                .map(|cut| {
                    Ok((
                        cut.seq,
                        cut.from.days(),
                        cut.until.days(),
                        cut.basis.to_snapshot().map_err(damaged)?,
                    ))
                })
                .collect::<Result<_, StoreError>>()?,
        })
    }
}

/// A group's row with its stored position inputs, for position queries.
#[derive(Clone, Debug)]
pub struct PositionRow {
    pub gid: i64,
    pub group: GroupId,
    pub status: GroupStatus,
    pub seq: u64,
    pub last_sync_at: Option<i64>,
    /// The group's last verified contact: what "stale" is measured from.
    pub last_contact_at: Option<i64>,
    /// The log's chain head at `seq`: it names the log's content, so a
    /// reader may keep what it derived from the log under it (even a fork
    /// resolution that cuts the log and grows it back to the same seq ends
    /// at another head).
    pub head: Hash,
}

/// A group's stored position inputs as [`Store::for_each_position_row`]
/// offers them: in the row it read (joined), or looked up only when asked,
/// on the same connection (so in the same read transaction).
#[derive(Clone, Copy)]
pub enum StoredBasis<'r> {
    InRow(&'r rusqlite::Row<'r>),
    Lookup(&'r Connection, i64),
}

/// The position inputs stored for a log: the seq they were folded to, the
/// latest business date in the log (days), and the encoded
/// [`PositionBasis`].
pub struct StoredInputs<'a> {
    pub seq: u64,
    pub max_date: Option<u32>,
    pub bytes: std::borrow::Cow<'a, [u8]>,
}

impl StoredBasis<'_> {
    /// The stored inputs; `None` if none are stored.
    pub fn read(&self) -> Result<Option<StoredInputs<'_>>, StoreError> {
        match self {
            StoredBasis::InRow(r) => {
                let Some(seq) = r.get::<_, Option<u64>>(7)? else {
                    return Ok(None);
                };
                let bytes = r
                    .get_ref(9)?
                    .as_blob()
                    .map_err(|_| damaged("position basis"))?;
                Ok(Some(StoredInputs {
                    seq,
                    max_date: r.get(8)?,
                    bytes: std::borrow::Cow::Borrowed(bytes),
                }))
            }
            StoredBasis::Lookup(conn, gid) => Ok(conn
                .prepare_cached("SELECT seq, max_date, basis FROM group_positions WHERE gid = ?1")?
                .query_row(params![gid], |r| {
                    Ok(StoredInputs {
                        seq: r.get(0)?,
                        max_date: r.get(1)?,
                        bytes: std::borrow::Cow::Owned(r.get(2)?),
                    })
                })
                .optional()?),
        }
    }
}

/// Folds the stored events of log `gid` (those dated on or before `as_of`,
/// when given). Stored events were validated when accepted, so they are
/// applied without re-validation; only a reversal looks back, and reversals
/// are rare.
fn fold_log(
    conn: &Connection,
    gid: i64,
    group: &GroupId,
    as_of: Option<Date>,
    mut cuts: Option<&mut PositionCuts>,
) -> Result<Books, StoreError> {
    let mut books = Books::new(group.clone());
    let decode = |bytes: &[u8], seq: u64| {
        Event::decode(bytes)
            .map_err(|e| StoreError::Damaged(format!("group {group} seq {seq}: {e}")))
    };
    let mut stmt =
        conn.prepare_cached("SELECT seq, bytes FROM events WHERE gid = ?1 ORDER BY seq")?;
    let mut original_stmt =
        conn.prepare_cached("SELECT bytes FROM events WHERE gid = ?1 AND seq = ?2")?;
    let mut rows = stmt.query(params![gid])?;
    while let Some(row) = rows.next()? {
        let seq: u64 = row.get(0)?;
        let bytes = row
            .get_ref(1)?
            .as_blob()
            .map_err(|e| StoreError::Damaged(format!("event bytes: {e}")))?;
        let event = decode(bytes, seq)?;
        if as_of.is_some_and(|as_of| event.date > as_of) {
            continue;
        }
        let original = match reversal_target(&event) {
            Some(target) => original_stmt
                .query_row(params![gid, target], |r| r.get::<_, Vec<u8>>(0))
                .optional()?
                .map(|b| decode(&b, target))
                .transpose()?,
            None => None,
        };
        if let Some(cuts) = cuts.as_deref_mut() {
            cuts.before(&books, event.date);
        }
        books.apply_unchecked(&event, original.as_ref());
    }
    Ok(books)
}

/// Writes a group's snapshot, replacing the one before.
fn write_snapshot(
    conn: &Connection,
    gid: i64,
    seq: u64,
    snapshot: &Snapshot,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO group_books (gid, seq, books) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![gid, seq, snapshot.books])?;
    conn.prepare_cached(
        "INSERT OR REPLACE INTO group_positions (gid, seq, max_date, basis) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![gid, seq, snapshot.max_date, snapshot.basis])?;
    if let Some(earliest) = snapshot.earliest {
        conn.prepare_cached(
            "UPDATE position_cuts SET until_date = ?2 WHERE gid = ?1 AND until_date > ?2",
        )?
        .execute(params![gid, earliest])?;
        conn.prepare_cached(
            "DELETE FROM position_cuts WHERE gid = ?1 AND until_date <= from_date",
        )?
        .execute(params![gid])?;
    }
    let mut insert = conn.prepare_cached(
        "INSERT OR REPLACE INTO position_cuts (gid, seq, from_date, until_date, basis)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (seq, from, until, basis) in &snapshot.cuts {
        insert.execute(params![gid, seq, from, until, basis])?;
    }
    Ok(())
}

/// Re-folds log `gid` as stored and writes its snapshot (hub logs have none).
fn refold_snapshot(conn: &Connection, gid: i64, group: &GroupId) -> Result<(), StoreError> {
    if group.is_hub_log() {
        return Ok(());
    }
    let mut cuts = PositionCuts::default();
    let books = fold_log(conn, gid, group, None, Some(&mut cuts))?;
    conn.execute("DELETE FROM position_cuts WHERE gid = ?1", params![gid])?;
    cuts.earliest = None;
    write_snapshot(conn, gid, books.last_seq, &Snapshot::of(&books, cuts)?)
}

/// Re-folds every log's snapshot (a migration's back-fill).
fn refold_every_snapshot(conn: &Connection) -> Result<(), StoreError> {
    let groups: Vec<(i64, String)> = {
        let mut stmt = conn.prepare("SELECT gid, group_id FROM groups ORDER BY gid")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    for (gid, id) in groups {
        let group = GroupId::parse(&id).map_err(|e| StoreError::Damaged(e.to_string()))?;
        refold_snapshot(conn, gid, &group)?;
    }
    Ok(())
}

/// Version 1 to 2: the snapshot tables, back-filled by folding every log.
fn migrate_to_2(conn: &mut Connection) -> Result<(), StoreError> {
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
fn migrate_to_4(conn: &mut Connection) -> Result<(), StoreError> {
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

    /// Records a group's key. Enrolling again with the same key is harmless.
    pub fn enrol(&mut self, group: &GroupId, key: &PublicKey, now: i64) -> Result<(), StoreError> {
        if let Some(existing) = self.group(group)? {
            if &existing.key == key {
                return Ok(());
            }
            return Err(StoreError::KeyConflict(group.clone()));
        }
        self.conn.execute(
            "INSERT INTO groups (group_id, public_key, head, enrolled_at) VALUES (?1, ?2, ?3, ?4)",
            params![
                group.as_str(),
                key.as_bytes().as_slice(),
                chain::genesis(group).as_bytes().as_slice(),
                now
            ],
        )?;
        Ok(())
    }

    /// Enrols a group, or changes its key: a hub's administrative log is the
    /// authority for the groups under it, and a re-key there means checkpoints
    /// signed with the old key are refused from now on.
    pub fn set_key(
        &mut self,
        group: &GroupId,
        key: &PublicKey,
        now: i64,
    ) -> Result<(), StoreError> {
        match self.group(group)? {
            None => self.enrol(group, key, now),
            Some(existing) if &existing.key == key => Ok(()),
            Some(existing) => {
                let tx = self.conn.transaction()?;
                replace_key(&tx, existing.gid, key)?;
                tx.commit()?;
                tracing::info!(group = %group, "group re-keyed");
                Ok(())
            }
        }
    }

    pub fn group(&self, group: &GroupId) -> Result<Option<GroupRow>, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT gid, public_key, fork_epoch, CASE WHEN EXISTS (SELECT 1 FROM damaged_logs d WHERE d.gid = groups.gid) THEN 'damaged' ELSE status END, seq, head, checkpoint, last_sync_at,
                        last_contact_at
                 FROM groups WHERE group_id = ?1",
                params![group.as_str()],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, u32>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, u64>(4)?,
                        r.get::<_, Vec<u8>>(5)?,
                        r.get::<_, Option<Vec<u8>>>(6)?,
                        r.get::<_, Option<i64>>(7)?,
                        r.get::<_, Option<i64>>(8)?,
                    ))
                },
            )
            .optional()?;
        let Some((
            gid,
            key,
            fork_epoch,
            status,
            seq,
            head,
            checkpoint,
            last_sync_at,
            last_contact_at,
        )) = row
        else {
            return Ok(None);
        };
        Ok(Some(GroupRow {
            gid,
            group: group.clone(),
            key: PublicKey::from_slice(&key).ok_or_else(|| damaged("group key"))?,
            fork_epoch,
            status: GroupStatus::parse(&status),
            seq,
            head: Hash::from_slice(&head).ok_or_else(|| damaged("group head"))?,
            checkpoint: checkpoint.as_deref().map(decode_checkpoint).transpose()?,
            last_sync_at,
            last_contact_at,
        }))
    }

    pub fn groups(&self) -> Result<Vec<GroupId>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT group_id FROM groups ORDER BY group_id")?;
        let ids = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for id in ids {
            out.push(GroupId::parse(&id?).map_err(|e| StoreError::Damaged(e.to_string()))?);
        }
        Ok(out)
    }

    /// The administrative logs of hubs (`*-000`) held here, in id order.
    pub fn hub_logs(&self) -> Result<Vec<GroupId>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT group_id FROM groups WHERE group_id LIKE '%-000' ORDER BY group_id",
        )?;
        let ids = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for id in ids {
            let group = GroupId::parse(&id?).map_err(|e| StoreError::Damaged(e.to_string()))?;
            if group.is_hub_log() {
                out.push(group);
            }
        }
        Ok(out)
    }

    /// Every log's status, size and last sync, in one query: what a metrics
    /// scrape needs, without decoding keys or checkpoints.
    pub fn group_summaries(&self) -> Result<Vec<GroupSummary>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT group_id, CASE WHEN EXISTS (SELECT 1 FROM damaged_logs d WHERE d.gid = groups.gid) THEN 'damaged' ELSE status END, seq, last_sync_at, last_contact_at
                 FROM groups ORDER BY group_id",
            )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, u64>(2)?,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, Option<i64>>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, status, seq, last_sync_at, last_contact_at) = row?;
            out.push(GroupSummary {
                group: GroupId::parse(&id).map_err(|e| StoreError::Damaged(e.to_string()))?,
                status: GroupStatus::parse(&status),
                seq,
                last_sync_at,
                last_contact_at,
            });
        }
        Ok(out)
    }

    /// A trivial query, for the health check: the database file answers.
    pub fn ping(&self) -> Result<(), StoreError> {
        self.conn
            .query_row("SELECT count(*) FROM groups", [], |r| r.get::<_, i64>(0))?;
        Ok(())
    }

    /// The chain head after `seq` events (the genesis for 0).
    pub fn hash_at(&self, row: &GroupRow, seq: u64) -> Result<Option<Hash>, StoreError> {
        if seq == 0 {
            return Ok(Some(chain::genesis(&row.group)));
        }
        let bytes: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT hash FROM events WHERE gid = ?1 AND seq = ?2",
                params![row.gid, seq],
                |r| r.get(0),
            )
            .optional()?;
        bytes
            .map(|b| Hash::from_slice(&b).ok_or_else(|| damaged("event hash")))
            .transpose()
    }

    pub fn event_bytes(&self, gid: i64, seq: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT bytes FROM events WHERE gid = ?1 AND seq = ?2",
                params![gid, seq],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Events from `from` on, at most `max_bytes` of them (and at least one).
    pub fn events_from(
        &self,
        gid: i64,
        from: u64,
        max_bytes: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, bytes FROM events WHERE gid = ?1 AND seq >= ?2 ORDER BY seq",
        )?;
        let mut rows = stmt.query(params![gid, from])?;
        let mut out = Vec::new();
        let mut total = 0;
        while let Some(row) = rows.next()? {
            let bytes: Vec<u8> = row.get(1)?;
            if !out.is_empty() && total + bytes.len() > max_bytes {
                break;
            }
            total += bytes.len();
            out.push((row.get(0)?, bytes));
        }
        Ok(out)
    }

    /// The stored checkpoints of a log from `seq` on, in order (at most `limit`).
    pub fn checkpoints_from(
        &self,
        gid: i64,
        seq: u64,
        limit: usize,
    ) -> Result<Vec<SignedCheckpoint>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT checkpoint FROM checkpoints WHERE gid = ?1 AND seq >= ?2 ORDER BY seq LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![gid, seq, limit as i64], |r| r.get::<_, Vec<u8>>(0))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(decode_checkpoint(&row?)?);
        }
        Ok(out)
    }

    /// The exact bytes of events `from..=to` of a log.
    pub fn events_range(&self, gid: i64, from: u64, to: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT bytes FROM events WHERE gid = ?1 AND seq >= ?2 AND seq <= ?3 ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![gid, from, to], |r| r.get::<_, Vec<u8>>(0))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Calls `each` with every stored event of a group in order, streaming.
    pub fn for_each_event(
        &self,
        gid: i64,
        mut each: impl FnMut(u64, &[u8]) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT seq, bytes FROM events WHERE gid = ?1 ORDER BY seq")?;
        let mut rows = stmt.query(params![gid])?;
        while let Some(row) = rows.next()? {
            let bytes = row
                .get_ref(1)?
                .as_blob()
                .map_err(|e| StoreError::Damaged(format!("event bytes: {e}")))?;
            each(row.get(0)?, bytes)?;
        }
        Ok(())
    }

    /// Folds a group's stored log (up to `as_of`, when given).
    pub fn fold(&self, row: &GroupRow, as_of: Option<Date>) -> Result<Books, StoreError> {
        fold_log(&self.conn, row.gid, &row.group, as_of, None)
    }

    /// The encoded [`PositionBasis`] of log `gid` as of `as_of` from a stored
    /// month-end cut that holds on that date, if there is one.
    pub fn cut_basis(&self, gid: i64, as_of: Date) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT basis FROM position_cuts
                 WHERE gid = ?1 AND from_date <= ?2 AND until_date > ?2
                 ORDER BY seq DESC LIMIT 1",
            )?
            .query_row(params![gid, as_of.days()], |r| r.get(0))
            .optional()?)
    }

    /// The group's stored books, if they were folded to exactly `seq` and decode.
    pub fn stored_books(&self, gid: i64, seq: u64) -> Result<Option<Books>, StoreError> {
        let bytes: Option<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT books FROM group_books WHERE gid = ?1 AND seq = ?2")?
            .query_row(params![gid, seq], |r| r.get(0))
            .optional()?;
        Ok(bytes.and_then(|b| match Books::from_snapshot(&b) {
            Ok(books) => Some(books),
            Err(e) => {
                tracing::warn!(gid, error = %e, "stored books unreadable; re-folding");
                None
            }
        }))
    }

    /// Every log whose id starts with `scope`, in group order: one query.
    pub fn position_rows(&self, scope: &str) -> Result<Vec<PositionRow>, StoreError> {
        let mut out = Vec::new();
        self.for_each_position_row(scope, false, |row, _| {
            out.push(row);
            Ok(())
        })?;
        Ok(out)
    }

    /// Calls `each` with every log whose id starts with `scope`, in group
    /// order, and its stored position inputs: joined into the one query
    /// when `joined` (a reader that needs most of them), else looked up
    /// only for the logs whose inputs are asked for (a reader that holds
    /// most of them decoded reads just the `groups` rows).
    pub fn for_each_position_row(
        &self,
        scope: &str,
        joined: bool,
        mut each: impl FnMut(PositionRow, StoredBasis<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        // Ids are ASCII, so every id starting with `scope` sorts below this.
        let upper = format!("{scope}\u{10FFFF}");
        let mut stmt = self.conn.prepare_cached(if joined {
            "SELECT g.gid, g.group_id,
                    CASE WHEN EXISTS (SELECT 1 FROM damaged_logs d WHERE d.gid = g.gid)
                         THEN 'damaged' ELSE g.status END,
                    g.seq, g.last_sync_at, g.head, g.last_contact_at,
                    p.seq, p.max_date, p.basis
             FROM groups g LEFT JOIN group_positions p ON p.gid = g.gid
             WHERE g.group_id >= ?1 AND g.group_id < ?2
             ORDER BY g.group_id"
        } else {
            "SELECT gid, group_id, CASE WHEN EXISTS (SELECT 1 FROM damaged_logs d WHERE d.gid = groups.gid) THEN 'damaged' ELSE status END, seq, last_sync_at, head, last_contact_at
             FROM groups
             WHERE group_id >= ?1 AND group_id < ?2
             ORDER BY group_id"
        })?;
        let mut rows = stmt.query(params![scope, upper])?;
        while let Some(r) = rows.next()? {
            let id = r.get_ref(1)?.as_str().map_err(|_| damaged("group id"))?;
            if !id.starts_with(scope) {
                continue;
            }
            let group = GroupId::parse(id).map_err(|e| StoreError::Damaged(e.to_string()))?;
            let head = r.get_ref(5)?.as_blob().map_err(|_| damaged("group head"))?;
            let head = Hash::from_slice(head).ok_or_else(|| damaged("group head"))?;
            let row = PositionRow {
                gid: r.get(0)?,
                group,
                status: GroupStatus::parse(r.get_ref(2)?.as_str().unwrap_or("ok")),
                seq: r.get(3)?,
                last_sync_at: r.get(4)?,
                last_contact_at: r.get(6)?,
                head,
            };
            let stored = if joined {
                StoredBasis::InRow(r)
            } else {
                StoredBasis::Lookup(&self.conn, row.gid)
            };
            each(row, stored)?;
        }
        Ok(())
    }

    /// Every hub administrative log (`*-000`) held here with its size and
    /// chain head, in id order.
    pub fn hub_log_heads(&self) -> Result<Vec<(GroupId, u64, Hash)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT group_id, seq, head FROM groups WHERE group_id LIKE '%-000' ORDER BY group_id",
        )?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let group = GroupId::parse(&r.get::<_, String>(0)?)
                .map_err(|e| StoreError::Damaged(e.to_string()))?;
            if !group.is_hub_log() {
                continue;
            }
            let head = r.get_ref(2)?.as_blob().map_err(|_| damaged("group head"))?;
            let head = Hash::from_slice(head).ok_or_else(|| damaged("group head"))?;
            out.push((group, r.get(1)?, head));
        }
        Ok(out)
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

    /// Appends a verified, validated batch and its checkpoint in one
    /// transaction, with the group's books folded through the batch
    /// (`None` for a hub's administrative log, which has no books).
    ///
    /// `keys` are the changes of verifying key the batch makes (its own
    /// log's rotations, or the enrolments and re-keys of an administrative
    /// log): they commit with it, so the next batch is checked with them.
    pub fn commit_batch(
        &mut self,
        row: &GroupRow,
        events: &[NewEvent<'_>],
        checkpoint: &SignedCheckpoint,
        snapshot: Option<&Snapshot>,
        keys: &[KeyChange],
        now: i64,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        apply_key_changes(&tx, row, keys, now)?;
        if let Some(snapshot) = snapshot {
            write_snapshot(&tx, row.gid, checkpoint.checkpoint.seq, snapshot)?;
        }
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO events (gid, seq, bytes, hash, business_date) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for (i, event) in events.iter().enumerate() {
                let seq = row.seq + 1 + i as u64;
                insert.execute(params![
                    row.gid,
                    seq,
                    event.bytes,
                    event.hash.as_bytes().as_slice(),
                    event.business_date
                ])?;
            }
        }
        let encoded = encode_checkpoint(checkpoint);
        tx.execute(
            "INSERT OR REPLACE INTO checkpoints (gid, seq, checkpoint, received_at) VALUES (?1, ?2, ?3, ?4)",
            params![row.gid, checkpoint.checkpoint.seq, encoded, now],
        )?;
        let updated = tx.execute(
            "UPDATE groups SET seq = ?2, head = ?3, checkpoint = ?4, last_sync_at = ?5 WHERE gid = ?1 AND seq = ?6",
            params![
                row.gid,
                checkpoint.checkpoint.seq,
                checkpoint.checkpoint.head.as_bytes().as_slice(),
                encoded,
                now,
                row.seq
            ],
        )?;
        if updated != 1 {
            // Another writer moved the group; the caller re-reads and retries.
            return Err(StoreError::Damaged(format!(
                "group {} moved during the batch",
                row.group
            )));
        }
        tx.commit()?;
        Ok(())
    }

    /// Records that `group` was in verified contact at `at` (unix seconds):
    /// its node's hello verified here, or a child hub relayed the time its
    /// node's hello verified there. Never moves backwards, and moves only
    /// by [`CONTACT_RESOLUTION_S`] or more. Returns whether it moved.
    pub fn record_contact(&self, group: &GroupId, at: i64) -> Result<bool, StoreError> {
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE groups SET last_contact_at = ?2
                 WHERE group_id = ?1 AND (last_contact_at IS NULL OR last_contact_at <= ?2 - ?3)",
            )?
            .execute(params![group.as_str(), at, CONTACT_RESOLUTION_S])?;
        Ok(changed == 1)
    }

    pub fn touch_sync(&self, gid: i64, now: i64) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE groups SET last_sync_at = ?2 WHERE gid = ?1",
            params![gid, now],
        )?;
        Ok(())
    }

    /// Stores fork evidence and marks the group forked, in one transaction.
    pub fn record_fork(&mut self, row: &GroupRow, fork: &ForkRecord) -> Result<i64, StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO forks (gid, seq, accepted_event, offered_event, accepted_checkpoint, offered_checkpoint, detected_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                row.gid,
                fork.seq,
                fork.accepted_event,
                fork.offered_event,
                fork.accepted_checkpoint.as_ref().map(encode_checkpoint),
                encode_checkpoint(&fork.offered_checkpoint),
                fork.detected_at
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.execute(
            "UPDATE groups SET status = ?2 WHERE gid = ?1",
            params![row.gid, GroupStatus::Forked.as_str()],
        )?;
        tx.commit()?;
        Ok(id)
    }

    pub fn forks(
        &self,
        group: Option<&GroupId>,
        unresolved_only: bool,
    ) -> Result<Vec<ForkRecord>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT f.id, g.group_id, f.seq, f.accepted_event, f.offered_event, f.accepted_checkpoint,
                    f.offered_checkpoint, f.detected_at, f.resolution
             FROM forks f JOIN groups g ON g.gid = f.gid
             WHERE (?1 IS NULL OR g.group_id = ?1) AND (?2 = 0 OR f.resolved_at IS NULL)
             ORDER BY f.id",
        )?;
        let rows = stmt.query_map(
            params![group.map(|g| g.as_str()), unresolved_only as i64],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, u64>(2)?,
                    r.get::<_, Option<Vec<u8>>>(3)?,
                    r.get::<_, Option<Vec<u8>>>(4)?,
                    r.get::<_, Option<Vec<u8>>>(5)?,
                    r.get::<_, Vec<u8>>(6)?,
                    r.get::<_, i64>(7)?,
                    r.get::<_, Option<String>>(8)?,
                ))
            },
        )?;
        let mut out = Vec::new();
        for row in rows {
            let (
                id,
                group,
                seq,
                accepted_event,
                offered_event,
                accepted,
                offered,
                detected_at,
                resolution,
            ) = row?;
            out.push(ForkRecord {
                id,
                group: GroupId::parse(&group).map_err(|e| StoreError::Damaged(e.to_string()))?,
                seq,
                accepted_event,
                offered_event,
                accepted_checkpoint: accepted.as_deref().map(decode_checkpoint).transpose()?,
                offered_checkpoint: decode_checkpoint(&offered)?,
                detected_at,
                resolution,
            });
        }
        Ok(out)
    }

    /// Resolves a fork. Keeping the accepted branch only bumps the fork epoch, so
    /// the other branch's checkpoints never verify again. Keeping the offered
    /// branch moves the hub's events from `keep_through + 1` on into
    /// `abandoned_events` (kept as evidence, never deleted) so the node can push
    /// its branch again from there.
    pub fn resolve_fork(
        &mut self,
        row: &GroupRow,
        fork_id: i64,
        keep_offered: bool,
        keep_through: u64,
        now: i64,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        let resolution = if keep_offered {
            tx.execute(
                "INSERT INTO abandoned_events (fork_id, seq, bytes, hash)
                 SELECT ?1, seq, bytes, hash FROM events WHERE gid = ?2 AND seq > ?3",
                params![fork_id, row.gid, keep_through],
            )?;
            tx.execute(
                "DELETE FROM events WHERE gid = ?1 AND seq > ?2",
                params![row.gid, keep_through],
            )?;
            tx.execute(
                "DELETE FROM checkpoints WHERE gid = ?1 AND seq > ?2",
                params![row.gid, keep_through],
            )?;
            let head: Vec<u8> = if keep_through == 0 {
                chain::genesis(&row.group).as_bytes().to_vec()
            } else {
                tx.query_row(
                    "SELECT hash FROM events WHERE gid = ?1 AND seq = ?2",
                    params![row.gid, keep_through],
                    |r| r.get(0),
                )?
            };
            tx.execute(
                "UPDATE groups SET seq = ?2, head = ?3, checkpoint = NULL WHERE gid = ?1",
                params![row.gid, keep_through, head],
            )?;
            // Rotations in the abandoned events are abandoned with them.
            restore_key_at(&tx, row.gid, keep_through)?;
            // The stored books covered the abandoned events: fold again.
            refold_snapshot(&tx, row.gid, &row.group)?;
            format!("kept offered branch; hub events after seq {keep_through} abandoned")
        } else {
            "kept accepted branch".to_string()
        };
        tx.execute(
            "UPDATE groups SET status = 'ok', fork_epoch = fork_epoch + 1 WHERE gid = ?1",
            params![row.gid],
        )?;
        tx.execute(
            "UPDATE forks SET resolved_at = ?2, resolution = ?3 WHERE gid = ?1 AND resolved_at IS NULL",
            params![row.gid, now, resolution],
        )?;
        tx.commit()?;
        Ok(())
    }
}

/// A client certificate this hub issued, as `revoke` and every call see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    /// The certificate's serial number, hex.
    pub serial: String,
    pub principal: Principal,
    pub issued_at: i64,
    pub not_after: i64,
    pub revoked_at: Option<i64>,
}

impl Store {
    pub fn add_credential(&self, credential: &Credential) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO credentials (serial, principal, issued_at, not_after, revoked_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                credential.serial,
                credential.principal.uri(),
                credential.issued_at,
                credential.not_after,
                credential.revoked_at
            ],
        )?;
        Ok(())
    }

    pub fn credential(&self, serial: &str) -> Result<Option<Credential>, StoreError> {
        self.conn
            .query_row(
                "SELECT serial, principal, issued_at, not_after, revoked_at
                 FROM credentials WHERE serial = ?1",
                params![serial],
                credential_row,
            )
            .optional()?
            .transpose()
    }

    /// Every credential, newest first.
    pub fn credentials(&self) -> Result<Vec<Credential>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT serial, principal, issued_at, not_after, revoked_at
             FROM credentials ORDER BY issued_at DESC, serial",
        )?;
        let rows = stmt.query_map([], credential_row)?;
        rows.map(|row| row?).collect()
    }

    /// Revokes every live certificate of `principal`; returns their serials.
    pub fn revoke_principal(
        &self,
        principal: &Principal,
        now: i64,
    ) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare(
            "UPDATE credentials SET revoked_at = ?2
             WHERE principal = ?1 AND revoked_at IS NULL RETURNING serial",
        )?;
        let rows = stmt.query_map(params![principal.uri(), now], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Revokes one certificate; false when there is no live one by that serial.
    pub fn revoke_serial(&self, serial: &str, now: i64) -> Result<bool, StoreError> {
        let changed = self.conn.execute(
            "UPDATE credentials SET revoked_at = ?2 WHERE serial = ?1 AND revoked_at IS NULL",
            params![serial, now],
        )?;
        Ok(changed == 1)
    }
}

fn credential_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Credential, StoreError>> {
    let uri: String = r.get(1)?;
    let Some(principal) = Principal::from_uri(&uri) else {
        return Ok(Err(damaged("credential principal")));
    };
    Ok(Ok(Credential {
        serial: r.get(0)?,
        principal,
        issued_at: r.get(2)?,
        not_after: r.get(3)?,
        revoked_at: r.get(4)?,
    }))
}

/// A change of the key that verifies a log's checkpoints, committed in the
/// same transaction as the batch that makes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyChange {
    /// The batch's own log handed its key on at `seq` (a verified
    /// `KeyRotated`): `old` still verifies checkpoints before `seq`, which a
    /// node that is behind, or a fork from before the rotation, presents.
    Rotated {
        seq: u64,
        old: PublicKey,
        new: PublicKey,
    },
    /// An administrative log enrolled a group: it is added if this hub lacks
    /// it, and an enrolled group's key (perhaps rotated since) is left alone.
    Enrolled { group: GroupId, key: PublicKey },
    /// An operator re-key (a lost key): `key` replaces every key the group
    /// had, for its whole log, so the lost key verifies nothing from now on.
    Rekeyed { group: GroupId, key: PublicKey },
}

/// `groups.last_contact_at`, each group's last verified contact (see
/// [`Store::record_contact`]), which "stale" is measured from. Added by a
/// guarded `ALTER TABLE` rather than a schema version, so it composes with
/// any version step: the column is added once, in a write transaction that
/// checks again (two processes may open an old file at once), and back-filled
/// from `last_sync_at`, the best earlier evidence of contact.
fn add_contact_column(conn: &mut Connection) -> Result<(), StoreError> {
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

/// `damaged_logs` names each log the scrub found damaged, with its first bad
/// seq; a repair deletes the row. Kept apart from `groups.status` so a
/// damaged log that is also forked stays forked once repaired.
fn create_damage_table(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS damaged_logs (
             gid INTEGER PRIMARY KEY REFERENCES groups(gid),
             seq INTEGER NOT NULL,
             reason TEXT NOT NULL,
             detected_at INTEGER NOT NULL
         );
         CREATE TABLE IF NOT EXISTS repairs (
             id INTEGER PRIMARY KEY,
             gid INTEGER NOT NULL REFERENCES groups(gid),
             from_seq INTEGER NOT NULL,
             to_seq INTEGER NOT NULL,
             source TEXT NOT NULL,
             repaired_at INTEGER NOT NULL
         );",
    )?;
    Ok(())
}

/// `retired_keys` holds, per log, each key a `KeyRotated` replaced, with the
/// seq of that rotation: the key verified checkpoints before `until_seq`
/// (and from the previous row's `until_seq`). `groups.public_key` is the key
/// in effect at the head. Created here rather than by a schema version: it
/// starts empty, which is right for every existing log (none rotated).
fn create_key_history(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS retired_keys (
             gid INTEGER NOT NULL REFERENCES groups(gid),
             until_seq INTEGER NOT NULL,
             public_key BLOB NOT NULL,
             PRIMARY KEY (gid, until_seq)
         ) WITHOUT ROWID;",
    )?;
    Ok(())
}

fn replace_key(conn: &Connection, gid: i64, key: &PublicKey) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE groups SET public_key = ?2 WHERE gid = ?1",
        params![gid, key.as_bytes().as_slice()],
    )?;
    conn.execute("DELETE FROM retired_keys WHERE gid = ?1", params![gid])?;
    Ok(())
}

fn apply_key_changes(
    conn: &Connection,
    row: &GroupRow,
    keys: &[KeyChange],
    now: i64,
) -> Result<(), StoreError> {
    for change in keys {
        match change {
            KeyChange::Rotated { seq, old, new } => {
                conn.execute(
                    "INSERT INTO retired_keys (gid, until_seq, public_key) VALUES (?1, ?2, ?3)",
                    params![row.gid, seq, old.as_bytes().as_slice()],
                )?;
                conn.execute(
                    "UPDATE groups SET public_key = ?2 WHERE gid = ?1",
                    params![row.gid, new.as_bytes().as_slice()],
                )?;
                tracing::info!(group = %row.group, seq, key = %new, "group rotated its key");
            }
            KeyChange::Enrolled { group, key } => {
                conn.execute(
                    "INSERT OR IGNORE INTO groups (group_id, public_key, head, enrolled_at)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![
                        group.as_str(),
                        key.as_bytes().as_slice(),
                        chain::genesis(group).as_bytes().as_slice(),
                        now
                    ],
                )?;
            }
            KeyChange::Rekeyed { group, key } => {
                let gid: Option<i64> = conn
                    .query_row(
                        "SELECT gid FROM groups WHERE group_id = ?1",
                        params![group.as_str()],
                        |r| r.get(0),
                    )
                    .optional()?;
                let Some(gid) = gid else {
                    return Err(StoreError::NotEnrolled(group.clone()));
                };
                replace_key(conn, gid, key)?;
                tracing::info!(group = %group, key = %key, "group re-keyed by its hub operator");
            }
        }
    }
    Ok(())
}

/// After a log is cut back to `seq`, the key in effect there is the first
/// one retired after it, if any; later retirements go with the cut events.
fn restore_key_at(conn: &Connection, gid: i64, seq: u64) -> Result<(), StoreError> {
    let key: Option<Vec<u8>> = conn
        .query_row(
            "SELECT public_key FROM retired_keys WHERE gid = ?1 AND until_seq > ?2
             ORDER BY until_seq LIMIT 1",
            params![gid, seq],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(key) = key {
        conn.execute(
            "UPDATE groups SET public_key = ?2 WHERE gid = ?1",
            params![gid, key],
        )?;
        conn.execute(
            "DELETE FROM retired_keys WHERE gid = ?1 AND until_seq > ?2",
            params![gid, seq],
        )?;
    }
    Ok(())
}

impl Store {
    /// The keys a log's rotations retired, oldest first, each with the seq of
    /// the rotation before which it verified checkpoints.
    pub fn retired_keys(&self, gid: i64) -> Result<Vec<(u64, PublicKey)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT until_seq, public_key FROM retired_keys WHERE gid = ?1 ORDER BY until_seq",
        )?;
        let rows = stmt.query_map(params![gid], |r| {
            Ok((r.get::<_, u64>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (until, key) = row?;
            out.push((
                until,
                PublicKey::from_slice(&key).ok_or_else(|| damaged("retired key"))?,
            ));
        }
        Ok(out)
    }

    /// The key that verifies a checkpoint at `seq` of the log as held here.
    pub fn key_at(&self, row: &GroupRow, seq: u64) -> Result<PublicKey, StoreError> {
        Ok(self
            .retired_keys(row.gid)?
            .into_iter()
            .find(|(until, _)| *until > seq)
            .map_or(row.key, |(_, key)| key))
    }
}

/// What one scrub of one log found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScrubReport {
    /// Events read and re-hashed.
    pub events: u64,
    /// The first bad seq and why, if any.
    pub damage: Option<(u64, String)>,
}

impl Store {
    /// SQLite's own check of the file's pages and indexes: `quick_check`
    /// (linear in the file, no index cross-check) or the full
    /// `integrity_check`. `Ok(None)` when it reports "ok", else its first
    /// lines.
    pub fn integrity_check(&self, full: bool) -> Result<Option<String>, StoreError> {
        let pragma = if full {
            "PRAGMA integrity_check(20)"
        } else {
            "PRAGMA quick_check(20)"
        };
        let mut stmt = self.conn.prepare(pragma)?;
        let lines: Vec<String> = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<_, _>>()?;
        if lines.len() == 1 && lines[0] == "ok" {
            return Ok(None);
        }
        Ok(Some(lines.join("; ")))
    }

    /// Re-verifies one log as stored: every seq from 1 to the head present
    /// once, every event's bytes hashing onto the previous stored hash to its
    /// own stored hash, the last hash equal to the head, and the head equal
    /// to the latest signed checkpoint (signed by the group's key). Reads in
    /// one snapshot, so a push committing meanwhile is not mistaken for
    /// damage. A read the database itself fails (a damaged page) is damage
    /// at the first seq not yet read.
    pub fn scrub_log(&self, group: &GroupId) -> Result<ScrubReport, StoreError> {
        self.scrub_log_from(group, 1)
    }

    /// [`Store::scrub_log`] of the events from `from` on (trusting the
    /// stored hash before `from`): the start-up pass reads each log's tail.
    pub fn scrub_log_from(&self, group: &GroupId, from: u64) -> Result<ScrubReport, StoreError> {
        self.read_snapshot(|| self.scrub_in_snapshot(group, from))
    }

    /// Scrubs a log and, if it is damaged, marks it: the damage is confirmed
    /// by a second scrub inside the write transaction that marks it, so a
    /// repair committed meanwhile (seen by neither) is never undone by a
    /// mark made from an older snapshot.
    pub fn scrub_and_mark(
        &self,
        group: &GroupId,
        from: u64,
        now: i64,
    ) -> Result<ScrubReport, StoreError> {
        let report = self.scrub_log_from(group, from)?;
        if report.damage.is_none() {
            return Ok(report);
        }
        let tx = rusqlite::Transaction::new_unchecked(
            &self.conn,
            rusqlite::TransactionBehavior::Immediate,
        )?;
        let confirmed = self.scrub_in_snapshot(group, from)?;
        if let Some((seq, reason)) = &confirmed.damage {
            self.mark_damaged(group, *seq, reason, now)?;
        }
        tx.commit()?;
        Ok(confirmed)
    }

    fn scrub_in_snapshot(&self, group: &GroupId, from: u64) -> Result<ScrubReport, StoreError> {
        let row = match self.group(group) {
            Ok(Some(row)) => row,
            Ok(None) => return Err(StoreError::NotEnrolled(group.clone())),
            Err(e) => {
                return Ok(ScrubReport {
                    events: 0,
                    damage: Some((1, format!("the log's row does not read: {e}"))),
                });
            }
        };
        let mut events = 0;
        let mut expected = from.clamp(1, row.seq.max(1));
        let mut previous = match self.hash_at(&row, expected - 1) {
            Ok(Some(hash)) => hash,
            // The hash to start from is itself unreadable: start at the log's start.
            _ => {
                expected = 1;
                chain::genesis(group)
            }
        };
        let mut damage = None;
        let read = (|| -> Result<(), StoreError> {
            let mut stmt = self.conn.prepare_cached(
                "SELECT seq, bytes, hash FROM events
                 WHERE gid = ?1 AND seq >= ?2 AND seq <= ?3 ORDER BY seq",
            )?;
            let mut rows = stmt.query(params![row.gid, expected, row.seq])?;
            while let Some(r) = rows.next()? {
                let seq: u64 = r.get(0)?;
                if seq != expected {
                    damage = Some((expected, format!("seq {expected} is missing")));
                    return Ok(());
                }
                let bytes = r.get_ref(1)?.as_blob().unwrap_or_default();
                let stored = r.get_ref(2)?.as_blob().ok().and_then(Hash::from_slice);
                events += 1;
                let Some(stored) = stored else {
                    damage = Some((seq, "its stored hash is unreadable".into()));
                    return Ok(());
                };
                if chain::next(&previous, bytes) != stored {
                    damage = Some((seq, "its bytes do not hash to the stored chain".into()));
                    return Ok(());
                }
                previous = stored;
                expected += 1;
            }
            Ok(())
        })();
        if let Err(e) = read {
            damage = Some((expected, format!("the database cannot read it: {e}")));
        }
        if damage.is_none() && expected != row.seq + 1 {
            damage = Some((expected, format!("seq {expected} is missing")));
        }
        if damage.is_none() && previous != row.head {
            damage = Some((
                row.seq,
                "the stored chain does not end at the log's head".into(),
            ));
        }
        if damage.is_none()
            && let Some(checkpoint) = &row.checkpoint
        {
            let c = &checkpoint.checkpoint;
            let signed = group.is_hub_log() || checkpoint.verify(&row.key);
            if c.seq == row.seq && (c.head != row.head || !signed) {
                damage = Some((
                    row.seq,
                    "the head is not the one the latest signed checkpoint names".into(),
                ));
            }
        }
        Ok(ScrubReport { events, damage })
    }

    /// Marks a log damaged from `seq` (keeping an earlier first bad seq if
    /// one is already recorded).
    pub fn mark_damaged(
        &self,
        group: &GroupId,
        seq: u64,
        reason: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO damaged_logs (gid, seq, reason, detected_at)
             SELECT gid, ?2, ?3, ?4 FROM groups WHERE group_id = ?1
             ON CONFLICT (gid) DO UPDATE SET seq = excluded.seq, reason = excluded.reason
             WHERE excluded.seq < damaged_logs.seq",
            params![group.as_str(), seq, reason, now],
        )?;
        Ok(())
    }

    /// Every damaged log, in id order.
    pub fn damaged_logs(&self) -> Result<Vec<Damage>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT g.group_id, d.seq, d.reason, d.detected_at
             FROM damaged_logs d JOIN groups g ON g.gid = d.gid ORDER BY g.group_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, u64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, seq, reason, detected_at) = row?;
            out.push(Damage {
                group: GroupId::parse(&id).map_err(|e| StoreError::Damaged(e.to_string()))?,
                seq,
                reason,
                detected_at,
            });
        }
        Ok(out)
    }

    /// The damage recorded for one log, if any.
    pub fn damage(&self, group: &GroupId) -> Result<Option<Damage>, StoreError> {
        Ok(self.damaged_logs()?.into_iter().find(|d| &d.group == group))
    }

    /// Replaces the stored bytes and hashes of `from..` with `events` (already
    /// verified as the group's signed history by the caller), then scrubs the
    /// log again inside the same transaction: only if the whole log now
    /// verifies is the damage cleared and the repair recorded; if the damage
    /// lies beyond what was supplied, the rows are kept (they are the
    /// group's) and the damage moves on to the next bad seq. Returns the
    /// damage left, if any.
    pub fn repair(
        &self,
        row: &GroupRow,
        from: u64,
        events: &[(Vec<u8>, Hash)],
        source: &str,
        now: i64,
    ) -> Result<Option<Damage>, StoreError> {
        if events.is_empty() {
            return self.damage(&row.group);
        }
        // Unchecked: the re-scrub below reads through `self` inside it.
        let tx = rusqlite::Transaction::new_unchecked(
            &self.conn,
            rusqlite::TransactionBehavior::Immediate,
        )?;
        {
            let mut replace = tx.prepare_cached(
                "INSERT OR REPLACE INTO events (gid, seq, bytes, hash, business_date)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for (i, (bytes, hash)) in events.iter().enumerate() {
                let seq = from + i as u64;
                if seq > row.seq {
                    break;
                }
                let date = if row.group.is_hub_log() {
                    sajja_common::admin::AdminEvent::decode(bytes).map_or(0, |e| e.date.days())
                } else {
                    Event::decode(bytes).map_or(0, |e| e.date.days())
                };
                replace.execute(params![
                    row.gid,
                    seq,
                    bytes,
                    hash.as_bytes().as_slice(),
                    date
                ])?;
            }
        }
        let to = (from + events.len() as u64 - 1).min(row.seq);
        tx.execute(
            "INSERT INTO repairs (gid, from_seq, to_seq, source, repaired_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![row.gid, from, to, source, now],
        )?;
        let report = self.scrub_in_snapshot(&row.group, 1)?;
        match &report.damage {
            None => {
                tx.execute("DELETE FROM damaged_logs WHERE gid = ?1", params![row.gid])?;
            }
            Some((seq, reason)) => {
                tx.execute(
                    "UPDATE damaged_logs SET seq = ?2, reason = ?3 WHERE gid = ?1",
                    params![row.gid, seq, reason],
                )?;
            }
        }
        tx.commit()?;
        Ok(report.damage.map(|(seq, reason)| Damage {
            group: row.group.clone(),
            seq,
            reason,
            detected_at: now,
        }))
    }
}
