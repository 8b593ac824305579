//! Sajja's group node: the group's own ledger on a small machine in the village.
//!
//! Lowest layer first (ARCHITECTURE.md, `### node`, says what each may use):
//! - [`vocab`]: the treasurer's words, read and printed.
//! - [`link`]: the hub link and the enrolment-bundle checks.
//! - [`rules_file`]: a group's rules written as TOML.
//! - [`config`]: the optional `node.toml` and `check-config`.
//! - [`store`]: the SQLite ledger — the event log with its hash chain, the
//!   derived books, the private member register and the group's signing keys.
//! - [`exchange`]: exchange mode — a community exchange's log, key and
//!   holders' register in its own SQLite file.
//! - [`compose`]: the treasurer's intentions, turned into event bodies.
//! - [`import`]: all-or-nothing CSV import of an existing paper ledger.
//! - [`report`]: event summaries, the fund summary and members' passbooks.
//! - [`sync`]: the node's side of the Sync protocol: push, pull, restore, bundles.
//! - [`daemon`]: `sajja-node run`, the loop that keeps the hub up to date.
//! - [`web`]: the treasurer's screen, served by `sajja-node run` with `[web] listen`.
//! - [`backup`], [`logging`], [`toml_check`]: from `sajja-edge`.
//!
//! All ledger rules live in `sajja-common`; this crate does the input and output
//! around them. Member names, phones and ID numbers live only in the register
//! table and the treasurer's own screen: never in an event, never in a log line.

pub mod compose;
pub mod config;
pub mod daemon;
pub mod exchange;
pub mod import;
pub mod link;
pub mod report;
pub mod rules_file;
pub mod store;
pub mod sync;
pub mod vocab;
pub mod web;

pub use store::{Store, StoreError};

pub use sajja_edge::{backup, logging, toml_check};
