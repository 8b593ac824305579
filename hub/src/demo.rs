//! `sajja-hub demo`: a live network on this machine, from nothing.
//!
//! A province hub and two tambon hubs relaying to it run as real `sajja-hub
//! run` processes with generated TLS credentials; six groups run as real `sajja-node` ledgers, each given a year
//! of simulated activity and a real `sajja-node run` daemon that pushes it over
//! gRPC. Everything lives in one temporary directory, removed on exit.
//!
//! Ctrl-C (SIGINT) or SIGTERM at any point stops the network cleanly: the
//! demo handles the signal itself from its first step, asks each child to
//! stop with SIGTERM (a child in the terminal's process group has had the
//! SIGINT already), waits for it, and only then removes the directory.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process};
use tokio::sync::watch;

use anyhow::{Context, bail};
use sajja_activity::{GroupSpec, OPENED_ON, day_of};
use sajja_common::{Date, GroupId, PublicKey};
use sajja_edge::clock::{today, unix_now};
use sajja_hub::config::HubConfig;
use sajja_hub::ingest::admin::read_key;
use sajja_hub::read::positions;
use sajja_hub::render as report;
use sajja_hub::store::Store;
use sajja_hub::web::accounts::{Accounts, WebRole};

mod exchange;
mod steps;

use steps::run_checked;

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
/// How long the children have to stop on SIGTERM before they are killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Child processes, stopped when the demo ends however it ends: SIGTERM,
/// which hubs and daemons answer by finishing in-flight work, then SIGKILL
/// for any still running after `STOP_TIMEOUT`.
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            // A child not yet waited for keeps its pid, so this cannot hit
            // another process; one that already exited ignores the signal.
            if matches!(child.try_wait(), Ok(None)) {
                let _ = kill_process(Pid::from_child(child), Signal::TERM);
            }
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        for child in &mut self.0 {
            loop {
                match child.try_wait() {
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    Ok(None) => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                    Ok(Some(_)) | Err(_) => break,
                }
            }
        }
    }
}

/// SIGINT and SIGTERM, caught from the demo's first step so that neither
/// can end it before its children are stopped and its directory removed.
struct Interrupt {
    runtime: tokio::runtime::Runtime,
    stopped: watch::Receiver<bool>,
}

impl Interrupt {
    fn catch() -> anyhow::Result<Interrupt> {
        use tokio::signal::unix::{SignalKind, signal};
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        // Creating the streams installs the handlers, now, not at first poll.
        let (mut interrupt, mut terminate) = {
            let _context = runtime.enter();
            (
                signal(SignalKind::interrupt())?,
                signal(SignalKind::terminate())?,
            )
        };
        let (tx, stopped) = watch::channel(false);
        runtime.spawn(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            let _ = tx.send(true);
        });
        Ok(Interrupt { runtime, stopped })
    }

    /// An error once a signal has arrived, so `?` unwinds to the cleanup.
    fn check(&self) -> anyhow::Result<()> {
        if *self.stopped.borrow() {
            bail!("interrupted; the network was stopped and its directory removed");
        }
        Ok(())
    }

    fn wait(&mut self) {
        let stopped = &mut self.stopped;
        let _ = self.runtime.block_on(stopped.wait_for(|s| *s));
    }
}

/// The temporary directory, removed when the demo ends.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn append_text(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut contents = std::fs::read_to_string(path)?;
    contents.push_str(text);
    std::fs::write(path, contents)?;
    Ok(())
}

