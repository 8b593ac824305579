//! A running hub: its own log opened, the start-up scrub, then the gRPC
//! services on `listener`, the operations endpoint, the relay to a parent,
//! the scrub and the dashboard, until `shutdown` resolves. The binary's
//! `sajja-hub run` binds the listener and calls [`run`]; tests may too.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use sajja_common::ids::IdError;
use sajja_common::{GroupId, PublicKey};
use sajja_edge::clock::unix_now;
use sajja_edge::enrolment::{Enrolment, EnrolmentError};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::HubConfig;
use crate::ingest::accept::Ingest;
use crate::ingest::admin::{self, AdminError, HubIdentity};
use crate::ingest::scrub::{self, ScrubState};
use crate::net::http::{self, HttpError};
use crate::net::metrics::Metrics;
use crate::relay;
use crate::rpc::serve::{ServeError, serve_metered};
use crate::store::{Store, StoreError};
use crate::web;
use crate::web::app::WebError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("hub {hub}: {what}: {source}")]
    Io {
        hub: String,
        what: &'static str,
        source: std::io::Error,
    },
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Admin(#[from] AdminError),
    #[error("[[children]]: {0}")]
    ChildId(#[from] IdError),
    #[error("[[children]] hub {hub}: key is not a 64-hex-digit public key")]
    ChildKey { hub: String },
    #[error("[parent] bundle: {0}")]
    ParentBundle(#[from] EnrolmentError),
    #[error("{0}")]
    Http(#[from] HttpError),
    #[error("dashboard: {0}")]
    Web(#[from] WebError),
    #[error("{0}")]
    Serve(#[from] ServeError),
    #[error("the start-up scrub's task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Runs the hub until `shutdown` resolves; then every task it started stops.
pub async fn run(
    config: HubConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), AppError> {
    let io = |what| {
        let hub = config.hub_id.clone();
        move |source| AppError::Io { hub, what, source }
    };
    catch_file_size_signals(&config.hub_id).map_err(io("catching SIGXFSZ"))?;
    let stop = Stop::after(shutdown);
    let ingest = open_ingest(&config)?;
    let writes = ingest.write_health();
    let ingest = Arc::new(Mutex::new(ingest));
    let scrub_state = start_up_scrub(&config).await?;
    let scrubber = tokio::spawn(scrub::run(
        config.database_path(),
        config.scrub.clone(),
        scrub_state.clone(),
        stop.signal(),
    ));
    let addr = listener
        .local_addr()
        .map_err(io("reading the bound address"))?;
    write_addr_file(&config, addr).map_err(io("writing hub.addr"))?;
    tracing::info!(hub = %config.hub_id, %addr, "listening");
    let metrics = Arc::new(Metrics::default());
    let operations =
        http::start(&config, metrics.clone(), scrub_state, writes, stop.signal()).await?;
    let relay = start_relay(&config, &ingest, &metrics, &stop)?;
    let dashboard = start_dashboard(&config, &ingest, &stop).await?;
    let served = serve_metered(&config, ingest, metrics, listener, stop.signal()).await;
    // Each stops at the shutdown; aborting ends one still finishing its work.
    if let Some(task) = relay {
        task.abort();
    }
    if let Some(task) = dashboard {
        task.abort();
    }
    if let Some(task) = operations {
        task.abort();
    }
    scrubber.abort();
    served?;
    tracing::info!(hub = %config.hub_id, "stopped");
    Ok(())
}

/// One shutdown, handed to every task the hub starts.
struct Stop(watch::Receiver<bool>);

impl Stop {
    fn after(shutdown: impl Future<Output = ()> + Send + 'static) -> Stop {
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = tx.send(true);
        });
        Stop(rx)
    }

    /// Resolves when the hub stops (or the sender is gone, which is the same).
    fn signal(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.0.clone();
        async move {
            let _ = rx.wait_for(|stopped| *stopped).await;
        }
    }
}

/// A file-size limit (a quota) must fail a write, not kill the hub:
/// SIGXFSZ's default would end the process; caught, the write returns
/// EFBIG, the batch is refused unacknowledged and /health says why.
fn catch_file_size_signals(hub_id: &str) -> std::io::Result<()> {
    let mut signals = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::from_raw(
        rustix::process::Signal::XFSZ.as_raw(),
    ))?;
    let hub_id = hub_id.to_string();
    tokio::spawn(async move {
        while signals.recv().await.is_some() {
            tracing::error!(hub = %hub_id, "a write went past the file-size limit");
        }
    });
    Ok(())
}

/// The store under the accept rule, with the hub's own log opened (it
/// exists from the first start) and its children's keys recorded: a
/// province trusts its tambon hubs' logs by the keys in its configuration.
fn open_ingest(config: &HubConfig) -> Result<Ingest, AppError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|source| AppError::Io {
        hub: config.hub_id.clone(),
        what: "creating the data directory",
        source,
    })?;
    let identity = HubIdentity::load(config)?;
    let mut ingest = Ingest::new(Store::open(&config.database_path())?);
    if ingest.position(&identity.log()).map(|p| p.seq).unwrap_or(0) == 0 {
        admin::append(&mut ingest, &identity, Vec::new())?;
    }
    for child in &config.children {
        let log = GroupId::hub_log(&child.hub_id)?;
        let key = PublicKey::from_hex(&child.key).ok_or_else(|| AppError::ChildKey {
            hub: child.hub_id.clone(),
        })?;
        ingest.store_mut().set_key(&log, &key, unix_now())?;
    }
    Ok(ingest)
}

/// Before serving: the integrity check and every log's tail, so a damaged
/// log is held from the first push.
async fn start_up_scrub(config: &HubConfig) -> Result<Arc<ScrubState>, AppError> {
    let state = Arc::new(ScrubState::default());
    let damaged = tokio::task::spawn_blocking({
        let path = config.database_path();
        let scrub = config.scrub.clone();
        let state = state.clone();
        move || scrub::startup_pass(&Store::open(&path)?, &scrub, &state)
    })
    .await??;
    tracing::info!(
        hub = %config.hub_id,
        damaged = damaged.len(),
        integrity_ok = state.integrity_problem().is_none(),
        "start-up scrub done"
    );
    Ok(state)
}

/// Tests and the demo find an ephemeral port here; write-then-rename so a
/// reader never sees half an address.
fn write_addr_file(config: &HubConfig, addr: SocketAddr) -> std::io::Result<()> {
    let addr_file = config.addr_file();
    let tmp = addr_file.with_extension("addr.tmp");
    std::fs::write(&tmp, addr.to_string())?;
    std::fs::rename(&tmp, &addr_file)
}

/// With a `[parent]`, relays every committed batch up, woken by each commit.
fn start_relay(
    config: &HubConfig,
    ingest: &Arc<Mutex<Ingest>>,
    metrics: &Arc<Metrics>,
    stop: &Stop,
) -> Result<Option<JoinHandle<()>>, AppError> {
    let Some(parent) = &config.parent else {
        return Ok(None);
    };
    let bundle = Enrolment::read(&parent.bundle)?;
    let link = relay::ParentLink::from_enrolment(&bundle);
    tracing::info!(hub = %config.hub_id, parent = %link.url, "relaying to parent");
    let wake = Arc::new(tokio::sync::Notify::new());
    if let Ok(mut guard) = ingest.lock() {
        guard.wake_on_commit(wake.clone());
    }
    Ok(Some(tokio::spawn(relay::run(
        config.hub_id.clone(),
        link,
        ingest.clone(),
        wake,
        metrics.clone(),
        stop.signal(),
    ))))
}

/// With `[web] listen`, the coordinators' dashboard.
async fn start_dashboard(
    config: &HubConfig,
    ingest: &Arc<Mutex<Ingest>>,
    stop: &Stop,
) -> Result<Option<JoinHandle<std::io::Result<()>>>, AppError> {
    let Some(listener) = web::bind(config).await? else {
        return Ok(None);
    };
    let app = web::app::App::open(config.clone(), HubIdentity::load(config)?, ingest.clone())?;
    Ok(Some(tokio::spawn(web::serve(listener, app, stop.signal()))))
}
