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
use anyhow::Context;
use sajja_edge::clock::unix_now;
use sajja_hub::ingest::admin::HubIdentity;
use sajja_hub::ingest::operations;

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
        Command::Revoke { config, what } => {
            let config = load(&config.context("--config is required")?)?;
            let store = open_store(&config)?;
            let target = match what {
                RevokeCommand::Serial { serial } => operations::RevokeTarget::Serial(serial),
                RevokeCommand::Group { group } => operations::RevokeTarget::Principal(
                    operations::principal("group", &group, None)?,
                ),
                RevokeCommand::Hub { hub } => {
                    operations::RevokeTarget::Principal(operations::principal("hub", &hub, None)?)
                }
                RevokeCommand::Coordinator { name, scope } => operations::RevokeTarget::Principal(
                    operations::principal("coordinator", &name, Some(&scope))?,
                ),
                RevokeCommand::Operator { name } => operations::RevokeTarget::Principal(
                    operations::principal("operator", &name, None)?,
                ),
            };
            for serial in operations::revoke(&store, &target)? {
                println!("revoked certificate {serial}: refused from its next call");
            }
            Ok(())
        }
        Command::Credentials { config } => {
            let config = load(&config)?;
            let store = open_store(&config)?;
            println!("{:<34} {:<40} {:<20} status", "serial", "holder", "expires");
            for credential in operations::credentials(&store)? {
                let status = match credential.revoked_at {
                    Some(at) => format!("revoked {}", sajja_hub::values::time::timestamp(at)),
                    None if credential.not_after < unix_now() => "expired".to_string(),
                    None => "live".to_string(),
                };
                println!(
                    "{:<34} {:<40} {:<20} {status}",
                    credential.serial,
                    credential.principal.to_string(),
                    sajja_hub::values::time::timestamp(credential.not_after)
                );
            }
            Ok(())
        }
        Command::Rekey { config, group, key } => rekey(&config, &group, &key),
        Command::Heads { config } => {
            let config = load(&config)?;
            let store = open_store(&config)?;
            println!(
                "{:<12} {:>8} {:>6} {:<7} head",
                "group", "seq", "epoch", "status"
            );
            for group in store.groups()? {
                if let Some(row) = store.group(&group)? {
                    println!(
                        "{:<12} {:>8} {:>6} {:<7} {}",
                        group.as_str(),
                        row.seq,
                        row.fork_epoch,
                        format!("{:?}", row.status).to_lowercase(),
                        row.head
                    );
                }
            }
            Ok(())
        }
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
