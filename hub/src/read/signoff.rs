//! Month sign-off: an approval that travels up the hierarchy.
//!
//! A tambon hub signs off a group's month once the group's own `PeriodClosed`
//! for it has arrived and agrees with the hub's fold; the province then signs
//! off the tambon's month once every group of the tambon is signed off and the
//! province's own fold reproduces each signed digest. Each sign-off is a
//! `MonthSignedOff` fact in the signing hub's administrative log, relayed
//! upward with it.
//!
//! # What a sign-off covers
//!
//! The **month digest** of group G for month M is the trial-balance digest
//! (`sajja_common::ledger::trial_balance_digest`) of
//! `Books::fold_as_of(G's log, last day of M)`: every event of the log dated on
//! or before the month's last day, in log order, whenever it arrived. It is
//! the same digest a `PeriodClosed` carries when the group closed the month
//! after recording it and before recording anything dated later.
//!
//! The **tambon month digest** of tambon T for M is SHA-256, under the domain
//! `sajja/v1/tambon-month\0`, of each `(group id, month digest)` in group id
//! order, over the groups enrolled in T's administrative log whose log holds
//! an event dated on or before the last day of M.
//!
//! A sign-off records the digest it approved. It is **broken** when the digest
//! recomputed from the logs held now differs: an event dated in or before the
//! month (a back-dated entry or reversal) arrived after the sign-off, so the
//! signed figures are no longer the month's figures. A broken sign-off is
//! reported (`query signoffs`, `query alerts`), never rewritten.

use std::collections::BTreeMap;

use sajja_common::admin::AdminBooks;
use sajja_common::ledger::{AsOf, reversal_target};
use sajja_common::{Event, GroupId, Hash, Month};
use thiserror::Error;

use crate::store::{Store, StoreError};
use crate::values::signoff::{SignOff, has_books_in, month_digest, tambon_digest};
use crate::values::status::GroupStatus;

