//! The reading side: positions, sign-offs and query answers, folded from
//! the store by a [`cache::Reader`] that keeps what it has computed. Nothing
//! here writes.

pub mod cache;
pub mod exchanges;
pub mod positions;
pub mod query;
pub mod signoff;
