//! `sajja-node exchange …`: exchange mode, the tambon network office's node
//! for a community exchange. Every entry goes through
//! [`ExchangeStore::append`] (the exchange's rules, the same every hub
//! runs); the log syncs with `exchange sync` over the group's protocol.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use sajja_common::SigningKey;
use sajja_common::date::Date;
use sajja_common::exchange::{
    AccountNo, Credits, ExchangeBody, ExchangeBooks, ExchangePosition, ExchangeTerms, HolderKind,
};
use sajja_common::words::pad;
use sajja_edge::clock::{today, unix_now};
use sajja_node::exchange::{EXCHANGE_FILE, ExchangeStore, Holder};
use sajja_node::sync::HubLink;

use super::args::{
    Dated, ExchangeAccountCommand, ExchangeCommand, ExchangeInitArgs, VoucherCommand,
};
use super::shared::{read_bundle, runtime, usage};
use sajja_node::vocab::{parse_account, parse_category, parse_credits, parse_holder};

fn file(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join(EXCHANGE_FILE)
}

fn open(data_dir: &Path) -> anyhow::Result<ExchangeStore> {
    Ok(ExchangeStore::open(&file(data_dir))?)
}

fn date(dated: &Dated) -> Date {
    dated.date.unwrap_or_else(today)
}

pub fn exchange(
    data_dir: &Path,
    command: ExchangeCommand,
    config: Option<&sajja_node::config::NodeConfig>,
) -> anyhow::Result<()> {
    match command {
        ExchangeCommand::Init(args) => init(data_dir, args),
        ExchangeCommand::Status => status(data_dir),
        ExchangeCommand::Account(command) => account(data_dir, command),
        ExchangeCommand::Accounts { as_of } => accounts(data_dir, as_of.unwrap_or_else(today)),
        ExchangeCommand::Transfer {
            from,
            to,
            amount,
            category,
            memo,
            dated,
        } => {
            let body = ExchangeBody::Transfer {
                from,
                to,
                amount,
                category,
                memo,
            };
            record(data_dir, date(&dated), body, None)
        }
        ExchangeCommand::Vouchers(command) => vouchers(data_dir, command),
        ExchangeCommand::Reverse { seq, reason, dated } => record(
            data_dir,
            date(&dated),
            ExchangeBody::Reversal {
                reversed_seq: seq,
                reason,
            },
            None,
        ),
        ExchangeCommand::Statement { account } => statement(data_dir, account),
        ExchangeCommand::Position { as_of } => position(data_dir, as_of.unwrap_or_else(today)),
        ExchangeCommand::Import { file } => import(data_dir, &file),
        ExchangeCommand::Sync => sync(data_dir),
        ExchangeCommand::Run => run(data_dir, config),
        ExchangeCommand::Backup { dest } => backup(data_dir, &dest),
    }
}

fn init(data_dir: &Path, args: ExchangeInitArgs) -> anyhow::Result<()> {
    if let Some(bundle) = &args.bundle {
        let store = open(data_dir)?;
        store.set_hub_link(&read_bundle(bundle)?, unix_now())?;
        println!(
            "exchange {}: hub link installed; `sajja-node exchange sync` pushes its log",
            store.log()
        );
        return Ok(());
    }
    let (Some(log), Some(name), Some(unit), Some(rate), Some(reserve_pool)) =
        (args.log, args.name, args.unit, args.rate, args.reserve_pool)
    else {
        return Err(usage(
            "exchange init needs --log, --name, --unit, --rate and --reserve-pool (a new exchange), or --bundle FILE (its hub link)",
        ));
    };
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let terms = ExchangeTerms {
        name,
        unit_name: unit,
        rate_per_credit: rate,
        reserve_pool,
        policy_min_coverage_basis_points: args.min_coverage.saturating_mul(100),
        concentration_limit_basis_points: args.concentration.saturating_mul(100),
    };
    let opened_on = args.opened_on.unwrap_or_else(today);
    let store = ExchangeStore::create(
        &file(data_dir),
        log,
        terms,
        opened_on,
        SigningKey::generate()?,
    )?;
    println!(
        "exchange {} opened on {opened_on}\npublic key {}\n\
         Give the log id and this public key to the tambon hub operator \
         (`sajja-hub enrol group {} --key KEY`), then install the bundle they \
         hand over with `sajja-node exchange init --bundle FILE`.",
        store.log(),
        store.public_key().to_hex(),
        store.log()
    );
    Ok(())
}

