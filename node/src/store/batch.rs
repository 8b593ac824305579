//! The append: events validated against a working copy of the books and
//! written, with their hashes, register rows, import record and derived books,
//! in one transaction; the retry when another process appended first; the
//! nudge to a running daemon.

use std::path::{Path, PathBuf};

use rusqlite::{TransactionBehavior, params};
use sajja_common::chain::{self, Hash};
use sajja_common::checkpoint::{PublicKey, SignedCheckpoint};
use sajja_common::date::Date;
use sajja_common::event::{Body, Event};
use sajja_common::ids::GroupId;
use sajja_common::ledger::{Books, reversal_target};
use sajja_common::verify::ChainVerifier;
use sajja_edge::clock::unix_now;

use super::error::StoreError;
use super::fold::{head_in_db, load_event, write_derived};
use super::handle::Store;
use super::imports::{ImportSource, already_imported, latest_import};
use super::keys::KeyUpdate;
use super::limits::{MAX_BATCH_EVENTS, WRITE_ATTEMPTS};
use super::register::RegisterEntry;

impl Store {
    /// Starts a batch of appends that will commit in one transaction.
    pub fn begin(&mut self) -> Result<Batch<'_>, StoreError> {
        self.refresh()?;
        Ok(Batch {
            books: self.books.clone(),
            seq: self.head_seq,
            head: self.head_hash,
            key: self.keys.key_for(self.head_seq),
            rotated_at: None,
            keys: None,
            pending: Vec::new(),
            import: None,
            store: self,
        })
    }

    /// Appends one event dated `date`; returns its seq. Another process
    /// appending at the same moment is waited out (see [`Store::write`]).
    pub fn append(&mut self, date: Date, body: Body) -> Result<u64, StoreError> {
        let (seq, _) = self.write(|batch| batch.push(date, body.clone()))?;
        Ok(seq)
    }

    /// Builds a batch with `build` against the books as they stand and commits
    /// it. When another process (the daemon, a second CLI call, a web form)
    /// appended in between, the batch is dropped and `build` runs again on
    /// the re-read books, up to [`WRITE_ATTEMPTS`] times: the treasurer never
    /// sees the race. `build` must derive everything from the batch's books
    /// (member numbers, refunds), never from an earlier read.
    pub fn write<T, E: From<StoreError>>(
        &mut self,
        mut build: impl FnMut(&mut Batch<'_>) -> Result<T, E>,
    ) -> Result<(T, Option<(u64, u64)>), E> {
        let mut attempt = 1;
        loop {
            let mut batch = self.begin()?;
            let built = build(&mut batch)?;
            match batch.commit() {
                Ok(committed) => return Ok((built, committed)),
                Err(StoreError::Concurrent { group }) if attempt < WRITE_ATTEMPTS => {
                    tracing::debug!(%group, attempt, "another process appended first; preparing the batch again");
                    std::thread::sleep(retry_pause(attempt));
                    attempt += 1;
                }
                Err(other) => return Err(other.into()),
            }
        }
    }

    /// Appends events received from a hub (a tail the node lacked): each
    /// must continue this log's chain and pass the ledger rules, and
    /// `checkpoint` — signed with the group's key in effect there, at this
    /// node's fork epoch — must name the head they end at. The chain alone
    /// cannot tell a flipped byte from a different honest event; the
    /// signature can. The exact bytes are stored, all in one transaction.
    /// Returns the new head. A tail that rotates the key is refused: the new
    /// key was made on another node, so this one could not sign after it.
    pub fn append_verified_bytes(
        &mut self,
        events: &[Vec<u8>],
        checkpoint: &SignedCheckpoint,
    ) -> Result<(u64, Hash), StoreError> {
        let fork_epoch = self.fork_epoch()?;
        let mut batch = self.begin()?;
        for bytes in events {
            batch.push_bytes(bytes.clone())?;
        }
        ChainVerifier::resume(batch.store.group.clone(), batch.seq, batch.head, batch.key)
            .finish(checkpoint, fork_epoch)?;
        if batch.key != batch.store.keys.current.public() {
            return Err(StoreError::KeyNotHeld {
                group: batch.store.group.clone(),
                seq: batch.rotated_at.unwrap_or(batch.seq),
                key: batch.key,
            });
        }
        batch.commit()?;
        Ok(self.head())
    }
}

