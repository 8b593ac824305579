//! Damage at rest: the integrity check, log scrubs, damaged logs and their repair.

use rusqlite::{Connection, params};
use sajja_common::{Event, GroupId, Hash, chain};

use super::handle::*;
use crate::values::status::Damage;

/// `damaged_logs` names each log the scrub found damaged, with its first bad
/// seq; a repair deletes the row. Kept apart from `groups.status` so a
/// damaged log that is also forked stays forked once repaired.
pub(super) fn create_damage_table(conn: &Connection) -> Result<(), StoreError> {
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
                } else if row.group.is_exchange_log() {
                    sajja_common::exchange::ExchangeEvent::decode(bytes)
                        .map_or(0, |e| e.date.days())
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
