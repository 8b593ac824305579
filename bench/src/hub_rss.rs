//! Hub memory at province scale (issue 6), and the size of the hub's tables:
//! a real `sajja-hub run` process (the release binary, spawned) holding a
//! province of simulated groups with a year of history each, pushed to it
//! through the real gRPC + mutual-TLS path by concurrent pushers. Its resident
//! memory is read from /proc/PID/status: once started with every group
//! enrolled, at its peak while ingesting (VmHWM), idle after ingest, while
//! answering coordinator queries (`sajja-hub query ... --bundle`, through its
//! Query service) and Prometheus scrapes, idle again, and after a restart on
//! the full store. Then, with the hub stopped, the bytes of each table (SQLite's
//! `dbstat`): the per-group snapshots (`group_books`, `group_positions`,
//! `position_cuts`) against the `events` they cache.

use crate::generate::Batches;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use rusqlite::{Connection, OpenFlags};
use sajja_hub::config::HubConfig;
use sajja_hub::store::Store as HubStore;
use sajja_hub::values::principal::Principal;
use sajja_node::sync::HubLink;
use sajja_proto::client::ClientTls;

use crate::footprint::status;
use crate::generate::{self, GroupLog, Stop};
use crate::relay::{Processes, hub_binary, init_hub, run_checked, start_hub, wait_for};
use crate::rig::{self, Pusher, median};
use crate::{Options, Scale};

/// The page cache each of the hub's SQLite connections may hold
/// (`CACHE_KIB` in hub/src/store.rs): 64 MiB.
pub const CACHE_MIB_PER_CONNECTION: u64 = 64;
/// The past dates the as-of queries ask for: a month end (read from a
/// stored cut) and a day inside a month (a fold of every log up to it).
const MONTH_END: &str = "2026-01-31";
const MID_MONTH: &str = "2026-01-15";

/// Resident memory of a process at one moment, from /proc/PID/status (KiB).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rss {
    pub rss_kb: u64,
    pub anon_kb: u64,
    pub file_kb: u64,
    pub shmem_kb: u64,
}

impl Rss {
    pub fn of(pid: u32) -> anyhow::Result<Rss> {
        Ok(Rss {
            rss_kb: status(pid, "VmRSS")?,
            anon_kb: status(pid, "RssAnon")?,
            file_kb: status(pid, "RssFile")?,
            shmem_kb: status(pid, "RssShmem")?,
        })
    }

    fn text(&self) -> String {
        format!(
            "{:.1} MiB (anon {:.1}, file {:.1}, shmem {:.1})",
            mib(self.rss_kb),
            mib(self.anon_kb),
            mib(self.file_kb),
            mib(self.shmem_kb)
        )
    }
}

fn mib(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

/// Samples a process's RSS every 50 ms on a thread until stopped; keeps the
/// largest sample.
struct Sampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Rss>,
}

impl Sampler {
    fn start(pid: u32) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut max = Rss::default();
            while !flag.load(Ordering::SeqCst) {
                if let Ok(now) = Rss::of(pid)
                    && now.rss_kb > max.rss_kb
                {
                    max = now;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            max
        });
        Sampler { stop, thread }
    }

    fn finish(self) -> Rss {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().unwrap_or_default()
    }
}

/// One table with its indexes: rows, bytes of pages (dbstat), and the bytes
/// of the blob column it exists for.
#[derive(Clone, Debug)]
pub struct TableSize {
    pub table: String,
    pub rows: u64,
    pub page_bytes: u64,
    /// The payload column summed (`length(..)`), and its largest value.
    pub blob_column: &'static str,
    pub blob_bytes: u64,
    pub blob_max: u64,
}

/// One query kind, asked through the hub's Query service by the CLI.
#[derive(Clone, Debug)]
pub struct QueryTiming {
    pub name: String,
    /// Wall time of the `sajja-hub query` process (start, TLS, answer, print).
    pub milliseconds: Vec<f64>,
}

