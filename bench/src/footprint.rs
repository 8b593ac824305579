//! Benchmark 4, Node footprint: the release `sajja-node` binary's size; the RSS of a
//! `sajja-node run` daemon idle, and at its peak while pushing a 20,000-event
//! backlog to a real hub; and its wake-ups while idle (voluntary context
//! switches and CPU ticks over an idle window), all from /proc/PID.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};

use crate::catchup::node_store;
use crate::generate::{self, Stop};
use crate::rig::{self, Hub};
use crate::{Options, Scale};

pub const IDLE_RSS_TARGET_KB: u64 = 15 * 1024;
pub const PEAK_RSS_TARGET_KB: u64 = 30 * 1024;
const PUSH_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Clone, Debug)]
pub struct DaemonSample {
    pub backlog_events: u64,
    pub push_seconds: f64,
    pub peak_rss_kb: u64,
    pub idle_rss_kb: u64,
    pub idle_seconds: f64,
    pub idle_voluntary_switches: u64,
    pub idle_cpu_ticks: u64,
}

#[derive(Clone, Debug)]
pub struct FootprintReport {
    pub binary: PathBuf,
    pub binary_bytes: u64,
    pub small: DaemonSample,
    pub backlog: DaemonSample,
}

impl FootprintReport {
    pub fn print(&self) {
        println!("== 4. node footprint (sajja-node run) ==");
        println!(
            "  binary {}: {:.1} MB",
            self.binary.display(),
            self.binary_bytes as f64 / 1e6
        );
        for (name, s) in [("small log", &self.small), ("backlog", &self.backlog)] {
            println!(
                "  {name}: pushed {} events in {:.2} s; peak RSS (VmHWM) {:.1} MB (target <= 30: {}, ratio {:.2}); idle RSS {:.1} MB (target <= 15: {}, ratio {:.2})",
                s.backlog_events,
                s.push_seconds,
                s.peak_rss_kb as f64 / 1024.0,
                if s.peak_rss_kb <= PEAK_RSS_TARGET_KB {
                    "met"
                } else {
                    "MISSED"
                },
                s.peak_rss_kb as f64 / PEAK_RSS_TARGET_KB as f64,
                s.idle_rss_kb as f64 / 1024.0,
                if s.idle_rss_kb <= IDLE_RSS_TARGET_KB {
                    "met"
                } else {
                    "MISSED"
                },
                s.idle_rss_kb as f64 / IDLE_RSS_TARGET_KB as f64,
            );
            println!(
                "    idle {:.0} s: {} voluntary context switches ({:.2} wake-ups/s), {} CPU ticks (1/100 s)",
                s.idle_seconds,
                s.idle_voluntary_switches,
                s.idle_voluntary_switches as f64 / s.idle_seconds,
                s.idle_cpu_ticks
            );
        }
    }
}

/// The `sajja-node` binary next to this program (target/release for the
/// bench, target/debug for the tests), or `SAJJA_NODE_BIN`.
pub fn node_binary() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("SAJJA_NODE_BIN") {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe()?;
    for dir in exe.ancestors().skip(1).take(2) {
        let candidate = dir.join("sajja-node");
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    anyhow::bail!(
        "no sajja-node binary next to {}: build it first (cargo build --release -p sajja-node) or set SAJJA_NODE_BIN",
        exe.display()
    )
}

/// Fields of /proc/PID/status, in kB or counts.
pub(crate) fn status(pid: u32, field: &str) -> anyhow::Result<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    text.lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("no {field} in /proc/{pid}/status"))
}

/// utime + stime from /proc/PID/stat, in clock ticks.
fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = text.rsplit_once(')').context("stat")?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    Ok(fields[11].parse::<u64>()? + fields[12].parse::<u64>()?)
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sample(
    binary: &Path,
    dir: &Path,
    members: u32,
    events: usize,
    idle: Duration,
) -> anyhow::Result<DaemonSample> {
    let mut spec = generate::province(1, u64::from(members)).remove(0);
    spec.members = members;
    let log = generate::group_log(&spec, Stop::Events(events));
    ensure!(log.refused == 0 && log.events.len() == events);
    let runtime = rig::runtime()?;
    runtime.block_on(async {
        let hub = Hub::start(
            &dir.join("hub"),
            &[(spec.group.clone(), spec.key().public())],
        )
        .await?;
        let data = dir.join("node");
        std::fs::create_dir_all(&data)?;
        let store = node_store(&data.join("ledger.sqlite"), &log)?;
        store.set_hub_link(
            &hub.enrolment(&spec.group, &spec.key().public())?,
            sajja_edge::clock::unix_now(),
        )?;
        drop(store);
        let started = Instant::now();
        let child = Command::new(binary)
            .arg("run")
            .env("SAJJA_NODE_DATA", &data)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.join("node.out"))?)
            .stderr(std::fs::File::create(dir.join("node.err"))?)
            .spawn()
            .with_context(|| format!("spawning {}", binary.display()))?;
        let daemon = Daemon(child);
        let pid = daemon.0.id();
        while hub.seq(&spec.group)? < events as u64 {
            ensure!(
                started.elapsed() < PUSH_TIMEOUT,
                "the daemon did not push its backlog; see {}",
                dir.join("node.err").display()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let push_seconds = started.elapsed().as_secs_f64();
        let peak_rss_kb = status(pid, "VmHWM")?;
        // Let the daemon record the ack and settle into its poll loop.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let switches = status(pid, "voluntary_ctxt_switches")?;
        let ticks = cpu_ticks(pid)?;
        let t = Instant::now();
        tokio::time::sleep(idle).await;
        let idle_seconds = t.elapsed().as_secs_f64();
        let idle_voluntary_switches = status(pid, "voluntary_ctxt_switches")? - switches;
        let idle_cpu_ticks = cpu_ticks(pid)? - ticks;
        let idle_rss_kb = status(pid, "VmRSS")?;
        drop(daemon);
        hub.stop().await?;
        Ok(DaemonSample {
            backlog_events: events as u64,
            push_seconds,
            peak_rss_kb,
            idle_rss_kb,
            idle_seconds,
            idle_voluntary_switches,
            idle_cpu_ticks,
        })
    })
}

pub fn run(options: &Options) -> anyhow::Result<FootprintReport> {
    let binary = node_binary()?;
    let binary_bytes = std::fs::metadata(&binary)?.len();
    let backlog = match options.scale {
        Scale::Full => 20_000,
        Scale::Smoke => 300,
    };
    let idle = Duration::from_secs(options.idle_seconds);
    let dir = options.workdir("footprint")?;
    let small = sample(&binary, &dir.path().join("small"), 50, 100, idle)?;
    let backlog = sample(&binary, &dir.path().join("backlog"), 1_000, backlog, idle)?;
    Ok(FootprintReport {
        binary,
        binary_bytes,
        small,
        backlog,
    })
}
