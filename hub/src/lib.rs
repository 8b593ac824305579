//! Sajja's hub: ingest of group logs under one accept rule, storage, and the
//! gRPC services. The binary in `main.rs` is a thin CLI over this library.

pub mod admin;
pub mod admin_service;
pub mod config;
pub mod http;
pub mod identity;
pub mod ingest;
pub mod limits;
pub mod listener;
pub mod metrics;
pub mod operations;
pub mod positions;
pub mod query;
pub mod relay;
pub mod report;
pub mod scrub;
pub mod server;
pub mod signoff;
pub mod simulate;
pub mod store;
pub mod tls;
pub mod values;
pub mod web;

pub use sajja_edge::{backup, logging};
