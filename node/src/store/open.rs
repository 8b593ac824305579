//! Making and opening ledger files: `init`, the empty ledger a restore fills,
//! opening with a full re-verification, salvage of a damaged one, `verify`
//! and rebuilding the derived books.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use rusqlite::{TransactionBehavior, params};
use sajja_common::chain::{self, Hash};
use sajja_common::checkpoint::{PublicKey, SigningKey};
use sajja_common::date::Date;
use sajja_common::event::{Body, Rules};
use sajja_common::ids::GroupId;
use sajja_common::ledger::Books;
use sajja_edge::clock::unix_now;

use super::error::{Damage, StoreError};
use super::fold::{check_derived, fold_log, read_identity, write_derived};
use super::handle::Store;
use super::keys::Keys;
use super::schema::{connect, create_key_history, migrate, open_existing, remove_database};

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