#[derive(Clone, Debug)]
pub struct HubRssReport {
    pub groups: usize,
    pub months: u32,
    pub events: u64,
    pub event_bytes: u64,
    pub clients: usize,
    pub generate_seconds: f64,
    pub ingest_seconds: f64,
    /// `sajja-hub run` started on a store with every group enrolled and no events.
    pub started: Rss,
    /// The largest sample while ingesting, and VmHWM right after.
    pub ingest_max: Rss,
    pub ingest_hwm_kb: u64,
    /// Idle after ingest (settled).
    pub idle_after_ingest: Rss,
    /// The largest sample while answering queries, VmHWM after, idle after.
    pub queries_max: Rss,
    pub queries_hwm_kb: u64,
    pub idle_after_queries: Rss,
    pub query_rounds: usize,
    pub queries: Vec<QueryTiming>,
    /// Restarted on the full store: idle before any call, then the largest
    /// sample and VmHWM through one round of the same queries.
    pub restarted_idle: Rss,
    /// Then after one more event from each of the largest groups, as many as
    /// the ingest's books cache holds: the cache full of the largest books.
    pub books_cache_groups: usize,
    pub restarted_books_cached: Rss,
    pub restarted_queries_max: Rss,
    pub restarted_hwm_kb: u64,
    /// Open descriptors of the hub process on its database file: one per
    /// SQLite connection.
    pub connections: usize,
    pub database_bytes: u64,
    pub tables: Vec<TableSize>,
}

impl HubRssReport {
    pub fn cache_bound_mib(&self) -> u64 {
        self.connections as u64 * CACHE_MIB_PER_CONNECTION
    }

    pub fn table(&self, name: &str) -> Option<&TableSize> {
        self.tables.iter().find(|t| t.table == name)
    }

    pub fn print(&self) {
        println!("== hub RSS (sajja-hub run, a province of groups) ==");
        println!(
            "  province: {} groups x {} months = {} events ({:.1} B/event), generated in {:.1} s",
            self.groups,
            self.months,
            self.events,
            self.event_bytes as f64 / self.events.max(1) as f64,
            self.generate_seconds
        );
        println!(
            "  pushed through gRPC + mutual TLS by {} pushers in {:.1} s ({:.0} events/s, hub process on the same 2 cores as the pushers)",
            self.clients,
            self.ingest_seconds,
            self.events as f64 / self.ingest_seconds
        );
        println!(
            "  started (groups enrolled, no events): {}",
            self.started.text()
        );
        println!(
            "  while ingesting: max sampled {}; VmHWM {:.1} MiB",
            self.ingest_max.text(),
            mib(self.ingest_hwm_kb)
        );
        println!("  idle after ingest: {}", self.idle_after_ingest.text());
        println!(
            "  while answering {} rounds of queries and scrapes: max sampled {}; VmHWM {:.1} MiB",
            self.query_rounds,
            self.queries_max.text(),
            mib(self.queries_hwm_kb)
        );
        println!("  idle after queries: {}", self.idle_after_queries.text());
        println!(
            "  restarted on the full store: idle {}; after one event from each of the {} largest groups (books cache full) {}; through one round of queries max {}, VmHWM {:.1} MiB",
            self.restarted_idle.text(),
            self.books_cache_groups,
            self.restarted_books_cached.text(),
            self.restarted_queries_max.text(),
            mib(self.restarted_hwm_kb)
        );
        println!(
            "  SQLite connections the hub holds on its database: {}; page cache bound {} x {} MiB = {} MiB",
            self.connections,
            self.connections,
            CACHE_MIB_PER_CONNECTION,
            self.cache_bound_mib()
        );
        for q in &self.queries {
            println!(
                "    query {}: {:.0} ms per CLI call (median of {}, process start + TLS included)",
                q.name,
                median(&q.milliseconds),
                q.milliseconds.len()
            );
        }
        println!(
            "  database {:.1} MiB after a checkpoint; tables with their indexes (dbstat):",
            self.database_bytes as f64 / 1048576.0
        );
        let events = self.table("events").map_or(1, |t| t.page_bytes.max(1));
        for t in &self.tables {
            println!(
                "    {:<18} {:>10} rows {:>10.1} MiB ({:>5.1}% of events) {}: {:.1} MiB, largest {} B",
                t.table,
                t.rows,
                t.page_bytes as f64 / 1048576.0,
                t.page_bytes as f64 * 100.0 / events as f64,
                t.blob_column,
                t.blob_bytes as f64 / 1048576.0,
                t.blob_max
            );
        }
    }
}

