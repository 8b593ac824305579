//! What `sajja-node` and `sajja-hub` share at the edge, where files and
//! processes live: SQLite online backups, config files checked line by line,
//! and log set-up. `sajja-common` stays pure; node and hub never depend on
//! each other; so the shared I/O helpers live here, once.

pub mod backup;
pub mod clock;
pub mod enrolment;
pub mod logging;
pub mod shutdown;
pub mod toml_check;
pub mod web;
