//! The hub's gRPC server: the `Sync` service over mutual TLS. Every call is
//! first put to the gate (who is calling, is the certificate live) and then
//! to the caller's permissions (`crate::net::gate`).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use sajja_common::{GroupId, SignedCheckpoint};
use sajja_proto::MAX_BATCH_BYTES;
use sajja_proto::convert::{self, WireError};
use sajja_proto::v1::push_request::Message as PushIn;
use sajja_proto::v1::push_response::Message as PushOut;
use sajja_proto::v1::sync_server::Sync as SyncRpc;
use sajja_proto::v1::{self, PushRequest, PushResponse};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::config::Limits;
use crate::ingest::accept::{BatchOutcome, Greeting, Ingest, IngestError, Position};
use crate::net::blocking::{blocking, locked};
use crate::net::gate::{Caller, Gate};
use crate::net::limits;
use crate::net::limits::Guard;
use crate::net::metrics::Metrics;
use crate::rpc::pull::{PullStream, damaged_status, pull_stream};
use crate::store::{ForkRecord, GroupRow};
use crate::values::principal::Principal;
use sajja_edge::clock::unix_now;

/// How many responses a push stream may have queued for a slow client.
const PUSH_RESPONSE_QUEUE: usize = 8;

#[derive(Clone)]
pub struct SyncService {
    ingest: Arc<Mutex<Ingest>>,
    metrics: Arc<Metrics>,
    gate: Arc<Gate>,
    guard: Arc<Guard>,
    limits: Arc<Limits>,
}

impl SyncService {
    pub fn new(
        ingest: Arc<Mutex<Ingest>>,
        metrics: Arc<Metrics>,
        gate: Arc<Gate>,
        limits: &Limits,
    ) -> SyncService {
        SyncService {
            ingest,
            metrics,
            gate,
            guard: Arc::new(Guard::new(limits)),
            limits: Arc::new(limits.clone()),
        }
    }

    /// Runs `work` on the ingest state on a blocking thread: SQLite and
    /// signature checks must not stall the async runtime.
    async fn with_ingest<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Ingest) -> T + Send + 'static,
    ) -> Result<T, Status> {
        let ingest = self.ingest.clone();
        blocking("ingest", move || Ok(work(&mut *locked(&ingest, "hub")?))).await
    }
}

pub fn wire_position(position: &Position) -> v1::Position {
    v1::Position {
        group_id: position.group.as_str().to_string(),
        seq: position.seq,
        head: position.head.as_bytes().to_vec(),
        fork_epoch: position.fork_epoch,
        status: if position.forked {
            v1::GroupStatus::Forked
        } else if position.damaged {
            v1::GroupStatus::Damaged
        } else {
            v1::GroupStatus::Ok
        } as i32,
    }
}

pub fn wire_fork(fork: &ForkRecord) -> v1::ForkEvidence {
    v1::ForkEvidence {
        seq: fork.seq,
        accepted_event: fork.accepted_event.clone().unwrap_or_default(),
        offered_event: fork.offered_event.clone().unwrap_or_default(),
        accepted_checkpoint: fork.accepted_checkpoint.as_ref().map(v1::Checkpoint::from),
        offered_checkpoint: Some(v1::Checkpoint::from(&fork.offered_checkpoint)),
    }
}

fn refused(
    check: &str,
    seq: u64,
    message: String,
    send_from: u64,
    fork: Option<&ForkRecord>,
) -> PushResponse {
    PushResponse {
        message: Some(PushOut::Refused(v1::Refused {
            check: check.to_string(),
            seq,
            message,
            send_from,
            fork: fork.map(wire_fork),
        })),
    }
}

fn wire_refusal(error: &WireError) -> PushResponse {
    refused("malformed", 0, error.to_string(), 0, None)
}

/// Handles one message of a push stream, and counts a batch's refusal
/// under its check (acks are counted where the batch is applied).
fn handle_push(
    ingest: &mut Ingest,
    session: &mut Session,
    request: PushRequest,
    metrics: &Metrics,
) -> Result<PushResponse, Status> {
    let is_batch = matches!(request.message, Some(PushIn::Batch(_)));
    let response = answer_push(ingest, session, request, metrics)?;
    if is_batch && let Some(PushOut::Refused(refused)) = &response.message {
        metrics.batch_refused(&refused.check);
    }
    Ok(response)
}

