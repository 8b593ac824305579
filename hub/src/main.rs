//! `sajja-hub`: run a tambon or province hub, and administer it.

mod demo;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use sajja_common::admin::AdminBody;
use sajja_common::{Date, GroupId, PoolId, PublicKey};
use sajja_hub::admin::{self, HubIdentity};
use sajja_hub::config::{HubConfig, Level};
use sajja_hub::ingest::{BatchOutcome, Ingest, today, unix_now};
use sajja_hub::logging::{self, LogFormat};
use sajja_hub::store::Store;
use sajja_hub::{backup::PendingBackup, check, positions, relay, report, server, signoff, tls};

#[derive(Parser)]
#[command(
    name = "sajja-hub",
    version,
    about = "Sajja tambon/province hub: verifies, stores and consolidates group ledgers"
)]
struct Cli {
    /// Log lines as `text` (default) or `json` (one object a line), on stderr.
    #[arg(long, global = true, value_parser = |t: &str| t.parse::<LogFormat>())]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a hub directory: config, CA, server certificate and database.
    Init {
        /// Directory to create (must not exist or be empty).
        #[arg(long)]
        dir: PathBuf,
        /// The hub's geocode (6 digits for a tambon, 2 for a province).
        #[arg(long)]
        hub_id: String,
        #[arg(long, value_parser = ["tambon", "province"])]
        level: String,
        /// Listen address; port 0 picks a free port at start-up.
        #[arg(long, default_value = "127.0.0.1:7400")]
        listen: String,
        /// Extra DNS names or IP addresses for the server certificate.
        #[arg(long = "name")]
        names: Vec<String>,
        /// Where the database goes (written to hub.toml; relative to --dir).
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
    },
    /// Check a config file and explain each problem with its line; exit 0
    /// when it is valid, 64 otherwise.
    CheckConfig { file: PathBuf },
    /// Copy the hub's database, consistently, while the hub runs (SQLite's
    /// backup API); DEST gets mode 0600 and is never overwritten.
    Backup {
        #[arg(long)]
        config: PathBuf,
        dest: PathBuf,
    },
    /// Run the hub until SIGTERM or Ctrl-C.
    Run {
        #[arg(long)]
        config: PathBuf,
    },
    /// Enrol a group so it may push its log here.
    Enrol {
        #[arg(long)]
        config: PathBuf,
        /// The group id, e.g. 230101-007.
        group: String,
        /// The group's Ed25519 public key, hex (from `sajja-node status`).
        #[arg(long)]
        key: String,
    },
    /// Inspect and resolve forks.
    Fork {
        #[command(subcommand)]
        command: ForkCommand,
    },
    /// Apply a bundle exported by `sajja-node export` (sync by USB stick),
    /// through exactly the same accept rule as a push, and write a receipt.
    Import {
        #[arg(long)]
        config: PathBuf,
        /// The bundle file.
        file: PathBuf,
        /// Where to write the receipt for `sajja-node import-receipt`
        /// (default: the bundle's name with `.receipt`).
        #[arg(long)]
        receipt: Option<PathBuf>,
    },
    /// Start a live demo network on this machine: two tambon hubs and six
    /// group nodes with a year of activity, as real processes over TLS.
    Demo {
        /// Print the tables and exit instead of running until Ctrl-C.
        #[arg(long)]
        no_wait: bool,
    },
    /// Print this hub's public key (a province lists it under [[children]]).
    Key {
        #[arg(long)]
        config: PathBuf,
    },
    /// Pooled funds managed by this hub: policies, currency, guarantees.
    Pool {
        #[command(subcommand)]
        command: PoolCommand,
    },
    /// Positions for coordinators.
    Query {
        #[command(subcommand)]
        command: QueryCommand,
    },
    /// Show the hub's committed position for each group.
    Heads {
        #[arg(long)]
        config: PathBuf,
    },
    /// Sign off a month: on a tambon hub, a group's month (`230101-007
    /// 2026-10`) once its PeriodClosed has arrived and matches; on a province
    /// hub, a tambon's month (`230101 2026-10`) once the tambon hub has signed
    /// off every group of it. Recorded in this hub's log and relayed upward.
    Signoff {
        #[arg(long)]
        config: PathBuf,
        /// A group id (on a tambon hub) or a tambon geocode (on a province hub).
        subject: String,
        /// The month, YYYY-MM.
        month: String,
    },
}

