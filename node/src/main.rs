//! `sajja-node`: the treasurer's command line over the group's ledger.
//!
//! Exit codes: 0 done; 1 refused by a ledger rule (or an import row), or an
//! operating failure; 2 the ledger is damaged (`verify` names the first bad
//! seq); 64 bad usage (unknown flag, unparsable amount or date).

use sajja_edge::clock::unix_now;
use std::fmt;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use sajja_common::date::{Date, Month};
use sajja_common::event::{
    BenefitKind, Body, ExpenseKind, IncomeKind, LeaveReason, Rules, Sex, Source,
};
use sajja_common::ids::{GroupId, LoanNo, MemberNo, PoolId};
use sajja_common::ledger::{Refusal, trial_balance_digest};
use sajja_common::money::Money;
use sajja_common::{Event, PublicKey, SigningKey};
use sajja_edge::enrolment::Enrolment;
use sajja_node::backup::PendingBackup;
use sajja_node::compose;
use sajja_node::config::{self, NodeConfig};
use sajja_node::import::{self, ImportError};
use sajja_node::link;
use sajja_node::logging::LogFormat;
use sajja_node::report::{self, Passbook};
use sajja_node::rules_file;
use sajja_node::store::{self, GroupInit, RegisterEntry, Store, StoreError};
use sajja_node::sync::HubLink;
use sajja_node::vocab::{self, parse_date, parse_loan, parse_member, parse_money};

const EXIT_REFUSED: u8 = 1;
const EXIT_DAMAGED: u8 = 2;
const EXIT_USAGE: u8 = 64;
/// How many events `log` shows when not told.
const LOG_LIMIT_DEFAULT: u64 = 50;
const DATABASE_FILE: &str = "ledger.sqlite";
/// `status` warns this many days before the client certificate expires: time
/// for a bundle to travel from the hub operator to the village.
const CERT_WARN_DAYS: i64 = 30;

#[derive(Parser)]
#[command(
    name = "sajja-node",
    version,
    about = "Sajja group node: the treasurer's ledger for a community savings or welfare group (สัจจะ)",
    long_about = None
)]
struct Cli {
    /// Directory holding the group's ledger (created by `init`)
    /// [default: `data_dir` from --config, else ./sajja-node-data].
    #[arg(long, global = true, env = "SAJJA_NODE_DATA")]
    data_dir: Option<PathBuf>,
    /// A node.toml whose values are the defaults for these flags
    /// (see deploy/examples/node.toml); its [hub] bundle overrides the link
    /// `init --bundle` stored.
    #[arg(long, global = true, env = "SAJJA_NODE_CONFIG")]
    config: Option<PathBuf>,
    /// Log lines as `text` or `json` (one object a line), on stderr
    /// [default: [log] format from --config, else text].
    #[arg(long, global = true, value_parser = |t: &str| t.parse::<LogFormat>())]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Command,
}

/// The business date and the money account, shared by money-moving commands.
#[derive(Args)]
struct Posting {
    /// Business date, YYYY-MM-DD (default: today in Thailand).
    #[arg(long, value_parser = parse_date)]
    date: Option<Date>,
    /// Use the bank account instead of cash.
    #[arg(long)]
    bank: bool,
}

impl Posting {
    fn date(&self) -> Date {
        self.date.unwrap_or_else(sajja_edge::clock::today)
    }
    fn channel(&self) -> sajja_common::event::Channel {
        vocab::channel(self.bank)
    }
}

#[derive(Args)]
struct Dated {
    /// Business date, YYYY-MM-DD (default: today in Thailand).
    #[arg(long, value_parser = parse_date)]
    date: Option<Date>,
}