/// Answers one message of a push stream. Every outcome is an answer on the
/// stream; only a broken hub or a caller without the right to write the log
/// ends it. A session belongs to the group its accepted hello named: a batch
/// under another group's checkpoint, even one validly signed by that group,
/// is refused rather than filed elsewhere.
fn answer_push(
    ingest: &mut Ingest,
    session: &mut Session,
    request: PushRequest,
    metrics: &Metrics,
) -> Result<PushResponse, Status> {
    match request.message {
        None => Ok(refused(
            "malformed",
            0,
            "empty push message".into(),
            0,
            None,
        )),
        Some(PushIn::Hello(hello)) => answer_hello(ingest, session, hello),
        Some(PushIn::Batch(batch)) => answer_batch(ingest, session, batch, metrics),
    }
}

/// A hello: binds the session to the group its checkpoint names and says
/// where to send from.
fn answer_hello(
    ingest: &mut Ingest,
    session: &mut Session,
    hello: v1::Hello,
) -> Result<PushResponse, Status> {
    let offered = match convert::checkpoint(hello.checkpoint.as_ref(), "hello.checkpoint") {
        Ok(c) => c,
        Err(e) => return Ok(wire_refusal(&e)),
    };
    // A new hello (a relay sends one per log) ends the previous binding.
    session.group = None;
    session.pending_contact = None;
    session.caller.may_write(&offered.checkpoint.group)?;
    let contact = hello_contact(
        &session.caller,
        &offered.checkpoint.group,
        hello.last_contact_at,
        unix_now(),
    )?;
    Ok(match ingest.greet_contact(&offered, contact) {
        Ok((position, greeting, verified)) => {
            session.group = Some(offered.checkpoint.group.clone());
            // A head beyond this hub's proves contact once a batch
            // up to it verifies.
            if !verified {
                session.pending_contact = contact;
            }
            let (directive, send_from, fork) = match &greeting {
                Greeting::SendFrom(n) => (v1::Directive::SendFrom, *n, None),
                Greeting::UpToDate => (v1::Directive::UpToDate, position.seq + 1, None),
                Greeting::HubAhead => (v1::Directive::HubAhead, position.seq + 1, None),
                Greeting::Forked(f) => (v1::Directive::Forked, 0, Some(wire_fork(f))),
            };
            tracing::info!(group = %position.group, hub_seq = position.seq, node_seq = offered.checkpoint.seq, ?directive, "push session");
            PushResponse {
                message: Some(PushOut::Welcome(v1::Welcome {
                    position: Some(wire_position(&position)),
                    directive: directive as i32,
                    send_from,
                    fork,
                })),
            }
        }
        Err(e) => refusal(ingest, &offered, &e, &session.presenter()),
    })
}

