//! `sajja-node user ...`: the app's accounts, from the Pi's own shell.

use std::io::BufRead;
use std::path::Path;

use clap::Subcommand;

use super::users::{UserError, Users};
use super::words::Role;

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add an account for the web app. The password is read from the first
    /// line of standard input (never a flag: flags show in `ps`).
    Add {
        name: String,
        /// treasurer (records), committee (approves) or viewer (reads).
        #[arg(long, value_parser = Role::parse)]
        role: Role,
    },
    /// The accounts and their roles.
    List,
}

#[derive(Debug, thiserror::Error)]
pub enum UserCommandError {
    #[error(transparent)]
    Users(#[from] UserError),
    #[error("reading the password from standard input: {0}")]
    Stdin(#[from] std::io::Error),
}

pub fn run(data_dir: &Path, command: UserCommand) -> Result<String, UserCommandError> {
    let users = Users::open(data_dir)?;
    match command {
        UserCommand::Add { name, role } => {
            let mut password = String::new();
            std::io::stdin().lock().read_line(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            users.add(&name, role, password)?;
            Ok(format!("user {name} added as {}", role.name()))
        }
        UserCommand::List => Ok(users
            .list()?
            .into_iter()
            .map(|(name, role)| format!("{name}\t{}\n", role.name()))
            .collect()),
    }
}
