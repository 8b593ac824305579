//! `sajja-hub fork`: listing and resolving conflicting histories.

use crate::cli::args::*;
use crate::cli::shared::*;
use anyhow::Context;
use sajja_edge::clock::unix_now;

pub(crate) fn fork(command: ForkCommand) -> anyhow::Result<()> {
    match command {
        ForkCommand::List { config, all } => {
            let config = load(&config)?;
            let store = open_store(&config)?;
            let forks = store.forks(None, !all)?;
            if forks.is_empty() {
                println!("no forks");
            }
            for f in forks {
                println!(
                    "{:<12} seq {:>8}  detected {}  {}",
                    f.group.as_str(),
                    f.seq,
                    f.detected_at,
                    f.resolution.as_deref().unwrap_or("UNRESOLVED")
                );
            }
            Ok(())
        }
        ForkCommand::Show { config, group } => {
            let config = load(&config)?;
            let store = open_store(&config)?;
            let group = parse_group(&group)?;
            let forks = store.forks(Some(&group), false)?;
            if forks.is_empty() {
                println!("no forks for {group}");
            }
            for f in forks {
                println!("fork #{} of group {} at seq {}", f.id, f.group, f.seq);
                if let Some(c) = &f.accepted_checkpoint {
                    println!(
                        "  accepted checkpoint: seq {} head {} epoch {}",
                        c.checkpoint.seq, c.checkpoint.head, c.checkpoint.fork_epoch
                    );
                }
                let o = &f.offered_checkpoint.checkpoint;
                println!(
                    "  offered checkpoint:  seq {} head {} epoch {}",
                    o.seq, o.head, o.fork_epoch
                );
                if let Some(e) = &f.accepted_event {
                    println!("  accepted event at seq {}: {}", f.seq, hex::encode(e));
                }
                if let Some(e) = &f.offered_event {
                    println!("  offered event at seq {}:  {}", f.seq, hex::encode(e));
                }
                println!(
                    "  status: {}",
                    f.resolution.as_deref().unwrap_or("unresolved")
                );
            }
            Ok(())
        }
        ForkCommand::Resolve {
            config,
            group,
            keep,
        } => {
            let config = load(&config)?;
            let mut store = open_store(&config)?;
            let group = parse_group(&group)?;
            let row = store
                .group(&group)?
                .with_context(|| format!("group {group} is not enrolled"))?;
            let fork = store
                .forks(Some(&group), true)?
                .pop()
                .with_context(|| format!("group {group} has no unresolved fork"))?;
            let keep_offered = keep == "offered";
            // Only a fork found in a batch pins where the branches part; from a
            // checkpoint alone the node re-pushes its whole log, verified again.
            let keep_through = if fork.offered_event.is_some() {
                fork.seq - 1
            } else {
                0
            };
            store.resolve_fork(&row, fork.id, keep_offered, keep_through, unix_now())?;
            let row = store
                .group(&group)?
                .with_context(|| format!("group {group} vanished"))?;
            println!(
                "resolved fork of {group}: kept the {keep} branch; fork epoch is now {}; hub holds up to seq {}",
                row.fork_epoch, row.seq
            );
            if !keep_offered {
                println!(
                    "the node on the other branch must run `sajja-node restore` and re-enter its own events as new ones"
                );
            }
            Ok(())
        }
    }
}
