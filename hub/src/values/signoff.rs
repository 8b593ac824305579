//! Month sign-off digests (see `crate::read::signoff` for what they cover)
//! and a sign-off as reported.

use std::collections::BTreeMap;

use sajja_common::ledger::trial_balance_digest;
use sajja_common::{Books, Event, GroupId, Hash, Month};

const TAMBON_MONTH_DOMAIN: &[u8] = b"sajja/v1/tambon-month\0";

/// Whether the log holds anything dated on or before the month's last day.
pub fn has_books_in(events: &[Event], month: Month) -> bool {
    events.iter().any(|e| e.date <= month.last_day())
}

/// The month digest of a group (see the module documentation).
pub fn month_digest(group: &GroupId, events: &[Event], month: Month) -> Hash {
    let books = Books::fold_as_of(group.clone(), events, month.last_day());
    trial_balance_digest(&books.trial_balance())
}

/// The tambon month digest over `(group, month digest)` pairs.
pub fn tambon_digest(parts: &BTreeMap<GroupId, Hash>) -> Hash {
    let mut bytes = Vec::with_capacity(parts.len() * 43);
    for (group, digest) in parts {
        bytes.extend_from_slice(group.as_str().as_bytes());
        bytes.extend_from_slice(digest.as_bytes());
    }
    Hash::of(TAMBON_MONTH_DOMAIN, &[&bytes])
}

/// One recorded sign-off, with the digest recomputed from the logs held now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignOff {
    /// The hub whose administrative log records it.
    pub signed_by: String,
    /// The group (`230101-007`) or tambon (`230101`) signed off.
    pub subject: String,
    pub month: Month,
    /// The sign-off's seq in the signing hub's log.
    pub seq: u64,
    pub signed: Hash,
    pub current: Hash,
}

impl SignOff {
    pub fn is_group(&self) -> bool {
        GroupId::parse(&self.subject).is_ok()
    }

    pub fn broken(&self) -> bool {
        self.signed != self.current
    }
}
