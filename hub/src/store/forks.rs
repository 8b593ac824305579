//! Fork evidence: conflicting histories kept, and their resolution.

use rusqlite::params;
use sajja_common::{GroupId, chain};

use super::handle::*;
use super::keys::*;
use super::snapshots::*;
use crate::values::status::GroupStatus;

impl Store {
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
