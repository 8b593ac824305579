//! The treasurer's commands, one module per group, binary-only: they print,
//! choose exit codes and speak `anyhow`, while the library below them stays
//! typed (`thiserror`) and silent. This file only declares and re-exports.

mod args;
mod debug;
mod dispatch;
mod exchange;
mod hub;
mod import;
mod keys;
mod loan;
mod member;
mod pool;
mod record;
mod reports;
mod run;
mod setup;
mod shared;

pub use args::{Cli, Command};
pub use dispatch::run;
pub use setup::check_config;
pub use shared::{EXIT_USAGE, exit_code};