#[derive(Subcommand)]
enum Command {
    /// Create a new group's ledger and its signing key (`--group`, `--name`);
    /// then, once the hub operator has enrolled the printed public key, install
    /// the enrolment bundle they hand over (`--bundle`).
    Init {
        /// Group id: tambon geocode, dash, group number (e.g. 230101-007).
        #[arg(long, value_parser = |t: &str| GroupId::parse(t).map_err(|e| e.to_string()))]
        group: Option<GroupId>,
        /// The group's name (Thai is fine).
        #[arg(long)]
        name: Option<String>,
        /// Install the group's enrolment bundle (from `sajja-hub enrol group`)
        /// into the existing ledger: the hub link. A re-issued bundle is
        /// installed the same way.
        #[arg(long, conflicts_with_all = ["tambon", "province", "opened_on", "rules"])]
        bundle: Option<PathBuf>,
        /// Tambon geocode, 6 digits (default: from the group id).
        #[arg(long)]
        tambon: Option<String>,
        /// Province geocode, 2 digits (default: from the group id).
        #[arg(long)]
        province: Option<String>,
        /// The day the group opened (default: today).
        #[arg(long, value_parser = parse_date)]
        opened_on: Option<Date>,
        /// Starting rules from a TOML file (default: 30 baht a month, 180 days' wait).
        #[arg(long)]
        rules: Option<PathBuf>,
    },
    /// Members: add, leave, list.
    #[command(subcommand)]
    Member(MemberCommand),
    /// Record a welfare contribution (เงินสัจจะ/เงินสมทบ).
    Contribute {
        /// Member number, or `-` for matching funds not tied to a member.
        member: String,
        #[arg(value_parser = parse_money, allow_negative_numbers = true)]
        amount: Money,
        /// The month paid for, YYYY-MM (default: the month of --date).
        #[arg(long, value_parser = |t: &str| t.parse::<Month>().map_err(|e| e.to_string()))]
        period: Option<Month>,
        /// Who paid: member, local, national or donation.
        #[arg(long, default_value = "member", value_parser = vocab::parse_source)]
        source: Source,
        /// A second payment for a period the member already paid, meant as
        /// such (without it the ledger refuses a period paid twice).
        #[arg(long)]
        extra: bool,
        #[command(flatten)]
        posting: Posting,
    },
    /// Deposit to a member's savings (เงินออม).
    Save {
        #[arg(value_parser = parse_member)]
        member: MemberNo,
        #[arg(value_parser = parse_money, allow_negative_numbers = true)]
        amount: Money,
        #[command(flatten)]
        posting: Posting,
    },
    /// Withdraw from a member's savings.
    Withdraw {
        #[arg(value_parser = parse_member)]
        member: MemberNo,
        #[arg(value_parser = parse_money, allow_negative_numbers = true)]
        amount: Money,
        #[command(flatten)]
        posting: Posting,
    },
    /// Pay a welfare benefit (สวัสดิการ).
    Benefit {
        #[arg(value_parser = parse_member)]
        member: MemberNo,
        /// childbirth, sickness, old-age, death, education, disaster or other.
        #[arg(value_parser = vocab::parse_benefit_kind)]
        kind: BenefitKind,
        #[arg(value_parser = parse_money, allow_negative_numbers = true)]
        amount: Money,
        /// Hospital nights (sickness).
        #[arg(long, default_value_t = 0)]
        nights: u32,
        /// The committee approves what the rules would refuse, for this reason.
        #[arg(long = "override", value_name = "REASON")]
        override_reason: Option<String>,
        #[command(flatten)]
        posting: Posting,
    },
    /// Loans (เงินกู้): disburse, repay, write-off, list.
    #[command(subcommand)]
    Loan(LoanCommand),
    /// Move cash to the bank account (or, with --draw, bank to cash).
    Bank {
        #[arg(value_parser = parse_money, allow_negative_numbers = true)]
        amount: Money,
        /// Draw cash from the bank instead.
        #[arg(long)]
        draw: bool,
        #[command(flatten)]
        dated: Dated,
    },
    /// Record income: bank-interest, donation, fundraising or fee.
    Income {
        #[arg(value_parser = vocab::parse_income_kind)]
        kind: IncomeKind,
        #[arg(value_parser = parse_money, allow_negative_numbers = true)]
        amount: Money,
        #[command(flatten)]
        posting: Posting,
    },
    /// Record an expense: administration, meeting, bank-fee or other.
    Expense {
        #[arg(value_parser = vocab::parse_expense_kind)]
        kind: ExpenseKind,
        #[arg(value_parser = parse_money, allow_negative_numbers = true)]
        amount: Money,
        #[command(flatten)]
        posting: Posting,
    },
    /// Network pooled funds (กองทุนเครือข่าย) and guarantee reserve.
    #[command(subcommand)]
    Pool(PoolCommand),
    /// Reverse an earlier event (it stays in the log).
    Reverse {
        seq: u64,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        dated: Dated,
    },
    /// Close a month, recording the trial balance digest.
    CloseMonth {
        #[arg(value_parser = |t: &str| t.parse::<Month>().map_err(|e| e.to_string()))]
        month: Month,
        #[command(flatten)]
        dated: Dated,
    },
    /// Show the group's rules, or change them from a TOML file.
    Rules {
        /// A TOML file whose keys replace the current rules.
        #[arg(long, value_name = "FILE")]
        set: Option<PathBuf>,
        #[command(flatten)]
        dated: Dated,
    },
    /// Trial balance and fund summary.
    Balance {
        /// The books as of the end of this business date.
        #[arg(long, value_parser = parse_date)]
        as_of: Option<Date>,
        /// CSV for spreadsheets.
        #[arg(long)]
        csv: bool,
    },
    /// A member's passbook: their events with running savings.
    Statement {
        #[arg(value_parser = parse_member)]
        member: MemberNo,
        #[arg(long)]
        csv: bool,
    },
    /// Events, newest last.
    Log {
        /// First seq to show (default: the last --limit events).
        #[arg(long)]
        from: Option<u64>,
        #[arg(long, default_value_t = LOG_LIMIT_DEFAULT)]
        limit: u64,
    },
    /// Re-check the whole chain and re-fold the books; names the first bad seq.
    Verify,
    /// Import an existing ledger from CSV: one event per row, all or nothing.
    /// The ledger remembers each file it imported; the same file again is
    /// refused.
    Import {
        file: PathBuf,
        /// Import it although the same file was imported before: the same
        /// entries are then recorded a second time.
        #[arg(long)]
        again: bool,
    },
    /// Local head, the hub's acknowledged seq and the group's public key.
    Status,
    /// Run the sync daemon: push new events as they are recorded, retry when
    /// the hub is unreachable, until SIGTERM or Ctrl-C.
    Run,
    /// Accounts for the treasurer's web app (`[web] listen` in node.toml).
    User {
        #[command(subcommand)]
        command: sajja_node::web::cli::UserCommand,
    },
    /// Sync with the hub now and exit 0 once it has acknowledged everything.
    Sync {
        /// Push everything pending and exit (for cron and scripts).
        #[arg(long, required = true)]
        once: bool,
    },
    /// Rebuild a lost node (a new SD card) from its hub, with the group's own
    /// enrolment bundle and key backup. Member names are not restored: they
    /// never left the village.
    Restore {
        /// The group's enrolment bundle [default: [hub] bundle from --config].
        #[arg(long)]
        bundle: Option<PathBuf>,
        /// The group id [default: the group the bundle enrols].
        #[arg(long, value_parser = |t: &str| GroupId::parse(t).map_err(|e| e.to_string()))]
        group: Option<GroupId>,
        /// The key backup written by `sajja-node key-export` (every key the
        /// node held), or, for a lost key, the new key from `sajja-node
        /// keygen` that the hub operator re-keyed the group to. Repeatable.
        #[arg(long, required = true)]
        key: Vec<PathBuf>,
        /// A public key the group had (hex), when no backup of it survives:
        /// the hub operator's `sajja-hub rekey` prints the group's first key.
        /// Repeatable.
        #[arg(long, value_parser = |t: &str| PublicKey::from_hex(t).ok_or("expected 64 hex digits (an Ed25519 public key)"))]
        group_key: Vec<PublicKey>,
    },
    /// Write every signing key this node holds (the current one and those it
    /// rotated away from, oldest first) to a file (mode 0600) for safe keeping.
    KeyExport { file: PathBuf },
    /// Replace the group's signing key with a new one: appends a KeyRotated
    /// event signed by the current key, which hubs verify, so no operator is
    /// needed. Take a new key backup afterwards.
    RotateKey {
        #[command(flatten)]
        dated: Dated,
    },
    /// Make a new signing key in FILE (mode 0600) and print its public key,
    /// for rebuilding a group whose key is lost: the hub operator re-keys the
    /// group to it (`sajja-hub rekey`), then `restore --key FILE`.
    Keygen { file: PathBuf },
    /// Write the events the hub has not acknowledged to a bundle file, for a
    /// hub reached only by USB stick (`sajja-hub import FILE`).
    Export {
        #[arg(long)]
        to: PathBuf,
        /// Export from this seq instead of after the hub's acknowledged position.
        #[arg(long)]
        from: Option<u64>,
    },
    /// Record the receipt `sajja-hub import` wrote for a bundle.
    ImportReceipt { file: PathBuf },
    /// Check a node.toml and explain each problem with its line; exit 0 when
    /// it is valid, 64 otherwise.
    CheckConfig { file: PathBuf },
    /// Copy the ledger, consistently, while the daemon runs (SQLite's backup
    /// API). DEST gets mode 0600 (it holds the signing key) and is never
    /// overwritten; restore by copying it back while the daemon is stopped.
    Backup { dest: PathBuf },
    #[command(subcommand, hide = true)]
    Debug(DebugCommand),
}

#[derive(Subcommand)]
enum MemberCommand {
    /// Add a member (the next member number).
    Add {
        /// Full name: kept only in this node's register, never sent anywhere.
        #[arg(long)]
        name: String,
        #[arg(long)]
        birth_year: u32,
        /// f or m.
        #[arg(long, value_parser = vocab::parse_sex)]
        sex: Option<Sex>,
        /// Kept only in this node's register.
        #[arg(long)]
        phone: Option<String>,
        /// National ID number: kept only in this node's register.
        #[arg(long)]
        id_number: Option<String>,
        /// Joining date (default: today).
        #[arg(long, value_parser = parse_date)]
        joined_on: Option<Date>,
    },
    /// A member leaves; their savings are refunded.
    Leave {
        #[arg(value_parser = parse_member)]
        member: MemberNo,
        /// resigned, moved or died.
        #[arg(long, value_parser = vocab::parse_leave_reason)]
        reason: LeaveReason,
        #[command(flatten)]
        posting: Posting,
    },
    /// Correct a member's name, phone or ID number in this node's register
    /// (or re-enter them after a restore). Never written to the log: the
    /// register stays on this node.
    Edit {
        #[arg(value_parser = parse_member)]
        member: MemberNo,
        #[arg(long)]
        name: Option<String>,
        /// An empty value ("") clears it.
        #[arg(long)]
        phone: Option<String>,
        /// An empty value ("") clears it.
        #[arg(long)]
        id_number: Option<String>,
    },
    /// List members with their savings and contributions.
    List {
        /// A contribution sheet for the next meeting instead: one row per
        /// active member, amount blank; fill in what each paid and import it
        /// back with `sajja-node import` (a row left blank records nothing).
        #[arg(long)]
        csv: bool,
        /// The meeting's date, written in each row of the sheet [default: today].
        #[arg(long, value_parser = parse_date, requires = "csv")]
        date: Option<Date>,
        /// Put each member's name in the sheet's note column. The file then
        /// holds personal data: keep it in the village.
        #[arg(long, requires = "csv")]
        with_names: bool,
    },
}