/// A batch of the bound group's log, within the session's limits.
fn answer_batch(
    ingest: &mut Ingest,
    session: &mut Session,
    batch: v1::Batch,
    metrics: &Metrics,
) -> Result<PushResponse, Status> {
    let checkpoint = match convert::checkpoint(batch.checkpoint.as_ref(), "batch.checkpoint") {
        Ok(c) => c,
        Err(e) => return Ok(wire_refusal(&e)),
    };
    let end = batch
        .from_seq
        .saturating_add(batch.events.len() as u64)
        .saturating_sub(1);
    match session.group.as_ref() {
        None => {
            return Ok(refused(
                "malformed",
                batch.from_seq,
                "a push opens with a hello".into(),
                0,
                None,
            ));
        }
        Some(group) if *group != checkpoint.checkpoint.group => {
            return Ok(refused(
                "checkpoint_wrong_group",
                end,
                format!(
                    "group {group}: the checkpoint of the batch ending at seq {end} is for group {}",
                    checkpoint.checkpoint.group
                ),
                ingest.position(group).map(|p| p.seq + 1).unwrap_or(0),
                None,
            ));
        }
        Some(_) => {}
    }
    let bytes: usize = batch.events.iter().map(Vec::len).sum();
    if batch.events.len() > session.max_batch_events || bytes > session.max_batch_bytes {
        return Ok(refused(
            "batch_too_large",
            batch.from_seq,
            format!(
                "batch of {} events and {bytes} bytes is over the limits",
                batch.events.len()
            ),
            0,
            None,
        ));
    }
    // What the hub held before, so a re-sent batch counts no events.
    let held = ingest
        .position(&checkpoint.checkpoint.group)
        .map_or(0, |p| p.seq);
    Ok(
        match ingest.batch(batch.from_seq, &batch.events, &checkpoint) {
            Ok(BatchOutcome::Acked { from, to, head }) => {
                tracing::debug!(group = %checkpoint.checkpoint.group, from, to, "batch acknowledged");
                metrics.batch_acked(to.saturating_sub(held));
                if let Some(at) = session.pending_contact.take()
                    && let Err(e) = ingest.record_contact(&checkpoint.checkpoint.group, at)
                {
                    // The batch is committed: its ack stands.
                    tracing::error!(group = %checkpoint.checkpoint.group, error = %e, "contact not recorded");
                }
                PushResponse {
                    message: Some(PushOut::Ack(v1::Ack {
                        from_seq: from,
                        to_seq: to,
                        head: head.as_bytes().to_vec(),
                    })),
                }
            }
            Ok(BatchOutcome::SendFrom(n)) => refused(
                "gap",
                batch.from_seq,
                format!(
                    "batch starts at seq {} but the hub holds up to {}: send from {n}",
                    batch.from_seq,
                    n - 1
                ),
                n,
                None,
            ),
            Ok(BatchOutcome::Forked(fork)) => refused(
                "fork",
                fork.seq,
                format!(
                    "group {} seq {}: differs from the accepted event; group marked forked",
                    fork.group, fork.seq
                ),
                0,
                Some(&fork),
            ),
            Err(e) => refusal(ingest, &checkpoint, &e, &session.presenter()),
        },
    )
}

/// The contact a hello proves once its checkpoint verifies (`None`: none).
/// A group's own node greeting this hub is in contact now. A child hub
/// relaying a log states when the group was last in contact with it: only a
/// hub may state it, for its own tambon's groups (PERMISSION_DENIED, like
/// writing another's log), and it is never later than this hub's clock (the
/// store never moves it backwards). Hub logs and older relays that state
/// nothing record no contact.
fn hello_contact(
    caller: &Caller,
    log: &GroupId,
    stated: Option<i64>,
    now: i64,
) -> Result<Option<i64>, Status> {
    if let Some(at) = stated {
        caller.may_state_contact(log)?;
        return Ok((!log.is_hub_log() && at > 0).then(|| at.min(now)));
    }
    Ok(match caller.principal {
        Principal::Group(_) => Some(now),
        _ => None,
    })
}

/// What a push stream remembers between messages.
struct Session {
    /// Who is pushing, from the client certificate.
    caller: Caller,
    /// The log the last accepted hello named; batches must be of it.
    group: Option<GroupId>,
    /// The contact the hello stated or proved, still to be recorded: its
    /// checkpoint was beyond this hub's head, so the first acknowledged
    /// batch verifies it.
    pending_contact: Option<i64>,
    max_batch_events: usize,
    max_batch_bytes: usize,
}

impl Session {
    /// Who presents the log, as refusals name it: the group's own node, or
    /// the relaying hub — taken from the certificate, never from the hello.
    fn presenter(&self) -> String {
        match &self.caller.principal {
            Principal::Hub(hub) => format!("hub {hub}"),
            _ => "node".into(),
        }
    }
}

