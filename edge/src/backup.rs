//! `sajja-node backup DEST` and `sajja-hub backup DEST`: a consistent copy of
//! a database, taken with SQLite's online backup API while writers go on.
//!
//! The copy is written to `DEST.partial` (mode 0600) and renamed into place
//! only once it is complete and checked, so a `DEST` that exists is whole.
//! It is a single self-contained file (rollback journal, not WAL), ready to be
//! copied back while the daemon is stopped.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use thiserror::Error;

/// A writer holding the lock is waited for this long, this many times.
const BUSY_WAIT: Duration = Duration::from_millis(100);
const BUSY_RETRIES_MAX: u32 = 600;

#[derive(Debug, Error)]
pub enum BackupError {
    #[error("{0} already exists; choose a new name (a backup never overwrites)")]
    Exists(PathBuf),
    #[error("{0} does not exist")]
    Missing(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("the database stayed locked; try again")]
    Busy,
    #[error("the copy failed SQLite's integrity check: {0}")]
    Check(String),
}

/// A copy being made: removed on drop unless [`PendingBackup::finish`] ran.
pub struct PendingBackup {
    partial: PathBuf,
    dest: PathBuf,
    finished: bool,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl PendingBackup {
    /// Copies `source` (a live SQLite database, possibly being written by
    /// another process) into `DEST.partial` in one backup step, so the copy is
    /// one consistent snapshot: in WAL mode the writer is never blocked.
    pub fn start(source: &Path, dest: &Path) -> Result<PendingBackup, BackupError> {
        if !source.is_file() {
            return Err(BackupError::Missing(source.to_path_buf()));
        }
        if dest.exists() {
            return Err(BackupError::Exists(dest.to_path_buf()));
        }
        let mut partial = dest.as_os_str().to_owned();
        partial.push(".partial");
        let pending = PendingBackup {
            partial: PathBuf::from(partial),
            dest: dest.to_path_buf(),
            finished: false,
        };
        // Mode 0600 before SQLite writes a byte: the copy may hold a signing key.
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&pending.partial)
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    BackupError::Exists(pending.partial.clone())
                } else {
                    io(&pending.partial)(e)
                }
            })?;
        // Not SQLITE_OPEN_CREATE: a wrong path must never become an empty database.
        let from = Connection::open_with_flags(
            source,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        from.busy_timeout(BUSY_WAIT * 10)?;
        let mut to = Connection::open(&pending.partial)?;
        {
            let backup = Backup::new(&from, &mut to)?;
            let mut retries = 0;
            loop {
                // -1: all pages in one step, under one read transaction.
                match backup.step(-1)? {
                    StepResult::Done => break,
                    StepResult::More => continue,
                    StepResult::Busy | StepResult::Locked => {
                        retries += 1;
                        if retries > BUSY_RETRIES_MAX {
                            return Err(BackupError::Busy);
                        }
                        std::thread::sleep(BUSY_WAIT);
                    }
                    _ => return Err(BackupError::Busy),
                }
            }
        }
        Ok(pending)
    }

    /// The copy, for the caller to open and check before [`PendingBackup::finish`].
    pub fn path(&self) -> &Path {
        &self.partial
    }

    /// Makes the copy one self-contained file, syncs it and renames it to DEST.
    pub fn finish(mut self) -> Result<PathBuf, BackupError> {
        {
            let conn = Connection::open(&self.partial)?;
            let _mode: String = conn.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))?;
            let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
            if check != "ok" {
                return Err(BackupError::Check(check));
            }
        }
        std::fs::File::open(&self.partial)
            .and_then(|f| f.sync_all())
            .map_err(io(&self.partial))?;
        if self.dest.exists() {
            return Err(BackupError::Exists(self.dest.clone()));
        }
        std::fs::rename(&self.partial, &self.dest).map_err(io(&self.dest))?;
        if let Some(dir) = self.dest.parent().filter(|d| !d.as_os_str().is_empty()) {
            // The rename is durable once the directory is synced; some file
            // systems (a FAT USB stick) cannot sync a directory, which is fine.
            let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
        }
        self.finished = true;
        Ok(self.dest.clone())
    }
}

impl Drop for PendingBackup {
    fn drop(&mut self) {
        if !self.finished {
            for suffix in ["", "-journal", "-wal", "-shm"] {
                let mut path = self.partial.as_os_str().to_owned();
                path.push(suffix);
                let _ = std::fs::remove_file(PathBuf::from(path));
            }
        }
    }
}