#[derive(Subcommand)]
enum LoanCommand {
    /// Lend to a member.
    Disburse {
        #[arg(value_parser = parse_member)]
        member: MemberNo,
        #[arg(value_parser = parse_money, allow_negative_numbers = true)]
        principal: Money,
        /// Monthly interest in percent, e.g. 1.5.
        #[arg(long, value_parser = vocab::parse_percent_basis_points)]
        rate: u32,
        /// Term in months.
        #[arg(long)]
        term: u32,
        /// How the principal falls due: equal (monthly instalments),
        /// maturity (interest monthly, principal at the end of the term) or
        /// flexible (all due by --due).
        #[arg(long, default_value = "equal", value_parser = vocab::parse_plan)]
        plan: vocab::PlanWord,
        /// A flexible loan's final due date.
        #[arg(long, value_parser = vocab::parse_date)]
        due: Option<Date>,
        /// A guarantor's member number (repeat for more).
        #[arg(long = "guarantor", value_parser = parse_member)]
        guarantors: Vec<MemberNo>,
        /// Loan number (default: the next one).
        #[arg(long, value_parser = parse_loan)]
        loan: Option<LoanNo>,
        #[command(flatten)]
        posting: Posting,
    },
    /// A repayment of principal and interest.
    Repay {
        #[arg(value_parser = parse_loan)]
        loan: LoanNo,
        #[arg(value_parser = parse_money, allow_negative_numbers = true)]
        principal: Money,
        #[arg(long, value_parser = parse_money, allow_negative_numbers = true)]
        interest: Option<Money>,
        #[command(flatten)]
        posting: Posting,
    },
    /// Write off what is outstanding on a loan.
    WriteOff {
        #[arg(value_parser = parse_loan)]
        loan: LoanNo,
        #[command(flatten)]
        dated: Dated,
    },
    /// Loans with what is outstanding and in arrears.
    List {
        /// Arrears as of this date (default: today).
        #[arg(long, value_parser = parse_date)]
        date: Option<Date>,
    },
}

#[derive(Args)]
struct PoolMove {
    /// Pool id: network geocode, optionally -SUFFIX (e.g. 230101, 23-RES).
    #[arg(value_parser = |t: &str| PoolId::parse(t).map_err(|e| e.to_string()))]
    pool: PoolId,
    #[arg(value_parser = parse_money, allow_negative_numbers = true)]
    amount: Money,
    #[command(flatten)]
    posting: Posting,
}

#[derive(Subcommand)]
enum PoolCommand {
    /// Place money in a pooled fund.
    Deposit(PoolMove),
    /// Take money back from a pooled fund.
    Withdraw(PoolMove),
    /// Earmark welfare funds as guarantee reserve of a pool.
    Pledge(PoolMove),
    /// Release a reserve pledge.
    Release(PoolMove),
    /// Borrow from a pool.
    Borrow(PoolMove),
    /// Repay a pool loan.
    Repay {
        #[command(flatten)]
        movement: PoolMove,
        #[arg(long, value_parser = parse_money, allow_negative_numbers = true)]
        interest: Option<Money>,
    },
}

#[derive(Subcommand)]
enum DebugCommand {
    /// Append small events in a loop, printing each committed seq (crash tests).
    AppendLoop {
        #[arg(long, default_value_t = u64::MAX)]
        count: u64,
    },
}

/// A mistake in how the program was called, found after parsing.
#[derive(Debug)]
struct UsageError(String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError(message.into()).into()
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    if let Command::CheckConfig { file } = &cli.command {
        return check_config(file);
    }
    let config = match cli.config.as_deref().map(NodeConfig::load).transpose() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let log = config.as_ref().map(|c| c.log.clone()).unwrap_or_default();
    sajja_node::logging::init(
        cli.log_format.unwrap_or(log.format),
        tracing_subscriber::EnvFilter::try_from_env("SAJJA_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&log.level)),
    );
    match run(cli, config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sajja-node: {error}");
            ExitCode::from(exit_code(&error))
        }
    }
}

fn exit_code(error: &anyhow::Error) -> u8 {
    if error.downcast_ref::<UsageError>().is_some() {
        return EXIT_USAGE;
    }
    let store_error =
        error
            .downcast_ref::<StoreError>()
            .or_else(|| match error.downcast_ref::<ImportError>() {
                Some(ImportError::Store(e)) => Some(e),
                _ => None,
            });
    match store_error {
        Some(StoreError::Damaged(_)) => EXIT_DAMAGED,
        _ => EXIT_REFUSED,
    }
}

