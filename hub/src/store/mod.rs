//! The hub's SQLite store: every enrolled group's log, its latest signed
//! checkpoint, fork evidence, and the group's summary figures.
//!
//! Events are stored exactly as the node encoded them, keyed by a small integer
//! per group. Nothing here decides what may be stored; `ingest` does.

mod credentials;
mod damage;
mod forks;
mod handle;
mod keys;
mod logs;
mod schema;
mod snapshots;

pub use credentials::*;
pub use damage::*;
pub use handle::*;
pub use keys::*;
pub use snapshots::*;
