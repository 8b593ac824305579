//! The community exchange's log: its rules, its wire, its position and
//! property tests over random streams of transfers, vouchers and limits.
//!
//! - `support`: the exchange builder and the one refusal check.
//! - `scenario`: the exchange as its office and its coordinators see it.
//! - `rules`: every rule the exchange's books refuse an event by.
//! - `wire`: encoding round trips and hostile bytes.
//! - `props`: random streams: zero sum, no limit breached on any date, the
//!   incremental fold equals the fold from scratch, the as-of fold equals the
//!   fold of the events dated up to the date.

mod props;
mod rules;
mod scenario;
mod support;
mod wire;
