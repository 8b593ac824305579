//! The one deterministic activity generator: a province's groups
//! ([`province`]) and each group's years of activity as a signed-ready event
//! log ([`group_log`]), the same from a seed on every machine. The demo feeds
//! it to real nodes as the CSV that `sajja-node import` reads ([`csv`]); the
//! benchmarks and the tests push its event bytes to hubs directly.
//!
//! The activity: monthly contributions with local and national matching,
//! savings, sickness and childbirth benefits after the waiting period, a death
//! and the member leaving, loans repaid in ten instalments with some arrears,
//! a pool deposit, a reserve pledge, a pool loan, meeting expenses, banking and
//! month closes. Every event is validated by the same `Books::apply` a hub
//! runs, and the generator asks the books it is building for cash, fund and
//! loan balances, so an event the ledger would refuse is never emitted;
//! `GroupLog::refused` counts any that were (it must stay zero).
//!
//! [`exchange`] generates a community exchange's month the same way.
//!
//! Pure: no clock, no file, no network.

pub mod csv;
pub mod exchange;
mod log;
mod spec;
mod year;

pub use log::{GroupLog, Stop};
pub use spec::{GroupSpec, MAX_MEMBERS, MIN_MEMBERS, province};
pub use year::{
    LONG_HISTORY_OPENED_ON, MAX_MONTHS, OPENED_ON, day_of, group_log, group_log_opened,
    province_logs, province_logs_opened,
};