fn wait_for_file(
    path: &Path,
    child: &mut Child,
    what: &str,
    interrupt: &Interrupt,
) -> anyhow::Result<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        interrupt.check()?;
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
    let mut demo = Demo::new()?;
    let (province_path, province) = demo.start_province()?;
    let hubs = demo.start_tambons(&province_path)?;
    let mut heads = Vec::new();
    for (index, group) in GROUPS.iter().enumerate() {
        demo.interrupt.check()?;
        heads.push(demo.start_group(index, *group, &hubs)?);
    }
    let exchange_groups: Vec<GroupId> = heads
        .iter()
        .map(|(group, _, _)| group.clone())
        .filter(|g| g.tambon() == hubs[0].id)
        .collect();
    let programs = exchange::Programs {
        node: &demo.node_bin,
        hub: &demo.exe,
        root: demo.root(),
    };
    let site = exchange::Site {
        config: &hubs[0].config_path,
        addr: &hubs[0].addr,
        id: hubs[0].id,
    };
    let (exchange, exchange_head) = exchange::start(&programs, &site, &exchange_groups)?;
    let deadline = Instant::now() + SYNC_TIMEOUT;
    for (group, database, head) in &heads {
        demo.wait_held(database, group, *head, "its tambon hub", deadline)?;
    }
    println!(
        "all six logs verified and stored by their tambon hubs in {:.1} s",
        demo.started.elapsed().as_secs_f64()
    );
    demo.print_treasurer_login(deadline)?;
    for (config, hub_id) in [(&province, "23"), (&hubs[0].config, "230101")] {
        print_dashboard_logins(config, hub_id)?;
    }
    for tambon in &hubs {
        demo.interrupt.check()?;
        demo.record_pool_facts(tambon)?;
    }
    let province_db = province.database_path();
    for (group, _, head) in &heads {
        demo.wait_held(&province_db, group, *head, "the province", deadline)?;
    }
    demo.wait_held(
        &province_db,
        &exchange,
        exchange_head,
        "the province",
        deadline,
    )?;
    let as_of = today();
    for tambon in &hubs {
        demo.wait_admin_relayed(&province_db, tambon.id, as_of, deadline)?;
    }
    println!(
        "the province re-verified every log relayed by its tambon hubs; network up in {:.1} s\n",
        demo.started.elapsed().as_secs_f64()
    );
    print_province(&province, as_of)?;
    demo.print_queries(&province_path, &hubs)?;
    if wait {
        println!(
            "\nPress Ctrl-C to stop the network and remove {}",
            demo.scratch.0.display()
        );
        demo.interrupt.wait();
        println!("stopping");
    }
    Ok(())
}

/// The demo as it runs. Fields drop in order: the children are stopped
/// before the directory they write in is removed.
struct Demo {
    children: Children,
    scratch: Scratch,
    interrupt: Interrupt,
    started: Instant,
    exe: PathBuf,
    node_bin: PathBuf,
}

/// A running tambon hub.
struct TambonHub {
    id: &'static str,
    config_path: PathBuf,
    config: HubConfig,
    addr: String,
}

impl Demo {
    fn new() -> anyhow::Result<Demo> {
        let started = Instant::now();
        let interrupt = Interrupt::catch()?;
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
        println!("Sajja demo network in {}", root.display());
        Ok(Demo {
            children: Children(Vec::new()),
            scratch: Scratch(root),
            interrupt,
            started,
            exe,
            node_bin,
        })
    }

    fn root(&self) -> &Path {
        &self.scratch.0
    }

