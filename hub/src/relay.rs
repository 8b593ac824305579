//! Relay: a tambon hub pushes every log it holds — its own administrative log
//! first, then each group's — to its province hub with the same Sync
//! protocol a node uses, forwarding the node-signed bytes and checkpoints
//! unchanged. The province verifies everything itself; this hub cannot forge,
//! alter, reorder or drop part of a log without being refused by name.
//!
//! Batches end at checkpoints the log's writer signed, so a relayed batch
//! covers one or more of the batches this hub accepted.
//!
//! Each group's hello also carries when the group was last in verified
//! contact with this hub (`last_contact_at`), so the province measures
//! "stale" from the group's contact, not from when this hub relayed. A round
//! says hello only for logs whose head or contact time changed since the
//! parent last confirmed them (at most one hello per log per round), and for
//! every log once per [`FULL_PASS_INTERVAL`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sajja_common::{GroupId, Hash, SignedCheckpoint};
use sajja_edge::enrolment::Enrolment;
use sajja_proto::MAX_BATCH_BYTES;
use sajja_proto::client::{ClientError, ClientTls, PushSession, connect};
use sajja_proto::v1::push_request::Message as PushOut;
use sajja_proto::v1::push_response::Message as PushIn;
use sajja_proto::v1::{self, Directive};
use thiserror::Error;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::ingest::accept::Ingest;
use crate::net::metrics::Metrics;
use crate::store::{GroupRow, StoreError};
use crate::values::status::GroupStatus;
use sajja_edge::clock::unix_now;

/// How often the relay looks for new events when nothing wakes it.
pub const RELAY_INTERVAL: Duration = Duration::from_secs(2);
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);
/// While the parent is unreachable, a commit still wakes the relay, but no
/// sooner than this after its last try: a busy hub commits all the time,
/// and a parent that came back should not wait out minutes of backoff.
pub const WAKE_RETRY_MIN: Duration = Duration::from_secs(2);
/// How many stored checkpoints one relayed batch may span.
const MAX_CHECKPOINTS_SCANNED: usize = 4_096;
/// How often a round says hello for every log, changed or not: a parent
/// restored from a backup, or one whose operator resolved a fork, is caught
/// up within this; and an idle hub still reaches its parent this often.
pub const FULL_PASS_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Debug, Error)]
pub enum RelayError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("hub state is unavailable")]
    Poisoned,
    #[error("parent refused {log} seq {seq} ({check}): {message}")]
    Refused {
        log: GroupId,
        seq: u64,
        check: String,
        message: String,
    },
    #[error("parent sent an unexpected answer for {0}")]
    Unexpected(GroupId),
}

/// Where to relay to.
#[derive(Clone, Debug)]
pub struct ParentLink {
    pub url: String,
    /// The parent's CA and this hub's client certificate from the parent.
    pub tls: ClientTls,
}

impl ParentLink {
    pub fn from_enrolment(bundle: &Enrolment) -> ParentLink {
        ParentLink {
            url: bundle.hub_url.clone(),
            tls: bundle.client_tls(),
        }
    }
}

fn with<T>(
    ingest: &Arc<Mutex<Ingest>>,
    work: impl FnOnce(&Ingest) -> Result<T, StoreError>,
) -> Result<T, RelayError> {
    let guard = ingest.lock().map_err(|_| RelayError::Poisoned)?;
    Ok(work(&guard)?)
}

/// A log as this hub holds it, as far as the parent needs telling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Told {
    seq: u64,
    head: Hash,
    fork_epoch: u32,
    contact: Option<i64>,
}

impl Told {
    fn of(row: &GroupRow) -> Told {
        Told {
            seq: row.seq,
            head: row.head,
            fork_epoch: row.fork_epoch,
            contact: relayed_contact(row),
        }
    }
}

/// The contact time a hello states for a log: a group's last verified
/// contact with this hub; none for administrative logs.
fn relayed_contact(row: &GroupRow) -> Option<i64> {
    row.last_contact_at.filter(|_| !row.group.is_hub_log())
}

