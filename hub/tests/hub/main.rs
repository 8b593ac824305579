//! The hub's integration tests, one binary: the accept rule against a real
//! SQLite file (`ingest`), last contact (`contact`), the scrub (`scrub`),
//! the `Query` service over mutual TLS (`query`) and the real binary's CLI
//! (`cli`).

mod cli;
mod contact;
mod ingest;
mod query;
mod scrub;
mod support;
