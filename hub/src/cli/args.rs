//! The command line: every command, flag and help text of `sajja-hub`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use sajja_hub::logging::LogFormat;
use sajja_hub::render as report;

#[derive(Parser)]
#[command(
    name = "sajja-hub",
    version,
    about = "Sajja tambon/province hub: verifies, stores and consolidates group ledgers"
)]
pub(crate) struct Cli {
    /// Log lines as `text` (default) or `json` (one object a line), on stderr.
    #[arg(long, global = true, value_parser = |t: &str| t.parse::<LogFormat>())]
    pub(crate) log_format: Option<LogFormat>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
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
pub(crate) struct Format {
    /// JSON for machines: amounts as baht strings with two decimals, ratios in
    /// basis points.
    #[arg(long, conflicts_with = "csv")]
    pub(crate) json: bool,
    /// CSV for spreadsheets, with the same exact amounts as JSON.
    #[arg(long)]
    pub(crate) csv: bool,
}

impl Format {
    pub(crate) fn output(&self) -> report::Output {
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
pub(crate) struct QuerySource {
    /// The hub's config: answer from its database on this machine.
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    /// An enrolment bundle (`sajja-hub enrol coordinator|operator|group`):
    /// ask the hub that issued it over the network, within what the bundle's
    /// holder may see.
    #[arg(long)]
    pub(crate) bundle: Option<PathBuf>,
}

#[derive(Subcommand)]
pub(crate) enum QueryCommand {
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
    /// Community exchanges: credits in circulation, debit and vouchers
    /// outstanding, and how much of them the reserve pledged by the groups
    /// covers, against the exchange's policy. Credits are the exchange's own
    /// unit, never baht.
    Exchanges {
        #[command(flatten)]
        source: QuerySource,
        /// Province or tambon geocode, or an exchange's log id such as
        /// 230101-X01 (default: this hub's, or the bundle holder's scope).
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
pub(crate) enum PoolCommand {
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
pub(crate) enum ForkCommand {
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

/// Enrol a group, child hub, coordinator or operator, and write the
/// enrolment bundle (hub address, CA, client certificate and key) that is
/// all it needs to connect.
#[derive(Subcommand)]
pub(crate) enum EnrolCommand {
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
pub(crate) struct EnrolOpts {
    #[arg(long)]
    pub(crate) config: PathBuf,
    /// Where to write the bundle (mode 0600; never overwritten).
    /// Default: <role>-<subject>.bundle in the current directory.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// The hub address to put in the bundle (default: `public_url` from the
    /// config, else the address the running hub listens on).
    #[arg(long)]
    pub(crate) url: Option<String>,
}

#[derive(Subcommand)]
pub(crate) enum RevokeCommand {
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
