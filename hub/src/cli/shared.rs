//! What the commands share: loading the config, opening the store, parsing arguments.

use std::path::Path;

use anyhow::Context;
use sajja_common::{Date, GroupId};
use sajja_hub::config::HubConfig;
use sajja_hub::read::query;
use sajja_hub::store::Store;

pub(crate) fn load(config: &Path) -> anyhow::Result<HubConfig> {
    HubConfig::load(config).map_err(|e| {
        eprintln!("error: {e}");
        std::process::exit(64)
    })
}

pub(crate) fn open_store(config: &HubConfig) -> anyhow::Result<Store> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    Ok(Store::open(&config.database_path())?)
}

pub(crate) fn parse_group(text: &str) -> anyhow::Result<GroupId> {
    Ok(GroupId::parse(text)?)
}

/// A query's scope as given on the command line; `None` asks for the
/// default (the hub's own, or the bundle holder's).
pub(crate) fn scope_arg(scope: Option<String>) -> anyhow::Result<Option<query::Scope>> {
    Ok(scope.map(|s| query::Scope::parse(&s)).transpose()?)
}

pub(crate) fn as_of_arg(as_of: Option<String>) -> anyhow::Result<Option<Date>> {
    as_of
        .map(|text| {
            text.parse::<Date>()
                .with_context(|| format!("--as-of {text}: expected YYYY-MM-DD"))
        })
        .transpose()
}

/// A small runtime for one remote call: the CLI has nothing else to run.
pub(crate) fn remote_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}
