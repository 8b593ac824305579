//! The command line as clap reads it: every subcommand, flag and help text.
//! Commands with several values keep them in a struct of their own, so that
//! each command's module takes one value.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use sajja_common::PublicKey;
use sajja_common::date::{Date, Month};
use sajja_common::event::{BenefitKind, ExpenseKind, IncomeKind, LeaveReason, Sex, Source};
use sajja_common::ids::{GroupId, LoanNo, MemberNo, PoolId};
use sajja_common::money::Money;
use sajja_node::logging::LogFormat;
use sajja_node::vocab::{
    self, parse_account, parse_category, parse_credits, parse_date, parse_holder, parse_loan,
    parse_member, parse_money,
};

/// How many events `log` shows when not told.
pub const LOG_LIMIT_DEFAULT: u64 = 50;

#[derive(Parser)]
#[command(
    name = "sajja-node",
    version,
    about = "Sajja group node: the treasurer's ledger for a community savings or welfare group (สัจจะ)",
    long_about = None
)]
pub struct Cli {
    /// Directory holding the group's ledger (created by `init`)
    /// [default: `data_dir` from --config, else ./sajja-node-data].
    #[arg(long, global = true, env = "SAJJA_NODE_DATA")]
    pub data_dir: Option<PathBuf>,
    /// A node.toml whose values are the defaults for these flags
    /// (see deploy/examples/node.toml); its [hub] bundle overrides the link
    /// `init --bundle` stored.
    #[arg(long, global = true, env = "SAJJA_NODE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Log lines as `text` or `json` (one object a line), on stderr
    /// [default: [log] format from --config, else text].
    #[arg(long, global = true, value_parser = |t: &str| t.parse::<LogFormat>())]
    pub log_format: Option<LogFormat>,
    #[command(subcommand)]
    pub command: Command,
}

/// The business date and the money account, shared by money-moving commands.
#[derive(Args)]
pub struct Posting {
    /// Business date, YYYY-MM-DD (default: today in Thailand).
    #[arg(long, value_parser = parse_date)]
    pub date: Option<Date>,
    /// Use the bank account instead of cash.
    #[arg(long)]
    pub bank: bool,
}

impl Posting {
    pub fn date(&self) -> Date {
        self.date.unwrap_or_else(sajja_edge::clock::today)
    }
    pub fn channel(&self) -> sajja_common::event::Channel {
        vocab::channel(self.bank)
    }
}

