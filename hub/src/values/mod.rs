//! Plain values every layer above may hold: who a caller is, a group's line
//! and health, a scope's sums, alerts, sign-off digests, times as printed.
//! Nothing here reads a file, a socket or a clock.

pub mod alert;
pub mod lines;
pub mod principal;
pub mod scope_position;
pub mod signoff;
pub mod status;
pub mod time;
