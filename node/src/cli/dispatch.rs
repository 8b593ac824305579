//! One `match` over the commands, each handed to its module. `check-config`
//! is handled in `main`, before any config file is read.

use std::path::PathBuf;

use sajja_node::config::{self, NodeConfig};

use super::args::{Cli, Command, DebugCommand};
use super::shared::usage;
use super::{debug, exchange, hub, import, keys, loan, member, pool, record, reports, setup};

pub fn run(cli: Cli, config: Option<NodeConfig>) -> anyhow::Result<()> {
    // A flag (or SAJJA_NODE_DATA) wins over the file, the file over the default.
    let data_dir = cli
        .data_dir
        .or_else(|| config.as_ref().and_then(|c| c.data_dir.clone()))
        .unwrap_or_else(|| PathBuf::from(config::DATA_DIR_DEFAULT));
    let config = config.as_ref();
    let data_dir = data_dir.as_path();
    match cli.command {
        Command::Init(args) => setup::init_command(data_dir, args, config),
        Command::Member(command) => member::member(data_dir, command),
        Command::Contribute(args) => record::contribute(data_dir, args),
        Command::Save(args) => record::save(data_dir, args),
        Command::Withdraw(args) => record::withdraw(data_dir, args),
        Command::Benefit(args) => record::benefit(data_dir, args),
        Command::Loan(command) => loan::loan(data_dir, command),
        Command::Bank(args) => record::bank(data_dir, args),
        Command::Income(args) => record::income(data_dir, args),
        Command::Expense(args) => record::expense(data_dir, args),
        Command::Pool(command) => pool::pool(data_dir, command),
        Command::Reverse(args) => record::reverse(data_dir, args),
        Command::CloseMonth { month, dated } => record::close_month(data_dir, month, dated),
        Command::Rules { set, dated } => record::rules(data_dir, set, dated),
        Command::Balance { as_of, csv } => reports::balance(data_dir, as_of, csv),
        Command::Statement { member, csv } => reports::statement(data_dir, member, csv),
        Command::Log { from, limit } => reports::log(data_dir, from, limit),
        Command::Verify => reports::verify(data_dir),
        Command::Import { file, again } => import::import_file(data_dir, &file, again),
        Command::Status => hub::status(data_dir, config),
        Command::Run => super::run::run(data_dir, config),
        Command::User { command } => {
            println!(
                "{}",
                sajja_node::web::cli::run(data_dir, command)?.trim_end()
            );
            Ok(())
        }
        Command::Sync { .. } => hub::sync_now(data_dir, config),
        Command::Exchange(command) => exchange::exchange(data_dir, command, config),
        Command::Restore(args) => hub::restore_command(data_dir, args, config),
        Command::KeyExport { file } => keys::key_export(data_dir, &file),
        Command::RotateKey { dated } => keys::rotate_key(data_dir, dated),
        Command::Keygen { file } => keys::keygen(&file),
        Command::Export { to, from } => hub::export(data_dir, &to, from),
        Command::ImportReceipt { file } => hub::import_receipt(data_dir, &file),
        Command::Debug(DebugCommand::AppendLoop { count }) => debug::append_loop(data_dir, count),
        // Handled in `main`, before any config file is read.
        Command::CheckConfig { file } => Err(usage(format!(
            "check-config {} runs on its own",
            file.display()
        ))),
        Command::Backup { dest } => setup::backup(data_dir, &dest),
    }
}
