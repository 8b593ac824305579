//! `init` (a new ledger), `check-config` and `backup`.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use sajja_common::SigningKey;
use sajja_common::date::Date;
use sajja_common::event::Rules;
use sajja_common::ids::GroupId;
use sajja_node::backup::PendingBackup;
use sajja_node::config::{self, NodeConfig};
use sajja_node::rules_file;
use sajja_node::store::{self, GroupInit, Store, StoreError};

use super::args::InitArgs;
use super::hub::install_bundle;
use super::shared::{EXIT_USAGE, database, restore_hint, usage};

pub fn init(
    data_dir: &Path,
    group: GroupId,
    name: String,
    tambon: Option<String>,
    province: Option<String>,
    opened_on: Option<Date>,
    rules_path: Option<PathBuf>,
) -> anyhow::Result<()> {
    let rules = match rules_path {
        None => Rules::default(),
        Some(path) => {
            let text =
                fs::read_to_string(&path).map_err(|e| usage(format!("{}: {e}", path.display())))?;
            rules_file::parse(&text, &Rules::default()).map_err(|e| usage(e.to_string()))?
        }
    };
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let init = GroupInit {
        tambon: tambon.unwrap_or_else(|| group.tambon().to_string()),
        province: province.unwrap_or_else(|| group.province().to_string()),
        group,
        name,
        opened_on: opened_on.unwrap_or_else(sajja_edge::clock::today),
        rules,
    };
    let key = SigningKey::generate()?;
    let store = Store::create(&database(data_dir), init, key)?;
    let (group, public_key) = (store.group(), store.public_key());
    println!("group {group} opened");
    println!("ledger      {}", store.path().display());
    println!("public key  {public_key}");
    println!();
    println!(
        "next: give the public key above to the hub operator (it is not secret), who enrols it with"
    );
    println!("  sajja-hub enrol group {group} --key {public_key}");
    println!("and hands you the group's enrolment bundle; install it with");
    println!("  sajja-node init --bundle FILE");
    println!("then start syncing: sajja-node run");
    Ok(())
}

pub fn check_config(file: &Path) -> ExitCode {
    let shown = file.display().to_string();
    match config::check_file(file) {
        Ok(summary) => {
            println!("{shown}: ok: {summary}");
            ExitCode::SUCCESS
        }
        Err(problems) => {
            for problem in problems {
                eprintln!("{}", problem.display(&shown));
            }
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// An online copy of the ledger, verified like `verify` before it takes DEST's name.
pub fn backup(data_dir: &Path, dest: &Path) -> anyhow::Result<()> {
    let source = database(data_dir);
    if !source.is_file() {
        return Err(StoreError::Missing(source).into());
    }
    let pending = PendingBackup::start(&source, dest)?;
    let report = match store::verify(pending.path()) {
        Ok(report) => report,
        Err(StoreError::Damaged(damage)) => {
            // Kept as evidence of what the disk held; it restores nothing.
            let dest = pending.finish()?;
            eprintln!(
                "warning: the ledger is damaged ({damage}); {}",
                restore_hint(data_dir)
            );
            println!(
                "copied the DAMAGED ledger to {} (mode 0600): keep it as evidence, it cannot restore the books",
                dest.display()
            );
            return Ok(());
        }
        Err(other) => return Err(other.into()),
    };
    let dest = pending.finish()?;
    println!(
        "backed up group {}: {} events, head {}, to {} (mode 0600; it holds the signing key)",
        report.group,
        report.events,
        report.head,
        dest.display()
    );
    Ok(())
}

/// `init`: a new ledger (`--group`, `--name`), or the hub link of an
/// existing one (`--bundle`), never both.
pub fn init_command(
    data_dir: &Path,
    args: InitArgs,
    config: Option<&NodeConfig>,
) -> anyhow::Result<()> {
    let InitArgs {
        group,
        name,
        bundle,
        tambon,
        province,
        opened_on,
        rules,
    } = args;
    match (bundle, group, name) {
        (Some(bundle), None, None) => install_bundle(data_dir, &bundle, config),
        // The bundle binds the key `init --group` generates, so the two
        // can never be one step.
        (Some(_), _, _) => Err(usage(
            "--bundle installs the hub link into an existing ledger; it cannot come with --group/--name, \
             because the bundle binds the public key that `init --group` generates: \
             run `sajja-node init --group G --name N` first, give the printed public key to the hub operator, \
             then install the bundle they issue with `sajja-node init --bundle FILE`",
        )),
        (None, Some(group), Some(name)) => {
            init(data_dir, group, name, tambon, province, opened_on, rules)
        }
        (None, _, _) => Err(usage(
            "init needs --group and --name (a new ledger), or --bundle FILE (the hub link of an existing one)",
        )),
    }
}