fn check_config(file: &Path) -> ExitCode {
    let shown = file.display().to_string();
    match config::check_file(file) {
        Ok(summary) => {
            println!("{shown}: ok: {summary}");
            ExitCode::SUCCESS
        }
        Err(problems) => {
            for problem in problems {
                eprintln!("{}", problem.display(&shown));
            }
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn database(data_dir: &Path) -> PathBuf {
    data_dir.join(DATABASE_FILE)
}

fn open(data_dir: &Path) -> anyhow::Result<Store> {
    match Store::open(&database(data_dir)) {
        Ok(store) => Ok(store),
        Err(StoreError::Damaged(damage)) => Err(anyhow::anyhow!(
            "ledger damaged: {damage}; {}",
            restore_hint(data_dir)
        )),
        Err(other) => Err(other.into()),
    }
}

/// What a treasurer does about a damaged ledger, in one line.
fn restore_hint(data_dir: &Path) -> String {
    let dir = data_dir.display();
    format!(
        "`status`, `key-export` and `backup` still work: take `sajja-node key-export KEY-BACKUP`, \
         move {dir} aside, then `sajja-node --data-dir {dir} restore --bundle BUNDLE --key KEY-BACKUP` \
         rebuilds the ledger from the hub"
    )
}

/// The ledger, or, when its log no longer verifies, what it still tells.
fn open_or_salvage(data_dir: &Path) -> anyhow::Result<Result<Store, store::Salvage>> {
    match Store::open(&database(data_dir)) {
        Ok(store) => Ok(Ok(store)),
        Err(StoreError::Damaged(_)) => Ok(Err(Store::salvage(&database(data_dir))?)),
        Err(other) => Err(other.into()),
    }
}

/// Writes the private key backup `key-export` makes.
fn write_key_backup(file: &Path, group: &GroupId, seeds: &[[u8; 32]]) -> anyhow::Result<()> {
    let mut text = format!(
        "# sajja-node PRIVATE key backup of group {group}: every signing key this node holds, oldest first.\n\
         # Never give it to a hub operator: the group's public key is in `sajja-node status`.\n"
    );
    for seed in seeds {
        text.push_str(&SigningKey::from_seed(seed)?.to_backup_line());
        text.push('\n');
    }
    write_private(file, text.as_bytes())?;
    println!(
        "signing key of {group} ({} key{} in all) written to {} (keep it offline and safe)",
        seeds.len(),
        if seeds.len() == 1 { "" } else { "s" },
        file.display()
    );
    Ok(())
}

/// Prints a committed event the way `log` does, read back from the database.
fn print_committed(store: &Store, seq: u64) -> anyhow::Result<()> {
    let event = store
        .event(seq)?
        .with_context(|| format!("seq {seq} was committed but cannot be read back"))?;
    println!("{}", log_line(&event, false));
    Ok(())
}

fn log_line(event: &Event, reversed: bool) -> String {
    let mark = if reversed { "  [reversed]" } else { "" };
    format!(
        "{:>6}  {}  {:<20}  {}{mark}",
        event.seq,
        event.date,
        event.body.kind(),
        report::summary(event)
    )
}

fn append(store: &mut Store, date: Date, body: Body) -> anyhow::Result<()> {
    let seq = store.append(date, body)?;
    print_committed(store, seq)
}

/// A refusal of our own making (a lookup before the ledger saw the event),
/// shaped like the ledger's so it prints and exits the same way.
fn refuse(store: &Store, rule: sajja_common::ledger::Rule) -> anyhow::Error {
    StoreError::Refused(Refusal {
        group: store.group().clone(),
        seq: store.head().0 + 1,
        rule,
    })
    .into()
}

/// Appends the event `compose` makes from the books it will be validated
/// against (a refund, a write-off, the next loan number), so that when
/// another process appended first the retry composes it again.
fn append_composed(
    store: &mut Store,
    date: Date,
    compose: impl Fn(&sajja_common::Books) -> Result<Body, sajja_common::ledger::Rule>,
) -> anyhow::Result<()> {
    let (seq, _) = store.write(|batch| {
        let body = compose(batch.books()).map_err(|rule| {
            StoreError::Refused(Refusal {
                group: batch.group().clone(),
                seq: batch.next_seq(),
                rule,
            })
        })?;
        batch.push(date, body)
    })?;
    print_committed(store, seq)
}

fn run(cli: Cli, config: Option<NodeConfig>) -> anyhow::Result<()> {
    // A flag (or SAJJA_NODE_DATA) wins over the file, the file over the default.
    let data_dir = cli
        .data_dir
        .or_else(|| config.as_ref().and_then(|c| c.data_dir.clone()))
        .unwrap_or_else(|| PathBuf::from(config::DATA_DIR_DEFAULT));
    let config = config.as_ref();
    match cli.command {
        Command::Init {
            group,
            name,
            bundle,
            tambon,
            province,
            opened_on,
            rules,
        } => match (bundle, group, name) {
            (Some(bundle), None, None) => install_bundle(&data_dir, &bundle, config),
            // The bundle binds the key `init --group` generates, so the two
            // can never be one step.
            (Some(_), _, _) => Err(usage(
                "--bundle installs the hub link into an existing ledger; it cannot come with --group/--name, \
                 because the bundle binds the public key that `init --group` generates: \
                 run `sajja-node init --group G --name N` first, give the printed public key to the hub operator, \
                 then install the bundle they issue with `sajja-node init --bundle FILE`",
            )),
            (None, Some(group), Some(name)) => {
                init(&data_dir, group, name, tambon, province, opened_on, rules)
            }
            (None, _, _) => Err(usage(
                "init needs --group and --name (a new ledger), or --bundle FILE (the hub link of an existing one)",
            )),
        },
        Command::Member(command) => member(&data_dir, command),
        Command::Contribute {
            member,
            amount,
            period,
            source,
            extra,
            posting,
        } => {
            let member = match member.trim() {
                "-" => None,
                text => Some(parse_member(text).map_err(usage)?),
            };
            let date = posting.date();
            let mut store = open(&data_dir)?;
            append(
                &mut store,
                date,
                Body::ContributionReceived {
                    member,
                    amount,
                    period: period.unwrap_or_else(|| date.month()),
                    source,
                    channel: posting.channel(),
                    extra,
                },
            )
        }
        Command::Save {
            member,
            amount,
            posting,
        } => append(
            &mut open(&data_dir)?,
            posting.date(),
            Body::SavingsDeposited {
                member,
                amount,
                channel: posting.channel(),
            },
        ),
        Command::Withdraw {
            member,
            amount,
            posting,
        } => append(
            &mut open(&data_dir)?,
            posting.date(),
            Body::SavingsWithdrawn {
                member,
                amount,
                channel: posting.channel(),
            },
        ),
        Command::Benefit {
            member,
            kind,
            amount,
            nights,
            override_reason,
            posting,
        } => append(
            &mut open(&data_dir)?,
            posting.date(),
            Body::BenefitPaid {
                member,
                kind,
                amount,
                nights,
                committee_override: override_reason.is_some(),
                override_reason: override_reason.unwrap_or_default(),
                channel: posting.channel(),
            },
        ),
        Command::Loan(command) => loan(&data_dir, command),
        Command::Bank {
            amount,
            draw,
            dated,
        } => append(
            &mut open(&data_dir)?,
            dated.date.unwrap_or_else(sajja_edge::clock::today),
            if draw {
                Body::CashDrawn { amount }
            } else {
                Body::CashBanked { amount }
            },
        ),
        Command::Income {
            kind,
            amount,
            posting,
        } => append(
            &mut open(&data_dir)?,
            posting.date(),
            Body::IncomeReceived {
                kind,
                amount,
                channel: posting.channel(),
            },
        ),
        Command::Expense {
            kind,
            amount,
            posting,
        } => append(
            &mut open(&data_dir)?,
            posting.date(),
            Body::ExpensePaid {
                kind,
                amount,
                channel: posting.channel(),
            },
        ),
        Command::Pool(command) => pool(&data_dir, command),
        Command::Reverse { seq, reason, dated } => append(
            &mut open(&data_dir)?,
            dated.date.unwrap_or_else(sajja_edge::clock::today),
            Body::Reversal {
                reversed_seq: seq,
                reason,
            },
        ),
        Command::CloseMonth { month, dated } => {
            let mut store = open(&data_dir)?;
            append_composed(
                &mut store,
                dated.date.unwrap_or_else(sajja_edge::clock::today),
                |books| {
                    Ok(Body::PeriodClosed {
                        month,
                        trial_balance_digest: trial_balance_digest(&books.trial_balance()),
                    })
                },
            )
        }
        Command::Rules { set, dated } => rules(&data_dir, set, dated),
        Command::Balance { as_of, csv } => balance(&data_dir, as_of, csv),
        Command::Statement { member, csv } => statement(&data_dir, member, csv),
        Command::Log { from, limit } => log(&data_dir, from, limit),
        Command::Verify => verify(&data_dir),
        Command::Import { file, again } => import_file(&data_dir, &file, again),
        Command::Status => status(&data_dir, config),
        Command::Run => {
            let store = open(&data_dir)?;
            let web = config.and_then(|c| c.web.listen.clone());
            let link = match hub_link(&store, config) {
                Ok(link) => Some(link),
                // A group not yet enrolled can still keep its books on the screen.
                Err(error) if web.is_some() => {
                    tracing::warn!(group = %store.group(), "{error}; serving the web app without syncing");
                    None
                }
                Err(error) => return Err(error),
            };
            let settings = config.map(NodeConfig::daemon_settings).unwrap_or_default();
            if let Some(link) = &link {
                tracing::info!(group = %store.group(), hub = %link.url, poll_interval_s = settings.poll_interval.as_secs(), backoff_max_s = settings.backoff_max.as_secs(), "sync daemon starting");
            }
            warn_if_expiring(&store, config)?;
            runtime()?.block_on(serve_and_sync(store, link, settings, web, &data_dir))
        }
        Command::User { command } => {
            println!(
                "{}",
                sajja_node::web::cli::run(&data_dir, command)?.trim_end()
            );
            Ok(())
        }
        Command::Sync { .. } => {
            let mut store = open(&data_dir)?;
            let link = hub_link(&store, config)?;
            let report = runtime()?.block_on(sajja_node::sync::sync_once(&mut store, &link))?;
            println!(
                "hub holds seq {}: pushed {} events in {} batches, pulled {}",
                report.hub_seq, report.pushed_events, report.batches, report.pulled_events
            );
            Ok(())
        }
        Command::Restore {
            bundle,
            group,
            key,
            group_key,
        } => {
            let bundle = match bundle {
                Some(path) => read_bundle(&path)?,
                None => config
                    .and_then(NodeConfig::bundle)
                    .map(|(_, bundle)| bundle.clone())
                    .ok_or_else(|| {
                        usage("restore needs --bundle FILE (or [hub] bundle in --config)")
                    })?,
            };
            restore(&data_dir, &bundle, group, &key, group_key)
        }
        Command::KeyExport { file } => {
            match open_or_salvage(&data_dir)? {
                Ok(store) => write_key_backup(&file, store.group(), &store.held_seeds()),
                Err(salvage) => {
                    // A damaged log does not stop the key backup a restore needs.
                    eprintln!(
                        "warning: the ledger is damaged ({}); exporting its keys for a restore",
                        salvage.damage.map_or_else(String::new, |d| d.to_string())
                    );
                    write_key_backup(&file, &salvage.group, &salvage.seeds)
                }
            }
        }
        Command::RotateKey { dated } => {
            let mut store = open(&data_dir)?;
            let old = store.public_key();
            let (seq, new) =
                store.rotate_key(dated.date.unwrap_or_else(sajja_edge::clock::today))?;
            println!("seq {seq}: the group's signing key is now {new}");
            println!(
                "it replaces {old}, which signed the rotation; hubs follow it on the next sync"
            );
            println!(
                "the new key is the group's public key from now on: tell the hub operator, and take a new backup with `sajja-node key-export FILE`"
            );
            Ok(())
        }
        Command::Keygen { file } => {
            let key = SigningKey::generate()?;
            write_private(
                &file,
                format!(
                    "# sajja-node PRIVATE signing key: keep it; the hub needs only the public key\n{}\n",
                    key.to_backup_line()
                )
                .as_bytes(),
            )?;
            println!("public key  {}", key.public());
            println!("seed written to {} (mode 0600)", file.display());
            println!(
                "next: the hub operator runs `sajja-hub rekey GROUP --key {}` and issues a bundle for it; then `sajja-node restore --key {} --group-key OLD-KEY`",
                key.public(),
                file.display()
            );
            Ok(())
        }
        Command::Export { to, from } => {
            let store = open(&data_dir)?;
            let (bytes, first, last) = sajja_node::sync::export_bundle(&store, from)?;
            fs::write(&to, bytes).with_context(|| format!("writing {}", to.display()))?;
            if first > last {
                println!(
                    "nothing pending: the hub has acknowledged up to seq {last}; wrote an empty bundle to {}",
                    to.display()
                );
            } else {
                println!(
                    "exported seq {first}..={last} of {} to {}",
                    store.group(),
                    to.display()
                );
            }
            Ok(())
        }
        Command::ImportReceipt { file } => {
            let store = open(&data_dir)?;
            let bytes = fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let acked = sajja_node::sync::apply_receipt(&store, &bytes)?;
            println!("the hub holds {} up to seq {acked}", store.group());
            Ok(())
        }
        Command::Debug(DebugCommand::AppendLoop { count }) => append_loop(&data_dir, count),
        // Handled in `main`, before any config file is read.
        Command::CheckConfig { file } => Err(usage(format!(
            "check-config {} runs on its own",
            file.display()
        ))),
        Command::Backup { dest } => backup(&data_dir, &dest),
    }
}

fn init(
    data_dir: &Path,
    group: GroupId,
    name: String,
    tambon: Option<String>,
    province: Option<String>,
    opened_on: Option<Date>,
    rules_path: Option<PathBuf>,
) -> anyhow::Result<()> {
    let rules = match rules_path {
        None => Rules::default(),
        Some(path) => {
            let text =
                fs::read_to_string(&path).map_err(|e| usage(format!("{}: {e}", path.display())))?;
            rules_file::parse(&text, &Rules::default()).map_err(|e| usage(e.to_string()))?
        }
    };
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let init = GroupInit {
        tambon: tambon.unwrap_or_else(|| group.tambon().to_string()),
        province: province.unwrap_or_else(|| group.province().to_string()),
        group,
        name,
        opened_on: opened_on.unwrap_or_else(sajja_edge::clock::today),
        rules,
    };
    let key = SigningKey::generate()?;
    let store = Store::create(&database(data_dir), init, key)?;
    let (group, public_key) = (store.group(), store.public_key());
    println!("group {group} opened");
    println!("ledger      {}", store.path().display());
    println!("public key  {public_key}");
    println!();
    println!(
        "next: give the public key above to the hub operator (it is not secret), who enrols it with"
    );
    println!("  sajja-hub enrol group {group} --key {public_key}");
    println!("and hands you the group's enrolment bundle; install it with");
    println!("  sajja-node init --bundle FILE");
    println!("then start syncing: sajja-node run");
    Ok(())
}

/// The daemon's log says what `status` says about the certificate, since a
/// node in the village may run for months with nobody reading `status`.
fn warn_if_expiring(store: &Store, config: Option<&NodeConfig>) -> anyhow::Result<()> {
    let not_after = match config.and_then(NodeConfig::bundle) {
        Some((_, bundle)) => Some(bundle.not_after),
        None => store
            .hub_link()?
            .and_then(|link| link.client)
            .map(|c| c.not_after),
    };
    if let Some(not_after) = not_after
        && not_after.saturating_sub(unix_now()) < CERT_WARN_DAYS * 86_400
    {
        let expires = expiry_date(not_after);
        tracing::warn!(group = %store.group(), %expires, "the hub's client certificate expires soon or has expired: ask the hub operator for a new bundle and install it with `sajja-node init --bundle FILE`");
    }
    Ok(())
}

/// A certificate's expiry as a date. The time comes from a bundle file, so it
/// is bounded first: `thai_date_at` adds Thailand's offset to it.
fn expiry_date(not_after: i64) -> Date {
    const YEAR_9999: i64 = 253_402_300_799;
    Date::thai_date_at(not_after.clamp(0, YEAR_9999))
}

/// A bundle file that cannot be read or is not a bundle is bad usage, like a
/// bad `--rules` file.
fn read_bundle(path: &Path) -> anyhow::Result<Enrolment> {
    Enrolment::read(path).map_err(|e| usage(e.to_string()))
}

/// `init --bundle`: makes the group's enrolment bundle this ledger's hub link.
fn install_bundle(data_dir: &Path, path: &Path, config: Option<&NodeConfig>) -> anyhow::Result<()> {
    let bundle = read_bundle(path)?;
    let ledger = database(data_dir);
    if !ledger.is_file() {
        let group = GroupId::parse(&bundle.subject).map_or("G".to_string(), |g| g.to_string());
        anyhow::bail!(
            "no ledger at {}: a bundle is installed into the ledger whose key it binds. \
             Run `sajja-node init --group {group} --name NAME` first, give the public key it prints to the hub operator, \
             and install the bundle they issue for that key with `sajja-node init --bundle FILE`. \
             (Rebuilding a lost node with the group's key backup? Use `sajja-node restore --bundle FILE --key KEY-BACKUP`.)",
            ledger.display()
        );
    }
    let store = open(data_dir)?;
    store.set_hub_link(&bundle, unix_now())?;
    println!(
        "group {} now syncs with {} (hub {})",
        store.group(),
        bundle.hub_url,
        link::printable(&bundle.hub_id)
    );
    println!(
        "certificate serial {}, expires {}",
        link::printable(&bundle.serial),
        expiry_date(bundle.not_after)
    );
    println!(
        "the bundle is now kept in the ledger; {} holds a private key: keep it in the committee's safe or delete it",
        path.display()
    );
    if let Some((file, _)) = config.and_then(NodeConfig::bundle) {
        println!(
            "note: while the config file's [hub] names {}, that bundle is used instead",
            file.display()
        );
    }
    println!("next: sajja-node run (or restart the sajja-node service)");
    Ok(())
}

fn member(data_dir: &Path, command: MemberCommand) -> anyhow::Result<()> {
    let mut store = open(data_dir)?;
    match command {
        MemberCommand::Add {
            name,
            birth_year,
            sex,
            phone,
            id_number,
            joined_on,
        } => {
            if name.trim().is_empty() {
                return Err(usage("--name must not be empty"));
            }
            let joined_on = joined_on.unwrap_or_else(sajja_edge::clock::today);
            // The number is taken from the books the batch is validated
            // against, so a retry after another process's append takes the next.
            let ((seq, number), _) = store.write(|batch| {
                let number = compose::next_member(batch.books());
                let seq = batch.push_with_register(
                    joined_on,
                    Body::MemberJoined {
                        member: number,
                        birth_year,
                        sex: sex.unwrap_or(Sex::Unstated),
                    },
                    Some(RegisterEntry {
                        member: number,
                        name: name.trim().to_string(),
                        phone: phone.clone(),
                        national_id: id_number.clone(),
                    }),
                )?;
                Ok::<_, StoreError>((seq, number))
            })?;
            print_committed(&store, seq)?;
            println!("member {number} added");
            Ok(())
        }
        MemberCommand::Leave {
            member,
            reason,
            posting,
        } => append_composed(&mut store, posting.date(), |books| {
            compose::member_leaves(books, member, reason, posting.channel())
        }),
        MemberCommand::Edit {
            member,
            name,
            phone,
            id_number,
        } => {
            if name.is_none() && phone.is_none() && id_number.is_none() {
                return Err(usage(
                    "member edit needs --name, --phone or --id-number (the values to correct)",
                ));
            }
            if name.as_deref().is_some_and(|n| n.trim().is_empty()) {
                return Err(usage("--name must not be empty"));
            }
            let entry = store.edit_register(
                member,
                &store::RegisterEdit {
                    name,
                    phone,
                    national_id: id_number,
                },
            )?;
            println!(
                "member {} in this node's register: {}, phone {}, ID number {} (not in the log; nothing to sync)",
                entry.member,
                entry.name,
                entry.phone.as_deref().unwrap_or("-"),
                entry.national_id.as_deref().unwrap_or("-")
            );
            Ok(())
        }
        MemberCommand::List {
            csv: true,
            date,
            with_names,
        } => {
            let register = with_names.then(|| store.register()).transpose()?;
            let date = date.unwrap_or_else(sajja_edge::clock::today);
            report::contribution_sheet(
                store.books(),
                date,
                register.as_ref(),
                std::io::stdout().lock(),
            )?;
            Ok(())
        }
        MemberCommand::List { .. } => {
            let register = store.register()?;
            let books = store.books();
            println!(
                "{:>6}  {:<10}  {:>5}  {:<8}  {:>14}  {:>14}  name",
                "member", "joined", "born", "status", "savings", "contributed"
            );
            for (number, m) in &books.members {
                let status = match m.left {
                    None => "active".to_string(),
                    Some((_, reason)) => vocab::leave_word(reason).to_string(),
                };
                let name = register.get(number).map_or("", |r| r.name.as_str());
                println!(
                    "{:>6}  {}  {:>5}  {:<8}  {:>14}  {:>14}  {name}",
                    number.0,
                    m.joined_on,
                    m.birth_year,
                    status,
                    m.savings.to_string(),
                    m.contributed.to_string()
                );
            }
            println!("{} active members", books.active_members());
            let unnamed: Vec<String> = books
                .members
                .keys()
                .filter(|n| !register.contains_key(n))
                .map(|n| n.to_string())
                .collect();
            if !unnamed.is_empty() {
                // After a restore: the hub never had the names.
                println!(
                    "{} members have no name in this node's register ({}): enter each with `sajja-node member edit N --name NAME`",
                    unnamed.len(),
                    unnamed.join(", ")
                );
            }
            Ok(())
        }
    }
}

fn loan(data_dir: &Path, command: LoanCommand) -> anyhow::Result<()> {
    let mut store = open(data_dir)?;
    match command {
        LoanCommand::Disburse {
            member,
            principal,
            rate,
            term,
            plan,
            due,
            guarantors,
            loan,
            posting,
        } => {
            let plan = vocab::loan_plan(plan, due).map_err(usage)?;
            append_composed(&mut store, posting.date(), |books| {
                Ok(Body::LoanDisbursed {
                    loan: loan.unwrap_or_else(|| compose::next_loan(books)),
                    member,
                    principal,
                    monthly_interest_basis_points: rate,
                    term_months: term,
                    guarantors: guarantors.clone(),
                    channel: posting.channel(),
                    plan,
                })
            })
        }
        LoanCommand::Repay {
            loan,
            principal,
            interest,
            posting,
        } => append(
            &mut store,
            posting.date(),
            Body::LoanRepaid {
                loan,
                principal,
                interest: interest.unwrap_or(Money::ZERO),
                channel: posting.channel(),
            },
        ),
        LoanCommand::WriteOff { loan, dated } => append_composed(
            &mut store,
            dated.date.unwrap_or_else(sajja_edge::clock::today),
            |books| compose::loan_write_off(books, loan),
        ),
        LoanCommand::List { date } => {
            // A date in the past shows the books as they stood at its end:
            // outstanding then, and no loan disbursed after it.
            let as_of_books;
            let books = match date {
                Some(date) => {
                    as_of_books = store.books_as_of(date)?;
                    &as_of_books
                }
                None => store.books(),
            };
            let date = date.unwrap_or_else(sajja_edge::clock::today);
            println!(
                "{:>4}  {:>6}  {:<10}  {:>14}  {:>14}  {:>6}  {:>5}  {:>14}  {:>5}",
                "loan",
                "member",
                "disbursed",
                "principal",
                "outstanding",
                "%/mo",
                "term",
                "overdue",
                "days"
            );
            for (number, l) in &books.loans {
                let arrears = l.arrears_on(date);
                println!(
                    "{:>4}  {:>6}  {}  {:>14}  {:>14}  {:>6}  {:>5}  {:>14}  {:>5}",
                    number.0,
                    l.member.0,
                    l.disbursed_on,
                    l.principal.to_string(),
                    l.outstanding().to_string(),
                    report::percent(l.monthly_interest_basis_points),
                    l.term_months,
                    arrears.overdue.to_string(),
                    arrears.days_past_due
                );
            }
            Ok(())
        }
    }
}

fn pool(data_dir: &Path, command: PoolCommand) -> anyhow::Result<()> {
    let mut store = open(data_dir)?;
    let (date, body) = match command {
        PoolCommand::Deposit(m) => (
            m.posting.date(),
            Body::PoolDeposited {
                channel: m.posting.channel(),
                pool: m.pool,
                amount: m.amount,
            },
        ),
        PoolCommand::Withdraw(m) => (
            m.posting.date(),
            Body::PoolWithdrawn {
                channel: m.posting.channel(),
                pool: m.pool,
                amount: m.amount,
            },
        ),
        PoolCommand::Pledge(m) => (
            m.posting.date(),
            Body::ReservePledged {
                pool: m.pool,
                amount: m.amount,
            },
        ),
        PoolCommand::Release(m) => (
            m.posting.date(),
            Body::ReserveReleased {
                pool: m.pool,
                amount: m.amount,
            },
        ),
        PoolCommand::Borrow(m) => (
            m.posting.date(),
            Body::PoolLoanReceived {
                channel: m.posting.channel(),
                pool: m.pool,
                amount: m.amount,
            },
        ),
        PoolCommand::Repay { movement, interest } => (
            movement.posting.date(),
            Body::PoolLoanRepaid {
                channel: movement.posting.channel(),
                pool: movement.pool,
                principal: movement.amount,
                interest: interest.unwrap_or(Money::ZERO),
            },
        ),
    };
    append(&mut store, date, body)
}

fn rules(data_dir: &Path, set: Option<PathBuf>, dated: Dated) -> anyhow::Result<()> {
    let mut store = open(data_dir)?;
    if let Some(path) = set {
        let text =
            fs::read_to_string(&path).map_err(|e| usage(format!("{}: {e}", path.display())))?;
        let rules =
            rules_file::parse(&text, &store.books().rules).map_err(|e| usage(e.to_string()))?;
        append(
            &mut store,
            dated.date.unwrap_or_else(sajja_edge::clock::today),
            Body::RulesChanged(rules),
        )?;
    }
    for (key, value) in report::rules_lines(&store.books().rules) {
        println!("{key:<30} {value}");
    }
    Ok(())
}

fn balance(data_dir: &Path, as_of: Option<Date>, csv: bool) -> anyhow::Result<()> {
    let store = open(data_dir)?;
    let as_of_books;
    let books = match as_of {
        Some(date) => {
            as_of_books = store.books_as_of(date)?;
            &as_of_books
        }
        None => store.books(),
    };
    let lines = books.trial_balance();
    let mut out = std::io::stdout().lock();
    if csv {
        // The current books hold nothing dated after today (future dates are
        // refused), so they are the books as of today.
        let as_of = as_of.unwrap_or_else(|| {
            let today = sajja_edge::clock::today();
            books.last_date.map_or(today, |last| last.max(today))
        });
        report::balance_csv(books, as_of, out)?;
        return Ok(());
    }
    let when = as_of.map_or_else(
        || format!("at seq {}", store.head().0),
        |d| format!("as of {d}"),
    );
    writeln!(out, "Trial balance of group {} {when}", store.group())?;
    writeln!(out, "{:<36}  {:>16}  {:>16}", "account", "debit", "credit")?;
    let (mut debits, mut credits) = (0i64, 0i64);
    let blank_zero = |m: Money| {
        if m == Money::ZERO {
            String::new()
        } else {
            m.to_string()
        }
    };
    for line in &lines {
        debits += line.debit.satang();
        credits += line.credit.satang();
        writeln!(
            out,
            "{:<36}  {:>16}  {:>16}",
            line.account,
            blank_zero(line.debit),
            blank_zero(line.credit)
        )?;
    }
    writeln!(
        out,
        "{:<36}  {:>16}  {:>16}",
        "total",
        Money::from_satang(debits).to_string(),
        Money::from_satang(credits).to_string()
    )?;
    writeln!(out)?;
    writeln!(out, "Fund summary")?;
    for (item, value) in report::fund_summary(books) {
        writeln!(out, "{item:<36}  {value:>16}")?;
    }
    Ok(())
}

fn statement(data_dir: &Path, member: MemberNo, csv: bool) -> anyhow::Result<()> {
    let store = open(data_dir)?;
    if !store.books().members.contains_key(&member) {
        return Err(refuse(
            &store,
            sajja_common::ledger::Rule::UnknownMember(member),
        ));
    }
    let mut passbook = Passbook::new(member);
    store.scan(1, |event| {
        passbook.visit(event);
        true
    })?;
    let out = std::io::stdout().lock();
    if csv {
        let mut writer = csv::Writer::from_writer(out);
        writer.write_record([
            "seq",
            "date",
            "kind",
            "amount",
            "savings_change",
            "savings_balance",
            "note",
        ])?;
        for line in &passbook.lines {
            writer.write_record([
                line.seq.to_string(),
                line.date.to_string(),
                line.kind.to_string(),
                line.amount.to_plain(),
                line.savings_change.to_plain(),
                line.savings_balance.to_plain(),
                line.note.clone(),
            ])?;
        }
        writer.flush()?;
        return Ok(());
    }
    let mut out = out;
    let register = store.register()?;
    let name = register
        .get(&member)
        .map_or(String::new(), |r| format!(" {}", r.name));
    writeln!(
        out,
        "Passbook of member {member}{name}, group {}",
        store.group()
    )?;
    writeln!(
        out,
        "{:>6}  {:<10}  {:<20}  {:>14}  {:>14}  {:>14}  note",
        "seq", "date", "kind", "amount", "savings +/-", "savings"
    )?;
    for line in &passbook.lines {
        writeln!(
            out,
            "{:>6}  {}  {:<20}  {:>14}  {:>14}  {:>14}  {}",
            line.seq,
            line.date,
            line.kind,
            line.amount.to_string(),
            line.savings_change.to_string(),
            line.savings_balance.to_string(),
            line.note
        )?;
    }
    if let Some(m) = store.books().members.get(&member) {
        writeln!(
            out,
            "savings {}, own contributions {}",
            m.savings, m.contributed
        )?;
    }
    Ok(())
}

fn log(data_dir: &Path, from: Option<u64>, limit: u64) -> anyhow::Result<()> {
    let store = open(data_dir)?;
    let head = store.head().0;
    let from = from.unwrap_or_else(|| head.saturating_sub(limit.saturating_sub(1)).max(1));
    let reversed = &store.books().reversed;
    let mut shown = 0;
    let mut out = std::io::stdout().lock();
    let mut result = Ok(());
    store.scan(from, |event| {
        if shown >= limit {
            return false;
        }
        shown += 1;
        result = writeln!(out, "{}", log_line(event, reversed.contains(&event.seq)));
        result.is_ok()
    })?;
    Ok(result?)
}

fn verify(data_dir: &Path) -> anyhow::Result<()> {
    let report = store::verify(&database(data_dir))?;
    println!(
        "ok: group {} has {} events; chain head {}; derived books equal a re-fold",
        report.group, report.events, report.head
    );
    for seq in report.mismatched_closes {
        println!("warning: the digest of the month closed at seq {seq} differs from the fold");
    }
    Ok(())
}

fn import_file(data_dir: &Path, file: &Path, again: bool) -> anyhow::Result<()> {
    let mut store = open(data_dir)?;
    let input = fs::File::open(file).map_err(|e| usage(format!("{}: {e}", file.display())))?;
    // One byte over the bound tells a file that is too large from one that fits.
    let mut bytes = Vec::new();
    input
        .take(import::MAX_IMPORT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| usage(format!("{}: {e}", file.display())))?;
    if bytes.len() as u64 > import::MAX_IMPORT_BYTES {
        return Err(usage(format!(
            "{}: larger than {} MiB; split the file",
            file.display(),
            import::MAX_IMPORT_BYTES >> 20
        )));
    }
    let name = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let summary = import::import_csv(&mut store, &bytes, &name, again)?;
    println!(
        "imported {} events: seq {}..={}",
        summary.rows, summary.first_seq, summary.last_seq
    );
    if !summary.unpaid.is_empty() {
        // A big group's sheet may leave hundreds blank: the first rows name
        // the pattern, the count says the rest.
        const SHOWN: usize = 20;
        let mut rows: Vec<String> = summary
            .unpaid
            .iter()
            .take(SHOWN)
            .map(u64::to_string)
            .collect();
        if summary.unpaid.len() > SHOWN {
            rows.push("…".to_string());
        }
        println!(
            "not recorded: {} contribute rows with no amount (rows {}), taken as not paid",
            summary.unpaid.len(),
            rows.join(", ")
        );
    }
    Ok(())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    // One thread: a node is a small machine and has one hub to talk to.
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// The config file's `[hub]` bundle when it has one, else the link
/// `init --bundle` stored.
fn hub_link(store: &Store, config: Option<&NodeConfig>) -> anyhow::Result<HubLink> {
    if let Some((path, bundle)) = config.and_then(NodeConfig::bundle) {
        // `check-config` cannot see the ledger, so the bundle meets it here.
        store
            .check_own_bundle(bundle)
            .map_err(|e| anyhow::anyhow!("[hub] bundle {}: {e}", path.display()))?;
        return Ok(HubLink::from_bundle(bundle));
    }
    let stored = store.hub_link()?.ok_or_else(|| {
        usage(
            "no hub link: install the group's enrolment bundle from the hub operator with `sajja-node init --bundle FILE`",
        )
    })?;
    Ok(HubLink::from_stored(stored)?)
}

/// An online copy of the ledger, verified like `verify` before it takes DEST's name.
fn backup(data_dir: &Path, dest: &Path) -> anyhow::Result<()> {
    let source = database(data_dir);
    if !source.is_file() {
        return Err(StoreError::Missing(source).into());
    }
    let pending = PendingBackup::start(&source, dest)?;
    let report = match store::verify(pending.path()) {
        Ok(report) => report,
        Err(StoreError::Damaged(damage)) => {
            // Kept as evidence of what the disk held; it restores nothing.
            let dest = pending.finish()?;
            eprintln!(
                "warning: the ledger is damaged ({damage}); {}",
                restore_hint(data_dir)
            );
            println!(
                "copied the DAMAGED ledger to {} (mode 0600): keep it as evidence, it cannot restore the books",
                dest.display()
            );
            return Ok(());
        }
        Err(other) => return Err(other.into()),
    };
    let dest = pending.finish()?;
    println!(
        "backed up group {}: {} events, head {}, to {} (mode 0600; it holds the signing key)",
        report.group,
        report.events,
        report.head,
        dest.display()
    );
    Ok(())
}

/// The sync daemon and, with `[web] listen`, the treasurer's web app, in one
/// process until SIGTERM or Ctrl-C.
async fn serve_and_sync(
    store: Store,
    link: Option<HubLink>,
    settings: sajja_node::daemon::Settings,
    web: Option<String>,
    data_dir: &Path,
) -> anyhow::Result<()> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let web_task = match web {
        Some(listen) => {
            let app = sajja_node::web::App::open(data_dir, &database(data_dir))?;
            let (listener, addr) = sajja_node::web::bind(&listen, data_dir).await?;
            tracing::info!(group = %store.group(), %addr, "web app listening on http://{addr}");
            let mut stopped = stopped.clone();
            Some(tokio::spawn(sajja_node::web::serve(
                listener,
                app,
                async move {
                    let _ = stopped.changed().await;
                },
            )))
        }
        None => None,
    };
    let shutdown = async move {
        sajja_edge::shutdown::signal().await;
        let _ = stop.send(true);
    };
    match link {
        Some(link) => sajja_node::daemon::run(store, link, settings, shutdown).await?,
        None => shutdown.await,
    }
    if let Some(task) = web_task {
        // Open pages finish; a browser's idle connection does not hold the Pi up.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), task).await;
    }
    Ok(())
}

fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents)?;
    file.sync_all()?;
    Ok(())
}

/// Reads key files: seeds one a line (`#` starts a comment), as `key-export`
/// and `keygen` write them (`sajja-private-key-v1:` and hex), or bare hex as
/// they were written before the prefix.
fn read_seeds(files: &[PathBuf]) -> anyhow::Result<Vec<SigningKey>> {
    let mut seeds = Vec::new();
    for file in files {
        let text =
            fs::read_to_string(file).map_err(|e| usage(format!("{}: {e}", file.display())))?;
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            seeds.push(
                SigningKey::from_backup_line(line)
                    .map_err(|e| usage(format!("{}: not a key backup ({e})", file.display())))?,
            );
        }
    }
    if seeds.is_empty() {
        return Err(usage("--key: the files hold no key"));
    }
    Ok(seeds)
}

