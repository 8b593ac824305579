//! Sajja's test kit (a dev-only crate): find the built binaries, start real
//! hubs on ephemeral ports, drive real nodes through their CLI, build signed
//! logs (`signed_log`), tamper with them on the wire (`tamper`), draw a
//! seeded, replayable generator, and drive a real browser (`webdriver`).
//!
//! The binaries are the ones `cargo test --workspace` builds for the node and
//! hub packages' own integration tests, found beside the test executable.

pub mod signed_log;
pub mod tamper;
pub mod webdriver;

pub use signed_log::SignedLog;

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

    /// `sajja-hub enrol ARGS...` (e.g. `["group", "230101-007", "--key", K]`)
    /// into a fresh bundle file under the hub's directory, addressed to the
    /// running hub unless ARGS name a `--url`; returns the bundle's path.
    pub fn enrol(&self, args: &[&str]) -> PathBuf {
        let bundles = self.dir.join("bundles");
        std::fs::create_dir_all(&bundles).expect("bundles directory");
        let taken = std::fs::read_dir(&bundles).map(|d| d.count()).unwrap_or(0);
        let out = bundles.join(format!(
            "{}-{}-{taken}.bundle",
            args[0],
            args.get(1).unwrap_or(&"")
        ));
        let mut full: Vec<String> = vec!["enrol".into()];
        full.extend(args.iter().map(|a| a.to_string()));
        full.push("--out".into());
        full.push(out.to_str().expect("utf-8 path").into());
        if self.addr.is_some() && !args.contains(&"--url") {
            full.push("--url".into());
            full.push(self.url());
        }
        let full: Vec<&str> = full.iter().map(String::as_str).collect();
        self.admin(&full);
        out
    }

    /// Makes this (tambon) hub relay to `province`: the province enrols it
    /// and the bundle goes into this hub's `[parent]` section.
    pub fn set_parent(&self, province: &Hub) {
        let hub_id = self.hub_id();
        let bundle = province.enrol(&["hub", &hub_id]);
        let mut config = std::fs::read_to_string(self.config()).expect("read config");
        config.push_str(&format!("\n[parent]\nbundle = \"{}\"\n", bundle.display()));
        std::fs::write(self.config(), config).expect("write config");
    }

    /// Lists `child` under this (province) hub's `[[children]]`.
    pub fn add_child(&self, child: &Hub) {
        let key = child.admin(&["key"]).trim().to_string();
        let mut config = std::fs::read_to_string(self.config()).expect("read config");
        config.push_str(&format!(
            "\n[[children]]\nhub_id = \"{}\"\nkey = \"{key}\"\n",
            child.hub_id()
        ));
        std::fs::write(self.config(), config).expect("write config");
    }

    /// The hub's geocode, from its config.
    pub fn hub_id(&self) -> String {
        let config = std::fs::read_to_string(self.config()).expect("read config");
        config
            .lines()
            .find_map(|l| l.strip_prefix("hub_id = "))
            .map(|v| v.trim().trim_matches('"').to_string())
            .expect("hub_id in config")
    }

    /// Starts `sajja-hub run` and waits until it reports its address.
    pub fn start(&mut self) {
        self.start_with(|_| {});
    }

    /// [`Hub::start`] with `adjust` applied to the command first (limits,
    /// environment).
    pub fn start_with(&mut self, adjust: impl FnOnce(&mut Command)) {
        let addr_file = self.dir.join("data/hub.addr");
        let _ = std::fs::remove_file(&addr_file);
        let log = std::fs::File::create(self.dir.join("hub.log")).expect("hub log file");
        let mut command = Command::new(bin("sajja-hub"));
        command.arg("run").arg("--config").arg(self.config());
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        adjust(&mut command);
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

impl Hub {
    /// Rewrites the config to listen on the address the hub got at its first
    /// start, so a restarted hub "returns" where its nodes expect it.
    pub fn pin_port(&self) {
        let addr = self.addr.as_deref().expect("hub has started once");
        let config = std::fs::read_to_string(self.config()).expect("read hub.toml");
        let pinned: String = config
            .lines()
            .map(|line| {
                if line.starts_with("listen =") {
                    format!("listen = \"{addr}\"\n")
                } else {
                    format!("{line}\n")
                }
            })
            .collect();
        std::fs::write(self.config(), pinned).expect("write hub.toml");
    }

    /// The hub's committed seq for a group (0 when it holds nothing).
    pub fn seq(&self, group: &str) -> u64 {
        let conn = open_read_only(&self.database());
        conn.query_row("SELECT seq FROM groups WHERE group_id = ?1", [group], |r| {
            r.get(0)
        })
        .unwrap_or(0)
    }

    /// Every row of every table of the hub database, in a stable order, so a
    /// test can assert that an operation changed nothing at all.
    pub fn dump(&self) -> Vec<String> {
        let conn = open_read_only(&self.database());
        let mut tables = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .expect("prepare");
        let names: Vec<String> = tables
            .query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        let mut out = Vec::new();
        for name in names {
            let mut stmt = conn
                .prepare(&format!("SELECT * FROM \"{name}\" ORDER BY 1, 2"))
                .expect("prepare");
            let columns = stmt.column_count();
            let mut rows = stmt.query([]).expect("query");
            while let Some(row) = rows.next().expect("row") {
                let values: Vec<String> = (0..columns)
                    .map(|i| format!("{:?}", row.get_ref(i).expect("value")))
                    .collect();
                out.push(format!("{name}: {}", values.join(" | ")));
            }
        }
        out
    }
}

fn open_read_only(database: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(database, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open database")
}

impl Node {
    /// The group's Ed25519 seed, as the node stores it.
    pub fn signing_seed(&self) -> Vec<u8> {
        read_blobs(&self.database(), "SELECT signing_seed FROM secrets", [])
            .pop()
            .expect("a signing seed")
    }

    /// The chain hash stored after each event, in order.
    pub fn event_hashes(&self) -> Vec<Vec<u8>> {
        read_blobs(&self.database(), "SELECT hash FROM events ORDER BY seq", [])
    }

    /// The hub-acknowledged seq the node has recorded.
    pub fn acked_seq(&self) -> u64 {
        let conn = open_read_only(&self.database());
        conn.query_row("SELECT hub_acked_seq FROM meta", [], |r| r.get(0))
            .expect("meta row")
    }

    /// Starts `sajja-node run` in the background, logging to `daemon.log`.
    pub fn start_daemon(&mut self) {
        let log = std::fs::File::create(self.dir.with_extension("daemon.log")).expect("log file");
        let mut command = self.command(&["run"]);
        command
            .env("SAJJA_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        self.daemon = Some(command.spawn().expect("spawn daemon"));
    }

    pub fn daemon_log(&self) -> String {
        std::fs::read_to_string(self.dir.with_extension("daemon.log")).unwrap_or_default()
    }
}

pub use sajja_common::rng::Rng;

/// The fault-injection generator, seeded from the environment variable `var`
/// if set, else `default`. Its seed is printed so any failing run can be
/// replayed with the same cuts and kills.
pub fn rng_from_env(var: &str, default: u64) -> Rng {
    let seed = std::env::var(var)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default);
    println!("{var}={seed} (set it to replay this run)");
    Rng::new(seed)
}

/// What the proxy saw of one connection.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProxiedConnection {
    /// Bytes forwarded client → server and server → client.
    pub up_bytes: u64,
    pub down_bytes: u64,
    /// Whether the proxy cut it (rather than either end closing it).
    pub cut: bool,
}

/// The most bytes the proxy reads at once from either side.
const PROXY_CHUNK_BYTES: usize = 16 * 1024;

/// A TCP proxy on 127.0.0.1 that forwards both ways to `target` and can cut a
/// connection after a set number of forwarded bytes (both directions counted
/// together), as a flaky village uplink would. Plain std threads; the TLS
/// inside passes through untouched, so the node still verifies the hub.
pub struct Proxy {
    addr: std::net::SocketAddr,
    /// Cut budget for connections accepted from now on; `u64::MAX` = never.
    cut_after: std::sync::Arc<std::sync::atomic::AtomicU64>,
    connections: std::sync::Arc<std::sync::Mutex<Vec<ProxiedConnection>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Proxy {
    pub fn start(target: &str) -> Proxy {
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        use std::sync::{Arc, Mutex};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let target: std::net::SocketAddr = target.parse().expect("target address");
        let cut_after = Arc::new(AtomicU64::new(u64::MAX));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (cut, conns, stopping) = (cut_after.clone(), connections.clone(), stop.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = std::net::TcpStream::connect(target) else {
                    continue;
                };
                let budget = cut.load(Ordering::SeqCst);
                let index = {
                    let mut list = conns.lock().expect("proxy stats");
                    list.push(ProxiedConnection::default());
                    list.len() - 1
                };
                let used = Arc::new(AtomicU64::new(0));
                for (from, to, up) in [
                    (client.try_clone(), server.try_clone(), true),
                    (server.try_clone(), client.try_clone(), false),
                ] {
                    let (Ok(from), Ok(to)) = (from, to) else {
                        continue;
                    };
                    let (used, conns) = (used.clone(), conns.clone());
                    std::thread::spawn(move || {
                        forward(from, to, budget, &used, |bytes, cut| {
                            let mut list = conns.lock().expect("proxy stats");
                            let entry = &mut list[index];
                            if up {
                                entry.up_bytes += bytes;
                            } else {
                                entry.down_bytes += bytes;
                            }
                            entry.cut |= cut;
                        })
                    });
                }
            }
        });
        Proxy {
            addr,
            cut_after,
            connections,
            stop,
        }
    }

    /// `https://127.0.0.1:<port>`: the hub's certificate names 127.0.0.1.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Cuts each connection accepted from now on after `bytes` forwarded
    /// bytes; `None` forwards everything.
    pub fn cut_after(&self, bytes: Option<u64>) {
        self.cut_after.store(
            bytes.unwrap_or(u64::MAX),
            std::sync::atomic::Ordering::SeqCst,
        );
    }

    pub fn connections(&self) -> Vec<ProxiedConnection> {
        self.connections.lock().expect("proxy stats").clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wake the accept loop so it sees the stop flag.
        let _ = std::net::TcpStream::connect(self.addr);
    }
}

/// Copies `from` → `to` until either side closes or the connection's shared
/// byte budget is spent; then shuts both sockets down in both directions.
fn forward(
    mut from: std::net::TcpStream,
    mut to: std::net::TcpStream,
    budget: u64,
    used: &std::sync::atomic::AtomicU64,
    mut record: impl FnMut(u64, bool),
) {
    use std::io::{Read, Write};
    use std::sync::atomic::Ordering;
    let mut buffer = vec![0u8; PROXY_CHUNK_BYTES];
    loop {
        let n = match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let before = used.fetch_add(n as u64, Ordering::SeqCst);
        let allowed = budget.saturating_sub(before).min(n as u64) as usize;
        if allowed > 0 && to.write_all(&buffer[..allowed]).is_err() {
            break;
        }
        let cut = before.saturating_add(n as u64) >= budget;
        record(allowed as u64, cut);
        if cut {
            let _ = from.shutdown(std::net::Shutdown::Both);
            let _ = to.shutdown(std::net::Shutdown::Both);
            return;
        }
    }
    // One side closed: pass the close on.
    let _ = to.shutdown(std::net::Shutdown::Write);
}
