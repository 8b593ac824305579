//! Sajja's hub: ingest of group logs under one accept rule, storage, and the
//! gRPC services. The binary in `main.rs` is a thin CLI over this library.
//!
//! The modules are layers, lowest first; each uses only those before it
//! (ARCHITECTURE.md, and `tests/e2e/layers.rs`, which enforces it).

pub mod app;
pub mod config;
pub mod ingest;
pub mod net;
pub mod pki;
pub mod read;
pub mod relay;
pub mod render;
pub mod rpc;
pub mod store;
pub mod values;
pub mod web;

pub use sajja_edge::{backup, logging};