fn restore(
    data_dir: &Path,
    bundle: &Enrolment,
    group: Option<GroupId>,
    key_files: &[PathBuf],
    group_keys: Vec<PublicKey>,
) -> anyhow::Result<()> {
    let group = match group {
        Some(group) => group,
        None => GroupId::parse(&bundle.subject).map_err(|_| {
            usage(format!(
                "the bundle enrols {} {}, not a group: restore needs the group's own bundle",
                bundle.role.name(),
                link::printable(&bundle.subject)
            ))
        })?,
    };
    let seeds = read_seeds(key_files)?;
    // The bundle names the key it was issued for; until the log is verified
    // that key (else the newest given) is the ledger's.
    let bound = bundle.public_key.as_deref().and_then(PublicKey::from_hex);
    let provisional = seeds
        .iter()
        .find(|s| Some(s.public()) == bound)
        .unwrap_or(&seeds[seeds.len() - 1]);
    let key = SigningKey::from_seed(provisional.seed())?;
    // Before any file exists: a bundle for another group or key would only
    // be refused by the hub, after the empty ledger was made.
    link::check_bundle(bundle, &group, &key.public())?;
    let trusted = store::RestoreKeys {
        seeds,
        public: group_keys,
    };
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let path = database(data_dir);
    let mut store = Store::create_empty(&path, group, key)?;
    let restored = match store.set_hub_link(bundle, unix_now()) {
        Ok(()) => runtime()?.block_on(sajja_node::sync::restore(
            &mut store,
            &HubLink::from_bundle(bundle),
            &trusted,
        )),
        Err(error) => Err(error.into()),
    };
    match restored {
        Ok((seq, head)) => {
            println!(
                "restored {} from its hub: seq {seq}, head {head}; every hash, key rotation and the signature verified",
                store.group()
            );
            println!("this node signs with key {}", store.public_key());
            if store.retired_keys().iter().any(|k| !k.held()) {
                println!(
                    "the group's earlier key is lost: the hub operator must re-key the group to {} (`sajja-hub rekey {} --key {}`) before this node can push",
                    store.public_key(),
                    store.group(),
                    store.public_key()
                );
            }
            println!(
                "member names, phones and ID numbers were not restored: they never leave the village; re-enter them with the committee (`sajja-node member list` shows who has none; `sajja-node member edit N --name NAME`)"
            );
            Ok(())
        }
        Err(error) => {
            drop(store);
            for suffix in ["", "-wal", "-shm"] {
                let _ = fs::remove_file(format!("{}{suffix}", path.display()));
            }
            Err(error.into())
        }
    }
}