/// A short pause before writing again, growing with the attempt and varied by
/// process so that two writers that collided do not collide again in step.
pub(super) fn retry_pause(attempt: u32) -> std::time::Duration {
    let jitter = u64::from(std::process::id() % 7) + u64::from(attempt % 3);
    std::time::Duration::from_millis(u64::from(attempt.min(10)) * 5 + jitter)
}

pub(super) struct Pending {
    pub(super) event: Event,
    pub(super) bytes: Vec<u8>,
    pub(super) hash: Hash,
    pub(super) register: Option<RegisterEntry>,
}

/// Events validated against a working copy of the books, written by
/// [`Batch::commit`] in one transaction. Dropping a batch writes nothing.
pub struct Batch<'a> {
    pub(super) store: &'a mut Store,
    pub(super) books: Books,
    pub(super) seq: u64,
    pub(super) head: Hash,
    /// The key in effect after `seq`, as the pushed events hand it on.
    pub(super) key: PublicKey,
    /// The seq of the last `KeyRotated` pushed, if any.
    pub(super) rotated_at: Option<u64>,
    /// What the commit writes to the key table.
    pub(super) keys: Option<KeyUpdate>,
    pub(super) pending: Vec<Pending>,
    /// The CSV file these events come from, recorded with them.
    pub(super) import: Option<ImportSource>,
}

