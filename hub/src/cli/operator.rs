//! The operator's single commands: health, rekey, sign-off, import, backup.

use std::path::Path;

use crate::cli::args::RevokeCommand;
use crate::cli::shared::*;
use anyhow::{Context, bail};
use sajja_common::admin::AdminBody;
use sajja_edge::clock::unix_now;
use sajja_hub::backup::PendingBackup;
use sajja_hub::config::HubConfig;
use sajja_hub::ingest::accept::{BatchOutcome, Ingest};
use sajja_hub::ingest::admin;
use sajja_hub::ingest::admin::HubIdentity;
use sajja_hub::ingest::operations;
use sajja_hub::rpc::sync as server;
use sajja_hub::store::Store;

/// `GET /health` on the running hub's operations endpoint.
pub(crate) fn health(config: &HubConfig) -> anyhow::Result<()> {
    use std::io::{Read, Write};
    let addr = match std::fs::read_to_string(config.metrics_addr_file()) {
        Ok(addr) => addr.trim().to_string(),
        Err(_) => match config.metrics_listen {
            Some(listen) => listen.to_string(),
            None => bail!("metrics_listen is not set in the config: the hub serves no /health"),
        },
    };
    let timeout = std::time::Duration::from_secs(10);
    let mut stream = std::net::TcpStream::connect(&addr)
        .with_context(|| format!("the hub's /health at {addr} does not answer"))?;
    stream.set_read_timeout(Some(timeout))?;
    write!(
        stream,
        "GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = Vec::new();
    stream.take(64 * 1024).read_to_end(&mut answer)?;
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let healthy = head.starts_with("HTTP/1.1 200");
    print!("{body}");
    if !body.ends_with('\n') {
        println!();
    }
    if healthy {
        Ok(())
    } else {
        bail!("hub {} is not healthy", config.hub_id)
    }
}

/// `sajja-hub rekey`: an operator re-key in the hub's own log.
pub(crate) fn rekey(config_path: &Path, group: &str, key: &str) -> anyhow::Result<()> {
    let config = load(config_path)?;
    let group = parse_group(group)?;
    let key = operations::parse_group_key(key).context("--key")?;
    if group.is_hub_log() {
        bail!("{group} is a hub's log id; a child hub's key is its [[children]] entry");
    }
    let identity = HubIdentity::load(&config)?;
    let mut ingest = Ingest::new(open_store(&config)?);
    let row = ingest
        .store()
        .group(&group)?
        .with_context(|| format!("group {group} is not enrolled at this hub"))?;
    if row.key == key {
        println!("{group} already signs with key {key}");
        return Ok(());
    }
    // A restore verifies the log from a key it had; the first one always is.
    let first = ingest.store().key_at(&row, 0)?;
    let seq = admin::append(
        &mut ingest,
        &identity,
        vec![AdminBody::GroupRekeyed {
            group: group.clone(),
            key,
        }],
    )?;
    println!("re-keyed {group} to {key} (hub log seq {seq})");
    println!(
        "checkpoints signed with {} or any earlier key of {group} are refused from now on",
        row.key
    );
    println!("next: issue the node's bundle for the new key:");
    println!(
        "  sajja-hub enrol group {group} --key {key} --config {}",
        config_path.display()
    );
    println!("and tell the treasurer the group's first key, {first}, to restore with:");
    println!("  sajja-node restore --bundle FILE --key NEW-KEY-FILE --group-key {first}");
    Ok(())
}

/// `sajja-hub signoff`: checks the month may be signed off here, then records
/// `MonthSignedOff` in this hub's log through the accept rule.
pub(crate) fn signoff(config: &Path, subject: &str, month: &str) -> anyhow::Result<()> {
    let config = load(config)?;
    let month: sajja_common::Month = month
        .parse()
        .with_context(|| format!("month {month:?}: expected YYYY-MM"))?;
    let identity = HubIdentity::load(&config)?;
    let mut ingest = Ingest::new(open_store(&config)?);
    let log = identity.log();
    match admin::sign_off(&mut ingest, &identity, &config, subject, month)? {
        admin::SignedOff::Already { seq } => {
            println!("{subject} {month} is already signed off (hub log {log} seq {seq})")
        }
        admin::SignedOff::New { seq, digest } => println!(
            "signed off {subject} {month} (digest {}) in hub log {log} at seq {seq}",
            &digest.to_hex()[..16]
        ),
    }
    Ok(())
}

pub(crate) fn import(config: &HubConfig, file: &Path, receipt_path: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let bundle = sajja_proto::bundle::decode_bundle(&bytes)
        .with_context(|| format!("{}", file.display()))?;
    let mut ingest = Ingest::new(open_store(config)?);
    let mut group = None;
    let mut refused = 0;
    for batch in &bundle.batches {
        let checkpoint =
            sajja_proto::convert::checkpoint(batch.checkpoint.as_ref(), "batch.checkpoint")?;
        group = Some(checkpoint.checkpoint.group.clone());
        let held = ingest
            .position(&checkpoint.checkpoint.group)
            .map_or(0, |p| p.seq);
        match ingest.batch(batch.from_seq, &batch.events, &checkpoint) {
            Ok(BatchOutcome::Acked { from, to, .. }) => {
                println!("accepted {} seq {from}..={to}", checkpoint.checkpoint.group);
                // New events carried by hand are the group's contact too.
                if to > held {
                    ingest.record_contact(&checkpoint.checkpoint.group, unix_now())?;
                }
            }
            Ok(BatchOutcome::SendFrom(n)) => {
                refused += 1;
                println!(
                    "skipped {} seq {}..: the hub holds only up to {}; import the earlier bundle first",
                    checkpoint.checkpoint.group,
                    batch.from_seq,
                    n - 1
                );
            }
            Ok(BatchOutcome::Forked(fork)) => {
                refused += 1;
                println!(
                    "FORK: {} seq {} differs from the accepted event; see `sajja-hub fork show {}`",
                    fork.group, fork.seq, fork.group
                );
            }
            Err(e) => {
                refused += 1;
                println!(
                    "refused {} seq {} ({}): {e}",
                    checkpoint.checkpoint.group,
                    e.seq(),
                    e.check()
                );
            }
        }
    }
    let group = group.context("the bundle holds no batches")?;
    let position = ingest.position(&group)?;
    let wire = server::wire_position(&position);
    std::fs::write(
        receipt_path,
        sajja_proto::bundle::encode_receipt(&config.hub_id, wire),
    )
    .with_context(|| format!("writing {}", receipt_path.display()))?;
    println!(
        "hub holds {group} up to seq {}; receipt written to {}",
        position.seq,
        receipt_path.display()
    );
    if refused > 0 {
        bail!("{refused} batch(es) not accepted");
    }
    Ok(())
}

/// A consistent copy of the live database, checked before it takes DEST's name.
pub(crate) fn backup(config: &HubConfig, dest: &Path) -> anyhow::Result<()> {
    let pending = PendingBackup::start(&config.database_path(), dest)?;
    let store = Store::open(pending.path())?;
    let groups = store.groups()?.len();
    drop(store);
    let dest = pending.finish()?;
    println!(
        "backed up hub {} ({groups} groups) to {} (mode 0600)",
        config.hub_id,
        dest.display()
    );
    Ok(())
}

/// `sajja-hub revoke`: every certificate of the target, refused from its next call.
pub(crate) fn revoke(
    config: Option<std::path::PathBuf>,
    what: RevokeCommand,
) -> anyhow::Result<()> {
    let config = load(&config.context("--config is required")?)?;
    let store = open_store(&config)?;
    let target = match what {
        RevokeCommand::Serial { serial } => operations::RevokeTarget::Serial(serial),
        RevokeCommand::Group { group } => {
            operations::RevokeTarget::Principal(operations::principal("group", &group, None)?)
        }
        RevokeCommand::Hub { hub } => {
            operations::RevokeTarget::Principal(operations::principal("hub", &hub, None)?)
        }
        RevokeCommand::Coordinator { name, scope } => operations::RevokeTarget::Principal(
            operations::principal("coordinator", &name, Some(&scope))?,
        ),
        RevokeCommand::Operator { name } => {
            operations::RevokeTarget::Principal(operations::principal("operator", &name, None)?)
        }
    };
    for serial in operations::revoke(&store, &target)? {
        println!("revoked certificate {serial}: refused from its next call");
    }
    Ok(())
}

/// `sajja-hub credentials`: every certificate issued, with its status.
pub(crate) fn print_credentials(config: &std::path::Path) -> anyhow::Result<()> {
    let config = load(config)?;
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

/// `sajja-hub heads`: every log held, with its head.
pub(crate) fn print_heads(config: &std::path::Path) -> anyhow::Result<()> {
    let config = load(config)?;
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
