//! `sajja-hub`: run a tambon or province hub, and administer it.

mod demo;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use sajja_common::admin::AdminBody;
use sajja_common::{Date, GroupId, PoolId, PublicKey};
use sajja_edge::clock::unix_now;
use sajja_hub::backup::PendingBackup;
use sajja_hub::config::HubConfig;
use sajja_hub::ingest::accept::{BatchOutcome, Ingest};
use sajja_hub::ingest::admin;
use sajja_hub::ingest::admin::HubIdentity;
use sajja_hub::ingest::operations;
use sajja_hub::logging::{self, LogFormat};
use sajja_hub::pki::certs as tls;
use sajja_hub::read::query;
use sajja_hub::relay;
use sajja_hub::render as report;
use sajja_hub::rpc::query_client;
use sajja_hub::rpc::sync as server;
use sajja_hub::store::Store;

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
        /// The address nodes reach this hub by, `https://host:port`: written
        /// into every enrolment bundle and the server certificate. Required
        /// when --listen is a wildcard (0.0.0.0 or [::]), which no node can dial.
        #[arg(long)]
        public_url: Option<String>,
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
    /// Enrol a group, child hub, coordinator or operator, and write the
    /// enrolment bundle (hub address, CA, client certificate and key) that
    /// is all it needs to connect.
    #[command(subcommand)]
    Enrol(EnrolCommand),
    /// Revoke certificates: refused from their next call, no restart needed.
    Revoke {
        #[command(subcommand)]
        what: RevokeCommand,
        #[arg(long, global = true)]
        config: Option<PathBuf>,
    },
    /// List the certificates this hub issued, and which are revoked.
    Credentials {
        #[arg(long)]
        config: PathBuf,
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
    /// Ask the running hub's `/health` (`metrics_listen`) and print its
    /// answer: exit 0 when healthy, 1 otherwise. For a container's
    /// HEALTHCHECK or a monitoring script on an image without curl.
    Health {
        #[arg(long)]
        config: PathBuf,
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
    /// Replace the key of a group that lost it (its node and key backup are
    /// gone): recorded in this hub's log and relayed upward, and from then on
    /// checkpoints signed with any earlier key of the group are refused. A
    /// group that still has its key rotates it itself (`sajja-node rotate-key`).
    Rekey {
        #[arg(long)]
        config: PathBuf,
        /// The group id, e.g. 230101-007.
        group: String,
        /// The new Ed25519 public key, hex (`sajja-node keygen` prints it).
        #[arg(long)]
        key: String,
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

/// Where a query is answered: exactly one of `--config` (on the hub
/// machine, reading its database) and `--bundle` (remotely, through the
/// hub's Query service, as the holder of an enrolment bundle).
#[derive(clap::Args)]
#[group(required = true, multiple = false)]
struct QuerySource {
    /// The hub's config: answer from its database on this machine.
    #[arg(long)]
    config: Option<PathBuf>,
    /// An enrolment bundle (`sajja-hub enrol coordinator|operator|group`):
    /// ask the hub that issued it over the network, within what the bundle's
    /// holder may see.
    #[arg(long)]
    bundle: Option<PathBuf>,
}

#[derive(Subcommand)]
enum QueryCommand {
    /// Each group's position under a scope.
    Groups {
        #[command(flatten)]
        source: QuerySource,
        /// Province (2 digits) or tambon (6 digits) geocode, or a group id
        /// (default: this hub's, or the bundle holder's own scope).
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
    /// Sums, counts and indicators over a province, tambon or group, and its pools.
    Position {
        #[command(flatten)]
        source: QuerySource,
        /// Province or tambon geocode, or a group id (default: this hub's,
        /// or the bundle holder's own scope).
        scope: Option<String>,
        #[arg(long)]
        as_of: Option<String>,
        #[command(flatten)]
        format: Format,
    },
    /// Pooled funds' reserve ratios against their policies.
    Reserves {
        #[command(flatten)]
        source: QuerySource,
        /// Province or tambon geocode (default: this hub's, or the bundle
        /// holder's own scope).
        scope: Option<String>,
        #[arg(long)]
        as_of: Option<String>,
        #[command(flatten)]
        format: Format,
    },
    /// What a coordinator must look at: reserves below policy, forks, stale
    /// groups, close digests that do not match, broken month sign-offs.
    Alerts {
        #[command(flatten)]
        source: QuerySource,
        /// Province or tambon geocode, or a group id (default: this hub's,
        /// or the bundle holder's own scope).
        scope: Option<String>,
        #[arg(long)]
        as_of: Option<String>,
        #[command(flatten)]
        format: Format,
    },
    /// Month sign-offs recorded in the hub logs held here, each checked
    /// against the logs as they are now (BROKEN when they no longer agree).
    Signoffs {
        #[command(flatten)]
        source: QuerySource,
        /// Province or tambon geocode, or a group id (default: this hub's,
        /// or the bundle holder's own scope).
        scope: Option<String>,
        #[command(flatten)]
        format: Format,
    },
    /// Fetch a group's raw log from the hub and verify it yourself: every
    /// hash, and the latest checkpoint's signature under the group's key.
    /// The hub sends the group's current public key with the log and the
    /// report prints it: check it against the key you know (from the
    /// group's treasurer, `sajja-node status`), or give it with --key to
    /// have it checked. Exit status 1 when anything does not verify.
    Log {
        /// An enrolment bundle (an auditor is enrolled as a coordinator).
        #[arg(long)]
        bundle: PathBuf,
        /// The group id, e.g. 230101-007 (or a hub's log, 230101-000).
        group: String,
        /// The Ed25519 public key (hex) you expect the group to sign with.
        #[arg(long)]
        key: Option<String>,
        /// Verify only from this seq on (the hub's signed head at the end
        /// still covers everything before it).
        #[arg(long, default_value_t = 1)]
        from_seq: u64,
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

/// `GET /health` on the running hub's operations endpoint.
fn health(config: &HubConfig) -> anyhow::Result<()> {
    use std::io::{Read, Write};
    let addr = match std::fs::read_to_string(config.metrics_addr_file()) {
        Ok(addr) => addr.trim().to_string(),
        Err(_) => match config.metrics_listen {
            Some(listen) => listen.to_string(),
            None => bail!("metrics_listen is not set in the config: the hub serves no /health"),
        },
    };
    let timeout = std::time::Duration::from_secs(10);
    let mut stream = std::net::TcpStream::connect(&addr)
        .with_context(|| format!("the hub's /health at {addr} does not answer"))?;
    stream.set_read_timeout(Some(timeout))?;
    write!(
        stream,
        "GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = Vec::new();
    stream.take(64 * 1024).read_to_end(&mut answer)?;
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let healthy = head.starts_with("HTTP/1.1 200");
    print!("{body}");
    if !body.ends_with('\n') {
        println!();
    }
    if healthy {
        Ok(())
    } else {
        bail!("hub {} is not healthy", config.hub_id)
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

/// `sajja-hub rekey`: an operator re-key in the hub's own log.
fn rekey(config_path: &Path, group: &str, key: &str) -> anyhow::Result<()> {
    let config = load(config_path)?;
    let group = parse_group(group)?;
    let key = operations::parse_group_key(key).context("--key")?;
    if group.is_hub_log() {
        bail!("{group} is a hub's log id; a child hub's key is its [[children]] entry");
    }
    let identity = HubIdentity::load(&config)?;
    let mut ingest = Ingest::new(open_store(&config)?);
    let row = ingest
        .store()
        .group(&group)?
        .with_context(|| format!("group {group} is not enrolled at this hub"))?;
    if row.key == key {
        println!("{group} already signs with key {key}");
        return Ok(());
    }
    // A restore verifies the log from a key it had; the first one always is.
    let first = ingest.store().key_at(&row, 0)?;
    let seq = admin::append(
        &mut ingest,
        &identity,
        vec![AdminBody::GroupRekeyed {
            group: group.clone(),
            key,
        }],
    )?;
    println!("re-keyed {group} to {key} (hub log seq {seq})");
    println!(
        "checkpoints signed with {} or any earlier key of {group} are refused from now on",
        row.key
    );
    println!("next: issue the node's bundle for the new key:");
    println!(
        "  sajja-hub enrol group {group} --key {key} --config {}",
        config_path.display()
    );
    println!("and tell the treasurer the group's first key, {first}, to restore with:");
    println!("  sajja-node restore --bundle FILE --key NEW-KEY-FILE --group-key {first}");
    Ok(())
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
            public_url,
            names,
            data_dir,
        } => init(
            &dir,
            &hub_id,
            &level,
            &listen,
            public_url.as_deref(),
            &names,
            &data_dir,
        ),
        Command::CheckConfig { file } => match sajja_hub::config::check_file(&file) {
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
        Command::Enrol(what) => enrol(what),
        Command::Revoke { config, what } => {
            let config = load(&config.context("--config is required")?)?;
            let store = open_store(&config)?;
            let target = match what {
                RevokeCommand::Serial { serial } => operations::RevokeTarget::Serial(serial),
                RevokeCommand::Group { group } => operations::RevokeTarget::Principal(
                    operations::principal("group", &group, None)?,
                ),
                RevokeCommand::Hub { hub } => {
                    operations::RevokeTarget::Principal(operations::principal("hub", &hub, None)?)
                }
                RevokeCommand::Coordinator { name, scope } => operations::RevokeTarget::Principal(
                    operations::principal("coordinator", &name, Some(&scope))?,
                ),
                RevokeCommand::Operator { name } => operations::RevokeTarget::Principal(
                    operations::principal("operator", &name, None)?,
                ),
            };
            for serial in operations::revoke(&store, &target)? {
                println!("revoked certificate {serial}: refused from its next call");
            }
            Ok(())
        }
        Command::Credentials { config } => {
            let config = load(&config)?;
            let store = open_store(&config)?;
            println!("{:<34} {:<40} {:<20} status", "serial", "holder", "expires");
            for credential in operations::credentials(&store)? {
                let status = match credential.revoked_at {
                    Some(at) => format!("revoked {}", sajja_hub::values::time::timestamp(at)),
                    None if credential.not_after < unix_now() => "expired".to_string(),
                    None => "live".to_string(),
                };
                println!(
                    "{:<34} {:<40} {:<20} {status}",
                    credential.serial,
                    credential.principal.to_string(),
                    sajja_hub::values::time::timestamp(credential.not_after)
                );
            }
            Ok(())
        }
        Command::Rekey { config, group, key } => rekey(&config, &group, &key),
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
        Command::Health { config } => health(&load(&config)?),
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

/// A query's scope as given on the command line; `None` asks for the
/// default (the hub's own, or the bundle holder's).
fn scope_arg(scope: Option<String>) -> anyhow::Result<Option<query::Scope>> {
    Ok(scope.map(|s| query::Scope::parse(&s)).transpose()?)
}

fn as_of_arg(as_of: Option<String>) -> anyhow::Result<Option<Date>> {
    as_of
        .map(|text| {
            text.parse::<Date>()
                .with_context(|| format!("--as-of {text}: expected YYYY-MM-DD"))
        })
        .transpose()
}

/// `sajja-hub query`: one answer, from the local database or the remote
/// service, printed by the one renderer.
fn query(command: QueryCommand) -> anyhow::Result<()> {
    let (source, ask, format) = match command {
        QueryCommand::Log {
            bundle,
            group,
            key,
            from_seq,
            format,
        } => return query_log(&bundle, &group, key.as_deref(), from_seq, &format),
        QueryCommand::Groups {
            source,
            scope,
            as_of,
            stale,
            forked,
            arrears,
            below_reserve,
            format,
        } => {
            let filter = sajja_hub::values::lines::GroupFilter {
                stale,
                forked,
                arrears,
                below_reserve,
            };
            let ask = query::Ask::Groups {
                scope: scope_arg(scope)?,
                as_of: as_of_arg(as_of)?,
                filter,
            };
            (source, ask, format)
        }
        QueryCommand::Position {
            source,
            scope,
            as_of,
            format,
        } => {
            let ask = query::Ask::Position {
                scope: scope_arg(scope)?,
                as_of: as_of_arg(as_of)?,
            };
            (source, ask, format)
        }
        QueryCommand::Reserves {
            source,
            scope,
            as_of,
            format,
        } => {
            let ask = query::Ask::Reserves {
                scope: scope_arg(scope)?,
                as_of: as_of_arg(as_of)?,
            };
            (source, ask, format)
        }
        QueryCommand::Alerts {
            source,
            scope,
            as_of,
            format,
        } => {
            let ask = query::Ask::Alerts {
                scope: scope_arg(scope)?,
                as_of: as_of_arg(as_of)?,
            };
            (source, ask, format)
        }
        QueryCommand::Signoffs {
            source,
            scope,
            format,
        } => {
            let ask = query::Ask::SignOffs {
                scope: scope_arg(scope)?,
            };
            (source, ask, format)
        }
    };
    let answer = match (source.config, source.bundle) {
        (Some(config), None) => {
            let config = load(&config)?;
            let store = sajja_hub::read::cache::Reader::new(open_store(&config)?);
            let cx = query::Context::new(&store, config.freshness(unix_now()));
            // The operator on the hub machine sees everything the hub holds.
            query::answer(
                &cx,
                &ask,
                &query::Scope::parse(&config.hub_id)?,
                &query::Audience::Everything,
            )?
        }
        (None, Some(bundle)) => {
            let bundle = sajja_edge::enrolment::Enrolment::read(&bundle)?;
            remote_runtime()?.block_on(async {
                let mut remote = query_client::Remote::connect(&bundle).await?;
                remote.answer(&ask).await
            })?
        }
        _ => bail!("give exactly one of --config (on the hub machine) and --bundle (remote)"),
    };
    print!("{}", answer.render(format.output()));
    Ok(())
}

/// A small runtime for one remote call: the CLI has nothing else to run.
fn remote_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// `sajja-hub query log`: fetches a group's raw log and verifies it here.
fn query_log(
    bundle: &Path,
    group: &str,
    key: Option<&str>,
    from_seq: u64,
    format: &Format,
) -> anyhow::Result<()> {
    let group = parse_group(group)?;
    let expected = key
        .map(|k| {
            PublicKey::from_hex(k).context("--key must be 64 hex digits (an Ed25519 public key)")
        })
        .transpose()?;
    let bundle = sajja_edge::enrolment::Enrolment::read(bundle)?;
    let audited = remote_runtime()?.block_on(async {
        let mut remote = query_client::Remote::connect(&bundle)
            .await
            .map_err(query_client::AuditError::from)?;
        remote.audit_log(&group, from_seq, expected).await
    })?;
    print!("{}", audited.render(format.output()));
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
    let log = identity.log();
    match admin::sign_off(&mut ingest, &identity, &config, subject, month)? {
        admin::SignedOff::Already { seq } => {
            println!("{subject} {month} is already signed off (hub log {log} seq {seq})")
        }
        admin::SignedOff::New { seq, digest } => println!(
            "signed off {subject} {month} (digest {}) in hub log {log} at seq {seq}",
            &digest.to_hex()[..16]
        ),
    }
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
        let held = ingest
            .position(&checkpoint.checkpoint.group)
            .map_or(0, |p| p.seq);
        match ingest.batch(batch.from_seq, &batch.events, &checkpoint) {
            Ok(BatchOutcome::Acked { from, to, .. }) => {
                println!("accepted {} seq {from}..={to}", checkpoint.checkpoint.group);
                // New events carried by hand are the group's contact too.
                if to > held {
                    ingest.record_contact(&checkpoint.checkpoint.group, unix_now())?;
                }
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

/// Enrol a group, child hub, coordinator or operator, and write the
/// enrolment bundle (hub address, CA, client certificate and key) that is
/// all it needs to connect.
#[derive(Subcommand)]
enum EnrolCommand {
    /// A group's node; its public key is printed by `sajja-node init` (and
    /// `sajja-node status`) on the node.
    Group {
        /// The group id, e.g. 230101-007.
        group: String,
        /// The group's Ed25519 PUBLIC key, 64 hex digits: the "public key"
        /// line of `sajja-node status` or `sajja-node init`. Never the file
        /// `sajja-node key-export` writes: that is the group's private key
        /// backup, and it is refused.
        #[arg(long)]
        key: String,
        #[command(flatten)]
        opts: EnrolOpts,
    },
    /// A child (tambon) hub, listed under [[children]] (province only).
    Hub {
        hub: String,
        #[command(flatten)]
        opts: EnrolOpts,
    },
    /// A coordinator: read-only queries within a province or tambon.
    Coordinator {
        /// A short name: a-z, 0-9, '.', '_', '-' (not the person's full name).
        name: String,
        /// A province (2 digits) or tambon (6 digits) geocode within this hub.
        #[arg(long)]
        scope: String,
        #[command(flatten)]
        opts: EnrolOpts,
    },
    /// An operator: the Admin service (enrol, revoke, resolve forks) remotely,
    /// and the dashboard, where an operator also signs off months.
    Operator {
        name: String,
        #[command(flatten)]
        opts: EnrolOpts,
    },
    /// A supporting agency (คุณเอื้อ): the dashboard's figures and groups of a
    /// scope. Prints a one-time code for the dashboard; no gRPC bundle.
    Agency {
        name: String,
        #[arg(long)]
        scope: String,
        #[arg(long)]
        config: PathBuf,
    },
    /// A researcher (คุณวิจัย): as an agency, plus the de-identified export.
    /// Prints a one-time code for the dashboard; no gRPC bundle.
    Researcher {
        name: String,
        #[arg(long)]
        scope: String,
        #[arg(long)]
        config: PathBuf,
    },
}

#[derive(clap::Args)]
struct EnrolOpts {
    #[arg(long)]
    config: PathBuf,
    /// Where to write the bundle (mode 0600; never overwritten).
    /// Default: <role>-<subject>.bundle in the current directory.
    #[arg(long)]
    out: Option<PathBuf>,
    /// The hub address to put in the bundle (default: `public_url` from the
    /// config, else the address the running hub listens on).
    #[arg(long)]
    url: Option<String>,
}

#[derive(Subcommand)]
enum RevokeCommand {
    /// Every certificate of a group.
    Group { group: String },
    /// Every certificate of a child hub.
    Hub { hub: String },
    /// Every certificate of a coordinator in a scope.
    Coordinator {
        name: String,
        #[arg(long)]
        scope: String,
    },
    /// Every certificate of an operator.
    Operator { name: String },
    /// One certificate, by the serial in its bundle or `credentials`.
    Serial { serial: String },
}

/// Makes (or resets) a dashboard account and prints its one-time code.
fn dashboard_code(
    config: &HubConfig,
    name: &str,
    role: sajja_hub::web::accounts::WebRole,
    scope: &str,
) -> anyhow::Result<()> {
    let accounts = sajja_hub::web::accounts::Accounts::open(&config.web_users_path())?;
    let code = accounts.issue_code(name, role, scope)?;
    let at = std::fs::read_to_string(config.web_addr_file())
        .map(|a| a.trim().to_string())
        .ok()
        .or_else(|| config.web.listen.map(|l| format!("http://{l}")));
    println!(
        "dashboard account {name} ({}, scope {scope}): one-time code {code}, valid {} days",
        role.name(),
        sajja_hub::web::accounts::CODE_SECONDS / 86_400
    );
    match at {
        Some(url) => println!("  set a password at {url}/welcome"),
        None => println!("  the dashboard is off: set [web] listen in the hub's config"),
    }
    Ok(())
}

fn enrol(what: EnrolCommand) -> anyhow::Result<()> {
    use sajja_hub::web::accounts::WebRole;
    // Agencies and researchers have the dashboard only: no bundle.
    let web_only = |role: WebRole, name: &str, scope: &str, config: &Path| {
        let config = load(config)?;
        operations::principal("coordinator", name, Some(scope))?;
        dashboard_code(&config, name, role, scope)
    };
    let (principal, public_key, opts) = match what {
        EnrolCommand::Group { group, key, opts } => {
            let key = operations::parse_group_key(&key).context("--key")?;
            (
                operations::principal("group", &group, None)?,
                Some(key),
                opts,
            )
        }
        EnrolCommand::Hub { hub, opts } => (operations::principal("hub", &hub, None)?, None, opts),
        EnrolCommand::Coordinator { name, scope, opts } => (
            operations::principal("coordinator", &name, Some(&scope))?,
            None,
            opts,
        ),
        EnrolCommand::Operator { name, opts } => {
            (operations::principal("operator", &name, None)?, None, opts)
        }
        EnrolCommand::Agency {
            name,
            scope,
            config,
        } => return web_only(WebRole::Agency, &name, &scope, &config),
        EnrolCommand::Researcher {
            name,
            scope,
            config,
        } => return web_only(WebRole::Researcher, &name, &scope, &config),
    };
    let EnrolOpts { config, out, url } = opts;
    let config = &load(&config)?;
    if let Some(url) = &url
        && let Err(e) = sajja_edge::enrolment::check_hub_url(url)
    {
        bail!("--url {e}");
    }
    let out = out.unwrap_or_else(|| {
        PathBuf::from(format!(
            "{}-{}.bundle",
            principal.role().name(),
            principal.subject()
        ))
    });
    if out.exists() {
        bail!("{} exists; a bundle is never overwritten", out.display());
    }
    let mut ingest = Ingest::new(open_store(config)?);
    let bundle = operations::enrol(
        &mut ingest,
        config,
        operations::EnrolRequest {
            principal: principal.clone(),
            public_key,
            hub_url: url.unwrap_or_else(|| operations::hub_url(config)),
        },
    )?;
    bundle.write(&out)?;
    println!(
        "enrolled {principal}: certificate {} valid until {}",
        bundle.serial,
        sajja_hub::values::time::timestamp(bundle.not_after)
    );
    println!(
        "wrote {} (mode 0600, it holds a private key) for {}",
        out.display(),
        bundle.hub_url
    );
    use sajja_hub::values::principal::Principal;
    match &principal {
        Principal::Coordinator { name, scope } => dashboard_code(
            config,
            name,
            sajja_hub::web::accounts::WebRole::Coordinator,
            scope,
        )?,
        Principal::Operator(name) => dashboard_code(
            config,
            name,
            sajja_hub::web::accounts::WebRole::Operator,
            &config.hub_id,
        )?,
        Principal::Group(_) | Principal::Hub(_) => {}
    }
    Ok(())
}

fn init(
    dir: &Path,
    hub_id: &str,
    level: &str,
    listen: &str,
    public_url: Option<&str>,
    names: &[String],
    data_dir: &Path,
) -> anyhow::Result<()> {
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        bail!("{} exists and is not empty", dir.display());
    }
    let listen_addr: std::net::SocketAddr = listen
        .parse()
        .with_context(|| format!("--listen {listen} is not an address"))?;
    let names = tls::certificate_names(listen_addr, public_url, names)?;
    let public_url_line = match public_url {
        Some(url) => format!("public_url = \"{url}\"\n"),
        None => String::new(),
    };
    std::fs::create_dir_all(dir.join("tls"))?;
    let data_dir_text = data_dir
        .to_str()
        .with_context(|| format!("--data-dir {} is not UTF-8", data_dir.display()))?
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    let ca = tls::generate_ca(hub_id)?;
    let server = tls::issue_server_cert(&ca, hub_id, &names)?;
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
         {public_url_line}\
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
    // A file-size limit (a quota) must fail a write, not kill the hub:
    // SIGXFSZ's default would end the process; caught, the write returns
    // EFBIG, the batch is refused unacknowledged and /health says why.
    let mut file_size_signals = tokio::signal::unix::signal(
        tokio::signal::unix::SignalKind::from_raw(rustix::process::Signal::XFSZ.as_raw()),
    )?;
    let hub_id = config.hub_id.clone();
    tokio::spawn(async move {
        while file_size_signals.recv().await.is_some() {
            tracing::error!(hub = %hub_id, "a write went past the file-size limit");
        }
    });
    let identity = HubIdentity::load(&config)?;
    let mut ingest = Ingest::new(open_store(&config)?);
    let writes = ingest.write_health();
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
    // Before serving: a damaged log is held from the first push.
    let scrub_state = Arc::new(sajja_hub::ingest::scrub::ScrubState::default());
    let damaged = tokio::task::spawn_blocking({
        let path = config.database_path();
        let scrub = config.scrub.clone();
        let state = scrub_state.clone();
        move || sajja_hub::ingest::scrub::startup_pass(&Store::open(&path)?, &scrub, &state)
    })
    .await??;
    tracing::info!(
        hub = %config.hub_id,
        damaged = damaged.len(),
        integrity_ok = scrub_state.integrity_problem().is_none(),
        "start-up scrub done"
    );
    let scrubber = tokio::spawn(sajja_hub::ingest::scrub::run(
        config.database_path(),
        config.scrub.clone(),
        scrub_state.clone(),
        sajja_edge::shutdown::signal(),
    ));
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
    let metrics = Arc::new(sajja_hub::net::metrics::Metrics::default());
    let operations = sajja_hub::net::http::start(
        &config,
        metrics.clone(),
        scrub_state.clone(),
        writes,
        sajja_edge::shutdown::signal(),
    )
    .await?;
    let relay = match &config.parent {
        Some(parent) => {
            let bundle = sajja_edge::enrolment::Enrolment::read(&parent.bundle)?;
            let link = relay::ParentLink::from_enrolment(&bundle);
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
                sajja_edge::shutdown::signal(),
            )))
        }
        None => None,
    };
    let dashboard = match sajja_hub::web::bind(&config).await? {
        Some(web_listener) => {
            let app = sajja_hub::web::app::App::open(
                config.clone(),
                HubIdentity::load(&config)?,
                ingest.clone(),
            )?;
            Some(tokio::spawn(sajja_hub::web::serve(
                web_listener,
                app,
                sajja_edge::shutdown::signal(),
            )))
        }
        None => None,
    };
    sajja_hub::rpc::serve::serve_metered(
        &config,
        ingest,
        metrics,
        listener,
        sajja_edge::shutdown::signal(),
    )
    .await?;
    if let Some(relay) = relay {
        relay.abort();
    }
    if let Some(dashboard) = dashboard {
        dashboard.abort();
    }
    if let Some(operations) = operations {
        operations.abort();
    }
    scrubber.abort();
    tracing::info!(hub = %config.hub_id, "stopped");
    Ok(())
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