/// Stops a hub as systemd would (SIGTERM), waiting for it to exit.
fn terminate(child: &mut Child) -> anyhow::Result<()> {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if child.try_wait()?.is_some() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill()?;
    child.wait()?;
    bail!("the hub did not stop within 30 s of SIGTERM")
}

/// Descriptors of `pid` open on `database` (not its -wal or -shm).
fn connections(pid: u32, database: &Path) -> anyhow::Result<usize> {
    let database = database.canonicalize()?;
    let mut count = 0;
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))? {
        if let Ok(target) = std::fs::read_link(entry?.path())
            && target == database
        {
            count += 1;
        }
    }
    Ok(count)
}

/// A plain HTTP GET on the metrics listener; the body.
fn scrape(addr: &str, path: &str) -> anyhow::Result<String> {
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    ensure!(
        answer.starts_with("HTTP/1.1 200"),
        "GET {path}: {}",
        answer.lines().next().unwrap_or("")
    );
    Ok(answer)
}

/// The coordinator queries of one round: name and `sajja-hub query` arguments.
fn query_set(tambon: &str) -> Vec<(String, Vec<String>)> {
    let ask = |args: &[&str]| args.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    vec![
        ("position 23".into(), ask(&["position", "23"])),
        ("groups 23".into(), ask(&["groups", "23"])),
        (format!("groups {tambon}"), ask(&["groups", tambon])),
        ("alerts 23".into(), ask(&["alerts", "23"])),
        ("reserves 23".into(), ask(&["reserves", "23"])),
        (
            format!("groups 23 --as-of {MONTH_END}"),
            ask(&["groups", "23", "--as-of", MONTH_END]),
        ),
        (
            format!("position 23 --as-of {MID_MONTH}"),
            ask(&["position", "23", "--as-of", MID_MONTH]),
        ),
    ]
}

/// Asks every query of the set once through the hub's Query service, and
/// scrapes /metrics and /health; checks the province list names every group.
fn query_round(
    hub: &Path,
    bundle: &Path,
    metrics: &str,
    groups: usize,
    tambon: &str,
    timings: &mut Vec<QueryTiming>,
) -> anyhow::Result<()> {
    for (name, args) in query_set(tambon) {
        let started = Instant::now();
        let out = run_checked(
            Command::new(hub)
                .arg("query")
                .args(&args)
                .arg("--bundle")
                .arg(bundle)
                .arg("--csv"),
            &format!("sajja-hub query {name}"),
        )?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        if args[0] == "groups" && args[1] == "23" {
            let lines = out.lines().filter(|l| l.starts_with("23")).count();
            ensure!(
                lines == groups,
                "query {name} listed {lines} of {groups} groups"
            );
        }
        match timings.iter_mut().find(|t| t.name == name) {
            Some(t) => t.milliseconds.push(ms),
            None => timings.push(QueryTiming {
                name,
                milliseconds: vec![ms],
            }),
        }
    }
    ensure!(
        scrape(metrics, "/metrics")?.contains("sajja_groups"),
        "/metrics lacks sajja_groups"
    );
    scrape(metrics, "/health")?;
    Ok(())
}

