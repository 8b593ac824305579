//! End-to-end tests: real `sajja-hub` and `sajja-node` processes talking gRPC
//! over TLS on 127.0.0.1, with real SQLite files.

mod contact;
mod demo;
mod exchange;
mod faults;
mod federation;
mod hostile;
mod keys;
mod layers;
mod metrics;
mod operator;
mod security;
mod support;
mod sync;
mod web_exchange;
mod web_hub;
mod web_node;