fn refusal(
    ingest: &Ingest,
    checkpoint: &SignedCheckpoint,
    error: &IngestError,
    presenter: &str,
) -> PushResponse {
    let group = &checkpoint.checkpoint.group;
    if matches!(error, IngestError::Store(_)) {
        tracing::error!(group = %group, error = %error, "storage failure during push");
    } else {
        tracing::warn!(group = %group, check = error.check(), seq = error.seq(), presenter, "batch refused: {error}");
    }
    let send_from = match error {
        IngestError::Damaged { seq, .. } => *seq,
        _ => ingest.position(group).map(|p| p.seq + 1).unwrap_or(0),
    };
    refused(
        error.check(),
        error.seq(),
        format!("{error} (presented by {presenter})"),
        send_from,
        None,
    )
}

#[tonic::async_trait]
impl SyncRpc for SyncService {
    async fn heads(
        &self,
        request: Request<v1::HeadsRequest>,
    ) -> Result<Response<v1::HeadsResponse>, Status> {
        let caller = self.gate.caller(&request).await?;
        let ids = request.into_inner().group_ids;
        if ids.len() > 10_000 {
            return Err(Status::invalid_argument(
                "at most 10000 groups per Heads request",
            ));
        }
        let groups = ids
            .iter()
            .map(|id| convert::group_id(id))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        for group in &groups {
            caller.may_read_log(group)?;
        }
        let positions = self
            .with_ingest(move |ingest| {
                groups
                    .iter()
                    .map(|g| match ingest.position(g) {
                        Ok(p) => Ok(wire_position(&p)),
                        Err(IngestError::NotEnrolled(_)) => Ok(v1::Position {
                            group_id: g.as_str().to_string(),
                            status: v1::GroupStatus::NotEnrolled as i32,
                            ..Default::default()
                        }),
                        Err(e) => Err(Status::internal(e.to_string())),
                    })
                    .collect::<Result<Vec<_>, Status>>()
            })
            .await??;
        Ok(Response::new(v1::HeadsResponse { positions }))
    }

    type PushStream = ReceiverStream<Result<PushResponse, Status>>;

