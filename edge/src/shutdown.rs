//! The one shutdown signal both daemons wait for.

/// Resolves on Ctrl-C or SIGTERM (systemd's and Docker's stop); on a system
/// where SIGTERM cannot be watched, on Ctrl-C alone.
pub async fn signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => {
            let _ = ctrl_c.await;
            return;
        }
    };
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
}
