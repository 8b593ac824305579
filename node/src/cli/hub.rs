//! The hub: `init --bundle`, `status`, `sync --once`, `restore`, `export`
//! and `import-receipt`; the link a command syncs with.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use sajja_common::ids::GroupId;
use sajja_common::{PublicKey, SigningKey};
use sajja_edge::clock::unix_now;
use sajja_edge::enrolment::Enrolment;
use sajja_node::config::NodeConfig;
use sajja_node::link;
use sajja_node::store::{self, Store};
use sajja_node::sync::HubLink;
use sajja_node::vocab;

use super::args::RestoreArgs;
use super::keys::read_seeds;
use super::shared::{
    CERT_WARN_DAYS, database, expiry_date, open, open_or_salvage, read_bundle, restore_hint,
    runtime, usage,
};

/// `init --bundle`: makes the group's enrolment bundle this ledger's hub link.
pub fn install_bundle(
    data_dir: &Path,
    path: &Path,
    config: Option<&NodeConfig>,
) -> anyhow::Result<()> {
    let bundle = read_bundle(path)?;
    let ledger = database(data_dir);
    if !ledger.is_file() {
        let group = GroupId::parse(&bundle.subject).map_or("G".to_string(), |g| g.to_string());
        anyhow::bail!(
            "no ledger at {}: a bundle is installed into the ledger whose key it binds. \
             Run `sajja-node init --group {group} --name NAME` first, give the public key it prints to the hub operator, \
             and install the bundle they issue for that key with `sajja-node init --bundle FILE`. \
             (Rebuilding a lost node with the group's key backup? Use `sajja-node restore --bundle FILE --key KEY-BACKUP`.)",
            ledger.display()
        );
    }
    let store = open(data_dir)?;
    store.set_hub_link(&bundle, unix_now())?;
    println!(
        "group {} now syncs with {} (hub {})",
        store.group(),
        bundle.hub_url,
        link::printable(&bundle.hub_id)
    );
    println!(
        "certificate serial {}, expires {}",
        link::printable(&bundle.serial),
        expiry_date(bundle.not_after)
    );
    println!(
        "the bundle is now kept in the ledger; {} holds a private key: keep it in the committee's safe or delete it",
        path.display()
    );
    if let Some((file, _)) = config.and_then(NodeConfig::bundle) {
        println!(
            "note: while the config file's [hub] names {}, that bundle is used instead",
            file.display()
        );
    }
    println!("next: sajja-node run (or restart the sajja-node service)");
    Ok(())
}

/// The daemon's log says what `status` says about the certificate, since a
/// node in the village may run for months with nobody reading `status`.
pub fn warn_if_expiring(store: &Store, config: Option<&NodeConfig>) -> anyhow::Result<()> {
    let not_after = match config.and_then(NodeConfig::bundle) {
        Some((_, bundle)) => Some(bundle.not_after),
        None => store
            .hub_link()?
            .and_then(|link| link.client)
            .map(|c| c.not_after),
    };
    if let Some(not_after) = not_after
        && not_after.saturating_sub(unix_now()) < CERT_WARN_DAYS * 86_400
    {
        let expires = expiry_date(not_after);
        tracing::warn!(group = %store.group(), %expires, "the hub's client certificate expires soon or has expired: ask the hub operator for a new bundle and install it with `sajja-node init --bundle FILE`");
    }
    Ok(())
}

/// The config file's `[hub]` bundle when it has one, else the link
/// `init --bundle` stored.
pub fn hub_link(store: &Store, config: Option<&NodeConfig>) -> anyhow::Result<HubLink> {
    if let Some((path, bundle)) = config.and_then(NodeConfig::bundle) {
        // `check-config` cannot see the ledger, so the bundle meets it here.
        store
            .check_own_bundle(bundle)
            .map_err(|e| anyhow::anyhow!("[hub] bundle {}: {e}", path.display()))?;
        return Ok(HubLink::from_bundle(bundle));
    }
    let stored = store.hub_link()?.ok_or_else(|| {
        usage(
            "no hub link: install the group's enrolment bundle from the hub operator with `sajja-node init --bundle FILE`",
        )
    })?;
    Ok(HubLink::from_stored(stored)?)
}