fn status(data_dir: &Path) -> anyhow::Result<()> {
    let store = open(data_dir)?;
    let (head, _) = store.head();
    let (acked, at) = store.acked()?;
    let terms = store.books().terms.as_ref();
    println!("exchange    {}", store.log());
    if let Some(t) = terms {
        println!("name        {}", t.name);
        println!(
            "unit        {} ({} baht a credit values debit against the reserve only)",
            t.unit_name, t.rate_per_credit
        );
        println!("reserve     pool {}", t.reserve_pool);
    }
    println!("head        seq {head}");
    match at {
        Some(at) => println!("hub holds   seq {acked} (acknowledged at {at})"),
        None => println!("hub holds   nothing yet"),
    }
    if let Some(bundle) = store.hub_link()? {
        println!("hub         {} ({})", bundle.hub_url, bundle.hub_id);
    } else {
        println!(
            "hub         not linked: install the enrolment bundle with `exchange init --bundle FILE`"
        );
    }
    println!("public key  {}", store.public_key().to_hex());
    Ok(())
}

/// Appends one entry and prints it as the log would.
fn record(
    data_dir: &Path,
    date: Date,
    body: ExchangeBody,
    holder: Option<Holder>,
) -> anyhow::Result<()> {
    let mut store = open(data_dir)?;
    let seq = store.append(date, body.clone(), holder.as_ref())?;
    println!("{seq:>6}  {date}  {:<18}  {}", body.kind(), summary(&body));
    Ok(())
}

/// One line for an entry: what it moved, never a holder's name.
fn summary(body: &ExchangeBody) -> String {
    match body {
        ExchangeBody::ExchangeOpened(t) => format!("{} ({})", t.name, t.unit_name),
        ExchangeBody::AccountOpened {
            account,
            credit_limit,
            ..
        } => format!("account {account}, limit {credit_limit}"),
        ExchangeBody::CreditLimitChanged {
            account, new_limit, ..
        } => format!("account {account}, limit {new_limit}"),
        ExchangeBody::Transfer {
            from,
            to,
            amount,
            category,
            ..
        } => format!("{from} → {to}: {amount} ({})", category.name()),
        ExchangeBody::VouchersIssued {
            account,
            first_serial,
            last_serial,
            denomination,
        } => {
            format!("vouchers {first_serial}–{last_serial} of {denomination} to account {account}")
        }
        ExchangeBody::VouchersReturned {
            first_serial,
            last_serial,
            to_account,
        } => format!("vouchers {first_serial}–{last_serial} back to account {to_account}"),
        ExchangeBody::AccountClosed { account } => format!("account {account} closed"),
        ExchangeBody::AccountDefaulted {
            account,
            written_off,
            settled,
            from_pool,
        } => format!(
            "account {account}: {written_off} written off, {settled} baht from pool {from_pool}"
        ),
        ExchangeBody::Reversal { reversed_seq, .. } => format!("reverses seq {reversed_seq}"),
    }
}

