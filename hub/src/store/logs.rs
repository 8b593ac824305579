//! Group and hub logs: enrolment, events, checkpoints, contact, and the batch commit.

use rusqlite::{OptionalExtension, params};
use sajja_common::exchange::{ExchangeBooks, ExchangeEvent};
use sajja_common::{Books, Date, GroupId, Hash, PublicKey, SignedCheckpoint, chain};

use super::handle::*;
use super::keys::*;
use super::snapshots::*;
use crate::values::status::GroupStatus;

impl Store {
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

    /// Folds an exchange's stored log. Its events were validated as they
    /// were accepted, so none is refused here; the books keep dated
    /// records, so the position as of any date is read from them
    /// ([`sajja_common::exchange::ExchangePosition::of`]).
    pub fn exchange_books(&self, gid: i64, log: &GroupId) -> Result<ExchangeBooks, StoreError> {
        let mut books = ExchangeBooks::new(log.clone());
        self.for_each_event(gid, |seq, bytes| {
            let event = ExchangeEvent::decode(bytes)
                .map_err(|e| StoreError::Damaged(format!("exchange {log} seq {seq}: {e}")))?;
            books.apply_unchecked(&event);
            Ok(())
        })?;
        Ok(books)
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
}
