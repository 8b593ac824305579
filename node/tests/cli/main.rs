//! The real `sajja-node` binary driven through its CLI, on temp directories.

mod corruption;
mod crash;
mod enrolment;
mod import;
mod input;
mod ops;
mod register;
mod session;

use std::path::PathBuf;
use std::process::{Command, Output};

use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_sajja-node");

/// One group's node: a data directory and the binary pointed at it.
pub struct Node {
    pub dir: TempDir,
}

impl Node {
    pub fn empty() -> Node {
        Node {
            dir: TempDir::new().unwrap(),
        }
    }

    /// A node whose group opened on 2024-01-01.
    pub fn opened() -> Node {
        let node = Node::empty();
        let out = node.ok(&[
            "init",
            "--group",
            "230101-007",
            "--name",
            "กลุ่มสัจจะบ้านหนองบัว",
            "--tambon",
            "230101",
            "--province",
            "23",
            "--opened-on",
            "2024-01-01",
        ]);
        assert!(out.contains("public key"), "{out}");
        node
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn database(&self) -> PathBuf {
        self.data_dir().join("ledger.sqlite")
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .env("SAJJA_NODE_DATA", self.data_dir())
            .env_remove("SAJJA_LOG")
            .env_remove("SAJJA_LANG");
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs a command that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?} failed with {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs a command that must fail with `code`; returns its stderr.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stderr).unwrap()
    }

    pub fn event_count(&self) -> i64 {
        let conn = rusqlite::Connection::open(self.database()).unwrap();
        conn.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
            .unwrap()
    }
}