fn account(data_dir: &Path, command: ExchangeAccountCommand) -> anyhow::Result<()> {
    match command {
        ExchangeAccountCommand::Open {
            account,
            holder,
            name,
            phone,
            limit,
            dated,
        } => record(
            data_dir,
            date(&dated),
            ExchangeBody::AccountOpened {
                account,
                holder,
                credit_limit: limit,
            },
            Some(Holder { name, phone }),
        ),
        ExchangeAccountCommand::Limit {
            account,
            limit,
            committee,
            reason,
            dated,
        } => record(
            data_dir,
            date(&dated),
            ExchangeBody::CreditLimitChanged {
                account,
                new_limit: limit,
                approved_by_committee: committee,
                reason,
            },
            None,
        ),
        ExchangeAccountCommand::Close { account, dated } => record(
            data_dir,
            date(&dated),
            ExchangeBody::AccountClosed { account },
            None,
        ),
        ExchangeAccountCommand::Default { account, dated } => {
            let store = open(data_dir)?;
            let on = date(&dated);
            let body = default_body(store.books(), account, on)?;
            drop(store);
            record(data_dir, on, body, None)
        }
    }
}

/// The default the books decide: the account's whole debit written off,
/// settled in baht at the stated rate (rounded up), from the reserve pool.
/// The exchange's rules check all three again.
fn default_body(
    books: &ExchangeBooks,
    account: AccountNo,
    on: Date,
) -> anyhow::Result<ExchangeBody> {
    let terms = books.terms.as_ref().context("the exchange has no terms")?;
    let held = books
        .accounts
        .get(&account)
        .with_context(|| format!("account {account} is not an account of this exchange"))?;
    let balance = held.balance_as_of(on);
    let written_off = Credits::from_centi(balance.centi().saturating_neg());
    let settled = written_off
        .valued_at(terms.rate_per_credit)
        .with_context(|| format!("account {account} has a balance of {balance}, not a debit: only an account in debit defaults (close it instead)"))?;
    Ok(ExchangeBody::AccountDefaulted {
        account,
        written_off,
        settled,
        from_pool: terms.reserve_pool.clone(),
    })
}

fn vouchers(data_dir: &Path, command: VoucherCommand) -> anyhow::Result<()> {
    let (on, body) = match command {
        VoucherCommand::Issue {
            account,
            first,
            last,
            denomination,
            dated,
        } => (
            date(&dated),
            ExchangeBody::VouchersIssued {
                account,
                first_serial: first,
                last_serial: last,
                denomination,
            },
        ),
        VoucherCommand::Return {
            first,
            last,
            to,
            dated,
        } => (
            date(&dated),
            ExchangeBody::VouchersReturned {
                first_serial: first,
                last_serial: last,
                to_account: to,
            },
        ),
    };
    record(data_dir, on, body, None)
}

fn holder_word(holder: &HolderKind) -> String {
    match holder {
        HolderKind::Member { group, member } => format!("member {member} of {group}"),
        HolderKind::Producer => "producer".into(),
        HolderKind::Enterprise => "enterprise".into(),
        HolderKind::Shop => "shop".into(),
        HolderKind::Group(group) => format!("group {group}"),
    }
}

fn accounts(data_dir: &Path, as_of: Date) -> anyhow::Result<()> {
    let store = open(data_dir)?;
    let unit = store
        .books()
        .terms
        .as_ref()
        .map_or(String::new(), |t| t.unit_name.clone());
    println!(
        "Accounts of exchange {} as of {as_of} (credits in {unit}: not money)",
        store.log()
    );
    println!(
        "{:>7}  {:<26} {:<24} {:>12} {:>10}  status",
        "account", "holder", "name", "balance", "limit"
    );
    for (number, account) in &store.books().accounts {
        if account.opened_on > as_of {
            continue;
        }
        let name = store.holder(*number)?.map(|h| h.name).unwrap_or_default();
        println!(
            "{:>7}  {:<26} {} {:>12} {:>10}  {}",
            number.0,
            holder_word(&account.holder),
            pad(&name, 24),
            account.balance_as_of(as_of),
            account.limit_as_of(as_of),
            account.status.as_of(as_of).name()
        );
    }
    Ok(())
}

