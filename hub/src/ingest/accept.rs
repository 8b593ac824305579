//! The accept rule, in one place for pushes, relays and file imports.
//!
//! A batch is accepted only if it continues exactly at the hub's committed
//! size, every event decodes, the chain recomputes to the checkpoint's head,
//! the checkpoint is signed by the group's key in effect there (the key held
//! at the committed head, handed on by any `KeyRotated` in the batch that the
//! key before it signed) at the current fork epoch, and the ledger accepts
//! every event. Then events, checkpoint, books and any new key commit
//! together, and only then is the batch acknowledged.

use std::collections::{HashMap, VecDeque};

use sajja_common::admin::{AdminBody, AdminBooks, AdminEvent, AdminRefusal};
use sajja_common::exchange::ExchangeRefusal;
use sajja_common::ledger::{Refusal, reversal_target};
use sajja_common::position::PositionCuts;
use sajja_common::verify::{ChainVerifier, VerifyError};
use sajja_common::{Books, Event, GroupId, Hash, SignedCheckpoint};
use thiserror::Error;

use crate::store::{ForkRecord, GroupRow, KeyChange, NewEvent, Snapshot, Store, StoreError};
use crate::values::status::GroupStatus;

/// How many groups' books stay folded in memory. A miss re-folds the group's
/// stored log, which is cheap next to the network time of a push.
pub const BOOKS_CACHE_GROUPS: usize = 256;

#[derive(Debug, Error)]
pub enum IngestError {
    #[error("group {0} is not enrolled at this hub")]
    NotEnrolled(GroupId),
    #[error("group {0} is forked; pushes are refused until an operator resolves it")]
    Forked(GroupId),
    #[error(
        "group {group} is damaged at this hub from seq {seq} ({reason}); pushes are held until the log is pushed again from seq {seq}"
    )]
    Damaged {
        group: GroupId,
        seq: u64,
        reason: String,
    },
    #[error(
        "group {group} seq {seq}: the pushed events do not hash to the chain this hub stored; the damaged log stays held (compare the node's copy with the hub's)"
    )]
    RepairMismatch { group: GroupId, seq: u64 },
    #[error("group {group}: empty batch")]
    EmptyBatch { group: GroupId },
    #[error(
        "group {group} seq {seq}: this branch was abandoned when a fork was resolved; restore the node from its hub"
    )]
    AbandonedBranch { group: GroupId, seq: u64 },
    #[error("group {group}: events out of order: seq {found} arrives before seq {expected}")]
    OutOfOrder {
        group: GroupId,
        expected: u64,
        found: u64,
    },
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error(transparent)]
    Ledger(#[from] Refusal),
    #[error(transparent)]
    Admin(#[from] AdminRefusal),
    #[error(transparent)]
    Exchange(#[from] ExchangeRefusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl IngestError {
    /// A stable name for the failed check, for clients and metrics.
    pub fn check(&self) -> &'static str {
        match self {
            IngestError::NotEnrolled(_) => "not_enrolled",
            IngestError::Forked(_) => "forked",
            IngestError::Damaged { .. } => "damaged",
            IngestError::RepairMismatch { .. } => "repair_mismatch",
            IngestError::EmptyBatch { .. } => "empty_batch",
            IngestError::AbandonedBranch { .. } => "abandoned_branch",
            IngestError::OutOfOrder { .. } => "out_of_order",
            IngestError::Verify(e) => e.check(),
            IngestError::Ledger(r) => r.rule.name(),
            IngestError::Admin(_) => "admin_rule",
            IngestError::Exchange(r) => r.rule.name(),
            IngestError::Store(_) => "storage",
        }
    }

    /// The sequence number the error concerns, where there is one.
    pub fn seq(&self) -> u64 {
        match self {
            IngestError::Verify(e) => e.seq(),
            IngestError::Ledger(r) => r.seq,
            IngestError::Admin(r) => r.seq,
            IngestError::Exchange(r) => r.seq,
            IngestError::AbandonedBranch { seq, .. } => *seq,
            IngestError::OutOfOrder { found, .. } => *found,
            IngestError::Damaged { seq, .. } | IngestError::RepairMismatch { seq, .. } => *seq,
            _ => 0,
        }
    }
}

/// A sequence gap whose missing event comes later in the same batch is a
/// reordering, not a loss: the two are named apart so an operator can tell a
/// dropped event from a shuffled batch. Only the refusal path decodes ahead.
fn name_gap(error: VerifyError, later: &[Vec<u8>]) -> IngestError {
    if let VerifyError::SequenceGap {
        group,
        expected,
        found,
    } = &error
        && later
            .iter()
            .any(|bytes| Event::decode(bytes).is_ok_and(|e| e.seq == *expected))
    {
        return IngestError::OutOfOrder {
            group: group.clone(),
            expected: *expected,
            found: *found,
        };
    }
    error.into()
}

/// Verifies the next event of `log` with the decoder of its kind: a hub's
/// administrative log, an exchange's log or a group's. Only the hash chain
/// and the header are checked here; the rules of each kind are its books'.
fn push_any(
    verifier: &mut ChainVerifier,
    log: &GroupId,
    bytes: &[u8],
    later: &[Vec<u8>],
) -> Result<(), IngestError> {
    if log.is_hub_log() {
        verifier.push_admin(bytes)?;
    } else if log.is_exchange_log() {
        verifier.push_exchange(bytes)?;
    } else {
        verifier.push(bytes).map_err(|e| name_gap(e, later))?;
    }
    Ok(())
}

/// The events of a hub's or an exchange's batch, decoded by `push` as the
/// chain is walked from the committed head, with their hashes and the head
/// the checkpoint must name (a group's batch also follows key rotations and
/// names its gaps: [`Ingest::batch`]).
fn verified_batch<T>(
    row: &GroupRow,
    fresh: &[Vec<u8>],
    checkpoint: &SignedCheckpoint,
    push: impl Fn(&mut ChainVerifier, &[u8]) -> Result<T, VerifyError>,
) -> Result<(Vec<T>, Vec<Hash>, Hash), IngestError> {
    let mut verifier = ChainVerifier::resume(row.group.clone(), row.seq, row.head, row.key);
    let mut decoded = Vec::with_capacity(fresh.len());
    let mut hashes = Vec::with_capacity(fresh.len());
    for bytes in fresh {
        decoded.push(push(&mut verifier, bytes)?);
        hashes.push(verifier.head());
    }
    verifier.finish(checkpoint, row.fork_epoch)?;
    Ok((decoded, hashes, verifier.head()))
}

fn new_events<'a>(fresh: &'a [Vec<u8>], hashes: &[Hash], dates: &[u32]) -> Vec<NewEvent<'a>> {
    fresh
        .iter()
        .zip(hashes)
        .zip(dates)
        .map(|((bytes, hash), date)| NewEvent {
            bytes,
            hash: *hash,
            business_date: *date,
        })
        .collect()
}

