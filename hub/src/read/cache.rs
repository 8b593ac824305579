//! The reading side's connection: a [`Store`] with the position cache kept
//! beside it. The store is SQLite and nothing else; what a long-lived reader
//! remembers between answers lives here, with the reader that owns it.

use std::cell::{RefCell, RefMut};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use sajja_common::position::{GroupPosition, PositionBasis};
use sajja_common::{Date, GroupId, Hash, Month};

use crate::read::signoff;
use crate::store::{PositionRow, Store, StoreError, StoredBasis};

/// A store connection that reads positions, with its cache. It derefs to
/// the [`Store`] for every plain read.
pub struct Reader {
    store: Store,
    cache: RefCell<PositionCache>,
}

impl Reader {
    pub fn new(store: Store) -> Reader {
        Reader {
            store,
            cache: RefCell::default(),
        }
    }

    pub fn open(path: &Path) -> Result<Reader, StoreError> {
        Store::open(path).map(Reader::new)
    }

    /// This connection's cache (see [`PositionCache`]).
    pub fn cache(&self) -> RefMut<'_, PositionCache> {
        self.cache.borrow_mut()
    }
}

impl std::ops::Deref for Reader {
    type Target = Store;

    fn deref(&self) -> &Store {
        &self.store
    }
}

/// What one reading connection keeps between position queries, so that a
/// long-lived reader (the `Query` service) neither reads nor decodes nor
/// recomputes what has not changed since its last answer:
///
/// - per group log, the maintained [`PositionBasis`] decoded, with the last
///   position computed from it (and its date), under the log's seq and
///   chain head: a new batch moves the seq, a fork resolution that cuts the
///   log and grows it back to the same seq ends at another head, so a hit is
///   always the basis the store holds now. A position for another date
///   (today moved on, or an as-of query) is recomputed from the basis;
/// - per hub administrative log, the months it signs off, under its seq and
///   head, and all of them merged by subject.
///
/// Every read goes through the store first (the rows with seq and head, in
/// one snapshot), so nothing here can be older than the store; it holds no
/// lock but the connection's own and is never shared between connections.
#[derive(Debug, Default)]
pub struct PositionCache {
    groups: HashMap<i64, CachedBasis>,
    hub_logs: HashMap<GroupId, CachedSignOffs>,
    /// The hub logs (id, seq, head) `signed` was merged from.
    signed_from: Vec<(GroupId, u64, Hash)>,
    signed: Arc<BTreeMap<String, Vec<Month>>>,
}

/// A hub log's seq and head, and the (subject, month) pairs it signs off.
type CachedSignOffs = (u64, Hash, Vec<(String, Month)>);

#[derive(Debug)]
pub struct CachedBasis {
    seq: u64,
    head: Hash,
    /// The latest business date in the log (days).
    max_date: Option<u32>,
    pub basis: PositionBasis,
    pub last: Option<Arc<GroupPosition>>,
}

impl PositionCache {
    /// How many group bases are held (for tests and metrics).
    pub fn groups_held(&self) -> usize {
        self.groups.len()
    }

    /// The maintained basis of `row`'s log, if it covers the whole log
    /// (folded to the log's seq) and `as_of` (no event dated after it): from
    /// this cache, or else read from `stored`, decoded and kept.
    pub fn current(
        &mut self,
        row: &PositionRow,
        stored: StoredBasis<'_>,
        as_of: Date,
    ) -> Result<Option<&mut CachedBasis>, StoreError> {
        let hit = self
            .groups
            .get(&row.gid)
            .is_some_and(|c| c.seq == row.seq && c.head == row.head);
        if !hit {
            self.groups.remove(&row.gid);
            let Some(inputs) = stored.read()? else {
                return Ok(None);
            };
            // Not kept when it does not hold for `as_of` (a past date):
            // the cut or fold answers, and the next current query decodes.
            if inputs.seq != row.seq || inputs.max_date.is_some_and(|d| d > as_of.days()) {
                return Ok(None);
            }
            match PositionBasis::from_snapshot(&inputs.bytes) {
                Ok(basis) => {
                    self.groups.insert(
                        row.gid,
                        CachedBasis {
                            seq: row.seq,
                            head: row.head,
                            max_date: inputs.max_date,
                            basis,
                            last: None,
                        },
                    );
                }
                Err(e) => {
                    tracing::warn!(group = %row.group, error = %e, "stored position unreadable; re-folding");
                    return Ok(None);
                }
            }
        }
        Ok(self
            .groups
            .get_mut(&row.gid)
            .filter(|c| c.max_date.is_none_or(|d| d <= as_of.days())))
    }

    /// Whether to read the stored inputs with the rows (most will be
    /// needed) or look them up one by one (most are held).
    pub fn needs_most(&self) -> bool {
        self.groups.is_empty()
    }

    /// The months signed off per subject in every hub log held, re-folding
    /// only the logs that changed since the last call.
    pub fn signed(
        &mut self,
        store: &Store,
    ) -> Result<Arc<BTreeMap<String, Vec<Month>>>, StoreError> {
        let heads = store.hub_log_heads()?;
        if heads == self.signed_from {
            return Ok(self.signed.clone());
        }
        self.hub_logs
            .retain(|log, _| heads.iter().any(|(id, ..)| id == log));
        for (log, seq, head) in &heads {
            if self
                .hub_logs
                .get(log)
                .is_some_and(|(s, h, _)| s == seq && h == head)
            {
                continue;
            }
            let mut months = Vec::new();
            if let Some(hub) = log.hub_of_log()
                && let Some(books) = signoff::admin_books(store, hub)?
            {
                months.extend(books.sign_offs.keys().cloned());
            }
            self.hub_logs.insert(log.clone(), (*seq, *head, months));
        }
        let mut signed: BTreeMap<String, Vec<Month>> = BTreeMap::new();
        for (_, _, months) in self.hub_logs.values() {
            for (subject, month) in months {
                signed.entry(subject.clone()).or_default().push(*month);
            }
        }
        for months in signed.values_mut() {
            months.sort();
            months.dedup();
        }
        self.signed = Arc::new(signed);
        self.signed_from = heads;
        Ok(self.signed.clone())
    }
}

/// A group's position inputs on `as_of` when the maintained ones do not
/// hold (an event is dated after `as_of`): a stored month-end cut that holds
/// on `as_of`, else a fold of the log up to `as_of`.
pub fn past_basis(
    store: &Store,
    row: &PositionRow,
    as_of: Date,
) -> Result<PositionBasis, StoreError> {
    if let Some(bytes) = store.cut_basis(row.gid, as_of)? {
        match PositionBasis::from_snapshot(&bytes) {
            Ok(basis) => return Ok(basis),
            Err(e) => {
                tracing::warn!(group = %row.group, error = %e, "stored cut unreadable; re-folding")
            }
        }
    }
    let Some(group_row) = store.group(&row.group)? else {
        return Err(StoreError::NotEnrolled(row.group.clone()));
    };
    Ok(PositionBasis::of(&store.fold(&group_row, Some(as_of))?))
}