/// What the parent has confirmed, per log, since the last full pass.
#[derive(Debug, Default)]
pub struct Relayed {
    told: HashMap<GroupId, Told>,
    full_pass_at: Option<Instant>,
}

/// What one round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Round {
    /// Events the parent newly accepted.
    pub sent: u64,
    /// Whether the round spoke to the parent at all (nothing had changed
    /// otherwise).
    pub reached: bool,
}

/// Relays until `shutdown`; `wake` is notified after each accepted batch.
/// What the parent holds of each log, and the last round that reached it
/// without error, go to `metrics`.
pub async fn run(
    hub_id: String,
    parent: ParentLink,
    ingest: Arc<Mutex<Ingest>>,
    wake: Arc<Notify>,
    metrics: Arc<Metrics>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    metrics.relay_enabled();
    let mut backoff = Duration::ZERO;
    let mut relayed = Relayed::default();
    loop {
        let tried = tokio::time::Instant::now();
        let wait = match relay_round(&hub_id, &parent, &ingest, &metrics, &mut relayed).await {
            Ok(round) => {
                if round.reached {
                    metrics.relay_succeeded(unix_now());
                }
                if round.sent > 0 {
                    tracing::info!(hub = %hub_id, parent = %parent.url, events = round.sent, "relayed");
                }
                backoff = Duration::ZERO;
                RELAY_INTERVAL
            }
            Err(error) => {
                // The parent may have lost what it confirmed: tell it everything.
                relayed = Relayed::default();
                backoff = (backoff * 2).clamp(Duration::from_secs(1), BACKOFF_MAX);
                tracing::warn!(hub = %hub_id, parent = %parent.url, retry_in_s = backoff.as_secs(), "relay failed: {error}");
                backoff
            }
        };
        tokio::select! {
            _ = &mut shutdown => return,
            _ = wake.notified() => {
                // Something new to relay: in backoff, try again soon (the
                // parent may be back), never sooner than WAKE_RETRY_MIN.
                if !backoff.is_zero() {
                    let soonest = tried + WAKE_RETRY_MIN.min(wait);
                    tokio::select! {
                        _ = &mut shutdown => return,
                        _ = tokio::time::sleep_until(soonest) => {}
                    }
                }
            }
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// One pass over every log that changed since the parent last confirmed it
/// (every log, once per [`FULL_PASS_INTERVAL`]).
pub async fn relay_round(
    hub_id: &str,
    parent: &ParentLink,
    ingest: &Arc<Mutex<Ingest>>,
    metrics: &Metrics,
    relayed: &mut Relayed,
) -> Result<Round, RelayError> {
    if relayed
        .full_pass_at
        .is_none_or(|at| at.elapsed() >= FULL_PASS_INTERVAL)
    {
        relayed.told.clear();
        relayed.full_pass_at = Some(Instant::now());
    }
    let mut logs = with(ingest, |i| i.store().groups())?;
    // The administrative log carries the enrolments the parent needs first.
    logs.sort_by_key(|g| !g.is_hub_log());
    let mut client = None;
    let mut session = None;
    let mut round = Round::default();
    for log in logs {
        let Some(row) = with(ingest, |i| i.store().group(&log))? else {
            continue;
        };
        let Some(head) = row.checkpoint.clone() else {
            continue;
        };
        // A damaged log's bytes are not relayed (the parent would refuse
        // them, or hold them if it lacks the range); it is relayed again
        // once repaired. `/health` and the alerts report it meanwhile.
        if row.status == GroupStatus::Damaged {
            tracing::debug!(hub = %hub_id, group = %log, "damaged log not relayed");
            continue;
        }
        let told = Told::of(&row);
        if relayed.told.get(&log) == Some(&told) {
            continue;
        }
        if session.is_none() {
            let mut c = connect(&parent.url, &parent.tls).await?;
            session = Some(PushSession::open(&mut c).await?);
            client = Some(c);
        }
        let Some(session) = session.as_mut() else {
            continue;
        };
        round.reached = true;
        match relay_log(hub_id, session, ingest, &row, head, metrics).await {
            Ok((n, settled)) => {
                round.sent += n;
                if settled {
                    relayed.told.insert(log, told);
                }
            }
            // One log's refusal must not hold back the others.
            Err(RelayError::Refused {
                log,
                seq,
                check,
                message,
            }) => {
                tracing::error!(hub = %hub_id, group = %log, seq, check, "parent refused a relayed log: {message}");
            }
            Err(error) => return Err(error),
        }
    }
    drop(client);
    Ok(round)
}

/// Relays one log up to `head`: returns how many events the parent newly
/// accepted, and whether nothing is left to tell it until the log or its
/// contact time changes (it holds the log to `head`, or holds more or a
/// conflicting history, which this hub cannot change by saying it again).
async fn relay_log(
    hub_id: &str,
    session: &mut PushSession,
    ingest: &Arc<Mutex<Ingest>>,
    row: &GroupRow,
    head: SignedCheckpoint,
    metrics: &Metrics,
) -> Result<(u64, bool), RelayError> {
    let refused = |r: v1::Refused| RelayError::Refused {
        log: row.group.clone(),
        seq: r.seq,
        check: r.check,
        message: r.message,
    };
    let hello = PushOut::Hello(v1::Hello {
        checkpoint: Some((&head).into()),
        relayed_by: hub_id.to_string(),
        last_contact_at: relayed_contact(row),
    });
    let welcome = match session.ask(hello).await? {
        PushIn::Welcome(w) => w,
        PushIn::Refused(r) => return Err(refused(r)),
        PushIn::Ack(_) => return Err(RelayError::Unexpected(row.group.clone())),
    };
    if let Some(position) = &welcome.position {
        metrics.relay_acked(&row.group, position.seq);
    }
    match Directive::try_from(welcome.directive).unwrap_or(Directive::Unspecified) {
        Directive::UpToDate => return Ok((0, true)),
        Directive::HubAhead => {
            tracing::warn!(group = %row.group, "the parent holds more of this log than this hub");
            return Ok((0, true));
        }
        Directive::Forked => {
            tracing::error!(group = %row.group, "the parent holds a conflicting history of this log");
            return Ok((0, true));
        }
        Directive::SendFrom | Directive::Unspecified => {}
    }
    let mut next = welcome.send_from.max(1);
    let mut sent = 0;
    while next <= head.checkpoint.seq {
        let gid = row.gid;
        let (from, events, checkpoint) = with(ingest, |i| {
            let store = i.store();
            let checkpoints = store.checkpoints_from(gid, next, MAX_CHECKPOINTS_SCANNED)?;
            // The furthest signed checkpoint whose events still fit one batch;
            // at least the first, whatever its size.
            let mut chosen = None;
            let mut bytes = 0usize;
            let mut events = Vec::new();
            let mut cursor = next;
            for checkpoint in checkpoints {
                let part = store.events_range(gid, cursor, checkpoint.checkpoint.seq)?;
                let size: usize = part.iter().map(Vec::len).sum();
                if chosen.is_some() && bytes + size > MAX_BATCH_BYTES {
                    break;
                }
                bytes += size;
                cursor = checkpoint.checkpoint.seq + 1;
                events.extend(part);
                chosen = Some(checkpoint);
            }
            Ok((next, events, chosen))
        })?;
        let Some(checkpoint) = checkpoint else { break };
        let count = events.len() as u64;
        let batch = v1::Batch {
            from_seq: from,
            events,
            checkpoint: Some((&checkpoint).into()),
        };
        match session.ask(PushOut::Batch(batch)).await? {
            PushIn::Ack(ack) => {
                metrics.relay_acked(&row.group, ack.to_seq);
                sent += count.min(ack.to_seq.saturating_sub(from) + 1);
                next = ack.to_seq + 1;
            }
            PushIn::Refused(r) if r.check == "gap" && r.send_from > 0 && r.send_from < next => {
                next = r.send_from
            }
            PushIn::Refused(r) => return Err(refused(r)),
            PushIn::Welcome(_) => return Err(RelayError::Unexpected(row.group.clone())),
        }
    }
    Ok((sent, next > head.checkpoint.seq))
}