/// The hub's committed position for a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Position {
    pub group: GroupId,
    pub seq: u64,
    pub head: Hash,
    pub fork_epoch: u32,
    pub forked: bool,
    /// The scrub found the stored log damaged (see [`crate::ingest::scrub`]).
    pub damaged: bool,
}

impl From<&GroupRow> for Position {
    fn from(row: &GroupRow) -> Position {
        Position {
            group: row.group.clone(),
            seq: row.seq,
            head: row.head,
            fork_epoch: row.fork_epoch,
            forked: row.status == GroupStatus::Forked,
            damaged: row.status == GroupStatus::Damaged,
        }
    }
}

/// The hub's answer to a pusher's opening checkpoint.
#[derive(Clone, Debug)]
pub enum Greeting {
    SendFrom(u64),
    UpToDate,
    /// The hub holds more of this log than the pusher, consistently: pull it.
    HubAhead,
    Forked(Box<ForkRecord>),
}

/// The outcome of one batch.
#[derive(Clone, Debug)]
pub enum BatchOutcome {
    /// Committed (or already held with identical bytes): `from..=to`, ending at `head`.
    Acked { from: u64, to: u64, head: Hash },
    /// The batch starts beyond the committed size; nothing was stored.
    SendFrom(u64),
    /// The batch conflicts with accepted events; evidence stored, group marked.
    Forked(Box<ForkRecord>),
}

/// Whether the hub's writes are failing for want of storage (a full disk, a
/// file-size limit, an I/O error), so `/health` can say so: set by a batch
/// that failed to commit for such a reason, cleared by the next commit.
#[derive(Debug, Default)]
pub struct WriteHealth {
    failing: std::sync::Mutex<Option<(i64, String)>>,
}