fn statement(data_dir: &Path, account: AccountNo) -> anyhow::Result<()> {
    let store = open(data_dir)?;
    let held = store
        .books()
        .accounts
        .get(&account)
        .with_context(|| format!("account {account} is not an account of this exchange"))?;
    let name = store.holder(account)?.map(|h| h.name).unwrap_or_default();
    println!(
        "Account {account}: {} {name}, limit {}, {}",
        holder_word(&held.holder),
        held.limit,
        held.status.name()
    );
    for (event, change, after) in store.statement(account)? {
        println!(
            "{:>6}  {}  {:<18} {:>12} {:>12}  {}",
            event.seq,
            event.date,
            event.body.kind(),
            change,
            after,
            summary(&event.body)
        );
    }
    println!("balance {}", held.balance);
    Ok(())
}

fn position(data_dir: &Path, as_of: Date) -> anyhow::Result<()> {
    let store = open(data_dir)?;
    let Some(p) = ExchangePosition::of(store.books(), as_of, &BTreeMap::new()) else {
        println!("exchange {} had not opened by {as_of}", store.log());
        return Ok(());
    };
    println!(
        "Exchange {} as of {as_of} (credits in {}: not money, never baht)",
        p.log, p.unit_name
    );
    println!(
        "  accounts open / closed / defaulted  {} / {} / {}",
        p.accounts_open, p.accounts_closed, p.accounts_defaulted
    );
    println!("  credit in circulation  {:>14}", p.credit_in_circulation);
    println!("  debit outstanding      {:>14}", p.debit_outstanding);
    println!("  vouchers outstanding   {:>14}", p.vouchers_outstanding);
    println!("  debit written off      {:>14}", p.debit_written_off);
    println!(
        "  to guarantee at {} baht a credit: {} baht (the hub reports how much of it the groups' reserve in pool {} covers)",
        p.rate_per_credit, p.exposure, p.reserve_pool
    );
    Ok(())
}

/// Splits `FIRST-LAST`.
fn serials(text: &str) -> Result<(u32, u32), String> {
    let bad = || format!("'{text}' is not a serial range FIRST-LAST, e.g. 1-20");
    let (first, last) = text.split_once('-').ok_or_else(bad)?;
    Ok((
        first.trim().parse().map_err(|_| bad())?,
        last.trim().parse().map_err(|_| bad())?,
    ))
}

/// One CSV row as an entry: `date,kind,account,other,amount,category,text`.
fn row_entry(cells: &[&str]) -> Result<(Date, ExchangeBody, Option<Holder>), String> {
    let cell = |i: usize| cells.get(i).copied().unwrap_or("").trim();
    let date = sajja_node::vocab::parse_date(cell(0))?;
    let account = || parse_account(cell(2));
    Ok(match cell(1) {
        "open" => (
            date,
            ExchangeBody::AccountOpened {
                account: account()?,
                holder: parse_holder(cell(3))?,
                credit_limit: parse_credits(cell(4))?,
            },
            Some(Holder {
                name: cell(6).to_string(),
                phone: None,
            }),
        ),
        "transfer" => (
            date,
            ExchangeBody::Transfer {
                from: account()?,
                to: parse_account(cell(3))?,
                amount: parse_credits(cell(4))?,
                category: parse_category(cell(5))?,
                memo: cell(6).to_string(),
            },
            None,
        ),
        "issue" => {
            let (first_serial, last_serial) = serials(cell(3))?;
            (
                date,
                ExchangeBody::VouchersIssued {
                    account: account()?,
                    first_serial,
                    last_serial,
                    denomination: parse_credits(cell(4))?,
                },
                None,
            )
        }
        "return" => {
            let (first_serial, last_serial) = serials(cell(3))?;
            (
                date,
                ExchangeBody::VouchersReturned {
                    first_serial,
                    last_serial,
                    to_account: account()?,
                },
                None,
            )
        }
        other => {
            return Err(format!(
                "kind '{other}' is not open, transfer, issue or return"
            ));
        }
    })
}

/// The most rows one import may hold.
const MAX_IMPORT_ROWS: usize = 100_000;

