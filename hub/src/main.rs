//! `sajja-hub`: run a tambon or province hub, and administer it.

mod cli;
mod demo;

use std::process::ExitCode;

use clap::Parser;
use sajja_hub::logging;

use crate::cli::args::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(
        cli.log_format.unwrap_or_default(),
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
    );
    match cli::dispatch::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