/// How a query prints: a table by default.
#[derive(clap::Args)]
struct Format {
    /// JSON for machines: amounts as baht strings with two decimals, ratios in
    /// basis points.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// CSV for spreadsheets, with the same exact amounts as JSON.
    #[arg(long)]
    csv: bool,
}

impl Format {
    fn output(&self) -> report::Output {
        match (self.json, self.csv) {
            (true, _) => report::Output::Json,
            (_, true) => report::Output::Csv,
            _ => report::Output::Table,
        }
    }
}

#[derive(Subcommand)]
enum QueryCommand {
    /// Each group's position under a scope (a province or tambon geocode).
    Groups {
        #[arg(long)]
        config: PathBuf,
        /// Province (2 digits) or tambon (6 digits) geocode; all groups if omitted.
        scope: Option<String>,
        /// The business date to report as of (default: today).
        #[arg(long)]
        as_of: Option<String>,
        /// Only groups nothing has arrived from for `stale_after_days`.
        #[arg(long)]
        stale: bool,
        /// Only forked groups.
        #[arg(long)]
        forked: bool,
        /// Only groups with a loan instalment overdue.
        #[arg(long)]
        arrears: bool,
        /// Only groups dealing with a pool whose reserve is below its policy.
        /// Filters combine: a group must pass each one given.
        #[arg(long)]
        below_reserve: bool,
        #[command(flatten)]
        format: Format,
    },
    /// Sums, counts and indicators over a province or tambon, and its pools.
    Position {
        #[arg(long)]
        config: PathBuf,
        /// Province (2 digits) or tambon (6 digits) geocode (default: this hub's).
        scope: Option<String>,
        #[arg(long)]
        as_of: Option<String>,
        #[command(flatten)]
        format: Format,
    },
    /// Pooled funds' reserve ratios against their policies.
    Reserves {
        #[arg(long)]
        config: PathBuf,
        /// Province or tambon geocode (default: this hub's).
        scope: Option<String>,
        #[arg(long)]
        as_of: Option<String>,
        #[command(flatten)]
        format: Format,
    },
    /// What a coordinator must look at: reserves below policy, forks, stale
    /// groups, close digests that do not match, broken month sign-offs.
    Alerts {
        #[arg(long)]
        config: PathBuf,
        /// Province or tambon geocode (default: this hub's).
        scope: Option<String>,
        #[arg(long)]
        as_of: Option<String>,
        #[command(flatten)]
        format: Format,
    },
    /// Month sign-offs recorded in the hub logs held here, each checked
    /// against the logs as they are now (BROKEN when they no longer agree).
    Signoffs {
        #[arg(long)]
        config: PathBuf,
        /// Province or tambon geocode (default: this hub's).
        scope: Option<String>,
        #[command(flatten)]
        format: Format,
    },
}

#[derive(Subcommand)]
enum PoolCommand {
    /// Set the pool's minimum reserve ratio (reserve ÷ obligations).
    Policy {
        #[arg(long)]
        config: PathBuf,
        pool: String,
        /// Percent, e.g. 50.
        #[arg(long)]
        min_ratio: u32,
    },
    /// Record community currency (เงินตราชุมชน) issued against the pool.
    IssueCurrency {
        #[arg(long)]
        config: PathBuf,
        pool: String,
        /// Baht.
        amount: String,
    },
    /// Record community currency redeemed.
    RedeemCurrency {
        #[arg(long)]
        config: PathBuf,
        pool: String,
        amount: String,
    },
    /// Record a guarantee the pool gives a group's loan from a lender.
    Guarantee {
        #[arg(long)]
        config: PathBuf,
        pool: String,
        /// The guarantee's number within the pool.
        #[arg(long)]
        id: u32,
        /// The beneficiary group.
        #[arg(long)]
        group: String,
        #[arg(long)]
        lender: String,
        amount: String,
    },
    /// Release a guarantee (the loan was repaid).
    Release {
        #[arg(long)]
        config: PathBuf,
        pool: String,
        #[arg(long)]
        id: u32,
    },
}

