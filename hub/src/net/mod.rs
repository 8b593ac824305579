//! What faces the network below the services: the TLS listener, the gate
//! that names every caller, per-client limits, the operations endpoint
//! (`/health`, `/metrics`) and the metrics it serves.

pub mod blocking;
pub mod gate;
pub mod http;
pub mod limits;
pub mod listener;
pub mod metrics;