fn status(data_dir: &Path, config: Option<&NodeConfig>) -> anyhow::Result<()> {
    let store = match open_or_salvage(data_dir)? {
        Ok(store) => store,
        Err(salvage) => {
            println!("group           {}", salvage.group);
            println!("public key      {}", salvage.public_key);
            if let Some(damage) = &salvage.damage {
                println!("ledger          DAMAGED: {damage}");
            }
            eprintln!("warning: the ledger is damaged; {}", restore_hint(data_dir));
            return Ok(());
        }
    };
    let (seq, head) = store.head();
    let sync = store.acked()?;
    println!("group           {}", store.group());
    println!("public key      {}", store.public_key());
    for retired in store.retired_keys() {
        println!(
            "earlier key     {} (signs checkpoints before seq {}{})",
            retired.public,
            retired.until_seq,
            if retired.held() {
                ""
            } else {
                "; lost, replaced by the hub operator"
            }
        );
    }
    println!("local head      seq {seq} {head}");
    println!("hub acked       seq {}", sync.acked_seq);
    println!("pending         {}", seq.saturating_sub(sync.acked_seq));
    match sync.last_sync_at {
        Some(at) => println!(
            "last sync       {} (Thailand time)",
            vocab::local_date_time(at)
        ),
        None => println!("last sync       never"),
    }
    const INSTALL: &str =
        "install the group's enrolment bundle with `sajja-node init --bundle FILE`";
    let (certificate, fits) = match (config.and_then(NodeConfig::bundle), store.hub_link()?) {
        (Some((path, bundle)), _) => {
            println!(
                "hub             {} (hub {}; bundle {} from the config file)",
                bundle.hub_url,
                link::printable(&bundle.hub_id),
                path.display()
            );
            let fits = store.check_own_bundle(bundle);
            (Some((bundle.serial.clone(), bundle.not_after)), fits.err())
        }
        (None, Some(link)) => {
            let hub_id = link.hub_id.as_deref().map_or(String::new(), |id| {
                format!(" (hub {})", link::printable(id))
            });
            println!("hub             {}{hub_id}", link.url);
            (link.client.map(|c| (c.serial, c.not_after)), None)
        }
        (None, None) => {
            println!("hub             none: {INSTALL}");
            return Ok(());
        }
    };
    match certificate {
        None => println!(
            "certificate     none: the hub requires one since client certificates were introduced; {INSTALL}"
        ),
        Some((serial, not_after)) => {
            let expires = vocab::shown_date(expiry_date(not_after));
            let serial = link::printable(&serial);
            let left = not_after.saturating_sub(unix_now());
            if left <= 0 {
                println!(
                    "certificate     serial {serial}, EXPIRED on {expires}: the hub refuses this node; ask the hub operator for a new bundle and {INSTALL}"
                );
            } else if left < CERT_WARN_DAYS * 86_400 {
                println!(
                    "certificate     serial {serial}, expires {expires}: WARNING: in {} days; ask the hub operator for a new bundle and {INSTALL}",
                    (left + 86_399) / 86_400
                );
            } else {
                println!("certificate     serial {serial}, expires {expires}");
            }
        }
    }
    if let Some(error) = fits {
        println!("WARNING         the config file's bundle does not fit this ledger: {error}");
    }
    Ok(())
}

