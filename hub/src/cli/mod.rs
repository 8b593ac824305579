//! The commands of `sajja-hub`, one module per group, dispatched from
//! `dispatch::run`. They live with the binary: they print, pick exit codes
//! and use `anyhow`; the library below stays typed and silent.

pub(crate) mod args;
pub(crate) mod dispatch;
pub(crate) mod enrol;
pub(crate) mod fork;
pub(crate) mod operator;
pub(crate) mod pool;
pub(crate) mod query;
pub(crate) mod run;
pub(crate) mod shared;
