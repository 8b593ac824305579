//! Helpers for end-to-end tests: find the built binaries, start real hubs on
//! ephemeral ports, drive real nodes through their CLI.
//!
//! The binaries are the ones `cargo test --workspace` builds for the node and
//! hub packages' own integration tests, found beside this test executable.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The path of a workspace binary built in the same profile as this test.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/e2e-<hash> → target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target profile directory");
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is not built; run the whole suite with `cargo test --workspace` (or `cargo build --bins` first)",
        path.display()
    );
    path
}

/// Runs a command to completion, capturing its output.
pub fn run(mut command: Command) -> Output {
    command.stdin(Stdio::null());
    command.output().expect("spawn command")
}

pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Polls `check` until it returns `Some`, or panics after `timeout` naming `what`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A hub directory created by `sajja-hub init`, and the hub process when running.
pub struct Hub {
    pub dir: PathBuf,
    pub child: Option<Child>,
    pub addr: Option<String>,
}

impl Hub {
    /// `sajja-hub init` into `dir` on an ephemeral port.
    pub fn init(dir: &Path, hub_id: &str, level: &str) -> Hub {
        let mut command = Command::new(bin("sajja-hub"));
        command.args(["init", "--dir"]).arg(dir).args([
            "--hub-id",
            hub_id,
            "--level",
            level,
            "--listen",
            "127.0.0.1:0",
        ]);
        let output = run(command);
        assert!(
            output.status.success(),
            "hub init failed: {}",
            text(&output)
        );
        Hub {
            dir: dir.to_path_buf(),
            child: None,
            addr: None,
        }
    }

    pub fn config(&self) -> PathBuf {
        self.dir.join("hub.toml")
    }

    pub fn ca(&self) -> PathBuf {
        self.dir.join("tls/ca.pem")
    }

    pub fn database(&self) -> PathBuf {
        self.dir.join("data/hub.sqlite")
    }

    /// A `sajja-hub` command with `--config` appended after `args`.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(bin("sajja-hub"));
        command.args(args).arg("--config").arg(self.config());
        command
    }

    /// Runs an admin command and returns its output, asserting success.
    pub fn admin(&self, args: &[&str]) -> String {
        let output = run(self.command(args));
        assert!(
            output.status.success(),
            "sajja-hub {args:?} failed: {}",
            text(&output)
        );
        text(&output)
    }

    /// Starts `sajja-hub run` and waits until it reports its address.
    pub fn start(&mut self) {
        let addr_file = self.dir.join("data/hub.addr");
        let _ = std::fs::remove_file(&addr_file);
        let log = std::fs::File::create(self.dir.join("hub.log")).expect("hub log file");
        let mut command = Command::new(bin("sajja-hub"));
        command.arg("run").arg("--config").arg(self.config());
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        self.child = Some(command.spawn().expect("spawn hub"));
        let addr = wait_for("the hub to listen", Duration::from_secs(20), || {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                let log = std::fs::read_to_string(self.dir.join("hub.log")).unwrap_or_default();
                panic!("hub exited early with {status}: {log}");
            }
            std::fs::read_to_string(&addr_file).ok()
        });
        self.addr = Some(addr);
    }

    /// The hub's URL for nodes.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr.as_deref().expect("hub is running"))
    }

    /// Kills the hub with SIGKILL, as a power cut would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("hub.log")).unwrap_or_default()
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A node's data directory, driven through the real `sajja-node` CLI.
pub struct Node {
    pub dir: PathBuf,
    pub daemon: Option<Child>,
}

impl Node {
    pub fn new(dir: &Path) -> Node {
        Node {
            dir: dir.to_path_buf(),
            daemon: None,
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(bin("sajja-node"));
        command.arg("--data-dir").arg(&self.dir).args(args);
        command
    }

    /// Runs a CLI command, returning (success, output).
    pub fn try_cli(&self, args: &[&str]) -> (bool, String) {
        let output = run(self.command(args));
        (output.status.success(), text(&output))
    }

    /// Runs a CLI command and asserts it succeeded.
    pub fn cli(&self, args: &[&str]) -> String {
        let (ok, out) = self.try_cli(args);
        assert!(ok, "sajja-node {args:?} failed: {out}");
        out
    }

    pub fn database(&self) -> PathBuf {
        self.dir.join("ledger.sqlite")
    }

    /// The exact stored bytes of every event, in order.
    pub fn event_bytes(&self) -> Vec<Vec<u8>> {
        read_blobs(
            &self.database(),
            "SELECT bytes FROM events ORDER BY seq",
            [],
        )
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut child) = self.daemon.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Reads one blob column from a SQLite file (read-only).
pub fn read_blobs<P: rusqlite::Params>(database: &Path, sql: &str, params: P) -> Vec<Vec<u8>> {
    let conn =
        rusqlite::Connection::open_with_flags(database, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open database");
    let mut stmt = conn.prepare(sql).expect("prepare");
    stmt.query_map(params, |r| r.get::<_, Vec<u8>>(0))
        .expect("query")
        .collect::<Result<Vec<_>, _>>()
        .expect("rows")
}

/// The exact bytes a hub stores for a group, in order.
pub fn hub_event_bytes(hub: &Hub, group: &str) -> Vec<Vec<u8>> {
    read_blobs(
        &hub.database(),
        "SELECT e.bytes FROM events e JOIN groups g ON g.gid = e.gid WHERE g.group_id = ?1 ORDER BY e.seq",
        [group],
    )
}