pub fn restore(
    data_dir: &Path,
    bundle: &Enrolment,
    group: Option<GroupId>,
    key_files: &[PathBuf],
    group_keys: Vec<PublicKey>,
) -> anyhow::Result<()> {
    let group = match group {
        Some(group) => group,
        None => GroupId::parse(&bundle.subject).map_err(|_| {
            usage(format!(
                "the bundle enrols {} {}, not a group: restore needs the group's own bundle",
                bundle.role.name(),
                link::printable(&bundle.subject)
            ))
        })?,
    };
    let seeds = read_seeds(key_files)?;
    // The bundle names the key it was issued for; until the log is verified
    // that key (else the newest given) is the ledger's.
    let bound = bundle.public_key.as_deref().and_then(PublicKey::from_hex);
    let provisional = seeds
        .iter()
        .find(|s| Some(s.public()) == bound)
        .unwrap_or(&seeds[seeds.len() - 1]);
    let key = SigningKey::from_seed(provisional.seed())?;
    // Before any file exists: a bundle for another group or key would only
    // be refused by the hub, after the empty ledger was made.
    link::check_bundle(bundle, &group, &key.public())?;
    let trusted = store::RestoreKeys {
        seeds,
        public: group_keys,
    };
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let path = database(data_dir);
    let mut store = Store::create_empty(&path, group, key)?;
    let restored = match store.set_hub_link(bundle, unix_now()) {
        Ok(()) => runtime()?.block_on(sajja_node::sync::restore(
            &mut store,
            &HubLink::from_bundle(bundle),
            &trusted,
        )),
        Err(error) => Err(error.into()),
    };
    match restored {
        Ok((seq, head)) => {
            println!(
                "restored {} from its hub: seq {seq}, head {head}; every hash, key rotation and the signature verified",
                store.group()
            );
            println!("this node signs with key {}", store.public_key());
            if store.retired_keys().iter().any(|k| !k.held()) {
                println!(
                    "the group's earlier key is lost: the hub operator must re-key the group to {} (`sajja-hub rekey {} --key {}`) before this node can push",
                    store.public_key(),
                    store.group(),
                    store.public_key()
                );
            }
            println!(
                "member names, phones and ID numbers were not restored: they never leave the village; re-enter them with the committee (`sajja-node member list` shows who has none; `sajja-node member edit N --name NAME`)"
            );
            Ok(())
        }
        Err(error) => {
            drop(store);
            sajja_node::store::remove_database(&path);
            Err(error.into())
        }
    }
}

