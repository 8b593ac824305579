//! Exchange mode: the node that keeps a community exchange's log (run by
//! the tambon network's office) — its own file, key and holders' register
//! ([`store`]). Its rules are `sajja_common::exchange`'s, the same every hub
//! runs; it syncs through [`crate::sync::sync_exchange_once`].

mod store;

pub use store::{EXCHANGE_FILE, ExchangeStore, ExchangeStoreError, Holder, MAX_HOLDER_TEXT};

#[cfg(test)]
mod tests;
