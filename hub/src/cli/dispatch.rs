//! One command line, one function: `run` sends each command to its module.

use crate::cli::args::*;
use crate::cli::enrol::*;
use crate::cli::fork::*;
use crate::cli::operator::*;
use crate::cli::pool::*;
use crate::cli::query::*;
use crate::cli::run::*;
use crate::cli::shared::*;
use crate::demo;
use sajja_hub::ingest::admin::HubIdentity;

pub(crate) fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Init {
            dir,
            hub_id,
            level,
            listen,
            public_url,
            names,
            data_dir,
        } => init(
            &dir,
            &hub_id,
            &level,
            &listen,
            public_url.as_deref(),
            &names,
            &data_dir,
        ),
        Command::CheckConfig { file } => match sajja_hub::config::check_file(&file) {
            Ok(summary) => {
                println!("{}: ok: {summary}", file.display());
                Ok(())
            }
            Err(problems) => {
                for problem in problems {
                    eprintln!("{}", problem.display(&file.display().to_string()));
                }
                std::process::exit(64)
            }
        },
        Command::Backup { config, dest } => {
            let config = load(&config)?;
            backup(&config, &dest)
        }
        Command::Run { config } => {
            let config = load(&config)?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(run_hub(config))
        }
        Command::Enrol(what) => enrol(what),
        Command::Revoke { config, what } => revoke(config, what),
        Command::Credentials { config } => print_credentials(&config),
        Command::Rekey { config, group, key } => rekey(&config, &group, &key),
        Command::Heads { config } => print_heads(&config),
        Command::Fork { command } => fork(command),
        Command::Demo { no_wait } => demo::run(!no_wait),
        Command::Query { command } => query(command),
        Command::Signoff {
            config,
            subject,
            month,
        } => signoff(&config, &subject, &month),
        Command::Pool { command } => pool(command),
        Command::Health { config } => health(&load(&config)?),
        Command::Key { config } => {
            let config = load(&config)?;
            println!("{}", HubIdentity::load(&config)?.public());
            Ok(())
        }
        Command::Import {
            config,
            file,
            receipt,
        } => {
            let config = load(&config)?;
            let receipt_path = receipt.unwrap_or_else(|| file.with_extension("receipt"));
            import(&config, &file, &receipt_path)
        }
    }
}