#[derive(Debug, Error)]
pub enum SignOffError {
    #[error("group {0} is not enrolled at this hub")]
    UnknownGroup(GroupId),
    #[error("group {0} is forked; resolve the fork before signing off its months")]
    Forked(GroupId),
    #[error("group {group} has not closed {month}: its PeriodClosed for the month has not arrived")]
    NotClosed { group: GroupId, month: Month },
    #[error(
        "group {group} closed {month} at seq {seq} with a trial balance this hub does not reproduce (digest mismatch)"
    )]
    CloseMismatch {
        group: GroupId,
        month: Month,
        seq: u64,
    },
    #[error(
        "group {group}: the books of {month} differ from its close at seq {seq} (events dated in or before the month were recorded after the close)"
    )]
    ChangedSinceClose {
        group: GroupId,
        month: Month,
        seq: u64,
    },
    #[error("tambon {0} is not listed under [[children]] of this hub")]
    NotAChild(String),
    #[error("the administrative log of tambon hub {0} has not arrived here")]
    NoChildLog(String),
    #[error("group {group}: {month} is not signed off by tambon hub {tambon}")]
    GroupNotSignedOff {
        tambon: String,
        group: GroupId,
        month: Month,
    },
    #[error(
        "group {group}: this hub's fold of {month} does not reproduce the digest tambon hub {tambon} signed (the relay is behind, or the sign-off is broken)"
    )]
    GroupDigestDiffers {
        tambon: String,
        group: GroupId,
        month: Month,
    },
    #[error("tambon {tambon} has no group with books in {month}")]
    NoGroups { tambon: String, month: Month },
    #[error("{subject:?}: {expected}")]
    BadSubject { subject: String, expected: String },
    #[error("group {group} is not a group of tambon {hub}")]
    NotOurGroup { group: GroupId, hub: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Every event of a stored log, decoded, in log order.
pub fn group_events(store: &Store, group: &GroupId) -> Result<Vec<Event>, StoreError> {
    let Some(row) = store.group(group)? else {
        return Ok(Vec::new());
    };
    let mut events = Vec::with_capacity(row.seq as usize);
    store.for_each_event(row.gid, |seq, bytes| {
        let event = Event::decode(bytes)
            .map_err(|e| StoreError::Damaged(format!("group {group} seq {seq}: {e}")))?;
        events.push(event);
        Ok(())
    })?;
    Ok(events)
}

/// Checks that a tambon hub may sign off `group`'s `month`, and returns the
/// digest to sign: the group's close arrived, matched the fold when it
/// arrived, and still equals the month digest.
pub fn group_sign_off(store: &Store, group: &GroupId, month: Month) -> Result<Hash, SignOffError> {
    let row = store
        .group(group)?
        .ok_or_else(|| SignOffError::UnknownGroup(group.clone()))?;
    if row.status == GroupStatus::Forked {
        return Err(SignOffError::Forked(group.clone()));
    }
    let events = group_events(store, group)?;
    // The whole log in log order: `closes` records each close as it was applied.
    let mut folded = AsOf::new(group.clone(), None);
    for event in &events {
        let original = reversal_target(event)
            .and_then(|seq| events.get(seq.wrapping_sub(1) as usize))
            .filter(|e| Some(e.seq) == reversal_target(event));
        folded.push(event, original);
    }
    let books = folded.finish();
    let close = books
        .closes
        .iter()
        .find(|c| c.month == month)
        .ok_or_else(|| SignOffError::NotClosed {
            group: group.clone(),
            month,
        })?;
    if !close.matches {
        return Err(SignOffError::CloseMismatch {
            group: group.clone(),
            month,
            seq: close.seq,
        });
    }
    if month_digest(group, &events, month) != close.digest {
        return Err(SignOffError::ChangedSinceClose {
            group: group.clone(),
            month,
            seq: close.seq,
        });
    }
    Ok(close.digest)
}

/// The fold of a hub's whole administrative log, if this store holds it.
pub fn admin_books(store: &Store, hub_id: &str) -> Result<Option<AdminBooks>, StoreError> {
    let Ok(log) = GroupId::hub_log(hub_id) else {
        return Ok(None);
    };
    let Some(row) = store.group(&log)? else {
        return Ok(None);
    };
    let mut books = AdminBooks::new(log.clone());
    store.for_each_event(row.gid, |seq, bytes| {
        let event = sajja_common::admin::AdminEvent::decode(bytes)
            .map_err(|e| StoreError::Damaged(format!("hub log {log} seq {seq}: {e}")))?;
        books.apply_unchecked(&event);
        Ok(())
    })?;
    Ok(Some(books))
}

/// The groups a tambon month digest covers, with their month digests.
fn tambon_parts(
    store: &Store,
    tambon: &AdminBooks,
    month: Month,
    events: &mut EventCache,
) -> Result<BTreeMap<GroupId, Hash>, StoreError> {
    let mut parts = BTreeMap::new();
    // A community exchange enrolled under the tambon keeps credits, not the
    // tambon's books: it is no part of the tambon's month.
    for group in tambon.enrolled.keys().filter(|g| g.is_group()) {
        let log = events.get(store, group)?;
        if has_books_in(log, month) {
            parts.insert(group.clone(), month_digest(group, log, month));
        }
    }
    Ok(parts)
}

/// Checks that a province hub may sign off `tambon`'s `month`, and returns the
/// tambon month digest to sign.
pub fn tambon_sign_off(store: &Store, tambon: &str, month: Month) -> Result<Hash, SignOffError> {
    let books =
        admin_books(store, tambon)?.ok_or_else(|| SignOffError::NoChildLog(tambon.to_string()))?;
    let mut events = EventCache::default();
    let parts = tambon_parts(store, &books, month, &mut events)?;
    if parts.is_empty() {
        return Err(SignOffError::NoGroups {
            tambon: tambon.to_string(),
            month,
        });
    }
    for (group, digest) in &parts {
        let signed = books
            .sign_offs
            .get(&(group.as_str().to_string(), month))
            .ok_or_else(|| SignOffError::GroupNotSignedOff {
                tambon: tambon.to_string(),
                group: group.clone(),
                month,
            })?;
        if signed.0 != *digest {
            return Err(SignOffError::GroupDigestDiffers {
                tambon: tambon.to_string(),
                group: group.clone(),
                month,
            });
        }
    }
    Ok(tambon_digest(&parts))
}

/// Decoded logs, read once per report.
#[derive(Default)]
struct EventCache(BTreeMap<GroupId, Vec<Event>>);

impl EventCache {
    fn get(&mut self, store: &Store, group: &GroupId) -> Result<&[Event], StoreError> {
        if !self.0.contains_key(group) {
            let events = group_events(store, group)?;
            self.0.insert(group.clone(), events);
        }
        Ok(self.0.get(group).map_or(&[], Vec::as_slice))
    }
}

/// Every sign-off in the administrative logs this store holds whose subject
/// is under `scope` (a province or tambon geocode; empty for all), in order of
/// signing hub, subject and month.
pub fn sign_offs(store: &Store, scope: &str) -> Result<Vec<SignOff>, StoreError> {
    let mut admin: BTreeMap<String, AdminBooks> = BTreeMap::new();
    for log in store.groups()? {
        if let Some(hub) = log.hub_of_log()
            && let Some(books) = admin_books(store, hub)?
        {
            admin.insert(hub.to_string(), books);
        }
    }
    let mut events = EventCache::default();
    let mut out = Vec::new();
    for (hub, books) in &admin {
        for ((subject, month), (signed, seq)) in &books.sign_offs {
            if !subject.starts_with(scope) {
                continue;
            }
            let current = match GroupId::parse(subject) {
                Ok(group) => month_digest(&group, events.get(store, &group)?, *month),
                Err(_) => match admin.get(subject) {
                    Some(tambon) => {
                        tambon_digest(&tambon_parts(store, tambon, *month, &mut events)?)
                    }
                    // The tambon's own log is gone: nothing reproduces the sign-off.
                    None => tambon_digest(&BTreeMap::new()),
                },
            };
            out.push(SignOff {
                signed_by: hub.clone(),
                subject: subject.clone(),
                month: *month,
                seq: *seq,
                signed: *signed,
                current,
            });
        }
    }
    Ok(out)
}
