//! Streaming a stored log to a reader (a node restoring, a coordinator
//! verifying), shared by the `Sync` and `Query` services, and the refusal of
//! a read of a damaged log.

use sajja_common::GroupId;
use sajja_proto::v1;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::store::GroupRow;

pub type PullStream = ReceiverStream<Result<v1::PullResponse, Status>>;

/// The one-line refusal of a read of a damaged log.
pub fn damaged_status(group: &GroupId, damage: Option<&crate::values::status::Damage>) -> Status {
    Status::data_loss(damaged_message(group, damage))
}

pub fn damaged_message(group: &GroupId, damage: Option<&crate::values::status::Damage>) -> String {
    let what = damage.map_or_else(|| format!("group {group} is damaged"), |d| d.to_string());
    format!(
        "{what}: this hub does not serve the log until a good copy repairs it; restore from another hub or a backup"
    )
}

/// Streams a log's stored events from `from` on, in chunks of at most
/// `MAX_BATCH_BYTES`, up to the position `snapshot` was read at; the last
/// chunk carries the snapshot's checkpoint, so it signs exactly the events
/// sent. `read(gid, from)` reads one chunk through whichever connection the
/// calling service owns: `Sync.Pull` the ingest's, `Query.Log` its own.
///
/// The bytes sent are hashed on the way from `from_head` (the stored hash
/// before `from`): if they do not end at the snapshot's head, a stored
/// event changed at rest and the scrub has not marked it yet, so the last
/// chunk's checkpoint is withheld and the stream ends in DATA_LOSS, naming
/// the group, rather than hand a restore bytes that fail further on.
pub fn pull_stream<R, F>(
    snapshot: GroupRow,
    from: u64,
    from_head: Option<sajja_common::Hash>,
    mut read: R,
) -> PullStream
where
    R: FnMut(i64, u64) -> F + Send + 'static,
    F: Future<Output = Result<Vec<(u64, Vec<u8>)>, Status>> + Send,
{
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        let mut next = from;
        let mut running = from_head;
        loop {
            let mut events = match read(snapshot.gid, next).await {
                Ok(events) => events,
                Err(status) => {
                    let _ = tx.send(Err(status)).await;
                    return;
                }
            };
            events.retain(|(seq, _)| *seq <= snapshot.seq);
            let last = events.last().map(|(seq, _)| *seq);
            let done = last.is_none_or(|seq| seq >= snapshot.seq);
            if let Some(head) = running.as_mut() {
                for (_, bytes) in &events {
                    *head = sajja_common::chain::next(head, bytes);
                }
            }
            if done && last.is_some() && running.is_some_and(|head| head != snapshot.head) {
                tracing::error!(group = %snapshot.group, seq = snapshot.seq, "stored events do not hash to the log's head: not served");
                let _ = tx
                    .send(Err(Status::data_loss(format!(
                        "group {}: this hub's stored copy does not hash to its head at seq {}; it is damaged: restore from another hub or a backup",
                        snapshot.group, snapshot.seq
                    ))))
                    .await;
                return;
            }
            let message = v1::PullResponse {
                events: events.into_iter().map(|(_, bytes)| bytes).collect(),
                checkpoint: if done {
                    snapshot.checkpoint.as_ref().map(v1::Checkpoint::from)
                } else {
                    None
                },
            };
            if tx.send(Ok(message)).await.is_err() || done {
                return;
            }
            next = last.map_or(next, |seq| seq + 1);
        }
    });
    ReceiverStream::new(rx)
}