/// Table sizes of a hub database (the hub stopped), after a WAL checkpoint.
fn table_sizes(database: &Path) -> anyhow::Result<(u64, Vec<TableSize>)> {
    {
        let conn = Connection::open(database)?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    }
    let bytes = std::fs::metadata(database)?.len();
    let conn = Connection::open_with_flags(database, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    // The blob column each table exists for; other tables are listed by size.
    let known: [(&str, &'static str); 7] = [
        ("events", "bytes"),
        ("group_books", "books"),
        ("group_positions", "basis"),
        ("position_cuts", "basis"),
        ("checkpoints", "checkpoint"),
        ("groups", "checkpoint"),
        ("credentials", "principal"),
    ];
    let mut tables: Vec<String> = known.iter().map(|(t, _)| t.to_string()).collect();
    {
        let mut stmt = conn.prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )?;
        for name in stmt.query_map([], |r| r.get::<_, String>(0))? {
            let name = name?;
            if !tables.contains(&name) {
                tables.push(name);
            }
        }
    }
    let mut out = Vec::new();
    for table in tables {
        // The table's b-tree and its indexes' (dbstat names each b-tree).
        let page_bytes: i64 = conn.query_row(
            "SELECT coalesce(sum(d.pgsize), 0) FROM dbstat d
             JOIN sqlite_schema s ON s.name = d.name WHERE s.tbl_name = ?1",
            [&table],
            |r| r.get(0),
        )?;
        let column = known
            .iter()
            .find(|(t, _)| *t == table)
            .map_or("-", |(_, c)| *c);
        let measure = if column == "-" {
            "0".to_string()
        } else {
            format!("length({column})")
        };
        let (rows, blob_bytes, blob_max): (i64, i64, i64) = conn.query_row(
            &format!(
                "SELECT count(*), coalesce(sum({measure}), 0),
                        coalesce(max({measure}), 0) FROM \"{table}\""
            ),
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        out.push(TableSize {
            table,
            rows: rows as u64,
            page_bytes: page_bytes as u64,
            blob_column: column,
            blob_bytes: blob_bytes as u64,
            blob_max: blob_max as u64,
        });
    }
    Ok((bytes, out))
}

/// The province's sizes: groups (default 2,000 at full scale) and months.
pub fn sizes(options: &Options) -> (usize, u32) {
    match options.scale {
        Scale::Full => (options.rss_groups.unwrap_or(2_000), 12),
        Scale::Smoke => (options.rss_groups.unwrap_or(3), 2),
    }
}

/// Pushes every log through the hub at `url`, `clients` at a time; each
/// group's batches are cut when its pusher takes it.
fn push_all(
    url: &str,
    logs: &Arc<Vec<GroupLog>>,
    tls: &Arc<Vec<ClientTls>>,
    clients: usize,
) -> anyhow::Result<f64> {
    let runtime = rig::runtime()?;
    runtime.block_on(async {
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let mut workers = Vec::new();
        for _ in 0..clients.max(1) {
            let (logs, tls, next, url) = (logs.clone(), tls.clone(), next.clone(), url.to_string());
            workers.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(log) = logs.get(i) else {
                        return anyhow::Ok(());
                    };
                    let link = HubLink {
                        url: url.clone(),
                        tls: tls[i].clone(),
                    };
                    let count = log.events.len() as u64;
                    let mut pusher = Pusher::open(&link).await?;
                    let from = pusher
                        .hello(&log.checkpoint_at(&log.spec.key(), count))
                        .await?;
                    ensure!(from == 1, "a fresh hub asked for seq {from}");
                    for batch in log.batches(1, count) {
                        pusher.batch(batch).await?;
                    }
                }
            }));
        }
        for worker in workers {
            worker.await??;
        }
        Ok(started.elapsed().as_secs_f64())
    })
}

/// Sends one more event from each of the largest groups, as many as the
/// hub's books cache holds, one session each: the hub decodes each group's
/// stored books and keeps them. Returns how many groups.
fn fill_books_cache(url: &str, logs: &[GroupLog], tls: &[ClientTls]) -> anyhow::Result<usize> {
    let mut largest: Vec<usize> = (0..logs.len()).collect();
    largest.sort_by_key(|&i| std::cmp::Reverse(logs[i].events.len()));
    largest.truncate(sajja_hub::ingest::accept::BOOKS_CACHE_GROUPS);
    // The same histories one event longer (a prefix is the same history).
    let longer: Vec<(usize, GroupLog)> = largest
        .iter()
        .map(|&i| {
            let log = &logs[i];
            let next = generate::group_log(&log.spec, Stop::Events(log.events.len() + 1));
            (i, next)
        })
        .collect();
    for (i, next) in &longer {
        ensure!(
            next.hashes.get(logs[*i].events.len() - 1) == Some(&logs[*i].head()),
            "group {}'s longer log is another history",
            next.spec.group
        );
    }
    let pairs: Vec<GroupLog> = longer.into_iter().map(|(_, next)| next).collect();
    generate::ensure_past(&pairs)?;
    let runtime = rig::runtime()?;
    runtime.block_on(async {
        for (next, &i) in pairs.iter().zip(&largest) {
            let seq = next.events.len() as u64;
            let link = HubLink {
                url: url.to_string(),
                tls: tls[i].clone(),
            };
            let mut pusher = Pusher::open(&link).await?;
            let from = pusher
                .hello(&next.checkpoint_at(&next.spec.key(), seq))
                .await?;
            ensure!(from == seq, "the hub asked for seq {from}, not {seq}");
            for batch in next.batches(seq, seq) {
                pusher.batch(batch).await?;
            }
        }
        anyhow::Ok(())
    })?;
    Ok(largest.len())
}