#[derive(Subcommand)]
enum ForkCommand {
    /// List unresolved forks.
    List {
        #[arg(long)]
        config: PathBuf,
        /// Include resolved forks.
        #[arg(long)]
        all: bool,
    },
    /// Show a group's fork evidence.
    Show {
        #[arg(long)]
        config: PathBuf,
        group: String,
    },
    /// Resolve a group's fork by choosing the branch to keep.
    Resolve {
        #[arg(long)]
        config: PathBuf,
        group: String,
        /// `accepted`: keep what the hub holds; the node on the other branch must
        /// restore and re-enter its events. `offered`: keep the node's branch;
        /// the hub's diverging events are kept as evidence only.
        #[arg(long, value_parser = ["accepted", "offered"])]
        keep: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(
        cli.log_format.unwrap_or_default(),
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
    );
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn load(config: &Path) -> anyhow::Result<HubConfig> {
    HubConfig::load(config).map_err(|e| {
        eprintln!("error: {e}");
        std::process::exit(64)
    })
}

fn open_store(config: &HubConfig) -> anyhow::Result<Store> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    Ok(Store::open(&config.database_path())?)
}

fn parse_group(text: &str) -> anyhow::Result<GroupId> {
    Ok(GroupId::parse(text)?)
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Init {
            dir,
            hub_id,
            level,
            listen,
            names,
            data_dir,
        } => init(&dir, &hub_id, &level, &listen, &names, &data_dir),
        Command::CheckConfig { file } => match check::check_file(&file) {
            Ok(summary) => {
                println!("{}: ok: {summary}", file.display());
                Ok(())
            }
            Err(problems) => {
                for problem in problems {
                    eprintln!("{}", problem.display(&file.display().to_string()));
                }
                std::process::exit(64)
            }
        },
        Command::Backup { config, dest } => {
            let config = load(&config)?;
            backup(&config, &dest)
        }
        Command::Run { config } => {
            let config = load(&config)?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(run_hub(config))
        }
        Command::Enrol { config, group, key } => {
            let config = load(&config)?;
            let group = parse_group(&group)?;
            let key = PublicKey::from_hex(&key)
                .context("--key must be 64 hex digits (an Ed25519 public key)")?;
            if config.level == Level::Tambon && group.tambon() != config.hub_id {
                bail!("group {group} is not in tambon {}", config.hub_id);
            }
            if group.is_hub_log() {
                bail!(
                    "{group} is a hub's log id; list child hubs under [[children]] in the province's config"
                );
            }
            let identity = HubIdentity::load(&config)?;
            let mut ingest = Ingest::new(open_store(&config)?);
            if let Some(existing) = ingest.store().group(&group)? {
                if existing.key == key {
                    println!("{group} is already enrolled with key {key}");
                    return Ok(());
                }
                bail!(
                    "{group} is already enrolled with another key; a lost key needs an operator re-key"
                );
            }
            let seq = admin::append(
                &mut ingest,
                &identity,
                vec![AdminBody::GroupEnrolled {
                    group: group.clone(),
                    key,
                }],
            )?;
            println!("enrolled {group} with key {key} (hub log seq {seq})");
            Ok(())
        }
        Command::Heads { config } => {
            let config = load(&config)?;
            let store = open_store(&config)?;
            println!(
                "{:<12} {:>8} {:>6} {:<7} head",
                "group", "seq", "epoch", "status"
            );
            for group in store.groups()? {
                if let Some(row) = store.group(&group)? {
                    println!(
                        "{:<12} {:>8} {:>6} {:<7} {}",
                        group.as_str(),
                        row.seq,
                        row.fork_epoch,
                        format!("{:?}", row.status).to_lowercase(),
                        row.head
                    );
                }
            }
            Ok(())
        }
        Command::Fork { command } => fork(command),
        Command::Demo { no_wait } => demo::run(!no_wait),
        Command::Query { command } => query(command),
        Command::Signoff {
            config,
            subject,
            month,
        } => signoff(&config, &subject, &month),
        Command::Pool { command } => pool(command),
        Command::Key { config } => {
            let config = load(&config)?;
            println!("{}", HubIdentity::load(&config)?.public());
            Ok(())
        }
        Command::Import {
            config,
            file,
            receipt,
        } => {
            let config = load(&config)?;
            let receipt_path = receipt.unwrap_or_else(|| file.with_extension("receipt"));
            import(&config, &file, &receipt_path)
        }
    }
}