impl WriteHealth {
    fn set(&self, value: Option<(i64, String)>) {
        if let Ok(mut failing) = self.failing.lock() {
            *failing = value;
        }
    }

    /// Since when (unix) and why writes fail, if they do.
    pub fn failing(&self) -> Option<(i64, String)> {
        self.failing.lock().ok().and_then(|f| f.clone())
    }
}

/// A database error that no retry by the client can fix: the disk.
fn storage_failure(error: &IngestError) -> bool {
    use rusqlite::ErrorCode::{CannotOpen, DiskFull, ReadOnly, SystemIoFailure};
    matches!(
        error,
        IngestError::Store(StoreError::Sql(rusqlite::Error::SqliteFailure(e, _)))
            if matches!(e.code, DiskFull | SystemIoFailure | ReadOnly | CannotOpen)
    )
}

pub struct Ingest {
    store: Store,
    writes: std::sync::Arc<WriteHealth>,
    /// Woken after every commit, so a relay forwards new events at once.
    on_commit: Option<std::sync::Arc<tokio::sync::Notify>>,
    books: HashMap<i64, Books>,
    books_order: VecDeque<i64>,
}

use sajja_edge::clock::{today, unix_now};

impl Ingest {
    pub fn new(store: Store) -> Ingest {
        Ingest {
            store,
            writes: Default::default(),
            on_commit: None,
            books: HashMap::new(),
            books_order: VecDeque::new(),
        }
    }

    /// Notifies `wake` after each committed batch.
    /// Shared with `/health`: whether writes are failing.
    pub fn write_health(&self) -> std::sync::Arc<WriteHealth> {
        self.writes.clone()
    }

    pub fn wake_on_commit(&mut self, wake: std::sync::Arc<tokio::sync::Notify>) {
        self.on_commit = Some(wake);
    }

