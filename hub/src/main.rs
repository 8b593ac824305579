//! `sajja-hub`: run a tambon or province hub, and administer it.

mod demo;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use sajja_common::{Date, GroupId, PublicKey};
use sajja_hub::config::{HubConfig, Level};
use sajja_hub::ingest::{BatchOutcome, Ingest, unix_now};
use sajja_hub::store::Store;
use sajja_hub::{positions, report, server, tls};

#[derive(Parser)]
#[command(
    name = "sajja-hub",
    version,
    about = "Sajja tambon/province hub: verifies, stores and consolidates group ledgers"
)]
struct Cli {
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
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
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
        } => init(&dir, &hub_id, &level, &listen, &names),
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
            open_store(&config)?.enrol(&group, &key, unix_now())?;
            println!("enrolled {group} with key {key}");
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
        Command::Query {
            command:
                QueryCommand::Groups {
                    config,
                    scope,
                    as_of,
                },
        } => {
            let config = load(&config)?;
            let as_of = match as_of {
                Some(text) => text.parse::<Date>()?,
                None => today(),
            };
            let store = open_store(&config)?;
            let lines = positions::group_lines(&store, scope.as_deref().unwrap_or(""), as_of)?;
            print!("{}", report::group_table(&lines, as_of));
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

/// Today in Thailand (UTC+7), the default business date of a report.
fn today() -> Date {
    let days = (unix_now() + 7 * 3600).div_euclid(86_400);
    Date::from_days(days.max(0) as u32).unwrap_or(Date::EPOCH)
}

fn init(
    dir: &Path,
    hub_id: &str,
    level: &str,
    listen: &str,
    names: &[String],
) -> anyhow::Result<()> {
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        bail!("{} exists and is not empty", dir.display());
    }
    let _: std::net::SocketAddr = listen
        .parse()
        .with_context(|| format!("--listen {listen} is not an address"))?;
    std::fs::create_dir_all(dir.join("tls"))?;
    std::fs::create_dir_all(dir.join("data"))?;
    let ca = tls::generate_ca(hub_id)?;
    let server = tls::issue_server_cert(&ca, hub_id, names)?;
    tls::write_public(&dir.join("tls/ca.pem"), ca.cert.as_bytes())?;
    tls::write_private(&dir.join("tls/ca.key"), ca.key.as_bytes())?;
    tls::write_public(&dir.join("tls/server.pem"), server.cert.as_bytes())?;
    tls::write_private(&dir.join("tls/server.key"), server.key.as_bytes())?;
    let config = format!(
        "# Sajja hub configuration. Paths are relative to this file.\n\
         hub_id = \"{hub_id}\"\n\
         level = \"{level}\"\n\
         listen = \"{listen}\"\n\
         data_dir = \"data\"\n\n\
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
        "nodes verify this hub with {}",
        dir.join("tls/ca.pem").display()
    );
    Ok(())
}

async fn run_hub(config: HubConfig) -> anyhow::Result<()> {
    let store = open_store(&config)?;
    let ingest = Arc::new(Mutex::new(Ingest::new(store)));
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
    server::serve(&config, ingest, listener, shutdown_signal()).await?;
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