/// A query's scope: a province (2 digits) or tambon (6 digits) geocode;
/// `default` when none is given.
fn scope_arg(scope: Option<String>, default: &str) -> anyhow::Result<String> {
    let scope = scope.unwrap_or_else(|| default.to_string());
    let digits = if scope.len() == 2 { 2 } else { 6 };
    if !scope.is_empty() {
        sajja_common::ids::check_geocode(&scope, "scope", digits).with_context(|| {
            format!("scope {scope:?}: a province (2 digits) or tambon (6 digits) geocode")
        })?;
    }
    Ok(scope)
}

fn as_of_arg(as_of: Option<String>) -> anyhow::Result<Date> {
    match as_of {
        Some(text) => text
            .parse::<Date>()
            .with_context(|| format!("--as-of {text}: expected YYYY-MM-DD")),
        None => Ok(today()),
    }
}

fn freshness(config: &HubConfig) -> positions::Freshness {
    positions::Freshness {
        now: unix_now(),
        stale_after_days: config.stale_after_days,
    }
}

fn query(command: QueryCommand) -> anyhow::Result<()> {
    use report::Output;
    match command {
        QueryCommand::Groups {
            config,
            scope,
            as_of,
            stale,
            forked,
            arrears,
            below_reserve,
            format,
        } => {
            let config = load(&config)?;
            let scope = scope_arg(scope, "")?;
            let as_of = as_of_arg(as_of)?;
            let store = open_store(&config)?;
            let filter = positions::GroupFilter {
                stale,
                forked,
                arrears,
                below_reserve,
            };
            let freshness = freshness(&config);
            let mut lines = positions::group_lines(&store, &scope, as_of)?;
            if !filter.is_empty() {
                let below = if below_reserve {
                    positions::pool_positions(&store, "", as_of)?
                        .into_iter()
                        .filter(|p| p.below_policy())
                        .map(|p| p.pool)
                        .collect()
                } else {
                    Default::default()
                };
                lines = positions::filter_lines(lines, &filter, freshness, &below);
            }
            match format.output() {
                Output::Table => print!("{}", report::group_table(&lines, as_of, freshness)),
                Output::Json => print!("{}", report::groups_json(&scope, &lines, as_of, freshness)),
                Output::Csv => print!("{}", report::groups_csv(&lines, freshness)),
            }
        }
        QueryCommand::Position {
            config,
            scope,
            as_of,
            format,
        } => {
            let config = load(&config)?;
            let scope = scope_arg(scope, &config.hub_id)?;
            let as_of = as_of_arg(as_of)?;
            let store = open_store(&config)?;
            let freshness = freshness(&config);
            // The province's groups cover both the scope's own and its pools'.
            let province = scope.get(..2).unwrap_or(&scope);
            let all = positions::group_lines(&store, province, as_of)?;
            let pools = positions::pools_of_lines(&store, &all, &scope, as_of)?;
            let lines: Vec<_> = all
                .into_iter()
                .filter(|l| l.group.as_str().starts_with(&scope))
                .collect();
            let position = positions::scope_position(
                &lines,
                &scope,
                freshness.now,
                freshness.stale_after_days,
            );
            match format.output() {
                Output::Table => print!(
                    "{}",
                    report::position_table(&position, &pools, as_of, freshness.now)
                ),
                Output::Json => print!("{}", report::position_json(&position, &pools, as_of)),
                Output::Csv => print!("{}", report::position_csv(&position, as_of)),
            }
        }
        QueryCommand::Reserves {
            config,
            scope,
            as_of,
            format,
        } => {
            let config = load(&config)?;
            let scope = scope_arg(scope, &config.hub_id)?;
            let as_of = as_of_arg(as_of)?;
            let store = open_store(&config)?;
            let pools = positions::pool_positions(&store, &scope, as_of)?;
            match format.output() {
                Output::Table => print!("{}", report::pool_table(&pools, as_of)),
                Output::Json => print!("{}", report::pools_json(&scope, &pools, as_of)),
                Output::Csv => print!("{}", report::pools_csv(&pools, as_of)),
            }
        }
        QueryCommand::Alerts {
            config,
            scope,
            as_of,
            format,
        } => {
            let config = load(&config)?;
            let scope = scope_arg(scope, &config.hub_id)?;
            let as_of = as_of_arg(as_of)?;
            let store = open_store(&config)?;
            let freshness = freshness(&config);
            let alerts = positions::alerts(
                &store,
                &scope,
                as_of,
                freshness.now,
                freshness.stale_after_days,
            )?;
            match format.output() {
                Output::Table => print!("{}", report::alerts_table(&scope, &alerts, as_of)),
                Output::Json => print!("{}", report::alerts_json(&scope, &alerts, as_of)),
                Output::Csv => print!("{}", report::alerts_csv(&alerts)),
            }
        }
        QueryCommand::Signoffs {
            config,
            scope,
            format,
        } => {
            let config = load(&config)?;
            let scope = scope_arg(scope, &config.hub_id)?;
            let store = open_store(&config)?;
            let sign_offs = signoff::sign_offs(&store, &scope)?;
            match format.output() {
                Output::Table => print!("{}", report::signoffs_table(&scope, &sign_offs)),
                Output::Json => print!("{}", report::signoffs_json(&scope, &sign_offs)),
                Output::Csv => print!("{}", report::signoffs_csv(&sign_offs)),
            }
        }
    }
    Ok(())
}