impl Batch<'_> {
    /// The books as they would be after the events pushed so far.
    pub fn books(&self) -> &Books {
        &self.books
    }

    pub fn group(&self) -> &GroupId {
        &self.store.group
    }

    /// The seq the next pushed event will get.
    pub fn next_seq(&self) -> u64 {
        self.seq + 1
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Records, in the commit's transaction, that these events are `source`'s
    /// import; the commit is refused if the same bytes were imported before
    /// (unless `source.again`), so two imports racing cannot both land.
    pub fn record_import(&mut self, source: ImportSource) {
        self.import = Some(source);
    }

    pub(super) fn original(&self, event: &Event) -> Result<Option<Event>, StoreError> {
        let Some(target) = reversal_target(event) else {
            return Ok(None);
        };
        if target == 0 || target >= event.seq {
            return Ok(None);
        }
        if target > self.store.head_seq {
            let index = (target - self.store.head_seq - 1) as usize;
            return Ok(self.pending.get(index).map(|p| p.event.clone()));
        }
        load_event(&self.store.conn, target)
    }

    pub(super) fn check_room(&self) -> Result<(), StoreError> {
        if self.pending.len() >= MAX_BATCH_EVENTS {
            return Err(StoreError::BatchTooLarge {
                group: self.store.group.clone(),
            });
        }
        Ok(())
    }

    /// Builds, validates and encodes (once) the next event; returns its seq.
    pub fn push(&mut self, date: Date, body: Body) -> Result<u64, StoreError> {
        self.push_with_register(date, body, None)
    }

    /// As [`Batch::push`], also writing the member's register row in the same
    /// transaction (for `MemberJoined`).
    pub fn push_with_register(
        &mut self,
        date: Date,
        body: Body,
        register: Option<RegisterEntry>,
    ) -> Result<u64, StoreError> {
        self.check_room()?;
        let event = Event {
            group: self.store.group.clone(),
            seq: self.seq + 1,
            date,
            recorded_at: unix_now(),
            body,
        };
        sajja_common::ledger::check_not_future(&event, sajja_edge::clock::today())?;
        let bytes = event.encode();
        debug_assert_eq!(Event::decode(&bytes).as_ref(), Ok(&event));
        let mut key = self.key;
        if let Body::KeyRotated { new_key, .. } = &event.body {
            // Only `rotate_key` writes a rotation: it alone stores the new
            // key's seed with it, and the verifier checks the old key's consent.
            let stored = match &self.keys {
                Some(KeyUpdate::Rotated { new, .. }) => new.public() == *new_key,
                _ => false,
            };
            if !stored {
                return Err(StoreError::KeyNotHeld {
                    group: self.store.group.clone(),
                    seq: event.seq,
                    key: *new_key,
                });
            }
            let mut verifier =
                ChainVerifier::resume(self.store.group.clone(), self.seq, self.head, key);
            verifier.push(&bytes)?;
            key = verifier.key();
        }
        let original = self.original(&event)?;
        self.books.apply(&event, original.as_ref())?;
        if key != self.key {
            self.key = key;
            self.rotated_at = Some(event.seq);
        }
        let hash = chain::next(&self.head, &bytes);
        self.seq = event.seq;
        self.head = hash;
        self.pending.push(Pending {
            event,
            bytes,
            hash,
            register,
        });
        Ok(self.seq)
    }

    /// Verifies bytes received from elsewhere against the chain and the rules,
    /// keeping them exactly as received.
    pub fn push_bytes(&mut self, bytes: Vec<u8>) -> Result<u64, StoreError> {
        self.check_room()?;
        let mut verifier =
            ChainVerifier::resume(self.store.group.clone(), self.seq, self.head, self.key);
        let event = verifier.push(&bytes)?;
        let original = self.original(&event)?;
        self.books.apply(&event, original.as_ref())?;
        self.seq = verifier.seq();
        self.head = verifier.head();
        if verifier.key() != self.key {
            self.key = verifier.key();
            self.rotated_at = Some(self.seq);
        }
        self.pending.push(Pending {
            event,
            bytes,
            hash: self.head,
            register: None,
        });
        Ok(self.seq)
    }

    /// Writes every pushed event, its hash, the register rows and the derived
    /// books in one transaction; only then does the store's head move.
    pub fn commit(self) -> Result<Option<(u64, u64)>, StoreError> {
        let Batch {
            store,
            books,
            seq,
            head,
            keys,
            pending,
            import,
            ..
        } = self;
        let Some(first) = pending.first().map(|p| p.event.seq) else {
            return Ok(None);
        };
        let tx = store
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Another process may have appended since this batch began; its events
        // were not part of our validation, so nothing of ours may follow them.
        if head_in_db(&tx)? != store.head_seq {
            return Err(StoreError::Concurrent {
                group: store.group.clone(),
            });
        }
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO events (seq, bytes, hash, business_date) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut register = tx.prepare_cached(
                "INSERT OR REPLACE INTO member_register (member, name, phone, national_id)
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            for p in &pending {
                insert.execute(params![
                    p.event.seq as i64,
                    p.bytes,
                    &p.hash.as_bytes()[..],
                    i64::from(p.event.date.days())
                ])?;
                if let Some(r) = &p.register {
                    register.execute(params![r.member.0, r.name, r.phone, r.national_id])?;
                }
            }
        }
        if let Some(source) = &import {
            if !source.again
                && let Some(earlier) = latest_import(&tx, &source.sha256)?
            {
                return Err(already_imported(&store.group, &source.file_name, &earlier));
            }
            tx.execute(
                "INSERT INTO imports (sha256, file_name, events, first_seq, last_seq, imported_at, again)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    &source.sha256[..],
                    source.file_name,
                    pending.len() as i64,
                    first as i64,
                    seq as i64,
                    unix_now(),
                    source.again
                ],
            )?;
        }
        write_derived(&tx, Some(&store.books), &books)?;
        let keys = match keys {
            Some(update) => Some(update.write(&tx, &store.keys)?),
            None => None,
        };
        tx.commit()?;
        tracing::info!(group = %store.group, from = first, to = seq, "appended");
        store.head_seq = seq;
        store.head_hash = head;
        store.books = books;
        if let Some(keys) = keys {
            store.keys = keys;
        }
        wake_daemon(&store.path);
        Ok(Some((first, seq)))
    }
}

/// Where a running `sajja-node run` listens for "something new was appended",
/// beside the ledger file.
pub fn daemon_socket(ledger: &Path) -> PathBuf {
    ledger.with_file_name("daemon.sock")
}

/// Tells a running daemon, if any, that events were committed, so it pushes
/// now rather than at its next poll. Best effort: with no daemon listening the
/// datagram goes nowhere and the daemon's poll still finds the events.
pub(super) fn wake_daemon(ledger: &Path) {
    if let Ok(socket) = std::os::unix::net::UnixDatagram::unbound() {
        let _ = socket.set_nonblocking(true);
        let _ = socket.send_to(b"appended", daemon_socket(ledger));
    }
}