    fn committed(&self) {
        if let Some(wake) = &self.on_commit {
            wake.notify_one();
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn store_mut(&mut self) -> &mut Store {
        // Anything that changes a log outside the accept rule (fork resolution)
        // invalidates the folded books.
        self.books.clear();
        self.books_order.clear();
        &mut self.store
    }

    fn row(&self, group: &GroupId) -> Result<GroupRow, IngestError> {
        self.store
            .group(group)?
            .ok_or_else(|| IngestError::NotEnrolled(group.clone()))
    }

    pub fn position(&self, group: &GroupId) -> Result<Position, IngestError> {
        Ok(Position::from(&self.row(group)?))
    }

    fn latest_fork(&self, group: &GroupId) -> Result<ForkRecord, IngestError> {
        self.store
            .forks(Some(group), true)?
            .pop()
            .ok_or_else(|| IngestError::Forked(group.clone()))
    }

    /// Answers a pusher's signed head.
    pub fn greet(
        &mut self,
        offered: &SignedCheckpoint,
    ) -> Result<(Position, Greeting), IngestError> {
        let row = self.row(&offered.checkpoint.group)?;
        let c = &offered.checkpoint;
        // A head beyond this hub's may be signed by a key rotated in events it
        // has not received, so it cannot be checked yet; it earns only a
        // SendFrom, and every batch is verified in full.
        let ours = if c.seq > row.seq {
            None
        } else {
            let ours = self.store.hash_at(&row, c.seq)?;
            if !self.signed_by_group(&row, offered, ours == Some(c.head))? {
                return Err(VerifyError::BadSignature {
                    group: row.group.clone(),
                    seq: c.seq,
                }
                .into());
            }
            ours
        };
        if row.status == GroupStatus::Forked {
            let fork = self.latest_fork(&row.group)?;
            return Ok((Position::from(&row), Greeting::Forked(Box::new(fork))));
        }
        if row.status == GroupStatus::Damaged
            && let Some(greeting) = self.damaged_greeting(&row, c.seq)?
        {
            return Ok(greeting);
        }
        if c.seq > row.seq {
            return Ok((Position::from(&row), Greeting::SendFrom(row.seq + 1)));
        }
        if ours == Some(c.head) {
            let greeting = if c.seq == row.seq {
                Greeting::UpToDate
            } else {
                Greeting::HubAhead
            };
            return Ok((Position::from(&row), greeting));
        }
        if c.fork_epoch < row.fork_epoch {
            return Err(IngestError::AbandonedBranch {
                group: row.group.clone(),
                seq: c.seq,
            });
        }
        // Two heads for one position, both signed by the group: a fork, or
        // this hub's copy changed at rest. Only a log that verifies as
        // stored can prove a fork.
        if self.found_damage(&row, c.seq)? {
            let row = self.row(&row.group)?;
            if let Some(greeting) = self.damaged_greeting(&row, c.seq)? {
                return Ok(greeting);
            }
        }
        let fork = ForkRecord {
            id: 0,
            group: row.group.clone(),
            seq: c.seq,
            accepted_event: self.store.event_bytes(row.gid, c.seq)?,
            offered_event: None,
            accepted_checkpoint: row.checkpoint.clone(),
            offered_checkpoint: offered.clone(),
            detected_at: unix_now(),
            resolution: None,
        };
        let fork = self.record_fork(&row, fork)?;
        let row = self.row(&row.group)?;
        Ok((Position::from(&row), Greeting::Forked(Box::new(fork))))
    }

    /// [`Ingest::greet`], and the contact it proves: when the offered
    /// checkpoint verified with the group's key, `contact_at` (if any) is
    /// recorded as the group's last contact. Returns whether it verified. A
    /// head beyond this hub's is not checked at the hello (see `greet`); its
    /// batches are, and the caller records the contact once one of them is
    /// acknowledged ([`Ingest::record_contact`]).
    pub fn greet_contact(
        &mut self,
        offered: &SignedCheckpoint,
        contact_at: Option<i64>,
    ) -> Result<(Position, Greeting, bool), IngestError> {
        let (position, greeting) = self.greet(offered)?;
        // `greet` checks the signature of every head at or before its own,
        // and never moves the committed position.
        let verified = offered.checkpoint.seq <= position.seq;
        if verified && let Some(at) = contact_at {
            self.record_contact(&position.group, at)?;
        }
        Ok((position, greeting, verified))
    }

    /// Records a verified contact of `group` at `at` (unix seconds), never
    /// moving it backwards; returns whether it advanced. The relay passes
    /// the new time on to the parent at its next round.
    pub fn record_contact(&mut self, group: &GroupId, at: i64) -> Result<bool, IngestError> {
        let advanced = self.store.record_contact(group, at)?;
        if advanced {
            tracing::debug!(group = %group, at, "contact recorded");
        }
        Ok(advanced)
    }

    /// Whether a checkpoint at or before the hub's head is the group's. On
    /// this hub's chain it must be signed by the key in effect at its seq. Off
    /// it (a fork), the offered branch left ours at some unknown earlier seq
    /// and may not have made our later rotations, so any key the group had up
    /// to that seq will do: each of them could equally prove a fork at a seq
    /// where it was in effect.
    fn signed_by_group(
        &self,
        row: &GroupRow,
        offered: &SignedCheckpoint,
        on_our_chain: bool,
    ) -> Result<bool, IngestError> {
        let seq = offered.checkpoint.seq;
        let retired = self.store.retired_keys(row.gid)?;
        let at_seq = retired
            .iter()
            .find(|(until, _)| *until > seq)
            .map_or(row.key, |(_, key)| *key);
        if offered.verify(&at_seq) {
            return Ok(true);
        }
        Ok(!on_our_chain
            && retired
                .iter()
                .any(|(until, key)| *until <= seq && offered.verify(key)))
    }

    fn record_fork(
        &mut self,
        row: &GroupRow,
        mut fork: ForkRecord,
    ) -> Result<ForkRecord, IngestError> {
        fork.id = self.store.record_fork(row, &fork)?;
        self.books.remove(&row.gid);
        tracing::warn!(group = %row.group, seq = fork.seq, "fork detected; group marked forked");
        Ok(fork)
    }

    /// Applies the accept rule to one batch.
    pub fn batch(
        &mut self,
        from: u64,
        events: &[Vec<u8>],
        checkpoint: &SignedCheckpoint,
    ) -> Result<BatchOutcome, IngestError> {
        let outcome = self.checked_batch(from, events, checkpoint);
        match &outcome {
            Err(error) if storage_failure(error) => {
                tracing::error!(group = %checkpoint.checkpoint.group, "writes failing: {error}");
                if self.writes.failing().is_none() {
                    self.writes.set(Some((unix_now(), error.to_string())));
                }
            }
            Ok(BatchOutcome::Acked { .. }) => self.writes.set(None),
            _ => {}
        }
        outcome
    }

    fn checked_batch(
        &mut self,
        from: u64,
        events: &[Vec<u8>],
        checkpoint: &SignedCheckpoint,
    ) -> Result<BatchOutcome, IngestError> {
        let group = &checkpoint.checkpoint.group;
        let row = self.row(group)?;
        if row.status == GroupStatus::Forked {
            return Err(IngestError::Forked(row.group));
        }
        if events.is_empty() {
            return Err(IngestError::EmptyBatch { group: row.group });
        }
        if row.status == GroupStatus::Damaged && from > 0 {
            return self.damaged_batch(&row, from, events, checkpoint);
        }
        if from == 0 {
            return Err(VerifyError::SequenceGap {
                group: row.group,
                expected: 1,
                found: 0,
            }
            .into());
        }
        if from > row.seq + 1 {
            return Ok(BatchOutcome::SendFrom(row.seq + 1));
        }
        let end = from + events.len() as u64 - 1;
        // Events the hub already holds must be identical, byte for byte.
        for seq in from..=end.min(row.seq) {
            let offered = &events[(seq - from) as usize];
            let accepted = self.store.event_bytes(row.gid, seq)?;
            if accepted.as_deref() != Some(offered.as_slice()) {
                return self.offered_fork(&row, from, events, checkpoint, seq, accepted);
            }
        }
        if end <= row.seq {
            if row.group.is_hub_log() {
                // A re-sent administrative batch re-applies its effects, which
                // are idempotent: a crash between commit and effect heals here.
                let books = self.admin_books(&row)?;
                self.apply_admin_effects(&books)?;
            }
            let head = self.store.hash_at(&row, end)?.unwrap_or(row.head);
            return Ok(BatchOutcome::Acked {
                from,
                to: end,
                head,
            });
        }
        let fresh = &events[(row.seq + 1 - from) as usize..];
        if row.group.is_hub_log() {
            return self.admin_batch(&row, from, end, fresh, checkpoint);
        }
        if row.group.is_exchange_log() {
            return self.exchange_batch(&row, from, end, fresh, checkpoint);
        }
        let mut verifier = ChainVerifier::resume(row.group.clone(), row.seq, row.head, row.key);
        let mut decoded = Vec::with_capacity(fresh.len());
        let mut hashes = Vec::with_capacity(fresh.len());
        let mut keys = Vec::new();
        for (i, bytes) in fresh.iter().enumerate() {
            let old = verifier.key();
            let event = verifier
                .push(bytes)
                .map_err(|e| name_gap(e, &fresh[i + 1..]))?;
            if verifier.key() != old {
                keys.push(KeyChange::Rotated {
                    seq: event.seq,
                    old,
                    new: verifier.key(),
                });
            }
            decoded.push(event);
            hashes.push(verifier.head());
        }
        verifier.finish(checkpoint, row.fork_epoch)?;

        let mut books = self.books_for(&row)?;
        let mut cuts = PositionCuts::default();
        for event in &decoded {
            let original = match reversal_target(event) {
                Some(target) => self.original_event(&row, target, &decoded)?,
                None => None,
            };
            sajja_common::ledger::check_not_future(event, today())?;
            cuts.before(&books, event.date);
            books.apply(event, original.as_ref())?;
        }
        let dates: Vec<u32> = decoded.iter().map(|e| e.date.days()).collect();
        let snapshot = Snapshot::of(&books, cuts)?;
        let new_events = new_events(fresh, &hashes, &dates);
        self.commit(&row, &new_events, checkpoint, Some(&snapshot), &keys)?;
        self.remember_books(row.gid, books);
        Ok(BatchOutcome::Acked {
            from,
            to: end,
            head: verifier.head(),
        })
    }

    /// A batch differs from accepted events at `seq`. It is a fork only if the
    /// offered history is itself a valid, signed continuation of the common
    /// prefix: anything else is tampering, refused without marking the group.
    /// The prefix up to `from - 1` is ours, so the offered events start from
    /// the key in effect there and follow their own rotations.
    fn offered_fork(
        &mut self,
        row: &GroupRow,
        from: u64,
        events: &[Vec<u8>],
        checkpoint: &SignedCheckpoint,
        seq: u64,
        accepted: Option<Vec<u8>>,
    ) -> Result<BatchOutcome, IngestError> {
        if self.found_damage(row, seq)? {
            let row = self.row(&row.group)?;
            return self.damaged_batch(&row, from, events, checkpoint);
        }
        let start = self.store.hash_at(row, from - 1)?.unwrap_or(row.head);
        let key = self.store.key_at(row, from - 1)?;
        let mut verifier = ChainVerifier::resume(row.group.clone(), from - 1, start, key);
        for (i, bytes) in events.iter().enumerate() {
            push_any(&mut verifier, &row.group, bytes, &events[i + 1..])?;
        }
        if checkpoint.checkpoint.fork_epoch < row.fork_epoch && checkpoint.verify(&verifier.key()) {
            return Err(IngestError::AbandonedBranch {
                group: row.group.clone(),
                seq,
            });
        }
        verifier.finish(checkpoint, row.fork_epoch)?;
        let fork = ForkRecord {
            id: 0,
            group: row.group.clone(),
            seq,
            accepted_event: accepted,
            offered_event: Some(events[(seq - from) as usize].clone()),
            accepted_checkpoint: row.checkpoint.clone(),
            offered_checkpoint: checkpoint.clone(),
            detected_at: unix_now(),
            resolution: None,
        };
        Ok(BatchOutcome::Forked(Box::new(self.record_fork(row, fork)?)))
    }

    /// The damage recorded for a log marked damaged.
    fn damage_of(&self, row: &GroupRow) -> Result<crate::values::status::Damage, IngestError> {
        self.store.damage(&row.group)?.ok_or_else(|| {
            StoreError::Damaged(format!(
                "group {} is marked damaged without a record",
                row.group
            ))
            .into()
        })
    }

    /// Scrubs a log whose stored copy disagrees with a signed push at
    /// `seq`, before anything is called a fork: returns whether it is
    /// damaged at or before `seq` (it is then marked so).
    fn found_damage(&mut self, row: &GroupRow, seq: u64) -> Result<bool, IngestError> {
        let report = self.store.scrub_and_mark(&row.group, 1, unix_now())?;
        let Some((bad, reason)) = report.damage else {
            return Ok(false);
        };
        tracing::error!(group = %row.group, seq = bad, "a push found the stored log damaged: {reason}");
        self.books.remove(&row.gid);
        Ok(bad <= seq)
    }

    /// The hello of a damaged log: a pusher whose head reaches the first bad
    /// seq is told the hub holds the verified part only, and to send from
    /// the bad seq, which repairs the log ([`Ingest::damaged_batch`]). One
    /// that does not reach it is answered on the verified part (`None`:
    /// the ordinary answer).
    fn damaged_greeting(
        &self,
        row: &GroupRow,
        offered_seq: u64,
    ) -> Result<Option<(Position, Greeting)>, IngestError> {
        let damage = self.damage_of(row)?;
        if offered_seq < damage.seq {
            return Ok(None);
        }
        let verified = damage.seq - 1;
        let head = self
            .store
            .hash_at(row, verified)?
            .ok_or_else(|| StoreError::Damaged(format!("group {} seq {verified}", row.group)))?;
        let position = Position {
            seq: verified,
            head,
            ..Position::from(row)
        };
        Ok(Some((position, Greeting::SendFrom(damage.seq))))
    }

    /// A batch onto a damaged log. One that covers the first bad seq and
    /// whose events hash, from the verified part, to the chain this hub
    /// stored (its head, or the stored hash where the batch ends) is the
    /// group's history: it replaces the damaged rows ([`Store::repair`]),
    /// and what it carries beyond the hub's head is then accepted as any
    /// batch. Any other batch is held, naming the bad seq.
    fn damaged_batch(
        &mut self,
        row: &GroupRow,
        from: u64,
        events: &[Vec<u8>],
        checkpoint: &SignedCheckpoint,
    ) -> Result<BatchOutcome, IngestError> {
        let damage = self.damage_of(row)?;
        let held = || IngestError::Damaged {
            group: row.group.clone(),
            seq: damage.seq,
            reason: damage.reason.clone(),
        };
        let end = from + events.len() as u64 - 1;
        if from > damage.seq || end < damage.seq {
            return Err(held());
        }
        // Before the bad seq the hub's copy verified: what is resent there
        // must be identical.
        for seq in from..damage.seq {
            if self.store.event_bytes(row.gid, seq)?.as_deref()
                != Some(events[(seq - from) as usize].as_slice())
            {
                return Err(held());
            }
        }
        let start = self
            .store
            .hash_at(row, from - 1)?
            .ok_or_else(|| StoreError::Damaged(format!("group {} seq {}", row.group, from - 1)))?;
        let key = self.store.key_at(row, from - 1)?;
        let mut verifier = ChainVerifier::resume(row.group.clone(), from - 1, start, key);
        let mut hashes = Vec::with_capacity(events.len());
        for (i, bytes) in events.iter().enumerate() {
            push_any(&mut verifier, &row.group, bytes, &events[i + 1..])?;
            hashes.push(verifier.head());
        }
        verifier.finish(checkpoint, row.fork_epoch)?;
        let last = end.min(row.seq);
        let anchor = if last == row.seq {
            Some(row.head)
        } else {
            self.store.hash_at(row, last)?
        };
        if anchor != Some(hashes[(last - from) as usize]) {
            return Err(IngestError::RepairMismatch {
                group: row.group.clone(),
                seq: last,
            });
        }
        let copy: Vec<(Vec<u8>, Hash)> = (damage.seq..=last)
            .map(|seq| {
                let i = (seq - from) as usize;
                (events[i].clone(), hashes[i])
            })
            .collect();
        let source = format!("push of seq {}..={last}", damage.seq);
        let left = self
            .store
            .repair(row, damage.seq, &copy, &source, unix_now())?;
        self.books.remove(&row.gid);
        match &left {
            None => tracing::warn!(
                group = %row.group,
                from = damage.seq,
                to = last,
                "damaged log repaired from a pushed copy"
            ),
            Some(d) => tracing::warn!(
                group = %row.group,
                from = damage.seq,
                to = last,
                still_bad = d.seq,
                "damaged log partly repaired from a pushed copy: {}", d.reason
            ),
        }
        if end <= row.seq {
            return Ok(BatchOutcome::Acked {
                from,
                to: end,
                head: hashes[events.len() - 1],
            });
        }
        if left.is_some() {
            return Err(held());
        }
        // Repaired through the head: the rest is an ordinary batch.
        self.batch(from, events, checkpoint)
    }

    /// The event a reversal targets: in this batch or already stored.
    fn original_event(
        &self,
        row: &GroupRow,
        target: u64,
        batch: &[Event],
    ) -> Result<Option<Event>, IngestError> {
        if target == 0 {
            return Ok(None);
        }
        if let Some(event) = batch.iter().find(|e| e.seq == target) {
            return Ok(Some(event.clone()));
        }
        if target > row.seq {
            return Ok(None);
        }
        let Some(bytes) = self.store.event_bytes(row.gid, target)? else {
            return Ok(None);
        };
        let event = Event::decode(&bytes)
            .map_err(|e| StoreError::Damaged(format!("group {} seq {target}: {e}", row.group)))?;
        Ok(Some(event))
    }

    /// Stores a verified, validated batch with its checkpoint and the group's
    /// books folded through it in one transaction, then wakes whoever waits
    /// for new events (the relay).
    fn commit(
        &mut self,
        row: &GroupRow,
        new_events: &[NewEvent<'_>],
        checkpoint: &SignedCheckpoint,
        snapshot: Option<&Snapshot>,
        keys: &[KeyChange],
    ) -> Result<(), IngestError> {
        self.store
            .commit_batch(row, new_events, checkpoint, snapshot, keys, unix_now())?;
        self.committed();
        Ok(())
    }

    /// The group's books at its committed position: from memory, else as
    /// stored with the last batch, else re-folded from the log.
    fn books_for(&self, row: &GroupRow) -> Result<Books, IngestError> {
        if let Some(books) = self.books.get(&row.gid)
            && books.last_seq == row.seq
        {
            return Ok(books.clone());
        }
        if let Some(books) = self.store.stored_books(row.gid, row.seq)?
            && books.last_seq == row.seq
            && books.group == row.group
        {
            return Ok(books);
        }
        Ok(self.store.fold(row, None)?)
    }

    /// Accepts a batch of a hub's administrative log: chain, the hub's
    /// signature, the administrative rules; then commit, with its effects
    /// (enrolments and re-keys of the groups under that hub) in the same
    /// transaction. Only this batch's own events take effect: re-applying the
    /// whole log would undo the rotations groups made since their enrolment.
    fn admin_batch(
        &mut self,
        row: &GroupRow,
        from: u64,
        end: u64,
        fresh: &[Vec<u8>],
        checkpoint: &SignedCheckpoint,
    ) -> Result<BatchOutcome, IngestError> {
        let (decoded, hashes, head) =
            verified_batch(row, fresh, checkpoint, ChainVerifier::push_admin)?;
        let mut books = self.admin_books(row)?;
        let mut keys = Vec::new();
        for event in &decoded {
            books.apply(event)?;
            match &event.body {
                AdminBody::GroupEnrolled { group, key } => keys.push(KeyChange::Enrolled {
                    group: group.clone(),
                    key: *key,
                }),
                AdminBody::GroupRekeyed { group, key } => keys.push(KeyChange::Rekeyed {
                    group: group.clone(),
                    key: *key,
                }),
                _ => {}
            }
        }
        let dates: Vec<u32> = decoded.iter().map(|e| e.date.days()).collect();
        let new_events = new_events(fresh, &hashes, &dates);
        self.commit(row, &new_events, checkpoint, None, &keys)?;
        Ok(BatchOutcome::Acked {
            from,
            to: end,
            head,
        })
    }

    /// Accepts a batch of a community exchange's log: chain, the exchange's
    /// signature, the exchange's rules ([`sajja_common::exchange::ExchangeBooks::apply`], the same
    /// code its node runs before an append); then commit. An exchange log
    /// has no group books, so no snapshot: its position is folded from the
    /// log when asked ([`crate::read::exchanges`]).
    fn exchange_batch(
        &mut self,
        row: &GroupRow,
        from: u64,
        end: u64,
        fresh: &[Vec<u8>],
        checkpoint: &SignedCheckpoint,
    ) -> Result<BatchOutcome, IngestError> {
        let (decoded, hashes, head) =
            verified_batch(row, fresh, checkpoint, ChainVerifier::push_exchange)?;
        let mut books = self.store.exchange_books(row.gid, &row.group)?;
        let today = today();
        for event in &decoded {
            sajja_common::exchange::check_not_future(event, today)?;
            books.apply(event)?;
        }
        let dates: Vec<u32> = decoded.iter().map(|e| e.date.days()).collect();
        let new_events = new_events(fresh, &hashes, &dates);
        self.commit(row, &new_events, checkpoint, None, &[])?;
        Ok(BatchOutcome::Acked {
            from,
            to: end,
            head,
        })
    }

    /// The fold of a hub's administrative log as stored (logs are small).
    pub fn admin_books(&self, row: &GroupRow) -> Result<AdminBooks, IngestError> {
        let mut books = AdminBooks::new(row.group.clone());
        self.store.for_each_event(row.gid, |seq, bytes| {
            let event = AdminEvent::decode(bytes).map_err(|e| {
                StoreError::Damaged(format!("hub log {} seq {seq}: {e}", row.group))
            })?;
            books.apply_unchecked(&event);
            Ok(())
        })?;
        Ok(books)
    }

    /// Enrols any group the administrative log names that this hub lacks.
    /// Effects commit with their batch, so this only heals a hub that stored
    /// an administrative batch before they did; it never changes a key, which
    /// rotations may have moved on since the enrolment.
    fn apply_admin_effects(&mut self, books: &AdminBooks) -> Result<(), IngestError> {
        let now = unix_now();
        for (group, key) in &books.enrolled {
            if self.store.group(group)?.is_none() {
                self.store.enrol(group, key, now)?;
            }
        }
        Ok(())
    }

    fn remember_books(&mut self, gid: i64, books: Books) {
        if self.books.insert(gid, books).is_none() {
            self.books_order.push_back(gid);
            while self.books_order.len() > BOOKS_CACHE_GROUPS {
                if let Some(evicted) = self.books_order.pop_front() {
                    self.books.remove(&evicted);
                }
            }
        }
    }
}
