//! The fold kept beside each log: stored books, position inputs and month-end cuts.

use rusqlite::{Connection, OptionalExtension, params};
use sajja_common::ledger::{AsOf, reversal_target};
use sajja_common::position::{PositionBasis, PositionCuts};
use sajja_common::{Books, Date, Event, GroupId, Hash};

use super::handle::*;
use crate::values::status::GroupStatus;

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
pub(super) fn fold_log(
    conn: &Connection,
    gid: i64,
    group: &GroupId,
    as_of: Option<Date>,
    mut cuts: Option<&mut PositionCuts>,
) -> Result<Books, StoreError> {
    let mut folded = AsOf::new(group.clone(), as_of);
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
        if !folded.counts(&event) {
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
            cuts.before(folded.books(), event.date);
        }
        folded.push(&event, original.as_ref());
    }
    Ok(folded.finish())
}

/// Writes a group's snapshot, replacing the one before.
pub(super) fn write_snapshot(
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

/// Re-folds log `gid` as stored and writes its snapshot (only group logs
/// have one: hub and exchange logs have no group books).
pub(super) fn refold_snapshot(
    conn: &Connection,
    gid: i64,
    group: &GroupId,
) -> Result<(), StoreError> {
    if !group.is_group() {
        return Ok(());
    }
    let mut cuts = PositionCuts::default();
    let books = fold_log(conn, gid, group, None, Some(&mut cuts))?;
    conn.execute("DELETE FROM position_cuts WHERE gid = ?1", params![gid])?;
    cuts.earliest = None;
    write_snapshot(conn, gid, books.last_seq, &Snapshot::of(&books, cuts)?)
}

/// Re-folds every log's snapshot (a migration's back-fill).
pub(super) fn refold_every_snapshot(conn: &Connection) -> Result<(), StoreError> {
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

impl Store {
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
}
