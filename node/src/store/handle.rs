//! The open ledger: [`Store`] with its head, books and keys in memory, and
//! re-reading them when another process appended.

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use sajja_common::chain::Hash;
use sajja_common::checkpoint::PublicKey;
use sajja_common::ids::GroupId;
use sajja_common::ledger::Books;

use super::error::StoreError;
use super::fold::{fold_log, head_in_db, read_identity};
use super::keys::{Keys, RetiredKey};
use super::schema::schema_version;

pub struct Store {
    pub(super) conn: Connection,
    pub(super) path: PathBuf,
    pub(super) group: GroupId,
    pub(super) keys: Keys,
    pub(super) head_seq: u64,
    pub(super) head_hash: Hash,
    pub(super) books: Books,
}

impl Store {
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

    /// The group's signing key seed, for the treasurer's offline backup
    /// (`sajja-node key export`): without it a lost node cannot sign again.
    pub fn signing_seed(&self) -> [u8; 32] {
        *self.keys.current.seed()
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

    /// The keys the log has handed on, oldest first.
    pub fn retired_keys(&self) -> &[RetiredKey] {
        &self.keys.retired
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
}
