//! `run`: the sync daemon and, with `[web] listen`, the treasurer's web app.

use std::path::Path;

use sajja_node::config::NodeConfig;
use sajja_node::daemon::Kept;
use sajja_node::sync::HubLink;

use super::hub::{hub_link, warn_if_expiring};
use super::shared::{database, open, runtime};

/// The sync daemon and, with `[web] listen`, the web app (the treasurer's,
/// or exchange mode's), in one process until SIGTERM or Ctrl-C.
pub async fn serve_and_sync(
    kept: Kept,
    link: Option<HubLink>,
    settings: sajja_node::daemon::Settings,
    web: Option<String>,
    data_dir: &Path,
) -> anyhow::Result<()> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let id = kept.id();
    let web_task = match web {
        Some(listen) => {
            let app = match &kept {
                Kept::Group(_) => sajja_node::web::App::open(data_dir, &database(data_dir))?,
                Kept::Exchange(store) => {
                    sajja_node::web::App::open_exchange(data_dir, store.path())?
                }
            };
            let (listener, addr) = sajja_node::web::bind(&listen, data_dir).await?;
            tracing::info!(group = %id, %addr, "web app listening on http://{addr}");
            let mut stopped = stopped.clone();
            Some(tokio::spawn(sajja_node::web::serve(
                listener,
                app,
                async move {
                    let _ = stopped.changed().await;
                },
            )))
        }
        None => None,
    };
    let shutdown = async move {
        sajja_edge::shutdown::signal().await;
        let _ = stop.send(true);
    };
    match link {
        Some(link) => sajja_node::daemon::keep(kept, link, settings, shutdown).await?,
        None => shutdown.await,
    }
    if let Some(task) = web_task {
        // Open pages finish; a browser's idle connection does not hold the Pi up.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), task).await;
    }
    Ok(())
}

/// `run`: syncs with the hub and, with `[web] listen`, serves the app; a
/// group not yet enrolled can still serve the app.
pub fn run(data_dir: &Path, config: Option<&NodeConfig>) -> anyhow::Result<()> {
    let store = open(data_dir)?;
    let web = config.and_then(|c| c.web.listen.clone());
    let link = match hub_link(&store, config) {
        Ok(link) => Some(link),
        // A group not yet enrolled can still keep its books on the screen.
        Err(error) if web.is_some() => {
            tracing::warn!(group = %store.group(), "{error}; serving the web app without syncing");
            None
        }
        Err(error) => return Err(error),
    };
    let settings = config.map(NodeConfig::daemon_settings).unwrap_or_default();
    if let Some(link) = &link {
        tracing::info!(group = %store.group(), hub = %link.url, poll_interval_s = settings.poll_interval.as_secs(), backoff_max_s = settings.backoff_max.as_secs(), "sync daemon starting");
    }
    warn_if_expiring(&store, config)?;
    runtime()?.block_on(serve_and_sync(
        Kept::Group(Box::new(store)),
        link,
        settings,
        web,
        data_dir,
    ))
}
