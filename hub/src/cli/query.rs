//! `sajja-hub query`: coordinators' reports, on the hub machine or remotely.

use std::path::Path;

use crate::cli::args::*;
use crate::cli::shared::*;
use anyhow::{Context, bail};
use sajja_common::PublicKey;
use sajja_edge::clock::unix_now;
use sajja_hub::read::query;
use sajja_hub::rpc::query_client;

/// `sajja-hub query`: one answer, from the local database or the remote
/// service, printed by the one renderer.
pub(crate) fn query(command: QueryCommand) -> anyhow::Result<()> {
    let (source, ask, format) = match command {
        QueryCommand::Log {
            bundle,
            group,
            key,
            from_seq,
            format,
        } => return query_log(&bundle, &group, key.as_deref(), from_seq, &format),
        QueryCommand::Groups {
            source,
            scope,
            as_of,
            stale,
            forked,
            arrears,
            below_reserve,
            format,
        } => {
            let filter = sajja_hub::values::lines::GroupFilter {
                stale,
                forked,
                arrears,
                below_reserve,
            };
            let ask = query::Ask::Groups {
                scope: scope_arg(scope)?,
                as_of: as_of_arg(as_of)?,
                filter,
            };
            (source, ask, format)
        }
        QueryCommand::Position {
            source,
            scope,
            as_of,
            format,
        } => {
            let ask = query::Ask::Position {
                scope: scope_arg(scope)?,
                as_of: as_of_arg(as_of)?,
            };
            (source, ask, format)
        }
        QueryCommand::Reserves {
            source,
            scope,
            as_of,
            format,
        } => {
            let ask = query::Ask::Reserves {
                scope: scope_arg(scope)?,
                as_of: as_of_arg(as_of)?,
            };
            (source, ask, format)
        }
        QueryCommand::Alerts {
            source,
            scope,
            as_of,
            format,
        } => {
            let ask = query::Ask::Alerts {
                scope: scope_arg(scope)?,
                as_of: as_of_arg(as_of)?,
            };
            (source, ask, format)
        }
        QueryCommand::Exchanges {
            source,
            scope,
            as_of,
            format,
        } => {
            let ask = query::Ask::Exchanges {
                scope: scope_arg(scope)?,
                as_of: as_of_arg(as_of)?,
            };
            (source, ask, format)
        }
        QueryCommand::Signoffs {
            source,
            scope,
            format,
        } => {
            let ask = query::Ask::SignOffs {
                scope: scope_arg(scope)?,
            };
            (source, ask, format)
        }
    };
    let answer = match (source.config, source.bundle) {
        (Some(config), None) => {
            let config = load(&config)?;
            let store = sajja_hub::read::cache::Reader::new(open_store(&config)?);
            let cx = query::Context::new(&store, config.freshness(unix_now()));
            // The operator on the hub machine sees everything the hub holds.
            query::answer(
                &cx,
                &ask,
                &query::Scope::parse(&config.hub_id)?,
                &query::Audience::Everything,
            )?
        }
        (None, Some(bundle)) => {
            let bundle = sajja_edge::enrolment::Enrolment::read(&bundle)?;
            remote_runtime()?.block_on(async {
                let mut remote = query_client::Remote::connect(&bundle).await?;
                remote.answer(&ask).await
            })?
        }
        _ => bail!("give exactly one of --config (on the hub machine) and --bundle (remote)"),
    };
    print!("{}", answer.render(format.output()));
    Ok(())
}

/// `sajja-hub query log`: fetches a group's raw log and verifies it here.
pub(crate) fn query_log(
    bundle: &Path,
    group: &str,
    key: Option<&str>,
    from_seq: u64,
    format: &Format,
) -> anyhow::Result<()> {
    let group = parse_group(group)?;
    let expected = key
        .map(|k| {
            PublicKey::from_hex(k).context("--key must be 64 hex digits (an Ed25519 public key)")
        })
        .transpose()?;
    let bundle = sajja_edge::enrolment::Enrolment::read(bundle)?;
    let audited = remote_runtime()?.block_on(async {
        let mut remote = query_client::Remote::connect(&bundle)
            .await
            .map_err(query_client::AuditError::from)?;
        remote.audit_log(&group, from_seq, expected).await
    })?;
    print!("{}", audited.render(format.output()));
    Ok(())
}
