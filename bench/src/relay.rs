//! Benchmark 7, Relay: end-to-end latency from a node's append (the
//! treasurer's CLI returning) to the province hub holding the event, through
//! real `sajja-node run` and `sajja-hub run` processes (node → tambon hub →
//! province hub), with the daemons idle between events.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::footprint::node_binary;
use crate::{Options, Scale};

/// The target for the 99th percentile.
pub const TARGET_P99_SECONDS: f64 = 2.0;
const GROUP: &str = "230101-007";

#[derive(Clone, Debug)]
pub struct RelayReport {
    pub seconds: Vec<f64>,
}

pub(crate) fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

impl RelayReport {
    pub fn print(&self) {
        let p50 = percentile(&self.seconds, 0.50);
        let p99 = percentile(&self.seconds, 0.99);
        println!("== 7. relay (node append → province holds it) ==");
        println!(
            "  {} appends: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; target p99 < 2 s: {} (ratio {:.3})",
            self.seconds.len(),
            p50 * 1000.0,
            p99 * 1000.0,
            percentile(&self.seconds, 1.0) * 1000.0,
            if p99 < TARGET_P99_SECONDS {
                "met"
            } else {
                "MISSED"
            },
            p99 / TARGET_P99_SECONDS
        );
    }
}

/// Kills the processes it holds when dropped.
pub(crate) struct Processes(pub(crate) Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub(crate) fn run_checked(command: &mut Command, what: &str) -> anyhow::Result<String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("starting {what}"))?;
    if !output.status.success() {
        bail!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

pub(crate) fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> anyhow::Result<Option<T>>,
) -> anyhow::Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check()? {
            return Ok(value);
        }
        if Instant::now() > deadline {
            bail!("timed out waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The seq a hub database holds for a group (0 when it holds none).
fn held(database: &Path) -> anyhow::Result<u64> {
    if !database.exists() {
        return Ok(0);
    }
    let conn = Connection::open_with_flags(database, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let seq: Option<u64> = conn
        .query_row("SELECT seq FROM groups WHERE group_id = ?1", [GROUP], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(seq.unwrap_or(0))
}

pub(crate) fn hub_binary() -> anyhow::Result<PathBuf> {
    let node = node_binary()?;
    let hub = node.with_file_name("sajja-hub");
    ensure!(
        hub.is_file(),
        "no sajja-hub next to {}: build it first",
        node.display()
    );
    Ok(hub)
}

pub(crate) fn start_hub(
    hub: &Path,
    dir: &Path,
    processes: &mut Processes,
) -> anyhow::Result<String> {
    let log = std::fs::File::create(dir.join("hub.log"))?;
    let child = Command::new(hub)
        .arg("run")
        .arg("--config")
        .arg(dir.join("hub.toml"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()?;
    processes.0.push(child);
    let index = processes.0.len() - 1;
    let addr_file = dir.join("data/hub.addr");
    wait_for("a hub to listen", Duration::from_secs(30), || {
        // A hub that exits at once (a stale binary that finds a newer schema,
        // a bad config) says why in its log.
        if let Some(status) = processes.0[index].try_wait()? {
            bail!(
                "{} exited ({status}) before listening; is it built from this tree? Its log:\n{}",
                hub.display(),
                std::fs::read_to_string(dir.join("hub.log")).unwrap_or_default()
            );
        }
        Ok(std::fs::read_to_string(&addr_file).ok())
    })
}

fn append(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut contents = std::fs::read_to_string(path)?;
    contents.push_str(text);
    std::fs::write(path, contents)?;
    Ok(())
}

pub fn run(options: &Options) -> anyhow::Result<RelayReport> {
    let samples = match options.scale {
        Scale::Full => 100,
        Scale::Smoke => 3,
    };
    let idle = match options.scale {
        Scale::Full => Duration::from_millis(300),
        Scale::Smoke => Duration::from_millis(50),
    };
    let work = options.workdir("relay")?;
    let root = work.path();
    let hub = hub_binary()?;
    let node = node_binary()?;
    let mut processes = Processes(Vec::new());
    let (province, tambon) = (root.join("province"), root.join("tambon"));
    let tambon_addr = start_network(&hub, &province, &tambon, &mut processes)?;
    let data = root.join("node");
    let cli = |args: &[&str]| {
        let mut command = Command::new(&node);
        command.arg("--data-dir").arg(&data).args(args);
        command
    };
    start_group_node(&cli, &hub, root, &tambon, &tambon_addr, &mut processes)?;

    let province_db = province.join("data/hub.sqlite");
    // The start-up sync and relay of the opening events.
    let mut expected = 3;
    wait_for(
        "the opening events at the province",
        Duration::from_secs(60),
        || Ok((held(&province_db)? >= expected).then_some(())),
    )?;
    let mut seconds = Vec::with_capacity(samples);
    for day in 0..samples {
        std::thread::sleep(idle);
        let date = format!("2025-02-{:02}", day % 28 + 1);
        run_checked(
            // One member paying daily: each payment after the first is extra.
            &mut cli(&["contribute", "1", "30", "--date", &date, "--extra"]),
            "sajja-node contribute",
        )?;
        let appended = Instant::now();
        expected += 1;
        wait_for(
            "the province to hold the new event",
            Duration::from_secs(30),
            || Ok((held(&province_db)? >= expected).then_some(())),
        )?;
        seconds.push(appended.elapsed().as_secs_f64());
    }
    ensure!(
        held(&province_db)? == expected,
        "the province holds every appended event"
    );
    Ok(RelayReport { seconds })
}

/// `sajja-hub init` of a hub in `dir` listening on an ephemeral local port.
pub fn init_hub(hub: &Path, dir: &Path, id: &str, level: &str) -> anyhow::Result<()> {
    run_checked(
        Command::new(hub).args(["init", "--dir"]).arg(dir).args([
            "--hub-id",
            id,
            "--level",
            level,
            "--listen",
            "127.0.0.1:0",
        ]),
        "sajja-hub init",
    )?;
    Ok(())
}

/// A province hub and a tambon hub that relays to it, both running; returns the
/// tambon hub's address.
fn start_network(
    hub: &Path,
    province: &Path,
    tambon: &Path,
    processes: &mut Processes,
) -> anyhow::Result<String> {
    init_hub(hub, province, "23", "province")?;
    init_hub(hub, tambon, "230101", "tambon")?;
    let key = run_checked(
        Command::new(hub)
            .args(["key", "--config"])
            .arg(tambon.join("hub.toml")),
        "sajja-hub key",
    )?;
    append(
        &province.join("hub.toml"),
        &format!(
            "\n[[children]]\nhub_id = \"230101\"\nkey = \"{}\"\n",
            key.trim()
        ),
    )?;
    start_hub(hub, province, processes)?;
    let parent_bundle = tambon.join("province.bundle");
    run_checked(
        Command::new(hub)
            .args(["enrol", "hub", "230101", "--config"])
            .arg(province.join("hub.toml"))
            .arg("--out")
            .arg(&parent_bundle),
        "sajja-hub enrol hub",
    )?;
    append(
        &tambon.join("hub.toml"),
        &format!("\n[parent]\nbundle = \"{}\"\n", parent_bundle.display()),
    )?;
    start_hub(hub, tambon, processes)
}

/// One group with one member, enrolled at the tambon hub, its daemon running.
fn start_group_node(
    cli: &dyn Fn(&[&str]) -> Command,
    hub: &Path,
    root: &Path,
    tambon: &Path,
    tambon_addr: &str,
    processes: &mut Processes,
) -> anyhow::Result<()> {
    run_checked(
        &mut cli(&[
            "init",
            "--group",
            GROUP,
            "--name",
            "bench",
            "--opened-on",
            "2025-01-01",
        ]),
        "sajja-node init",
    )?;
    run_checked(
        &mut cli(&[
            "member",
            "add",
            "--name",
            "m",
            "--birth-year",
            "1970",
            "--joined-on",
            "2025-01-01",
        ]),
        "sajja-node member add",
    )?;
    let status = run_checked(&mut cli(&["status"]), "sajja-node status")?;
    let public = status
        .lines()
        .find_map(|l| l.strip_prefix("public key"))
        .map(str::trim)
        .context("status prints the public key")?
        .to_string();
    let bundle = root.join("group.bundle");
    run_checked(
        Command::new(hub)
            .args(["enrol", "group", GROUP, "--key", &public, "--config"])
            .arg(tambon.join("hub.toml"))
            .arg("--url")
            .arg(format!("https://{tambon_addr}"))
            .arg("--out")
            .arg(&bundle),
        "sajja-hub enrol group",
    )?;
    run_checked(
        &mut cli(&["init", "--bundle", &bundle.display().to_string()]),
        "sajja-node init --bundle",
    )?;
    let log = std::fs::File::create(root.join("node.log"))?;
    processes.0.push(
        cli(&["run"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?,
    );
    Ok(())
}
