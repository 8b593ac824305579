//! Certificates: the hub's CA and server certificate (`certs`), and the
//! client certificates it issues and reads back (`client_certs`).

pub mod certs;
pub mod client_certs;
