//! The signing keys the log has had: which key signs a checkpoint at which
//! seq, and what a rotation or a restore writes to the key table.

use rusqlite::{Connection, params};
use sajja_common::checkpoint::{PublicKey, SigningKey};

use super::error::{Damage, StoreError};

/// The keys this group's log has had, as this node knows them. A checkpoint
/// at seq N is signed by the key in effect after event N.
pub struct Keys {
    /// Oldest first.
    pub(super) retired: Vec<RetiredKey>,
    /// Signs new checkpoints.
    pub(super) current: SigningKey,
}

/// A key the log has handed on.
pub struct RetiredKey {
    /// It signs checkpoints before this seq (and from the previous retired
    /// key's `until_seq`): the seq of the `KeyRotated` that replaced it, or
    /// of the restore that found it lost.
    pub until_seq: u64,
    pub public: PublicKey,
    /// `None` for a lost key, which a hub operator's re-key replaced.
    pub(super) seed: Option<SigningKey>,
}

impl RetiredKey {
    /// Whether this node can still sign with it.
    pub fn held(&self) -> bool {
        self.seed.is_some()
    }
}

impl Keys {
    /// Every seed held, oldest first, the current one last.
    pub(super) fn held_seeds(&self) -> Vec<[u8; 32]> {
        self.retired
            .iter()
            .filter_map(|k| k.seed.as_ref().map(|s| *s.seed()))
            .chain(std::iter::once(*self.current.seed()))
            .collect()
    }

    pub(super) fn only(current: SigningKey) -> Keys {
        Keys {
            retired: Vec::new(),
            current,
        }
    }

    pub(super) fn read(conn: &Connection, current: SigningKey) -> Result<Keys, StoreError> {
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
    pub(super) fn key_for(&self, seq: u64) -> PublicKey {
        self.retired
            .iter()
            .find(|k| k.until_seq > seq)
            .map_or(self.current.public(), |k| k.public)
    }

    /// The key that signs a checkpoint at `seq`. A hub operator's re-key
    /// replaces the lost key for the whole log up to it, so at or before a
    /// lost key this node signs with the key that replaced it, as the
    /// re-keyed hub verifies.
    pub(super) fn signer_for(&self, seq: u64) -> &SigningKey {
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
pub(super) enum KeyUpdate {
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
    pub(super) fn write(self, conn: &Connection, keys: &Keys) -> Result<Keys, StoreError> {
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