/// Every group's committed seq and head in the hub's database equal its log's.
fn check_held(database: &Path, logs: &[GroupLog]) -> anyhow::Result<()> {
    let conn = Connection::open_with_flags(database, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut stmt = conn.prepare("SELECT seq, head FROM groups WHERE group_id = ?1")?;
    for log in logs {
        let (seq, head): (u64, Vec<u8>) = stmt
            .query_row([log.spec.group.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
            .with_context(|| format!("group {} at the hub", log.spec.group))?;
        ensure!(
            seq == log.events.len() as u64 && head == log.head().as_bytes().as_slice(),
            "the hub holds {seq} of group {}'s {} events",
            log.spec.group,
            log.events.len()
        );
    }
    Ok(())
}

pub fn run(options: &Options) -> anyhow::Result<HubRssReport> {
    let (groups, months) = sizes(options);
    let settle = match options.scale {
        Scale::Full => Duration::from_secs(10),
        Scale::Smoke => Duration::from_millis(500),
    };
    let rounds = match options.scale {
        Scale::Full => 3,
        Scale::Smoke => 1,
    };
    let hub = hub_binary()?;
    let specs = generate::province(groups, 23);
    let (logs, generate_seconds) =
        rig::seconds(|| generate::province_logs(&specs, Stop::Months(months)));
    ensure!(
        logs.iter().all(|l| l.refused == 0),
        "the generator refused events"
    );
    generate::ensure_past(&logs)?;
    let events: u64 = logs.iter().map(|l| l.events.len() as u64).sum();
    let event_bytes: u64 = logs.iter().map(|l| l.bytes() as u64).sum();
    let tambon = specs[0].group.tambon().to_string();

    let work = options.workdir("hub-rss")?;
    let dir: PathBuf = work.path().join("hub");
    let (toml, config) = init_province(&hub, &dir)?;
    let database = config.database_path();
    let tls = enrol_groups(&dir, &database, &specs)?;

    let processes = Mutex::new(Processes(Vec::new()));
    let start = || -> anyhow::Result<(u32, String, String)> {
        let _ = std::fs::remove_file(config.addr_file());
        let _ = std::fs::remove_file(config.metrics_addr_file());
        let mut guard = processes.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        let addr = start_hub(&hub, &dir, &mut guard)?;
        let pid = guard.0.last().context("the hub process")?.id();
        let metrics = wait_for("the metrics listener", Duration::from_secs(30), || {
            Ok(std::fs::read_to_string(config.metrics_addr_file()).ok())
        })?;
        Ok((pid, addr, metrics))
    };
    let (pid, addr, metrics) = start()?;
    std::thread::sleep(settle);
    let started = Rss::of(pid)?;

    let logs = Arc::new(logs);
    let tls = Arc::new(tls);
    let sampler = Sampler::start(pid);
    let ingest_seconds = push_all(&format!("https://{addr}"), &logs, &tls, options.clients)?;
    let ingest_max = sampler.finish();
    let ingest_hwm_kb = status(pid, "VmHWM")?;
    check_held(&database, &logs)?;
    std::thread::sleep(settle);
    let idle_after_ingest = Rss::of(pid)?;

    let bundle = enrol_coordinator(&hub, &toml, &addr, work.path())?;
    let mut queries = Vec::new();
    let sampler = Sampler::start(pid);
    for _ in 0..rounds {
        query_round(&hub, &bundle, &metrics, groups, &tambon, &mut queries)?;
    }
    let queries_max = sampler.finish();
    let queries_hwm_kb = status(pid, "VmHWM")?;
    let connections = connections(pid, &database)?;
    std::thread::sleep(settle);
    let idle_after_queries = Rss::of(pid)?;

    // A restart on the full store: what an operator sees after a reboot.
    stop_last(&processes)?;
    let (pid, addr, metrics) = start()?;
    std::thread::sleep(settle);
    let restarted_idle = Rss::of(pid)?;
    let books_cache_groups = fill_books_cache(&format!("https://{addr}"), &logs, &tls)?;
    std::thread::sleep(settle);
    let restarted_books_cached = Rss::of(pid)?;
    // The bundle names the old port; the hub's CA and the certificate stay valid.
    let restarted_bundle = rebundle(&bundle, &addr)?;
    let sampler = Sampler::start(pid);
    let mut ignored = Vec::new();
    query_round(
        &hub,
        &restarted_bundle,
        &metrics,
        groups,
        &tambon,
        &mut ignored,
    )?;
    let restarted_queries_max = sampler.finish();
    let restarted_hwm_kb = status(pid, "VmHWM")?;
    stop_last(&processes)?;

    let (database_bytes, tables) = tables_holding(&database, events)?;
    Ok(HubRssReport {
        groups,
        months,
        events,
        event_bytes,
        clients: options.clients,
        generate_seconds,
        ingest_seconds,
        started,
        ingest_max,
        ingest_hwm_kb,
        idle_after_ingest,
        queries_max,
        queries_hwm_kb,
        idle_after_queries,
        query_rounds: rounds,
        queries,
        restarted_idle,
        books_cache_groups,
        restarted_books_cached,
        restarted_queries_max,
        restarted_hwm_kb,
        connections,
        database_bytes,
        tables,
    })
}

/// A province hub initialised in `dir` with its metrics endpoint on, as an
/// operator runs it: its connection counts are part of the report.
fn init_province(hub: &Path, dir: &Path) -> anyhow::Result<(PathBuf, HubConfig)> {
    init_hub(hub, dir, "23", "province")?;
    let toml = dir.join("hub.toml");
    let text = std::fs::read_to_string(&toml)?;
    std::fs::write(&toml, format!("metrics_listen = \"127.0.0.1:0\"\n{text}"))?;
    let config = HubConfig::load(&toml)?;
    Ok((toml, config))
}

/// The store's size by table, after checking that the events table holds every
/// pushed event (the hub's own administrative log is in the same table).
fn tables_holding(database: &Path, events: u64) -> anyhow::Result<(u64, Vec<TableSize>)> {
    let (database_bytes, tables) = table_sizes(database)?;
    let held: u64 = tables
        .iter()
        .find(|t| t.table == "events")
        .map_or(0, |t| t.rows);
    ensure!(
        held >= events,
        "the events table holds {held} of {events} events"
    );
    Ok((database_bytes, tables))
}

/// Every group enrolled with its own client certificate before the hub starts.
fn enrol_groups(
    dir: &Path,
    database: &Path,
    specs: &[generate::GroupSpec],
) -> anyhow::Result<Vec<ClientTls>> {
    let mut store = HubStore::open(database)?;
    for spec in specs {
        store.enrol(&spec.group, &spec.key().public(), 0)?;
    }
    specs
        .iter()
        .map(|s| rig::issue_client_tls(dir, &store, &Principal::Group(s.group.clone())))
        .collect()
}

fn enrol_coordinator(hub: &Path, toml: &Path, addr: &str, work: &Path) -> anyhow::Result<PathBuf> {
    let bundle = work.join("coordinator.bundle");
    run_checked(
        Command::new(hub)
            .args(["enrol", "coordinator", "bench", "--scope", "23", "--config"])
            .arg(toml)
            .arg("--url")
            .arg(format!("https://{addr}"))
            .arg("--out")
            .arg(&bundle),
        "sajja-hub enrol coordinator",
    )?;
    Ok(bundle)
}

/// The bundle names the old port after a restart; the hub's CA and the
/// certificate stay valid, so only the address changes.
fn rebundle(bundle: &Path, addr: &str) -> anyhow::Result<PathBuf> {
    let restarted = bundle.with_file_name("coordinator-restarted.bundle");
    let mut enrolment = sajja_edge::enrolment::Enrolment::read(bundle)?;
    enrolment.hub_url = format!("https://{addr}");
    enrolment.write(&restarted)?;
    Ok(restarted)
}

/// Stops the most recently started hub the way an operator's service manager does.
fn stop_last(processes: &Mutex<Processes>) -> anyhow::Result<()> {
    let mut guard = processes.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    let mut child = guard.0.pop().context("the hub process")?;
    drop(guard);
    terminate(&mut child)
}
