//! `sajja-hub demo`: a live network on this machine, from nothing.
//!
//! Two tambon hubs run as real `sajja-hub run` processes with generated TLS
//! credentials; six groups run as real `sajja-node` ledgers, each given a year
//! of simulated activity and a real `sajja-node run` daemon that pushes it over
//! gRPC. Everything lives in one temporary directory, removed on exit.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sajja_common::{Date, GroupId, PublicKey};
use sajja_hub::config::HubConfig;
use sajja_hub::ingest::unix_now;
use sajja_hub::simulate;
use sajja_hub::store::Store;
use sajja_hub::{positions, report};

const TAMBONS: [&str; 2] = ["230101", "230102"];
/// Group, name, members: sizes skewed like real funds.
const GROUPS: [(&str, &str, u32); 6] = [
    ("230101-001", "กลุ่มสัจจะบ้านหนองบัว", 60),
    ("230101-002", "กองทุนสวัสดิการบ้านโนนสูง", 180),
    ("230101-003", "กลุ่มออมทรัพย์บ้านนาดี", 420),
    ("230102-001", "กลุ่มสัจจะบ้านดอนแดง", 90),
    ("230102-002", "กองทุนหมู่บ้านโคกกลาง", 250),
    ("230102-003", "กลุ่มออมทรัพย์บ้านหัวนา", 50),
];
const SYNC_TIMEOUT: Duration = Duration::from_secs(120);

/// Child processes, killed when the demo ends however it ends.
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The temporary directory, removed when the demo ends.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run_checked(command: &mut Command, what: &str) -> anyhow::Result<String> {
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

fn wait_for_file(path: &Path, child: &mut Child, what: &str) -> anyhow::Result<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            return Ok(text);
        }
        if let Some(status) = child.try_wait()? {
            bail!("{what} exited with {status}");
        }
        if Instant::now() > deadline {
            bail!("{what} did not start within 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn run(wait: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let exe = std::env::current_exe().context("locating sajja-hub")?;
    let node_bin = exe.with_file_name("sajja-node");
    if !node_bin.is_file() {
        bail!(
            "{} is not built: the demo drives real node processes; run `cargo build --release` first",
            node_bin.display()
        );
    }
    let root = std::env::temp_dir().join(format!("sajja-demo-{}", std::process::id()));
    std::fs::create_dir_all(&root)?;
    let scratch = Scratch(root.clone());
    let mut children = Children(Vec::new());
    println!("Sajja demo network in {}", root.display());

    let mut hubs = Vec::new();
    for tambon in TAMBONS {
        let dir = root.join(format!("hub-{tambon}"));
        run_checked(
            Command::new(&exe).args(["init", "--dir"]).arg(&dir).args([
                "--hub-id",
                tambon,
                "--level",
                "tambon",
                "--listen",
                "127.0.0.1:0",
            ]),
            "sajja-hub init",
        )?;
        let config_path = dir.join("hub.toml");
        let config = HubConfig::load(&config_path)?;
        let log = std::fs::File::create(dir.join("hub.log"))?;
        let mut child = Command::new(&exe)
            .arg("run")
            .arg("--config")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        let addr = wait_for_file(&config.addr_file(), &mut child, "the tambon hub")?;
        children.0.push(child);
        println!("  tambon hub {tambon} listening on https://{addr}");
        hubs.push((tambon, config_path, config, addr));
    }

    let mut heads = Vec::new();
    for (index, (group, name, members)) in GROUPS.iter().enumerate() {
        let group_id = GroupId::parse(group)?;
        let (_, config_path, config, addr) = hubs
            .iter()
            .find(|(t, ..)| *t == group_id.tambon())
            .context("a hub for every group")?;
        let data = root.join(format!("node-{group}"));
        let node = |args: &[&str]| {
            let mut command = Command::new(&node_bin);
            command.arg("--data-dir").arg(&data).args(args);
            command
        };
        run_checked(
            &mut node(&[
                "init",
                "--group",
                group,
                "--name",
                name,
                "--opened-on",
                simulate::OPENED_ON,
            ]),
            "sajja-node init",
        )?;
        let activity = simulate::group_year(&group_id, 7919 * (index as u64 + 1), *members);
        let csv = data.join("year.csv");
        std::fs::write(&csv, &activity.csv)?;
        run_checked(
            &mut node(&["import", &csv.display().to_string()]),
            "sajja-node import",
        )?;
        let status = run_checked(&mut node(&["status"]), "sajja-node status")?;
        let key = status
            .lines()
            .find_map(|l| l.strip_prefix("public key"))
            .map(str::trim)
            .and_then(PublicKey::from_hex)
            .context("sajja-node status printed no public key")?;
        let head: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("local head"))
            .and_then(|rest| rest.split_whitespace().nth(1))
            .and_then(|seq| seq.parse().ok())
            .context("sajja-node status printed no head")?;
        Store::open(&config.database_path())?.enrol(&group_id, &key, unix_now())?;
        let ca = config.tls.ca.display().to_string();
        run_checked(
            &mut node(&["connect", "--hub", &format!("https://{addr}"), "--ca", &ca]),
            "sajja-node connect",
        )?;
        let log = std::fs::File::create(data.join("node.log"))?;
        let child = node(&["run"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        children.0.push(child);
        println!(
            "  group {group} ({} members, {head} events) enrolled at {}; its daemon is pushing",
            activity.members,
            config_path.display()
        );
        heads.push((group_id, config.database_path(), head));
    }

    let deadline = Instant::now() + SYNC_TIMEOUT;
    for (group, database, head) in &heads {
        loop {
            let held = Store::open(database)?
                .group(group)?
                .map_or(0, |row| row.seq);
            if held >= *head {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "group {group} did not reach its hub within {SYNC_TIMEOUT:?} (hub holds {held} of {head})"
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    println!(
        "all six logs verified and stored by their hubs in {:.1} s\n",
        started.elapsed().as_secs_f64()
    );

    let as_of: Date = "2026-10-31".parse()?;
    for (tambon, _, config, _) in &hubs {
        let store = Store::open(&config.database_path())?;
        let lines = positions::group_lines(&store, tambon, as_of)?;
        println!("tambon {tambon}");
        print!("{}", report::group_table(&lines, as_of));
        println!();
    }
    println!("Query the live hubs (paste into another terminal while the demo runs):");
    for (tambon, config_path, ..) in &hubs {
        println!(
            "  {} query groups --config {} {tambon} --as-of 2026-10-31",
            exe.display(),
            config_path.display()
        );
        println!(
            "  {} heads --config {}",
            exe.display(),
            config_path.display()
        );
    }
    println!(
        "  {} --data-dir {} balance",
        node_bin.display(),
        root.join("node-230101-001").display()
    );
    if wait {
        println!(
            "\nPress Ctrl-C to stop the network and remove {}",
            root.display()
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(tokio::signal::ctrl_c())?;
        println!("stopping");
    }
    drop(children);
    drop(scratch);
    Ok(())
}
