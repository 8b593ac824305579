//! Positions read from the hub's store: each group's log folded up to a date.
//!
//! This is the direct fold — exact, and reproducible by anyone holding the
//! logs. Maintaining positions incrementally as batches commit is the next
//! step (issue 4); its results must equal this fold.

use sajja_common::ledger::reversal_target;
use sajja_common::position::GroupPosition;
use sajja_common::{Books, Date, Event, GroupId};

use crate::store::{GroupRow, GroupStatus, Store, StoreError};

/// A group's position with the hub's view of its log.
#[derive(Clone, Debug)]
pub struct GroupLine {
    pub group: GroupId,
    pub name: String,
    pub seq: u64,
    pub forked: bool,
    pub last_sync_at: Option<i64>,
    pub position: GroupPosition,
}

/// Folds the stored events of `row` dated on or before `as_of`.
pub fn fold_group(store: &Store, row: &GroupRow, as_of: Date) -> Result<Books, StoreError> {
    let mut books = Books::new(row.group.clone());
    let decode = |bytes: &[u8], seq: u64| {
        Event::decode(bytes)
            .map_err(|e| StoreError::Damaged(format!("group {} seq {seq}: {e}", row.group)))
    };
    store.for_each_event(row.gid, |seq, bytes| {
        let event = decode(bytes, seq)?;
        if event.date > as_of {
            return Ok(());
        }
        let original = match reversal_target(&event) {
            Some(target) => store
                .event_bytes(row.gid, target)?
                .map(|b| decode(&b, target))
                .transpose()?,
            None => None,
        };
        books.apply_unchecked(&event, original.as_ref());
        Ok(())
    })?;
    Ok(books)
}

/// Positions of every group whose id starts with `scope` (a province or
/// tambon geocode; empty for all).
pub fn group_lines(store: &Store, scope: &str, as_of: Date) -> Result<Vec<GroupLine>, StoreError> {
    let mut lines = Vec::new();
    for group in store.groups()? {
        if !group.as_str().starts_with(scope) {
            continue;
        }
        let Some(row) = store.group(&group)? else {
            continue;
        };
        let books = fold_group(store, &row, as_of)?;
        lines.push(GroupLine {
            name: books
                .opened
                .as_ref()
                .map(|o| o.name.clone())
                .unwrap_or_default(),
            position: GroupPosition::of(&books, as_of),
            group,
            seq: row.seq,
            forked: row.status == GroupStatus::Forked,
            last_sync_at: row.last_sync_at,
        });
    }
    Ok(lines)
}
