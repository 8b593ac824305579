//! `sajja-node`: the treasurer's command line over the group's ledger.
//!
//! Exit codes: 0 done; 1 refused by a ledger rule (or an import row), or an
//! operating failure; 2 the ledger is damaged (`verify` names the first bad
//! seq); 64 bad usage (unknown flag, unparsable amount or date).
//!
//! This file parses the command line, reads the config file and sets up
//! logging; each command lives in [`cli`].

mod cli;

use std::process::ExitCode;

use clap::Parser;
use sajja_node::config::NodeConfig;

use cli::{Cli, Command, EXIT_USAGE, check_config, exit_code};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    if let Command::CheckConfig { file } = &cli.command {
        return check_config(file);
    }
    let config = match cli.config.as_deref().map(NodeConfig::load).transpose() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let log = config.as_ref().map(|c| c.log.clone()).unwrap_or_default();
    sajja_node::logging::init(
        cli.log_format.unwrap_or(log.format),
        tracing_subscriber::EnvFilter::try_from_env("SAJJA_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&log.level)),
    );
    match cli::run(cli, config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sajja-node: {error}");
            ExitCode::from(exit_code(&error))
        }
    }
}
