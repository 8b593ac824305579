//! The gRPC services, one module each (`sync`, `query`, `admin`), the
//! streaming of stored logs they share (`pull`), the wire form of query
//! answers and the remote query client, and `serve`, which knows them all.

pub mod admin;
pub mod exchange_wire;
pub mod pull;
pub mod query;
pub mod query_client;
pub mod query_wire;
pub mod serve;
pub mod sync;