/// `sajja-hub signoff`: checks the month may be signed off here, then records
/// `MonthSignedOff` in this hub's log through the accept rule.
fn signoff(config: &Path, subject: &str, month: &str) -> anyhow::Result<()> {
    let config = load(config)?;
    let month: sajja_common::Month = month
        .parse()
        .with_context(|| format!("month {month:?}: expected YYYY-MM"))?;
    let identity = HubIdentity::load(&config)?;
    let mut ingest = Ingest::new(open_store(&config)?);
    let digest = match config.level {
        Level::Tambon => {
            let group = GroupId::parse(subject).with_context(|| {
                format!(
                    "{subject:?}: a tambon hub signs off a group's month, e.g. {}-007",
                    config.hub_id
                )
            })?;
            if group.tambon() != config.hub_id || group.is_hub_log() {
                bail!("group {group} is not a group of tambon {}", config.hub_id);
            }
            signoff::group_sign_off(ingest.store(), &group, month)?
        }
        Level::Province => {
            sajja_common::ids::check_geocode(subject, "tambon", 6).with_context(|| {
                format!(
                    "{subject:?}: a province hub signs off a tambon's month, e.g. {}0101",
                    config.hub_id
                )
            })?;
            if !config.children.iter().any(|c| c.hub_id == subject) {
                return Err(signoff::SignOffError::NotAChild(subject.to_string()).into());
            }
            signoff::tambon_sign_off(ingest.store(), subject, month)?
        }
    };
    let log = identity.log();
    if let Some(books) = signoff::admin_books(ingest.store(), &config.hub_id)?
        && let Some((signed, seq)) = books.sign_offs.get(&(subject.to_string(), month))
        && *signed == digest
    {
        println!("{subject} {month} is already signed off (hub log {log} seq {seq})");
        return Ok(());
    }
    let seq = admin::append(
        &mut ingest,
        &identity,
        vec![AdminBody::MonthSignedOff {
            subject: subject.to_string(),
            month,
            digest,
        }],
    )?;
    println!(
        "signed off {subject} {month} (digest {}) in hub log {log} at seq {seq}",
        &digest.to_hex()[..16]
    );
    Ok(())
}

