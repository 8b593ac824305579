//! The `sajja-common` test suite, as one integration-test crate so it links once.
//!
//! - `support`: builders for events and logs, and the one refusal check.
//! - `kinds`: what each event kind does to the books.
//! - `rules`: every rule the ledger refuses an event by.
//! - `dates`: back-dated events against the books on their business date.
//! - `props`: property tests over random valid logs.
//! - `scenario`: three years of a 30-member group against hand-computed figures.
//! - `integrity`: the hash chain, checkpoints and the verifier's precise errors.
//! - `money`: amounts as a treasurer types them.
//! - `hostile`: arbitrary and damaged bytes never panic anything.
//! - `exchange`: the community exchange's log, wire, position and properties.

mod dates;
mod exchange;
mod hostile;
mod integrity;
mod kinds;
mod money;
mod plans;
mod props;
mod rules;
mod scenario;
mod support;