/// The columns of an exchange import, in this order.
const IMPORT_COLUMNS: [&str; 7] = [
    "date", "kind", "account", "other", "amount", "category", "text",
];

fn import(data_dir: &Path, path: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let bad = |at: String, e: String| usage(format!("{} {at}: {e}", path.display()));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(&bytes[..]);
    let header = reader
        .headers()
        .map_err(|e| bad("header".into(), e.to_string()))?;
    if header.iter().map(str::trim).ne(IMPORT_COLUMNS) {
        return Err(bad(
            "header".into(),
            format!("expected {}", IMPORT_COLUMNS.join(",")),
        ));
    }
    let mut entries = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let line = format!("line {}", index + 2);
        let record = record.map_err(|e| bad(line.clone(), e.to_string()))?;
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if entries.len() >= MAX_IMPORT_ROWS {
            return Err(bad(
                line,
                format!("more than {MAX_IMPORT_ROWS} rows; split the file"),
            ));
        }
        let cells: Vec<&str> = record.iter().collect();
        entries.push(row_entry(&cells).map_err(|e| bad(line, e))?);
    }
    let mut store = open(data_dir)?;
    let (first, last) = store.import_file(entries, sajja_node::import::digest(&bytes))?;
    println!(
        "imported seq {first}..={last} into exchange {}",
        store.log()
    );
    Ok(())
}

fn sync(data_dir: &Path) -> anyhow::Result<()> {
    let mut store = open(data_dir)?;
    let bundle = store
        .hub_link()?
        .ok_or_else(|| usage("the exchange has no hub link: install its enrolment bundle with `sajja-node exchange init --bundle FILE`"))?;
    let link = HubLink::from_bundle(&bundle);
    let report = runtime()?.block_on(sajja_node::sync::sync_exchange_once(&mut store, &link))?;
    println!(
        "hub holds seq {}: pushed {} events in {} batches",
        report.hub_seq, report.pushed_events, report.batches
    );
    Ok(())
}

/// `exchange run`: the daemon that keeps the hub up to date and, with
/// `[web] listen`, the exchange's screens; an exchange not yet enrolled can
/// still serve its screens.
fn run(data_dir: &Path, config: Option<&sajja_node::config::NodeConfig>) -> anyhow::Result<()> {
    let store = open(data_dir)?;
    let web = config.and_then(|c| c.web.listen.clone());
    let link = store
        .hub_link()?
        .map(|bundle| HubLink::from_bundle(&bundle));
    if link.is_none() && web.is_none() {
        return Err(usage(
            "the exchange has no hub link to sync with and no [web] listen to serve: install its enrolment bundle with `sajja-node exchange init --bundle FILE`",
        ));
    }
    let settings = config
        .map(sajja_node::config::NodeConfig::daemon_settings)
        .unwrap_or_default();
    tracing::info!(exchange = %store.log(), "exchange node starting");
    runtime()?.block_on(super::run::serve_and_sync(
        sajja_node::daemon::Kept::Exchange(Box::new(store)),
        link,
        settings,
        web,
        data_dir,
    ))
}

/// `exchange backup`: an online copy of the exchange's file, kept only if
/// it opens and its whole log re-verifies.
fn backup(data_dir: &Path, dest: &Path) -> anyhow::Result<()> {
    let source = file(data_dir);
    if !source.is_file() {
        return Err(sajja_node::exchange::ExchangeStoreError::Missing(source).into());
    }
    let pending = sajja_node::backup::PendingBackup::start(&source, dest)?;
    let copy = ExchangeStore::open(pending.path())
        .context("the copy does not verify; nothing was kept")?;
    let (head, _) = copy.head();
    let log = copy.log().clone();
    drop(copy);
    let dest = pending.finish()?;
    println!(
        "backed up exchange {log}: {head} events, to {} (mode 0600; it holds the signing key and holders' names)",
        dest.display()
    );
    Ok(())
}