fn import(config: &HubConfig, file: &Path, receipt_path: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let bundle = sajja_proto::bundle::decode_bundle(&bytes)
        .with_context(|| format!("{}", file.display()))?;
    let mut ingest = Ingest::new(open_store(config)?);
    let mut group = None;
    let mut refused = 0;
    for batch in &bundle.batches {
        let checkpoint =
            sajja_proto::convert::checkpoint(batch.checkpoint.as_ref(), "batch.checkpoint")?;
        group = Some(checkpoint.checkpoint.group.clone());
        match ingest.batch(batch.from_seq, &batch.events, &checkpoint) {
            Ok(BatchOutcome::Acked { from, to, .. }) => {
                println!("accepted {} seq {from}..={to}", checkpoint.checkpoint.group)
            }
            Ok(BatchOutcome::SendFrom(n)) => {
                refused += 1;
                println!(
                    "skipped {} seq {}..: the hub holds only up to {}; import the earlier bundle first",
                    checkpoint.checkpoint.group,
                    batch.from_seq,
                    n - 1
                );
            }
            Ok(BatchOutcome::Forked(fork)) => {
                refused += 1;
                println!(
                    "FORK: {} seq {} differs from the accepted event; see `sajja-hub fork show {}`",
                    fork.group, fork.seq, fork.group
                );
            }
            Err(e) => {
                refused += 1;
                println!(
                    "refused {} seq {} ({}): {e}",
                    checkpoint.checkpoint.group,
                    e.seq(),
                    e.check()
                );
            }
        }
    }
    let group = group.context("the bundle holds no batches")?;
    let position = ingest.position(&group)?;
    let wire = server::wire_position(&position);
    std::fs::write(
        receipt_path,
        sajja_proto::bundle::encode_receipt(&config.hub_id, wire),
    )
    .with_context(|| format!("writing {}", receipt_path.display()))?;
    println!(
        "hub holds {group} up to seq {}; receipt written to {}",
        position.seq,
        receipt_path.display()
    );
    if refused > 0 {
        bail!("{refused} batch(es) not accepted");
    }
    Ok(())
}

/// A consistent copy of the live database, checked before it takes DEST's name.
fn backup(config: &HubConfig, dest: &Path) -> anyhow::Result<()> {
    let pending = PendingBackup::start(&config.database_path(), dest)?;
    let store = Store::open(pending.path())?;
    let groups = store.groups()?.len();
    drop(store);
    let dest = pending.finish()?;
    println!(
        "backed up hub {} ({groups} groups) to {} (mode 0600)",
        config.hub_id,
        dest.display()
    );
    Ok(())
}

fn init(
    dir: &Path,
    hub_id: &str,
    level: &str,
    listen: &str,
    names: &[String],
    data_dir: &Path,
) -> anyhow::Result<()> {
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        bail!("{} exists and is not empty", dir.display());
    }
    let _: std::net::SocketAddr = listen
        .parse()
        .with_context(|| format!("--listen {listen} is not an address"))?;
    std::fs::create_dir_all(dir.join("tls"))?;
    let data_dir_text = data_dir
        .to_str()
        .with_context(|| format!("--data-dir {} is not UTF-8", data_dir.display()))?
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    let ca = tls::generate_ca(hub_id)?;
    let server = tls::issue_server_cert(&ca, hub_id, names)?;
    tls::write_public(&dir.join("tls/ca.pem"), ca.cert.as_bytes())?;
    tls::write_private(&dir.join("tls/ca.key"), ca.key.as_bytes())?;
    tls::write_public(&dir.join("tls/server.pem"), server.cert.as_bytes())?;
    tls::write_private(&dir.join("tls/server.key"), server.key.as_bytes())?;
    let hub_key = sajja_common::SigningKey::generate()?;
    tls::write_private(&dir.join("hub.key"), hex::encode(hub_key.seed()).as_bytes())?;
    let config = format!(
        "# Sajja hub configuration. Paths are relative to this file.\n\
         hub_id = \"{hub_id}\"\n\
         level = \"{level}\"\n\
         listen = \"{listen}\"\n\
         data_dir = \"{data_dir_text}\"\n\
         signing_key = \"hub.key\"\n\n\
         [tls]\n\
         cert = \"tls/server.pem\"\n\
         key = \"tls/server.key\"\n\
         ca = \"tls/ca.pem\"\n\
         ca_key = \"tls/ca.key\"\n"
    );
    tls::write_public(&dir.join("hub.toml"), config.as_bytes())?;
    let config = HubConfig::load(&dir.join("hub.toml"))?;
    open_store(&config)?;
    println!("created hub {hub_id} ({level}) in {}", dir.display());
    println!(
        "hub key {} (a province lists it under [[children]])",
        hub_key.public()
    );
    println!(
        "nodes verify this hub with {}",
        dir.join("tls/ca.pem").display()
    );
    Ok(())
}