    async fn push(
        &self,
        request: Request<Streaming<PushRequest>>,
    ) -> Result<Response<Self::PushStream>, Status> {
        let caller = self.gate.caller(&request).await?;
        if matches!(
            caller.principal,
            Principal::Coordinator { .. } | Principal::Operator(_)
        ) {
            return Err(caller.may_write_nothing());
        }
        let permit = self.guard.open_stream(&caller)?;
        let mut inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(PUSH_RESPONSE_QUEUE);
        let service = self.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let mut session = Session {
                caller,
                group: None,
                pending_contact: None,
                max_batch_events: service.limits.max_batch_events,
                max_batch_bytes: service.limits.max_batch_bytes,
            };
            let mut refusals = 0u32;
            loop {
                // A client whose messages keep being refused is answered
                // ever more slowly, so it cannot crowd out the others.
                tokio::time::sleep(limits::refusal_pause(refusals)).await;
                let request = match inbound.message().await {
                    Ok(Some(request)) => request,
                    Ok(None) => break,
                    Err(status) => {
                        tracing::debug!(%status, "push stream ended by the client");
                        break;
                    }
                };
                let is_batch = matches!(request.message, Some(PushIn::Batch(_)));
                if let (Some(PushIn::Batch(batch)), Some(group)) =
                    (&request.message, &session.group)
                {
                    let pause = service.guard.charge(group, batch.events.len() as u64);
                    if !pause.is_zero() {
                        tracing::debug!(group = %group, pause_ms = pause.as_millis() as u64, "push slowed: limits.events_per_group_per_minute");
                        tokio::time::sleep(pause).await;
                    }
                }
                let mut state = session;
                let started = Instant::now();
                let metrics = service.metrics.clone();
                let response = service
                    .with_ingest(move |ingest| {
                        let response = handle_push(ingest, &mut state, request, &metrics);
                        (response, state)
                    })
                    .await;
                let (response, state) = match response {
                    Ok(answer) => answer,
                    Err(status) => {
                        let _ = tx.send(Err(status)).await;
                        break;
                    }
                };
                session = state;
                let end = response.is_err();
                if matches!(
                    &response,
                    Ok(PushResponse {
                        message: Some(PushOut::Refused(_))
                    })
                ) {
                    refusals = refusals.saturating_add(1);
                } else {
                    refusals = 0;
                }
                if is_batch {
                    // Waiting for the ingest lock included: the pusher waits too.
                    service.metrics.batch_latency(started.elapsed());
                }
                if tx.send(response).await.is_err() || end {
                    break;
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    type PullStream = PullStream;

    async fn pull(
        &self,
        request: Request<v1::PullRequest>,
    ) -> Result<Response<PullStream>, Status> {
        let caller = self.gate.caller(&request).await?;
        let request = request.into_inner();
        let group = convert::group_id(&request.group_id)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        caller.may_read_log(&group)?;
        let permit = self.guard.open_stream(&caller)?;
        let from = request.from_seq.max(1);
        let service = self.clone();
        let (snapshot, from_head) = service
            .with_ingest({
                let group = group.clone();
                move |ingest| {
                    let store = ingest.store();
                    let Some(row) = store.group(&group)? else {
                        return Ok(None);
                    };
                    let head = store.hash_at(&row, from - 1)?;
                    Ok(Some((row, head)))
                }
            })
            .await?
            .map_err(|e: crate::store::StoreError| Status::internal(e.to_string()))?
            .ok_or_else(|| {
                Status::not_found(format!("group {group} is not enrolled at this hub"))
            })?;
        refuse_damaged(&service, &snapshot).await?;
        Ok(Response::new(pull_stream(
            snapshot,
            from,
            from_head,
            move |gid, next| {
                // Held for as long as the stream reads: one of the caller's places.
                let _held = &permit;
                let service = service.clone();
                async move {
                    service
                        .with_ingest(move |ingest| {
                            ingest.store().events_from(gid, next, MAX_BATCH_BYTES)
                        })
                        .await
                        .and_then(|r| r.map_err(|e| Status::internal(e.to_string())))
                }
            },
        )))
    }
}

/// A damaged log's bytes are never served: a restore from them would fail
/// further on, with a less useful message, or worse.
async fn refuse_damaged(service: &SyncService, row: &GroupRow) -> Result<(), Status> {
    if row.status != crate::values::status::GroupStatus::Damaged {
        return Ok(());
    }
    let group = row.group.clone();
    let damage = service
        .with_ingest(move |ingest| ingest.store().damage(&group))
        .await?
        .map_err(|e| Status::internal(e.to_string()))?;
    Err(damaged_status(&row.group, damage.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(principal: Principal) -> Caller {
        Caller {
            principal,
            serial: "01".into(),
        }
    }

    fn group(id: &str) -> GroupId {
        GroupId::parse(id).expect("group id")
    }

    /// A node is in contact when greeted and may state nothing; a child hub
    /// states a time for its own tambon's groups only, clamped to this hub's
    /// clock; nothing is recorded for hub logs or from a hub that is silent.
    #[test]
    fn only_a_child_hub_states_a_contact_time_for_its_own_groups() {
        let now = 1_800_000_000;
        let node = caller(Principal::Group(group("230101-007")));
        let hub = caller(Principal::Hub("230101".into()));
        let own = group("230101-007");
        assert_eq!(hello_contact(&node, &own, None, now).unwrap(), Some(now));
        let stated = hello_contact(&node, &own, Some(now - 60), now).unwrap_err();
        assert_eq!(stated.code(), tonic::Code::PermissionDenied);
        assert!(
            stated.message().contains("may not state the last contact"),
            "{stated:?}"
        );
        assert_eq!(
            hello_contact(&hub, &own, Some(now - 60), now).unwrap(),
            Some(now - 60)
        );
        assert_eq!(
            hello_contact(&hub, &own, Some(now + 86_400), now).unwrap(),
            Some(now),
            "never in the future"
        );
        assert_eq!(hello_contact(&hub, &own, Some(0), now).unwrap(), None);
        assert_eq!(hello_contact(&hub, &own, None, now).unwrap(), None);
        assert_eq!(
            hello_contact(&hub, &group("230101-000"), Some(now), now).unwrap(),
            None
        );
        let other = hello_contact(&hub, &group("230102-001"), Some(now), now).unwrap_err();
        assert_eq!(other.code(), tonic::Code::PermissionDenied);
    }
}
