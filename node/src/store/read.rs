//! Reading the stored log: hashes, exact bytes for a sync, decoded events,
//! the books as of a date.

use rusqlite::OptionalExtension;
use sajja_common::chain::{self, Hash};
use sajja_common::date::Date;
use sajja_common::event::Event;
use sajja_common::ledger::{AsOf, Books, reversal_target};

use super::error::StoreError;
use super::fold::{damage_at, load_event};
use super::handle::Store;
use super::limits::MAX_CHUNK_EVENTS;

impl Store {
    /// The chain hash after `seq` (the genesis value for 0), if the log reaches it.
    pub fn hash_at(&self, seq: u64) -> Result<Option<Hash>, StoreError> {
        if seq == 0 {
            return Ok(Some(chain::genesis(&self.group)));
        }
        let bytes: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT hash FROM events WHERE seq = ?1",
                [seq as i64],
                |r| r.get(0),
            )
            .optional()?;
        match bytes {
            None => Ok(None),
            Some(bytes) => Hash::from_slice(&bytes)
                .map(Some)
                .ok_or_else(|| damage_at(seq, "stored hash is not 32 bytes")),
        }
    }

    /// Exact stored bytes from `from_seq` on, in order: as many events as fit in
    /// `max_bytes` (but always at least one, so a large event cannot stall a
    /// sync) and at most [`MAX_CHUNK_EVENTS`].
    pub fn events_from(
        &self,
        from_seq: u64,
        max_bytes: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let mut statement = self
            .conn
            .prepare_cached("SELECT seq, bytes FROM events WHERE seq >= ?1 ORDER BY seq")?;
        let mut rows = statement.query([from_seq.max(1) as i64])?;
        let mut chunk = Vec::new();
        let mut total_bytes = 0usize;
        while let Some(row) = rows.next()? {
            let bytes = row.get_ref(1)?.as_blob()?;
            if !chunk.is_empty()
                && (total_bytes + bytes.len() > max_bytes || chunk.len() >= MAX_CHUNK_EVENTS)
            {
                break;
            }
            total_bytes += bytes.len();
            let seq: i64 = row.get(0)?;
            chunk.push((seq as u64, bytes.to_vec()));
        }
        Ok(chunk)
    }

    /// Visits stored events from `from_seq` on, decoded, one row at a time,
    /// until `visit` returns false.
    pub fn scan(
        &self,
        from_seq: u64,
        mut visit: impl FnMut(&Event) -> bool,
    ) -> Result<(), StoreError> {
        let mut statement = self
            .conn
            .prepare("SELECT seq, bytes FROM events WHERE seq >= ?1 ORDER BY seq")?;
        let mut rows = statement.query([from_seq.max(1) as i64])?;
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get(0)?;
            let event = Event::decode(row.get_ref(1)?.as_blob()?)
                .map_err(|e| damage_at(seq as u64, format!("undecodable event bytes: {e}")))?;
            if !visit(&event) {
                break;
            }
        }
        Ok(())
    }

    /// The stored event at `seq`, decoded.
    pub fn event(&self, seq: u64) -> Result<Option<Event>, StoreError> {
        load_event(&self.conn, seq)
    }

    /// The books as of the end of `date`: the events dated on or before it, in
    /// log order (`AsOf`, as `Books::fold_as_of` and the hubs fold, but
    /// streamed; the query leaves later events unread).
    pub fn books_as_of(&self, date: Date) -> Result<Books, StoreError> {
        let mut books = AsOf::new(self.group.clone(), Some(date));
        let mut statement = self
            .conn
            .prepare("SELECT seq, bytes FROM events WHERE business_date <= ?1 ORDER BY seq")?;
        let mut rows = statement.query([i64::from(date.days())])?;
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get(0)?;
            let event = Event::decode(row.get_ref(1)?.as_blob()?)
                .map_err(|e| damage_at(seq as u64, format!("undecodable event bytes: {e}")))?;
            let original = match reversal_target(&event) {
                Some(target) => load_event(&self.conn, target)?,
                None => None,
            };
            books.push(&event, original.as_ref());
        }
        Ok(books.finish())
    }
}
