//! Group keys: the key in force, its history, and rotations.

use rusqlite::{Connection, OptionalExtension, params};
use sajja_common::{GroupId, PublicKey, chain};

use super::handle::*;

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

/// `retired_keys` holds, per log, each key a `KeyRotated` replaced, with the
/// seq of that rotation: the key verified checkpoints before `until_seq`
/// (and from the previous row's `until_seq`). `groups.public_key` is the key
/// in effect at the head. Created here rather than by a schema version: it
/// starts empty, which is right for every existing log (none rotated).
pub(super) fn create_key_history(conn: &Connection) -> Result<(), StoreError> {
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

pub(super) fn replace_key(conn: &Connection, gid: i64, key: &PublicKey) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE groups SET public_key = ?2 WHERE gid = ?1",
        params![gid, key.as_bytes().as_slice()],
    )?;
    conn.execute("DELETE FROM retired_keys WHERE gid = ?1", params![gid])?;
    Ok(())
}

pub(super) fn apply_key_changes(
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
pub(super) fn restore_key_at(conn: &Connection, gid: i64, seq: u64) -> Result<(), StoreError> {
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
