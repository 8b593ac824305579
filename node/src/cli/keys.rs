//! `key-export`, `rotate-key`, `keygen` and the key files `restore` reads.

use std::fs;
use std::path::{Path, PathBuf};

use sajja_common::SigningKey;
use sajja_common::ids::GroupId;

use super::args::Dated;
use super::shared::{open, open_or_salvage, usage, write_private};

/// Writes the private key backup `key-export` makes.
pub fn write_key_backup(file: &Path, group: &GroupId, seeds: &[[u8; 32]]) -> anyhow::Result<()> {
    let mut text = format!(
        "# sajja-node PRIVATE key backup of group {group}: every signing key this node holds, oldest first.\n\
         # Never give it to a hub operator: the group's public key is in `sajja-node status`.\n"
    );
    for seed in seeds {
        text.push_str(&SigningKey::from_seed(seed)?.to_backup_line());
        text.push('\n');
    }
    write_private(file, text.as_bytes())?;
    println!(
        "signing key of {group} ({} key{} in all) written to {} (keep it offline and safe)",
        seeds.len(),
        if seeds.len() == 1 { "" } else { "s" },
        file.display()
    );
    Ok(())
}

/// Reads key files: seeds one a line (`#` starts a comment), as `key-export`
/// and `keygen` write them (`sajja-private-key-v1:` and hex), or bare hex as
/// they were written before the prefix.
pub fn read_seeds(files: &[PathBuf]) -> anyhow::Result<Vec<SigningKey>> {
    let mut seeds = Vec::new();
    for file in files {
        let text =
            fs::read_to_string(file).map_err(|e| usage(format!("{}: {e}", file.display())))?;
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            seeds.push(
                SigningKey::from_backup_line(line)
                    .map_err(|e| usage(format!("{}: not a key backup ({e})", file.display())))?,
            );
        }
    }
    if seeds.is_empty() {
        return Err(usage("--key: the files hold no key"));
    }
    Ok(seeds)
}

/// `key-export`: every key held, also from a damaged ledger.
pub fn key_export(data_dir: &Path, file: &Path) -> anyhow::Result<()> {
    match open_or_salvage(data_dir)? {
        Ok(store) => write_key_backup(file, store.group(), &store.held_seeds()),
        Err(salvage) => {
            // A damaged log does not stop the key backup a restore needs.
            eprintln!(
                "warning: the ledger is damaged ({}); exporting its keys for a restore",
                salvage.damage.map_or_else(String::new, |d| d.to_string())
            );
            write_key_backup(file, &salvage.group, &salvage.seeds)
        }
    }
}

/// `rotate-key`: a new signing key, handed on in the log.
pub fn rotate_key(data_dir: &Path, dated: Dated) -> anyhow::Result<()> {
    let mut store = open(data_dir)?;
    let old = store.public_key();
    let (seq, new) = store.rotate_key(dated.date.unwrap_or_else(sajja_edge::clock::today))?;
    println!("seq {seq}: the group's signing key is now {new}");
    println!("it replaces {old}, which signed the rotation; hubs follow it on the next sync");
    println!(
        "the new key is the group's public key from now on: tell the hub operator, and take a new backup with `sajja-node key-export FILE`"
    );
    Ok(())
}

/// `keygen`: a new key in a file, for a group whose key is lost.
pub fn keygen(file: &Path) -> anyhow::Result<()> {
    let key = SigningKey::generate()?;
    write_private(
        file,
        format!(
            "# sajja-node PRIVATE signing key: keep it; the hub needs only the public key\n{}\n",
            key.to_backup_line()
        )
        .as_bytes(),
    )?;
    println!("public key  {}", key.public());
    println!("seed written to {} (mode 0600)", file.display());
    println!(
        "next: the hub operator runs `sajja-hub rekey GROUP --key {}` and issues a bundle for it; then `sajja-node restore --key {} --group-key OLD-KEY`",
        key.public(),
        file.display()
    );
    Ok(())
}
