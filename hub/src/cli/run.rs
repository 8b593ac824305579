//! `sajja-hub run`: the hub's services, scrub, relay and dashboard until a signal.

use anyhow::Context;
use sajja_hub::config::HubConfig;

pub(crate) async fn run_hub(config: HubConfig) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    sajja_hub::app::run(config, listener, sajja_edge::shutdown::signal()).await?;
    Ok(())
}