    fn hub(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.exe);
        command.args(args);
        command
    }

    fn init_hub(&self, dir: &Path, hub_id: &str, level: &str) -> anyhow::Result<String> {
        let dir = dir.display().to_string();
        run_checked(
            &mut self.hub(&[
                "init",
                "--dir",
                &dir,
                "--hub-id",
                hub_id,
                "--level",
                level,
                "--listen",
                "127.0.0.1:0",
            ]),
            "sajja-hub init",
        )
    }

    /// Starts `sajja-hub run` and waits for its address.
    fn start_hub(
        &mut self,
        config_path: &Path,
        config: &HubConfig,
        what: &str,
    ) -> anyhow::Result<String> {
        let log = std::fs::File::create(config.data_dir.join("hub.log"))?;
        let mut child = self
            .hub(&["run", "--config", &config_path.display().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        let addr = wait_for_file(&config.addr_file(), &mut child, what, &self.interrupt);
        self.children.0.push(child);
        addr
    }

    /// Initialises every hub and starts the province, which trusts its tambon
    /// hubs' keys from its configuration. The province and the first tambon
    /// serve the coordinators' dashboard.
    fn start_province(&mut self) -> anyhow::Result<(PathBuf, HubConfig)> {
        let root = self.root().to_path_buf();
        let province_path = root.join("hub-23").join("hub.toml");
        self.init_hub(&root.join("hub-23"), "23", "province")?;
        let mut children_toml = String::new();
        for tambon in TAMBONS {
            let dir = root.join(format!("hub-{tambon}"));
            self.init_hub(&dir, tambon, "tambon")?;
            let key = read_key(&HubConfig::load(&dir.join("hub.toml"))?.signing_key)?.public();
            children_toml.push_str(&format!(
                "\n[[children]]\nhub_id = \"{tambon}\"\nkey = \"{key}\"\n"
            ));
        }
        append_text(&province_path, &children_toml)?;
        append_text(&province_path, DEMO_WEB)?;
        append_text(&root.join("hub-230101").join("hub.toml"), DEMO_WEB)?;
        let province = HubConfig::load(&province_path)?;
        let addr = self.start_hub(&province_path, &province, "the province hub")?;
        println!("  province hub 23 listening on https://{addr}");
        Ok((province_path, province))
    }

    /// Starts each tambon hub, enrolled by the province, whose bundle is its
    /// parent link.
    fn start_tambons(&mut self, province_path: &Path) -> anyhow::Result<Vec<TambonHub>> {
        let mut hubs = Vec::new();
        let province_text = province_path.display().to_string();
        for tambon in TAMBONS {
            let dir = self.root().join(format!("hub-{tambon}"));
            let config_path = dir.join("hub.toml");
            let bundle_text = dir.join("province.bundle").display().to_string();
            run_checked(
                &mut self.hub(&[
                    "enrol",
                    "hub",
                    tambon,
                    "--config",
                    &province_text,
                    "--out",
                    &bundle_text,
                ]),
                "sajja-hub enrol hub",
            )?;
            append_text(
                &config_path,
                &format!("\n[parent]\nbundle = \"{bundle_text}\"\n"),
            )?;
            let config = HubConfig::load(&config_path)?;
            let addr = self.start_hub(&config_path, &config, "a tambon hub")?;
            println!("  tambon hub {tambon} listening on https://{addr}, relaying to the province");
            hubs.push(TambonHub {
                id: tambon,
                config_path,
                config,
                addr,
            });
        }
        Ok(hubs)
    }

    /// One group: a real node given its simulated year through `sajja-node
    /// import`, enrolled at its tambon hub and left running its daemon (the
    /// first group with the treasurer's web app on). Returns the group, its
    /// hub's database and the node's head.
    fn start_group(
        &mut self,
        index: usize,
        (group, name, members): (&str, &str, u32),
        hubs: &[TambonHub],
    ) -> anyhow::Result<(GroupId, PathBuf, u64)> {
        let group_id = GroupId::parse(group)?;
        let hub = hubs
            .iter()
            .find(|h| h.id == group_id.tambon())
            .context("a hub for every group")?;
        let data = self.root().join(format!("node-{group}"));
        let node = |args: &[&str]| {
            let mut command = Command::new(&self.node_bin);
            command.arg("--data-dir").arg(&data).args(args);
            command
        };
        let opened = day_of(OPENED_ON).to_string();
        run_checked(
            &mut node(&[
                "init",
                "--group",
                group,
                "--name",
                name,
                "--opened-on",
                &opened,
            ]),
            "sajja-node init",
        )?;
        let spec = GroupSpec {
            group: group_id.clone(),
            members,
            seed: 7919 * (index as u64 + 1),
        };
        let csv = data.join("year.csv");
        std::fs::write(&csv, sajja_activity::csv::year(&spec)?)?;
        run_checked(
            &mut node(&["import", &csv.display().to_string()]),
            "sajja-node import",
        )?;
        if group_id.tambon() == hubs[0].id {
            // The tambon's groups guarantee its community exchange.
            let on = exchange::opened_on().to_string();
            run_checked(
                &mut node(&[
                    "pool",
                    "pledge",
                    exchange::RESERVE_POOL,
                    exchange::PLEDGE_BAHT,
                    "--date",
                    &on,
                ]),
                "sajja-node pool pledge (the exchange's reserve)",
            )?;
        }
        let (key, head) = key_and_head(&run_checked(&mut node(&["status"]), "sajja-node status")?)?;
        let bundle = data.join("enrolment.bundle").display().to_string();
        run_checked(
            &mut self.hub(&[
                "enrol",
                "group",
                group,
                "--key",
                &key.to_hex(),
                "--config",
                &hub.config_path.display().to_string(),
                "--url",
                &format!("https://{}", hub.addr),
                "--out",
                &bundle,
            ]),
            "sajja-hub enrol group",
        )?;
        run_checked(
            &mut node(&["init", "--bundle", &bundle]),
            "sajja-node init --bundle",
        )?;
        let log = std::fs::File::create(data.join("node.log"))?;
        let mut run = if index == 0 {
            add_demo_treasurer(&mut node(&[
                "user",
                "add",
                DEMO_USER,
                "--role",
                "treasurer",
            ]))?;
            let node_config = data.join("node.toml");
            std::fs::write(&node_config, "[web]\nlisten = \"127.0.0.1:0\"\n")?;
            node(&["--config", &node_config.display().to_string(), "run"])
        } else {
            node(&["run"])
        };
        let child = run
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        self.children.0.push(child);
        println!(
            "  group {group} ({members} members, {head} events) enrolled; its daemon is pushing"
        );
        Ok((group_id, hub.config.database_path(), head))
    }

    /// Waits until the hub database `database` holds `group` up to `head`.
    fn wait_held(
        &self,
        database: &Path,
        group: &GroupId,
        head: u64,
        hub: &str,
        deadline: Instant,
    ) -> anyhow::Result<()> {
        let held = || -> anyhow::Result<u64> {
            Ok(Store::open(database)?
                .group(group)?
                .map_or(0, |row| row.seq))
        };
        while held()? < head {
            self.interrupt.check()?;
            if Instant::now() > deadline {
                bail!("group {group} did not reach {hub} within {SYNC_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }

    /// The first group's web app address, once it serves, and its login.
    fn print_treasurer_login(&self, deadline: Instant) -> anyhow::Result<()> {
        let file = self.root().join("node-230101-001").join("web.addr");
        while !std::fs::read_to_string(&file).is_ok_and(|a| a.starts_with("http://")) {
            self.interrupt.check()?;
            if Instant::now() > deadline {
                bail!("the web app of group 230101-001 did not start within {SYNC_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let addr = std::fs::read_to_string(&file)?;
        println!(
            "treasurer's web app of group 230101-001: {} (log in as {DEMO_USER}, password {DEMO_PASSWORD})",
            addr.trim()
        );
        Ok(())
    }

    /// Each tambon network fund sets a reserve policy, issues community
    /// currency and guarantees a group's bank loan: facts in the hub's own log.
    fn record_pool_facts(&self, tambon: &TambonHub) -> anyhow::Result<()> {
        let config = tambon.config_path.display().to_string();
        let pool = |args: &[&str]| {
            run_checked(
                &mut self.hub(&[&["pool"], args, &["--config", &config]].concat()),
                "sajja-hub pool",
            )
        };
        let id = tambon.id;
        pool(&["policy", id, "--min-ratio", "50"])?;
        pool(&["issue-currency", id, "20000"])?;
        let beneficiary = format!("{id}-002");
        pool(&[
            "guarantee",
            id,
            "--id",
            "1",
            "--group",
            &beneficiary,
            "--lender",
            "ธ.ก.ส.",
            "30000",
        ])?;
        Ok(())
    }

    /// Waits until the province holds tambon hub `tambon`'s log with the
    /// guarantee just recorded.
    fn wait_admin_relayed(
        &self,
        province_db: &Path,
        tambon: &str,
        as_of: Date,
        deadline: Instant,
    ) -> anyhow::Result<()> {
        loop {
            let store = Store::open(province_db)?;
            let books = positions::admin_books_as_of(&store, tambon, as_of)?;
            if books.is_some_and(|b| b.pools.values().any(|p| !p.guarantees.is_empty())) {
                return Ok(());
            }
            self.interrupt.check()?;
            if Instant::now() > deadline {
                bail!("the log of hub {tambon} did not reach the province within {SYNC_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The `sajja-hub query` lines to paste while the demo runs; a
    /// coordinator of tambon 230101 queries the province remotely, over
    /// mutual TLS, with nothing but its bundle.
    fn print_queries(&self, province_path: &Path, hubs: &[TambonHub]) -> anyhow::Result<()> {
        println!("Query the live hubs (paste into another terminal while the demo runs):");
        let province_text = province_path.display().to_string();
        let exe_text = self.exe.display().to_string();
        let coordinator = self
            .root()
            .join("coordinator-230101.bundle")
            .display()
            .to_string();
        run_checked(
            &mut self.hub(&[
                "enrol",
                "coordinator",
                "demo",
                "--scope",
                "230101",
                "--config",
                &province_text,
                "--out",
                &coordinator,
            ]),
            "sajja-hub enrol coordinator",
        )?;
        println!("  {exe_text} query position --config {province_text} 23");
        println!("  {exe_text} query groups --config {province_text} 23");
        println!("  {exe_text} query alerts --config {province_text} 23");
        println!("  {exe_text} query reserves --config {province_text} 23");
        println!("  {exe_text} query exchanges --config {province_text} 23");
        println!("  {exe_text} query groups --config {province_text} 230101 --as-of 2026-06-30");
        for hub in hubs {
            println!(
                "  {exe_text} query groups --config {} {}",
                hub.config_path.display(),
                hub.id
            );
        }
        println!("  {exe_text} query position --bundle {coordinator} 230101");
        println!("  {exe_text} heads --config {province_text}");
        println!(
            "  {} --data-dir {} balance",
            self.node_bin.display(),
            self.root().join("node-230101-001").display()
        );
        Ok(())
    }
}

/// The node's public key and head, as `sajja-node status` prints them.
fn key_and_head(status: &str) -> anyhow::Result<(PublicKey, u64)> {
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
    Ok((key, head))
}

/// A hub's dashboard address and the demo's accounts on it, with their
/// one-time codes redeemed for the demo password.
fn print_dashboard_logins(config: &HubConfig, hub_id: &str) -> anyhow::Result<()> {
    let addr = std::fs::read_to_string(config.web_addr_file())
        .with_context(|| format!("hub {hub_id}'s dashboard address"))?;
    let accounts = Accounts::open(&config.web_users_path())?;
    let logins = [
        (DEMO_COORDINATOR, WebRole::Coordinator, "230101"),
        (DEMO_OPERATOR, WebRole::Operator, hub_id),
    ];
    for (name, role, scope) in logins {
        let code = accounts.issue_code(name, role, scope)?;
        accounts.redeem(name, &code, DEMO_PASSWORD)?;
    }
    println!(
        "coordinators' dashboard of hub {hub_id}: {} (log in as {DEMO_COORDINATOR} for tambon 230101, or {DEMO_OPERATOR} to sign off months; password {DEMO_PASSWORD})",
        addr.trim()
    );
    Ok(())
}

/// The province's group and pool tables, as its hub computes them.
fn print_province(province: &HubConfig, as_of: Date) -> anyhow::Result<()> {
    let store = sajja_hub::read::cache::Reader::open(&province.database_path())?;
    println!("Province 23, as its hub computes it from the relayed logs");
    print!(
        "{}",
        report::group_table(
            &positions::group_lines(&store, "23", as_of)?,
            as_of,
            province.freshness(unix_now())
        )
    );
    println!();
    print!(
        "{}",
        report::pool_table(&positions::pool_positions(&store, "23", as_of)?, as_of)
    );
    println!();
    let exchanges =
        sajja_hub::read::query::Answer::Exchanges(sajja_hub::read::query::ExchangesAnswer {
            scope: "23".into(),
            as_of,
            exchanges: sajja_hub::read::exchanges::exchange_lines(&store, "23", as_of)?,
        });
    print!("{}", exchanges.render(report::Output::Table));
    println!();
    Ok(())
}

/// The dashboards' section in the demo's hub configs.
const DEMO_WEB: &str = "\n[web]\nlisten = \"127.0.0.1:0\"\n";
/// The demo's dashboard accounts: a coordinator of tambon 230101 and each
/// hub's operator (real accounts would set their own passwords at /welcome).
const DEMO_COORDINATOR: &str = "somchai";
const DEMO_OPERATOR: &str = "operator";

/// The demo's treasurer account on group 230101-001's web app.
const DEMO_USER: &str = "somsri";
const DEMO_PASSWORD: &str = "sajja-demo";

/// `sajja-node user add`, with the password on standard input as a person types it.
fn add_demo_treasurer(command: &mut Command) -> anyhow::Result<()> {
    use std::io::Write;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        writeln!(stdin, "{DEMO_PASSWORD}")?;
    }
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "sajja-node user add: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}