/// Appends forever (or `count` rounds) so a test can kill the process at any
/// moment. Each round is one transaction of one to three events.
fn append_loop(data_dir: &Path, count: u64) -> anyhow::Result<()> {
    let mut store = open(data_dir)?;
    let date = store
        .books()
        .last_date
        .context("the ledger has no events")?;
    let mut out = std::io::stdout().lock();
    for round in 0..count {
        let mut batch = store.begin()?;
        if batch.books().members.len() < 3 || round % 50 == 0 {
            let member = compose::next_member(batch.books());
            batch.push_with_register(
                date,
                Body::MemberJoined {
                    member,
                    birth_year: 1970,
                    sex: Sex::Unstated,
                },
                Some(RegisterEntry {
                    member,
                    name: format!("loop {member}"),
                    phone: None,
                    national_id: None,
                }),
            )?;
        }
        let members = batch.books().members.len() as u64;
        let member = MemberNo((round % members) as u32 + 1);
        batch.push(
            date,
            Body::SavingsDeposited {
                member,
                amount: Money::from_baht(10),
                channel: vocab::channel(false),
            },
        )?;
        if round % 2 == 0 {
            batch.push(
                date,
                Body::ContributionReceived {
                    member: Some(member),
                    amount: Money::from_baht(30),
                    period: date.month(),
                    source: Source::Member,
                    channel: vocab::channel(round % 4 == 0),
                    // The loop pays the same members many times a month.
                    extra: true,
                },
            )?;
        }
        if round % 3 == 0 {
            batch.push(
                date,
                Body::SavingsWithdrawn {
                    member,
                    amount: Money::from_baht(5),
                    channel: vocab::channel(false),
                },
            )?;
        }
        let committed = batch.commit()?;
        if let Some((_, last)) = committed {
            writeln!(out, "appended {last}")?;
            out.flush()?;
        }
    }
    Ok(())
}
