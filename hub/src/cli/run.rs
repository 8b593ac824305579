//! `sajja-hub run`: the hub's services, scrub, relay and dashboard until a signal.

use std::sync::{Arc, Mutex};

use crate::cli::shared::*;
use anyhow::Context;
use sajja_common::{GroupId, PublicKey};
use sajja_edge::clock::unix_now;
use sajja_hub::config::HubConfig;
use sajja_hub::ingest::accept::Ingest;
use sajja_hub::ingest::admin;
use sajja_hub::ingest::admin::HubIdentity;
use sajja_hub::relay;
use sajja_hub::store::Store;

pub(crate) async fn run_hub(config: HubConfig) -> anyhow::Result<()> {
    // A file-size limit (a quota) must fail a write, not kill the hub:
    // SIGXFSZ's default would end the process; caught, the write returns
    // EFBIG, the batch is refused unacknowledged and /health says why.
    let mut file_size_signals = tokio::signal::unix::signal(
        tokio::signal::unix::SignalKind::from_raw(rustix::process::Signal::XFSZ.as_raw()),
    )?;
    let hub_id = config.hub_id.clone();
    tokio::spawn(async move {
        while file_size_signals.recv().await.is_some() {
            tracing::error!(hub = %hub_id, "a write went past the file-size limit");
        }
    });
    let identity = HubIdentity::load(&config)?;
    let mut ingest = Ingest::new(open_store(&config)?);
    let writes = ingest.write_health();
    // The hub's own log exists from the first start; a province trusts its
    // tambon hubs' logs by the keys in its configuration.
    if ingest.position(&identity.log()).map(|p| p.seq).unwrap_or(0) == 0 {
        admin::append(&mut ingest, &identity, Vec::new())?;
    }
    for child in &config.children {
        let log = GroupId::hub_log(&child.hub_id)?;
        let key = PublicKey::from_hex(&child.key).context("children.key")?;
        ingest.store_mut().set_key(&log, &key, unix_now())?;
    }
    let ingest = Arc::new(Mutex::new(ingest));
    // Before serving: a damaged log is held from the first push.
    let scrub_state = Arc::new(sajja_hub::ingest::scrub::ScrubState::default());
    let damaged = tokio::task::spawn_blocking({
        let path = config.database_path();
        let scrub = config.scrub.clone();
        let state = scrub_state.clone();
        move || sajja_hub::ingest::scrub::startup_pass(&Store::open(&path)?, &scrub, &state)
    })
    .await??;
    tracing::info!(
        hub = %config.hub_id,
        damaged = damaged.len(),
        integrity_ok = scrub_state.integrity_problem().is_none(),
        "start-up scrub done"
    );
    let scrubber = tokio::spawn(sajja_hub::ingest::scrub::run(
        config.database_path(),
        config.scrub.clone(),
        scrub_state.clone(),
        sajja_edge::shutdown::signal(),
    ));
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    // Tests and the demo find an ephemeral port here; write-then-rename so a
    // reader never sees half an address.
    let addr_file = config.addr_file();
    let tmp = addr_file.with_extension("addr.tmp");
    std::fs::write(&tmp, addr.to_string())?;
    std::fs::rename(&tmp, &addr_file)?;
    tracing::info!(hub = %config.hub_id, %addr, "listening");
    let metrics = Arc::new(sajja_hub::net::metrics::Metrics::default());
    let operations = sajja_hub::net::http::start(
        &config,
        metrics.clone(),
        scrub_state.clone(),
        writes,
        sajja_edge::shutdown::signal(),
    )
    .await?;
    let relay = match &config.parent {
        Some(parent) => {
            let bundle = sajja_edge::enrolment::Enrolment::read(&parent.bundle)?;
            let link = relay::ParentLink::from_enrolment(&bundle);
            tracing::info!(hub = %config.hub_id, parent = %link.url, "relaying to parent");
            let wake = Arc::new(tokio::sync::Notify::new());
            if let Ok(mut guard) = ingest.lock() {
                guard.wake_on_commit(wake.clone());
            }
            Some(tokio::spawn(relay::run(
                config.hub_id.clone(),
                link,
                ingest.clone(),
                wake,
                metrics.clone(),
                sajja_edge::shutdown::signal(),
            )))
        }
        None => None,
    };
    let dashboard = match sajja_hub::web::bind(&config).await? {
        Some(web_listener) => {
            let app = sajja_hub::web::app::App::open(
                config.clone(),
                HubIdentity::load(&config)?,
                ingest.clone(),
            )?;
            Some(tokio::spawn(sajja_hub::web::serve(
                web_listener,
                app,
                sajja_edge::shutdown::signal(),
            )))
        }
        None => None,
    };
    sajja_hub::rpc::serve::serve_metered(
        &config,
        ingest,
        metrics,
        listener,
        sajja_edge::shutdown::signal(),
    )
    .await?;
    if let Some(relay) = relay {
        relay.abort();
    }
    if let Some(dashboard) = dashboard {
        dashboard.abort();
    }
    if let Some(operations) = operations {
        operations.abort();
    }
    scrubber.abort();
    tracing::info!(hub = %config.hub_id, "stopped");
    Ok(())
}
