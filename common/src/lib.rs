//! Sajja's pure domain core.
//!
//! Everything here is computation over bytes and values: the event model and
//! its exact encoding, the hash chain, signed checkpoints, the log verifier,
//! the ledger fold and the community exchange's fold. `sajja-common` knows
//! nothing about tokio, gRPC or SQLite; the node and the hubs do their input
//! and output and call in here, so the same rules run on every node and
//! every hub.

pub mod admin;
pub mod chain;
pub mod checkpoint;
pub mod date;
pub mod event;
pub mod exchange;
pub mod ids;
pub mod ledger;
pub mod money;
pub mod position;
pub mod rng;
pub mod snapshot;
pub mod verify;
pub mod words;

/// Types generated from `proto/sajja/v1/event.proto` and `exchange.proto`.
/// Only `event`, `admin` and `exchange` convert between these and the domain
/// types.
pub mod pb {
    #![allow(clippy::all, missing_docs)]
    include!(concat!(env!("OUT_DIR"), "/sajja.v1.rs"));
}

pub use chain::Hash;
pub use checkpoint::{Checkpoint, PublicKey, SignedCheckpoint, SigningKey};
pub use date::{Date, Month};
pub use event::{Body, Event};
pub use ids::{GroupId, LoanNo, MemberNo, PoolId};
pub use ledger::Books;
pub use money::Money;