#[derive(Args)]
pub struct Dated {
    /// Business date, YYYY-MM-DD (default: today in Thailand).
    #[arg(long, value_parser = parse_date)]
    pub date: Option<Date>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Create a new group's ledger and its signing key (`--group`, `--name`);
    /// then, once the hub operator has enrolled the printed public key, install
    /// the enrolment bundle they hand over (`--bundle`).
    Init(InitArgs),
    /// Members: add, leave, list.
    #[command(subcommand)]
    Member(MemberCommand),
    /// Record a welfare contribution (เงินสัจจะ/เงินสมทบ).
    Contribute(ContributeArgs),
    /// Deposit to a member's savings (เงินออม).
    Save(SaveArgs),
    /// Withdraw from a member's savings.
    Withdraw(WithdrawArgs),
    /// Pay a welfare benefit (สวัสดิการ).
    Benefit(BenefitArgs),
    /// Loans (เงินกู้): disburse, repay, write-off, list.
    #[command(subcommand)]
    Loan(LoanCommand),
    /// Move cash to the bank account (or, with --draw, bank to cash).
    Bank(BankArgs),
    /// Record income: bank-interest, donation, fundraising or fee.
    Income(IncomeArgs),
    /// Record an expense: administration, meeting, bank-fee or other.
    Expense(ExpenseArgs),
    /// Network pooled funds (กองทุนเครือข่าย) and guarantee reserve.
    #[command(subcommand)]
    Pool(PoolCommand),
    /// Reverse an earlier event (it stays in the log).
    Reverse(ReverseArgs),
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
    /// Exchange mode: a community exchange's log (the tambon network
    /// office's node), in its own file beside the data directory's ledger.
    /// Credits are the exchange's own unit, not money: never baht.
    #[command(subcommand)]
    Exchange(ExchangeCommand),
    /// Sync with the hub now and exit 0 once it has acknowledged everything.
    Sync {
        /// Push everything pending and exit (for cron and scripts).
        #[arg(long, required = true)]
        once: bool,
    },
    /// Rebuild a lost node (a new SD card) from its hub, with the group's own
    /// enrolment bundle and key backup. Member names are not restored: they
    /// never left the village.
    Restore(RestoreArgs),
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

#[derive(Args)]
pub struct InitArgs {
    /// Group id: tambon geocode, dash, group number (e.g. 230101-007).
    #[arg(long, value_parser = |t: &str| GroupId::parse(t).map_err(|e| e.to_string()))]
    pub group: Option<GroupId>,
    /// The group's name (Thai is fine).
    #[arg(long)]
    pub name: Option<String>,
    /// Install the group's enrolment bundle (from `sajja-hub enrol group`)
    /// into the existing ledger: the hub link. A re-issued bundle is
    /// installed the same way.
    #[arg(long, conflicts_with_all = ["tambon", "province", "opened_on", "rules"])]
    pub bundle: Option<PathBuf>,
    /// Tambon geocode, 6 digits (default: from the group id).
    #[arg(long)]
    pub tambon: Option<String>,
    /// Province geocode, 2 digits (default: from the group id).
    #[arg(long)]
    pub province: Option<String>,
    /// The day the group opened (default: today).
    #[arg(long, value_parser = parse_date)]
    pub opened_on: Option<Date>,
    /// Starting rules from a TOML file (default: 30 baht a month, 180 days' wait).
    #[arg(long)]
    pub rules: Option<PathBuf>,
}

#[derive(Args)]
pub struct ContributeArgs {
    /// Member number, or `-` for matching funds not tied to a member.
    pub member: String,
    #[arg(value_parser = parse_money, allow_negative_numbers = true)]
    pub amount: Money,
    /// The month paid for, YYYY-MM (default: the month of --date).
    #[arg(long, value_parser = |t: &str| t.parse::<Month>().map_err(|e| e.to_string()))]
    pub period: Option<Month>,
    /// Who paid: member, local, national or donation.
    #[arg(long, default_value = "member", value_parser = vocab::parse_source)]
    pub source: Source,
    /// A second payment for a period the member already paid, meant as
    /// such (without it the ledger refuses a period paid twice).
    #[arg(long)]
    pub extra: bool,
    #[command(flatten)]
    pub posting: Posting,
}

#[derive(Args)]
pub struct SaveArgs {
    #[arg(value_parser = parse_member)]
    pub member: MemberNo,
    #[arg(value_parser = parse_money, allow_negative_numbers = true)]
    pub amount: Money,
    #[command(flatten)]
    pub posting: Posting,
}

#[derive(Args)]
pub struct WithdrawArgs {
    #[arg(value_parser = parse_member)]
    pub member: MemberNo,
    #[arg(value_parser = parse_money, allow_negative_numbers = true)]
    pub amount: Money,
    #[command(flatten)]
    pub posting: Posting,
}

#[derive(Args)]
pub struct BenefitArgs {
    #[arg(value_parser = parse_member)]
    pub member: MemberNo,
    /// childbirth, sickness, old_age, death, education, disaster or other.
    #[arg(value_parser = vocab::parse_benefit_kind)]
    pub kind: BenefitKind,
    #[arg(value_parser = parse_money, allow_negative_numbers = true)]
    pub amount: Money,
    /// Hospital nights (sickness).
    #[arg(long, default_value_t = 0)]
    pub nights: u32,
    /// The committee approves what the rules would refuse, for this reason.
    #[arg(long = "override", value_name = "REASON")]
    pub override_reason: Option<String>,
    #[command(flatten)]
    pub posting: Posting,
}

#[derive(Args)]
pub struct BankArgs {
    #[arg(value_parser = parse_money, allow_negative_numbers = true)]
    pub amount: Money,
    /// Draw cash from the bank instead.
    #[arg(long)]
    pub draw: bool,
    #[command(flatten)]
    pub dated: Dated,
}

#[derive(Args)]
pub struct IncomeArgs {
    #[arg(value_parser = vocab::parse_income_kind)]
    pub kind: IncomeKind,
    #[arg(value_parser = parse_money, allow_negative_numbers = true)]
    pub amount: Money,
    #[command(flatten)]
    pub posting: Posting,
}

#[derive(Args)]
pub struct ExpenseArgs {
    #[arg(value_parser = vocab::parse_expense_kind)]
    pub kind: ExpenseKind,
    #[arg(value_parser = parse_money, allow_negative_numbers = true)]
    pub amount: Money,
    #[command(flatten)]
    pub posting: Posting,
}

#[derive(Args)]
pub struct ReverseArgs {
    pub seq: u64,
    #[arg(long)]
    pub reason: String,
    #[command(flatten)]
    pub dated: Dated,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// The group's enrolment bundle [default: [hub] bundle from --config].
    #[arg(long)]
    pub bundle: Option<PathBuf>,
    /// The group id [default: the group the bundle enrols].
    #[arg(long, value_parser = |t: &str| GroupId::parse(t).map_err(|e| e.to_string()))]
    pub group: Option<GroupId>,
    /// The key backup written by `sajja-node key-export` (every key the
    /// node held), or, for a lost key, the new key from `sajja-node
    /// keygen` that the hub operator re-keyed the group to. Repeatable.
    #[arg(long, required = true)]
    pub key: Vec<PathBuf>,
    /// A public key the group had (hex), when no backup of it survives:
    /// the hub operator's `sajja-hub rekey` prints the group's first key.
    /// Repeatable.
    #[arg(long, value_parser = |t: &str| PublicKey::from_hex(t).ok_or("expected 64 hex digits (an Ed25519 public key)"))]
    pub group_key: Vec<PublicKey>,
}

#[derive(Subcommand)]
pub enum MemberCommand {
    /// Add a member (the next member number).
    Add(MemberAddArgs),
    /// A member leaves; their savings are refunded.
    Leave(MemberLeaveArgs),
    /// Correct a member's name, phone or ID number in this node's register
    /// (or re-enter them after a restore). Never written to the log: the
    /// register stays on this node.
    Edit(MemberEditArgs),
    /// List members with their savings and contributions.
    List(MemberListArgs),
}

#[derive(Args)]
pub struct MemberAddArgs {
    /// Full name: kept only in this node's register, never sent anywhere.
    #[arg(long)]
    pub name: String,
    #[arg(long)]
    pub birth_year: u32,
    /// f or m.
    #[arg(long, value_parser = vocab::parse_sex)]
    pub sex: Option<Sex>,
    /// Kept only in this node's register.
    #[arg(long)]
    pub phone: Option<String>,
    /// National ID number: kept only in this node's register.
    #[arg(long)]
    pub id_number: Option<String>,
    /// Joining date (default: today).
    #[arg(long, value_parser = parse_date)]
    pub joined_on: Option<Date>,
}

#[derive(Args)]
pub struct MemberLeaveArgs {
    #[arg(value_parser = parse_member)]
    pub member: MemberNo,
    /// resigned, moved or died.
    #[arg(long, value_parser = vocab::parse_leave_reason)]
    pub reason: LeaveReason,
    #[command(flatten)]
    pub posting: Posting,
}

#[derive(Args)]
pub struct MemberEditArgs {
    #[arg(value_parser = parse_member)]
    pub member: MemberNo,
    #[arg(long)]
    pub name: Option<String>,
    /// An empty value ("") clears it.
    #[arg(long)]
    pub phone: Option<String>,
    /// An empty value ("") clears it.
    #[arg(long)]
    pub id_number: Option<String>,
}

#[derive(Args)]
pub struct MemberListArgs {
    /// A contribution sheet for the next meeting instead: one row per
    /// active member, amount blank; fill in what each paid and import it
    /// back with `sajja-node import` (a row left blank records nothing).
    #[arg(long)]
    pub csv: bool,
    /// The meeting's date, written in each row of the sheet [default: today].
    #[arg(long, value_parser = parse_date, requires = "csv")]
    pub date: Option<Date>,
    /// Put each member's name in the sheet's note column. The file then
    /// holds personal data: keep it in the village.
    #[arg(long, requires = "csv")]
    pub with_names: bool,
}

#[derive(Subcommand)]
pub enum LoanCommand {
    /// Lend to a member.
    Disburse(LoanDisburseArgs),
    /// A repayment of principal and interest.
    Repay(LoanRepayArgs),
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
pub struct LoanDisburseArgs {
    #[arg(value_parser = parse_member)]
    pub member: MemberNo,
    #[arg(value_parser = parse_money, allow_negative_numbers = true)]
    pub principal: Money,
    /// Monthly interest in percent, e.g. 1.5.
    #[arg(long, value_parser = vocab::parse_percent_basis_points)]
    pub rate: u32,
    /// Term in months.
    #[arg(long)]
    pub term: u32,
    /// How the principal falls due: equal (monthly instalments),
    /// maturity (interest monthly, principal at the end of the term) or
    /// flexible (all due by --due).
    #[arg(long, default_value = "equal", value_parser = vocab::parse_plan)]
    pub plan: vocab::PlanWord,
    /// A flexible loan's final due date.
    #[arg(long, value_parser = vocab::parse_date)]
    pub due: Option<Date>,
    /// A guarantor's member number (repeat for more).
    #[arg(long = "guarantor", value_parser = parse_member)]
    pub guarantors: Vec<MemberNo>,
    /// Loan number (default: the next one).
    #[arg(long, value_parser = parse_loan)]
    pub loan: Option<LoanNo>,
    #[command(flatten)]
    pub posting: Posting,
}

#[derive(Args)]
pub struct LoanRepayArgs {
    #[arg(value_parser = parse_loan)]
    pub loan: LoanNo,
    #[arg(value_parser = parse_money, allow_negative_numbers = true)]
    pub principal: Money,
    #[arg(long, value_parser = parse_money, allow_negative_numbers = true)]
    pub interest: Option<Money>,
    #[command(flatten)]
    pub posting: Posting,
}

#[derive(Args)]
pub struct PoolMove {
    /// Pool id: network geocode, optionally -SUFFIX (e.g. 230101, 23-RES).
    #[arg(value_parser = |t: &str| PoolId::parse(t).map_err(|e| e.to_string()))]
    pub pool: PoolId,
    #[arg(value_parser = parse_money, allow_negative_numbers = true)]
    pub amount: Money,
    #[command(flatten)]
    pub posting: Posting,
}

#[derive(Subcommand)]
pub enum PoolCommand {
    /// Place money in a pooled fund.
    Deposit(PoolMove),
    /// Take money back from a pooled fund.
    Withdraw(PoolMove),
    /// Earmark welfare funds as guarantee reserve of a pool.
    Pledge(PoolMove),
    /// Release a reserve pledge.
    Release(PoolMove),
    /// Pay the group's share of a community exchange's default out of the
    /// reserve pledged to the exchange's pool (the exchange's
    /// `AccountDefaulted` at --exchange-seq names what it settles).
    Draw {
        #[command(flatten)]
        movement: PoolMove,
        /// The exchange's log id, e.g. 230101-X01.
        #[arg(long, value_parser = |t: &str| GroupId::parse(t).map_err(|e| e.to_string()))]
        exchange: GroupId,
        /// The seq of the exchange's `AccountDefaulted` this settles.
        #[arg(long)]
        exchange_seq: u64,
    },
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
pub enum DebugCommand {
    /// Append small events in a loop, printing each committed seq (crash tests).
    AppendLoop {
        #[arg(long, default_value_t = u64::MAX)]
        count: u64,
    },
}

#[derive(Subcommand)]
pub enum ExchangeCommand {
    /// Open a new exchange (its log, key and terms), or install the
    /// enrolment bundle the tambon hub issued for it (`--bundle`).
    Init(ExchangeInitArgs),
    /// The exchange's log id, head, the hub's acknowledged seq and its public key.
    Status,
    /// Accounts: open, change a limit, close, default.
    #[command(subcommand)]
    Account(ExchangeAccountCommand),
    /// Every account with its holder, balance and limit.
    Accounts {
        /// As of this business date (default: today).
        #[arg(long, value_parser = parse_date)]
        as_of: Option<Date>,
    },
    /// Move credits from one account to another.
    Transfer {
        #[arg(value_parser = parse_account)]
        from: sajja_common::exchange::AccountNo,
        #[arg(value_parser = parse_account)]
        to: sajja_common::exchange::AccountNo,
        #[arg(value_parser = parse_credits)]
        amount: sajja_common::exchange::Credits,
        /// goods, produce, services or labour (Thai words accepted).
        #[arg(long, value_parser = parse_category)]
        category: sajja_common::exchange::Category,
        #[arg(long, default_value = "")]
        memo: String,
        #[command(flatten)]
        dated: Dated,
    },
    /// Paper vouchers: issue a serial range to an account, or take one back.
    #[command(subcommand)]
    Vouchers(VoucherCommand),
    /// Reverse a transfer recorded by mistake.
    Reverse {
        seq: u64,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        dated: Dated,
    },
    /// One account's transfers and vouchers, with the running balance.
    Statement {
        #[arg(value_parser = parse_account)]
        account: sajja_common::exchange::AccountNo,
    },
    /// The exchange's figures as of a date (the reserve's coverage is the
    /// hub's to report: the pledges are in the groups' logs).
    Position {
        #[arg(long, value_parser = parse_date)]
        as_of: Option<Date>,
    },
    /// Import accounts, transfers and vouchers from CSV, all or nothing:
    /// `date,kind,account,other,amount,category,text` with kind `open`
    /// (other = holder, amount = limit, text = name), `transfer` (account
    /// pays other; text = memo), `issue` (other = FIRST-LAST, amount =
    /// denomination) or `return` (account receives FIRST-LAST).
    Import { file: PathBuf },
    /// Push the exchange's log to its hub now; exit 0 once all is acknowledged.
    Sync,
    /// Copy the exchange's file (its log, key and holders' names) to DEST,
    /// online, and check the copy re-verifies before it is kept: the only
    /// way back for a lost machine, since the key is in this file alone.
    Backup { dest: PathBuf },
    /// Keep the hub up to date (a daemon, as `run` for a group) and, with
    /// `[web] listen` in --config, serve the exchange's screens.
    Run,
}

#[derive(Args)]
pub struct ExchangeInitArgs {
    /// The exchange's log id: the tambon's geocode, -X and its number (230101-X01).
    #[arg(long, value_parser = |t: &str| GroupId::parse(t).map_err(|e| e.to_string()))]
    pub log: Option<GroupId>,
    /// The exchange's name, e.g. ตลาดบุญตำบลในเมือง.
    #[arg(long)]
    pub name: Option<String>,
    /// Its unit of account, e.g. บุญ: never baht.
    #[arg(long)]
    pub unit: Option<String>,
    /// Baht per whole credit, used only to value debit against the reserve.
    #[arg(long, value_parser = parse_money)]
    pub rate: Option<Money>,
    /// The pool the groups pledge their reserve to (e.g. 230101-XCH).
    #[arg(long, value_parser = |t: &str| PoolId::parse(t).map_err(|e| e.to_string()))]
    pub reserve_pool: Option<PoolId>,
    /// The least share of debit and vouchers the reserve must cover, percent.
    #[arg(long, default_value_t = 50)]
    pub min_coverage: u32,
    /// The most of the debit one account may hold before an alert, percent.
    #[arg(long, default_value_t = 25)]
    pub concentration: u32,
    #[arg(long, value_parser = parse_date)]
    pub opened_on: Option<Date>,
    /// Install this enrolment bundle as the exchange's hub link.
    #[arg(long)]
    pub bundle: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum ExchangeAccountCommand {
    /// Open account NUMBER for a holder with a credit limit.
    Open {
        #[arg(value_parser = parse_account)]
        account: sajja_common::exchange::AccountNo,
        /// member:GROUP:N, group:GROUP, producer, enterprise or shop.
        #[arg(long, value_parser = parse_holder)]
        holder: sajja_common::exchange::HolderKind,
        /// The holder's name: kept on this machine only, never in the log.
        #[arg(long)]
        name: String,
        #[arg(long)]
        phone: Option<String>,
        /// How far the account may go into debit.
        #[arg(long, value_parser = parse_credits)]
        limit: sajja_common::exchange::Credits,
        #[command(flatten)]
        dated: Dated,
    },
    /// Set an account's credit limit (a raise needs --committee).
    Limit {
        #[arg(value_parser = parse_account)]
        account: sajja_common::exchange::AccountNo,
        #[arg(value_parser = parse_credits)]
        limit: sajja_common::exchange::Credits,
        #[arg(long)]
        committee: bool,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        dated: Dated,
    },
    /// Close an account at a zero balance.
    Close {
        #[arg(value_parser = parse_account)]
        account: sajja_common::exchange::AccountNo,
        #[command(flatten)]
        dated: Dated,
    },
    /// An account in debit defaults: its whole debit is written off against
    /// the exchange's reserve at the stated rate.
    Default {
        #[arg(value_parser = parse_account)]
        account: sajja_common::exchange::AccountNo,
        #[command(flatten)]
        dated: Dated,
    },
}

#[derive(Subcommand)]
pub enum VoucherCommand {
    /// Vouchers FIRST..=LAST of DENOMINATION credits each, bought by ACCOUNT.
    Issue {
        #[arg(value_parser = parse_account)]
        account: sajja_common::exchange::AccountNo,
        first: u32,
        last: u32,
        #[arg(long, value_parser = parse_credits)]
        denomination: sajja_common::exchange::Credits,
        #[command(flatten)]
        dated: Dated,
    },
    /// Vouchers FIRST..=LAST returned, credited to account --to.
    Return {
        first: u32,
        last: u32,
        #[arg(long, value_parser = parse_account)]
        to: sajja_common::exchange::AccountNo,
        #[command(flatten)]
        dated: Dated,
    },
}
