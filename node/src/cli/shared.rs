//! What every command shares: the ledger file and how it opens, usage
//! errors and exit codes, printing a committed event, the async runtime.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use sajja_common::Event;
use sajja_common::date::Date;
use sajja_common::event::Body;
use sajja_common::ledger::Refusal;
use sajja_edge::enrolment::Enrolment;
use sajja_node::import::ImportError;
use sajja_node::report::{self};
use sajja_node::store::{self, Store, StoreError};

pub const EXIT_REFUSED: u8 = 1;

pub const EXIT_DAMAGED: u8 = 2;

pub const EXIT_USAGE: u8 = 64;

pub const DATABASE_FILE: &str = "ledger.sqlite";

/// `status` warns this many days before the client certificate expires: time
/// for a bundle to travel from the hub operator to the village.
pub const CERT_WARN_DAYS: i64 = 30;

/// A mistake in how the program was called, found after parsing.
#[derive(Debug)]
pub struct UsageError(String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

pub fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError(message.into()).into()
}

pub fn exit_code(error: &anyhow::Error) -> u8 {
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
    let exchange_damaged = matches!(
        error.downcast_ref::<sajja_node::exchange::ExchangeStoreError>(),
        Some(sajja_node::exchange::ExchangeStoreError::Damaged(_))
    );
    match store_error {
        Some(StoreError::Damaged(_)) => EXIT_DAMAGED,
        _ if exchange_damaged => EXIT_DAMAGED,
        _ => EXIT_REFUSED,
    }
}

pub fn database(data_dir: &Path) -> PathBuf {
    data_dir.join(DATABASE_FILE)
}

pub fn open(data_dir: &Path) -> anyhow::Result<Store> {
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
pub fn restore_hint(data_dir: &Path) -> String {
    let dir = data_dir.display();
    format!(
        "`status`, `key-export` and `backup` still work: take `sajja-node key-export KEY-BACKUP`, \
         move {dir} aside, then `sajja-node --data-dir {dir} restore --bundle BUNDLE --key KEY-BACKUP` \
         rebuilds the ledger from the hub"
    )
}

/// The ledger, or, when its log no longer verifies, what it still tells.
pub fn open_or_salvage(data_dir: &Path) -> anyhow::Result<Result<Store, store::Salvage>> {
    match Store::open(&database(data_dir)) {
        Ok(store) => Ok(Ok(store)),
        Err(StoreError::Damaged(_)) => Ok(Err(Store::salvage(&database(data_dir))?)),
        Err(other) => Err(other.into()),
    }
}

/// Prints a committed event the way `log` does, read back from the database.
pub fn print_committed(store: &Store, seq: u64) -> anyhow::Result<()> {
    let event = store
        .event(seq)?
        .with_context(|| format!("seq {seq} was committed but cannot be read back"))?;
    println!("{}", log_line(&event, false));
    Ok(())
}

pub fn log_line(event: &Event, reversed: bool) -> String {
    let mark = if reversed { "  [reversed]" } else { "" };
    format!(
        "{:>6}  {}  {:<20}  {}{mark}",
        event.seq,
        event.date,
        event.body.kind(),
        report::summary(event)
    )
}

pub fn append(store: &mut Store, date: Date, body: Body) -> anyhow::Result<()> {
    let seq = store.append(date, body)?;
    print_committed(store, seq)
}

/// A refusal of our own making (a lookup before the ledger saw the event),
/// shaped like the ledger's so it prints and exits the same way.
pub fn refuse(store: &Store, rule: sajja_common::ledger::Rule) -> anyhow::Error {
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
pub fn append_composed(
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

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    // One thread: a node is a small machine and has one hub to talk to.
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// A certificate's expiry as a date. The time comes from a bundle file, so it
/// is bounded first: `thai_date_at` adds Thailand's offset to it.
pub fn expiry_date(not_after: i64) -> Date {
    const YEAR_9999: i64 = 253_402_300_799;
    Date::thai_date_at(not_after.clamp(0, YEAR_9999))
}

/// A bundle file that cannot be read or is not a bundle is bad usage, like a
/// bad `--rules` file.
pub fn read_bundle(path: &Path) -> anyhow::Result<Enrolment> {
    Enrolment::read(path).map_err(|e| usage(e.to_string()))
}

/// A new file, mode 0600, never over an existing one: `sajja_edge`'s, with
/// the path in the error.
pub fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    sajja_edge::enrolment::write_private(path, contents)
        .with_context(|| format!("creating {}", path.display()))
}
