//! Work that must not stall the async runtime (SQLite, folds, signature
//! checks) run on a blocking thread, and the hub's shared state locked there:
//! one helper for every service and the gate.

use std::sync::{Mutex, MutexGuard};

use tonic::Status;

/// Runs `work` on a blocking thread; `what` names it if the thread dies.
pub async fn blocking<T: Send + 'static>(
    what: &'static str,
    work: impl FnOnce() -> Result<T, Status> + Send + 'static,
) -> Result<T, Status> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Status::internal(format!("{what} task failed: {e}")))?
}

/// Locks `state`; a poisoned lock (a thread panicked holding it) is an
/// internal error, named by `what`, not a panic of this call too.
pub fn locked<'a, S>(state: &'a Mutex<S>, what: &str) -> Result<MutexGuard<'a, S>, Status> {
    state
        .lock()
        .map_err(|_| Status::internal(format!("{what} state poisoned")))
}