pub fn status(data_dir: &Path, config: Option<&NodeConfig>) -> anyhow::Result<()> {
    let store = match open_or_salvage(data_dir)? {
        Ok(store) => store,
        Err(salvage) => {
            println!("group           {}", salvage.group);
            println!("public key      {}", salvage.public_key);
            if let Some(damage) = &salvage.damage {
                println!("ledger          DAMAGED: {damage}");
            }
            eprintln!("warning: the ledger is damaged; {}", restore_hint(data_dir));
            return Ok(());
        }
    };
    let (seq, head) = store.head();
    let sync = store.acked()?;
    println!("group           {}", store.group());
    println!("public key      {}", store.public_key());
    for retired in store.retired_keys() {
        println!(
            "earlier key     {} (signs checkpoints before seq {}{})",
            retired.public,
            retired.until_seq,
            if retired.held() {
                ""
            } else {
                "; lost, replaced by the hub operator"
            }
        );
    }
    println!("local head      seq {seq} {head}");
    println!("hub acked       seq {}", sync.acked_seq);
    println!("pending         {}", seq.saturating_sub(sync.acked_seq));
    match sync.last_sync_at {
        Some(at) => println!(
            "last sync       {} (Thailand time)",
            vocab::local_date_time(at)
        ),
        None => println!("last sync       never"),
    }
    const INSTALL: &str =
        "install the group's enrolment bundle with `sajja-node init --bundle FILE`";
    let (certificate, fits) = match (config.and_then(NodeConfig::bundle), store.hub_link()?) {
        (Some((path, bundle)), _) => {
            println!(
                "hub             {} (hub {}; bundle {} from the config file)",
                bundle.hub_url,
                link::printable(&bundle.hub_id),
                path.display()
            );
            let fits = store.check_own_bundle(bundle);
            (Some((bundle.serial.clone(), bundle.not_after)), fits.err())
        }
        (None, Some(link)) => {
            let hub_id = link.hub_id.as_deref().map_or(String::new(), |id| {
                format!(" (hub {})", link::printable(id))
            });
            println!("hub             {}{hub_id}", link.url);
            (link.client.map(|c| (c.serial, c.not_after)), None)
        }
        (None, None) => {
            println!("hub             none: {INSTALL}");
            return Ok(());
        }
    };
    match certificate {
        None => println!(
            "certificate     none: the hub requires one since client certificates were introduced; {INSTALL}"
        ),
        Some((serial, not_after)) => {
            let expires = vocab::shown_date(expiry_date(not_after));
            let serial = link::printable(&serial);
            let left = not_after.saturating_sub(unix_now());
            if left <= 0 {
                println!(
                    "certificate     serial {serial}, EXPIRED on {expires}: the hub refuses this node; ask the hub operator for a new bundle and {INSTALL}"
                );
            } else if left < CERT_WARN_DAYS * 86_400 {
                println!(
                    "certificate     serial {serial}, expires {expires}: WARNING: in {} days; ask the hub operator for a new bundle and {INSTALL}",
                    (left + 86_399) / 86_400
                );
            } else {
                println!("certificate     serial {serial}, expires {expires}");
            }
        }
    }
    if let Some(error) = fits {
        println!("WARNING         the config file's bundle does not fit this ledger: {error}");
    }
    Ok(())
}

/// `sync --once`: push everything pending and exit.
pub fn sync_now(data_dir: &Path, config: Option<&NodeConfig>) -> anyhow::Result<()> {
    let mut store = open(data_dir)?;
    let link = hub_link(&store, config)?;
    let report = runtime()?.block_on(sajja_node::sync::sync_once(&mut store, &link))?;
    println!(
        "hub holds seq {}: pushed {} events in {} batches, pulled {}",
        report.hub_seq, report.pushed_events, report.batches, report.pulled_events
    );
    Ok(())
}

/// `restore`: the bundle from `--bundle`, else the config file's `[hub]`.
pub fn restore_command(
    data_dir: &Path,
    args: RestoreArgs,
    config: Option<&NodeConfig>,
) -> anyhow::Result<()> {
    let RestoreArgs {
        bundle,
        group,
        key,
        group_key,
    } = args;
    let bundle = match bundle {
        Some(path) => read_bundle(&path)?,
        None => config
            .and_then(NodeConfig::bundle)
            .map(|(_, bundle)| bundle.clone())
            .ok_or_else(|| usage("restore needs --bundle FILE (or [hub] bundle in --config)"))?,
    };
    restore(data_dir, &bundle, group, &key, group_key)
}

/// `export`: the events the hub lacks, to a bundle file for a USB stick.
pub fn export(data_dir: &Path, to: &Path, from: Option<u64>) -> anyhow::Result<()> {
    let store = open(data_dir)?;
    let (bytes, first, last) = sajja_node::sync::export_bundle(&store, from)?;
    fs::write(to, bytes).with_context(|| format!("writing {}", to.display()))?;
    if first > last {
        println!(
            "nothing pending: the hub has acknowledged up to seq {last}; wrote an empty bundle to {}",
            to.display()
        );
    } else {
        println!(
            "exported seq {first}..={last} of {} to {}",
            store.group(),
            to.display()
        );
    }
    Ok(())
}

/// `import-receipt`: what the hub says it holds after `sajja-hub import`.
pub fn import_receipt(data_dir: &Path, file: &Path) -> anyhow::Result<()> {
    let store = open(data_dir)?;
    let bytes = fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let acked = sajja_node::sync::apply_receipt(&store, &bytes)?;
    println!("the hub holds {} up to seq {acked}", store.group());
    Ok(())
}
