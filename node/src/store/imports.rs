//! The record of each CSV import (the file's SHA-256 and the seqs it brought
//! in), so the same file is not imported twice by mistake.

use rusqlite::{Connection, OptionalExtension};
use sajja_common::ids::GroupId;

use super::error::StoreError;
use super::handle::Store;
use crate::link::printable;

/// What one CSV import brought in, as the `imports` table keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportRecord {
    /// SHA-256 of the file's exact bytes.
    pub sha256: [u8; 32],
    pub file_name: String,
    pub events: u64,
    pub first_seq: u64,
    pub last_seq: u64,
    /// Unix seconds.
    pub imported_at: i64,
    /// Imported with `--again`, despite an earlier import of the same bytes.
    pub again: bool,
}

/// The file a batch imports: recorded with its events, refused when the same
/// bytes were imported before unless `again`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportSource {
    pub sha256: [u8; 32],
    pub file_name: String,
    pub again: bool,
}

pub(super) fn already_imported(
    group: &GroupId,
    this_file: &str,
    earlier: &ImportRecord,
) -> StoreError {
    StoreError::AlreadyImported {
        group: group.clone(),
        this_file: printable(this_file),
        earlier_file: printable(&earlier.file_name),
        at: crate::vocab::local_date_time(earlier.imported_at),
        first_seq: earlier.first_seq,
        last_seq: earlier.last_seq,
    }
}

pub(super) fn import_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ImportRecord> {
    let digest: Vec<u8> = r.get(0)?;
    Ok(ImportRecord {
        sha256: digest.try_into().unwrap_or([0; 32]),
        file_name: r.get(1)?,
        events: r.get::<_, i64>(2)? as u64,
        first_seq: r.get::<_, i64>(3)? as u64,
        last_seq: r.get::<_, i64>(4)? as u64,
        imported_at: r.get(5)?,
        again: r.get(6)?,
    })
}

pub(super) fn latest_import(
    conn: &Connection,
    sha256: &[u8; 32],
) -> Result<Option<ImportRecord>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT sha256, file_name, events, first_seq, last_seq, imported_at, again
             FROM imports WHERE sha256 = ?1 ORDER BY id DESC LIMIT 1",
            [&sha256[..]],
            import_row,
        )
        .optional()?)
}

impl Store {
    /// The latest import of a file with these exact bytes, if any.
    pub fn import_of(&self, sha256: &[u8; 32]) -> Result<Option<ImportRecord>, StoreError> {
        latest_import(&self.conn, sha256)
    }

    /// Every import this ledger recorded, oldest first.
    pub fn imports(&self) -> Result<Vec<ImportRecord>, StoreError> {
        let mut statement = self.conn.prepare(
            "SELECT sha256, file_name, events, first_seq, last_seq, imported_at, again
             FROM imports ORDER BY id",
        )?;
        let rows = statement.query_map([], import_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The refusal for a file whose bytes were imported as `earlier`.
    pub fn already_imported(&self, this_file: &str, earlier: &ImportRecord) -> StoreError {
        already_imported(&self.group, this_file, earlier)
    }
}