async fn run_hub(config: HubConfig) -> anyhow::Result<()> {
    let identity = HubIdentity::load(&config)?;
    let mut ingest = Ingest::new(open_store(&config)?);
    // The hub's own log exists from the first start; a province trusts its
    // tambon hubs' logs by the keys in its configuration.
    if ingest.position(&identity.log()).map(|p| p.seq).unwrap_or(0) == 0 {
        admin::append(&mut ingest, &identity, Vec::new())?;
    }
    for child in &config.children {
        let log = GroupId::hub_log(&child.hub_id)?;
        let key = PublicKey::from_hex(&child.key).context("children.key")?;
        ingest.store_mut().set_key(&log, &key, unix_now())?;
    }
    let ingest = Arc::new(Mutex::new(ingest));
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    // Tests and the demo find an ephemeral port here; write-then-rename so a
    // reader never sees half an address.
    let addr_file = config.addr_file();
    let tmp = addr_file.with_extension("addr.tmp");
    std::fs::write(&tmp, addr.to_string())?;
    std::fs::rename(&tmp, &addr_file)?;
    tracing::info!(hub = %config.hub_id, %addr, "listening");
    let metrics = Arc::new(sajja_hub::metrics::Metrics::default());
    let operations = sajja_hub::http::start(&config, metrics.clone(), shutdown_signal()).await?;
    let relay = match &config.parent {
        Some(parent) => {
            let link = relay::ParentLink {
                url: parent.url.clone(),
                ca_pem: std::fs::read(&parent.ca)
                    .with_context(|| format!("reading {}", parent.ca.display()))?,
            };
            tracing::info!(hub = %config.hub_id, parent = %link.url, "relaying to parent");
            let wake = Arc::new(tokio::sync::Notify::new());
            if let Ok(mut guard) = ingest.lock() {
                guard.wake_on_commit(wake.clone());
            }
            Some(tokio::spawn(relay::run(
                config.hub_id.clone(),
                link,
                ingest.clone(),
                wake,
                metrics.clone(),
                shutdown_signal(),
            )))
        }
        None => None,
    };
    server::serve_metered(&config, ingest, metrics, listener, shutdown_signal()).await?;
    if let Some(relay) = relay {
        relay.abort();
    }
    if let Some(operations) = operations {
        operations.abort();
    }
    tracing::info!(hub = %config.hub_id, "stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => {
            let _ = ctrl_c.await;
            return;
        }
    };
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
}

fn pool(command: PoolCommand) -> anyhow::Result<()> {
    let money = |text: &str| sajja_common::Money::parse_baht(text);
    let (config, body) = match command {
        PoolCommand::Policy {
            config,
            pool,
            min_ratio,
        } => {
            if min_ratio > 1_000 {
                bail!("--min-ratio {min_ratio}% is not plausible");
            }
            let pool = PoolId::parse(&pool)?;
            (
                config,
                AdminBody::PoolPolicySet {
                    pool,
                    min_reserve_ratio_basis_points: min_ratio * 100,
                },
            )
        }
        PoolCommand::IssueCurrency {
            config,
            pool,
            amount,
        } => (
            config,
            AdminBody::CurrencyIssued {
                pool: PoolId::parse(&pool)?,
                amount: money(&amount)?,
            },
        ),
        PoolCommand::RedeemCurrency {
            config,
            pool,
            amount,
        } => (
            config,
            AdminBody::CurrencyRedeemed {
                pool: PoolId::parse(&pool)?,
                amount: money(&amount)?,
            },
        ),
        PoolCommand::Guarantee {
            config,
            pool,
            id,
            group,
            lender,
            amount,
        } => (
            config,
            AdminBody::GuaranteeGiven {
                pool: PoolId::parse(&pool)?,
                guarantee: id,
                beneficiary: parse_group(&group)?,
                lender,
                amount: money(&amount)?,
            },
        ),
        PoolCommand::Release { config, pool, id } => (
            config,
            AdminBody::GuaranteeReleased {
                pool: PoolId::parse(&pool)?,
                guarantee: id,
            },
        ),
    };
    let config = load(&config)?;
    let identity = HubIdentity::load(&config)?;
    let mut ingest = Ingest::new(open_store(&config)?);
    let kind = body.kind();
    let seq = admin::append(&mut ingest, &identity, vec![body])?;
    println!("recorded {kind} in hub log {} at seq {seq}", identity.log());
    Ok(())
}

fn fork(command: ForkCommand) -> anyhow::Result<()> {
    match command {
        ForkCommand::List { config, all } => {
            let config = load(&config)?;
            let store = open_store(&config)?;
            let forks = store.forks(None, !all)?;
            if forks.is_empty() {
                println!("no forks");
            }
            for f in forks {
                println!(
                    "{:<12} seq {:>8}  detected {}  {}",
                    f.group.as_str(),
                    f.seq,
                    f.detected_at,
                    f.resolution.as_deref().unwrap_or("UNRESOLVED")
                );
            }
            Ok(())
        }
        ForkCommand::Show { config, group } => {
            let config = load(&config)?;
            let store = open_store(&config)?;
            let group = parse_group(&group)?;
            let forks = store.forks(Some(&group), false)?;
            if forks.is_empty() {
                println!("no forks for {group}");
            }
            for f in forks {
                println!("fork #{} of group {} at seq {}", f.id, f.group, f.seq);
                if let Some(c) = &f.accepted_checkpoint {
                    println!(
                        "  accepted checkpoint: seq {} head {} epoch {}",
                        c.checkpoint.seq, c.checkpoint.head, c.checkpoint.fork_epoch
                    );
                }
                let o = &f.offered_checkpoint.checkpoint;
                println!(
                    "  offered checkpoint:  seq {} head {} epoch {}",
                    o.seq, o.head, o.fork_epoch
                );
                if let Some(e) = &f.accepted_event {
                    println!("  accepted event at seq {}: {}", f.seq, hex::encode(e));
                }
                if let Some(e) = &f.offered_event {
                    println!("  offered event at seq {}:  {}", f.seq, hex::encode(e));
                }
                println!(
                    "  status: {}",
                    f.resolution.as_deref().unwrap_or("unresolved")
                );
            }
            Ok(())
        }
        ForkCommand::Resolve {
            config,
            group,
            keep,
        } => {
            let config = load(&config)?;
            let mut store = open_store(&config)?;
            let group = parse_group(&group)?;
            let row = store
                .group(&group)?
                .with_context(|| format!("group {group} is not enrolled"))?;
            let fork = store
                .forks(Some(&group), true)?
                .pop()
                .with_context(|| format!("group {group} has no unresolved fork"))?;
            let keep_offered = keep == "offered";
            // Only a fork found in a batch pins where the branches part; from a
            // checkpoint alone the node re-pushes its whole log, verified again.
            let keep_through = if fork.offered_event.is_some() {
                fork.seq - 1
            } else {
                0
            };
            store.resolve_fork(&row, fork.id, keep_offered, keep_through, unix_now())?;
            let row = store
                .group(&group)?
                .with_context(|| format!("group {group} vanished"))?;
            println!(
                "resolved fork of {group}: kept the {keep} branch; fork epoch is now {}; hub holds up to seq {}",
                row.fork_epoch, row.seq
            );
            if !keep_offered {
                println!(
                    "the node on the other branch must run `sajja-node restore` and re-enter its own events as new ones"
                );
            }
            Ok(())
        }
    }
}
