//! The `Query` gRPC service: every call is put to the gate, then to the
//! caller's permissions for the scope or log it names, and only then
//! answered by the functions of [`crate::read::query`] on this service's own
//! connection, on a blocking thread, so a slow query never holds the ingest
//! lock and a push never waits for a report.

use std::pin::Pin;
use std::sync::{Arc, Mutex};

use sajja_common::Date;
use sajja_proto::MAX_MESSAGE_BYTES;
use sajja_proto::v1::query_server::{Query as QueryRpc, QueryServer};
use sajja_proto::v1::{self};
use tokio_stream::Stream;
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status};

use crate::config::HubConfig;
use crate::net::blocking::{blocking, locked};
use crate::net::gate::{Caller, Gate};
use crate::net::limits::Guard;
use crate::read::cache::Reader;
use crate::read::query::{
    Audience, Context, MAX_ALERTS, MAX_EXCHANGES, MAX_GROUPS, MAX_SIGN_OFFS, QueryError, Scope,
    alerts, exchanges, groups, position, reserves, sign_offs,
};
use crate::rpc::query_wire as wire;
use crate::store::{Store, StoreError};
use crate::values::lines::{Attention, Freshness, GroupFilter};
use crate::values::principal::Principal;
use sajja_edge::clock::unix_now;

/// List items per streamed message, so that each stays far below the 1 MiB
/// message limit whatever the names and pools of the groups in it.
const GROUPS_PER_CHUNK: usize = 256;
const ALERTS_PER_CHUNK: usize = 1_024;
const SIGN_OFFS_PER_CHUNK: usize = 1_024;

impl QueryError {
    fn status(&self) -> Status {
        match self {
            QueryError::Damaged(message) => Status::data_loss(message.clone()),
            QueryError::BadScope(_) | QueryError::NotANetwork(_) => {
                Status::invalid_argument(self.to_string())
            }
            QueryError::TooMany { .. } => Status::resource_exhausted(self.to_string()),
            QueryError::Store(e) => {
                // Paths and SQL stay in the hub's log, not in a client's hands.
                tracing::error!(error = %e, "query failed in storage");
                Status::internal("the hub could not read its database; see its log")
            }
        }
    }
}

/// The `Query` service: every call is put to the gate, then to the caller's
/// permissions for the scope or log it names, and only then answered.
#[derive(Clone)]
pub struct QueryService {
    inner: Arc<Inner>,
}

struct Inner {
    store: Mutex<Reader>,
    gate: Arc<Gate>,
    guard: Guard,
    hub_id: String,
    stale_after_days: u32,
    attention: Attention,
}

/// The `Query` service for `config`'s hub, with its own database connection
/// and the same message limits and compression as the `Sync` service.
pub fn query_service(
    config: &HubConfig,
    gate: Arc<Gate>,
) -> Result<QueryServer<QueryService>, StoreError> {
    let store = Store::open(&config.database_path())?;
    Ok(QueryServer::new(QueryService::new(store, gate, config))
        .max_decoding_message_size(config.limits.max_message_bytes)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
        .accept_compressed(CompressionEncoding::Zstd)
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Zstd)
        .send_compressed(CompressionEncoding::Gzip))
}

impl QueryService {
    pub fn new(store: Store, gate: Arc<Gate>, config: &HubConfig) -> QueryService {
        QueryService {
            inner: Arc::new(Inner {
                store: Mutex::new(Reader::new(store)),
                gate,
                guard: Guard::new(&config.limits),
                hub_id: config.hub_id.clone(),
                stale_after_days: config.stale_after_days,
                attention: config.attention,
            }),
        }
    }

    /// Who is calling and the scope asked for, checked: an empty scope is
    /// the caller's own (an operator's is the whole hub).
    async fn scoped<T>(
        &self,
        request: &Request<T>,
        asked: &str,
    ) -> Result<(Caller, Scope), Status> {
        let caller = self.inner.gate.caller(request).await?;
        let scope = if asked.is_empty() {
            let own = match &caller.principal {
                Principal::Coordinator { scope, .. } => scope.as_str(),
                Principal::Group(group) => group.as_str(),
                Principal::Operator(_) | Principal::Hub(_) => self.inner.hub_id.as_str(),
            };
            Scope::parse(own)
        } else {
            Scope::parse(asked)
        }
        .map_err(|e| e.status())?;
        caller.may_query(scope.as_str())?;
        Ok((caller, scope))
    }

    /// Runs `work` against this service's own connection on a blocking
    /// thread: SQLite and folds must not stall the async runtime.
    async fn with_store<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Context) -> Result<T, QueryError> + Send + 'static,
    ) -> Result<T, Status> {
        let inner = self.inner.clone();
        blocking("query", move || {
            let store = locked(&inner.store, "query")?;
            let cx = Context::new(
                &store,
                Freshness {
                    now: unix_now(),
                    stale_after_days: inner.stale_after_days,
                    attention: inner.attention,
                },
            );
            work(&cx).map_err(|e| e.status())
        })
        .await
    }

    /// Answers one query for `caller`, holding one of its call places
    /// (`limits.max_streams_per_client`) while the answer is computed.
    async fn answer_for<T: Send + 'static>(
        &self,
        caller: &Caller,
        work: impl FnOnce(&Context) -> Result<T, QueryError> + Send + 'static,
    ) -> Result<T, Status> {
        let _permit = self.inner.guard.open_stream(caller)?;
        self.with_store(work).await
    }
}

fn as_of_arg(day: Option<u32>) -> Result<Option<Date>, Status> {
    day.map(|d| Date::from_days(d).map_err(|e| Status::invalid_argument(format!("as_of {d}: {e}"))))
        .transpose()
}

fn refuse_more(
    what: &'static str,
    scope: &Scope,
    count: usize,
    max: usize,
) -> Result<(), QueryError> {
    if count > max {
        return Err(QueryError::TooMany {
            what,
            scope: scope.to_string(),
            count,
            max,
        });
    }
    Ok(())
}

type Chunks<T> = tokio_stream::Iter<std::vec::IntoIter<Result<T, Status>>>;

fn chunks<T>(messages: Vec<T>) -> Chunks<T> {
    tokio_stream::iter(messages.into_iter().map(Ok).collect::<Vec<_>>())
}

pub type LogStream = Pin<Box<dyn Stream<Item = Result<v1::LogResponse, Status>> + Send>>;

#[tonic::async_trait]
impl QueryRpc for QueryService {
    async fn position(
        &self,
        request: Request<v1::PositionRequest>,
    ) -> Result<Response<v1::PositionResponse>, Status> {
        let (caller, scope) = self.scoped(&request, &request.get_ref().scope).await?;
        let as_of = as_of_arg(request.get_ref().as_of)?;
        let audience = Audience::of(&caller.principal);
        let answer = self
            .answer_for(&caller, move |cx| position(cx, &scope, as_of, &audience))
            .await?;
        Ok(Response::new(wire::position_response(&answer)))
    }

    type GroupsStream = Chunks<v1::GroupsResponse>;

    async fn groups(
        &self,
        request: Request<v1::GroupsRequest>,
    ) -> Result<Response<Self::GroupsStream>, Status> {
        let (caller, scope) = self.scoped(&request, &request.get_ref().scope).await?;
        let asked = request.into_inner();
        let as_of = as_of_arg(asked.as_of)?;
        let filter = GroupFilter {
            stale: asked.stale,
            forked: asked.forked,
            arrears: asked.arrears,
            below_reserve: asked.below_reserve,
        };
        let answer = self
            .answer_for(&caller, move |cx| {
                let answer = groups(cx, &scope, as_of, &filter)?;
                refuse_more("groups", &scope, answer.lines.len(), MAX_GROUPS)?;
                Ok(answer)
            })
            .await?;
        Ok(Response::new(chunks(wire::groups_responses(
            &answer,
            GROUPS_PER_CHUNK,
        ))))
    }

    async fn reserves(
        &self,
        request: Request<v1::ReservesRequest>,
    ) -> Result<Response<v1::ReservesResponse>, Status> {
        let (caller, scope) = self.scoped(&request, &request.get_ref().scope).await?;
        let as_of = as_of_arg(request.get_ref().as_of)?;
        let audience = Audience::of(&caller.principal);
        let answer = self
            .answer_for(&caller, move |cx| reserves(cx, &scope, as_of, &audience))
            .await?;
        Ok(Response::new(wire::reserves_response(&answer)))
    }

    type AlertsStream = Chunks<v1::AlertsResponse>;

    async fn alerts(
        &self,
        request: Request<v1::AlertsRequest>,
    ) -> Result<Response<Self::AlertsStream>, Status> {
        let (caller, scope) = self.scoped(&request, &request.get_ref().scope).await?;
        let as_of = as_of_arg(request.get_ref().as_of)?;
        let audience = Audience::of(&caller.principal);
        let answer = self
            .answer_for(&caller, move |cx| {
                let answer = alerts(cx, &scope, as_of, &audience)?;
                refuse_more("alerts", &scope, answer.alerts.len(), MAX_ALERTS)?;
                Ok(answer)
            })
            .await?;
        Ok(Response::new(chunks(wire::alerts_responses(
            &answer,
            ALERTS_PER_CHUNK,
        ))))
    }

    type SignOffsStream = Chunks<v1::SignOffsResponse>;

    async fn sign_offs(
        &self,
        request: Request<v1::SignOffsRequest>,
    ) -> Result<Response<Self::SignOffsStream>, Status> {
        let (caller, scope) = self.scoped(&request, &request.get_ref().scope).await?;
        let answer = self
            .answer_for(&caller, move |cx| {
                let answer = sign_offs(cx, &scope)?;
                refuse_more("sign-offs", &scope, answer.sign_offs.len(), MAX_SIGN_OFFS)?;
                Ok(answer)
            })
            .await?;
        Ok(Response::new(chunks(wire::sign_offs_responses(
            &answer,
            SIGN_OFFS_PER_CHUNK,
        ))))
    }

    async fn exchanges(
        &self,
        request: Request<v1::ExchangesRequest>,
    ) -> Result<Response<v1::ExchangesResponse>, Status> {
        let (caller, scope) = self.scoped(&request, &request.get_ref().scope).await?;
        let as_of = as_of_arg(request.get_ref().as_of)?;
        let answer = self
            .answer_for(&caller, move |cx| {
                let answer = exchanges(cx, &scope, as_of)?;
                refuse_more("exchanges", &scope, answer.exchanges.len(), MAX_EXCHANGES)?;
                Ok(answer)
            })
            .await?;
        Ok(Response::new(
            crate::rpc::exchange_wire::exchanges_response(&answer),
        ))
    }

    type LogStream = LogStream;

    async fn log(&self, request: Request<v1::LogRequest>) -> Result<Response<LogStream>, Status> {
        let caller = self.inner.gate.caller(&request).await?;
        let asked = request.into_inner();
        let group = sajja_proto::convert::group_id(&asked.group_id)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        caller.may_read_log(&group)?;
        let permit = self.inner.guard.open_stream(&caller)?;
        let from = asked.from_seq.max(1);
        let (row, from_head, from_key) = self
            .with_store({
                let group = group.clone();
                move |cx| {
                    let Some(row) = cx.store.group(&group)? else {
                        return Ok(None);
                    };
                    if row.status == crate::values::status::GroupStatus::Damaged {
                        return Err(QueryError::Damaged(crate::rpc::pull::damaged_message(
                            &group,
                            cx.store.damage(&group)?.as_ref(),
                        )));
                    }
                    // From past the end is refused below; no head to read.
                    let head = if from <= row.seq + 1 {
                        cx.store.hash_at(&row, from - 1)?
                    } else {
                        None
                    };
                    let key = cx.store.key_at(&row, from - 1)?;
                    Ok(Some((row, head, key)))
                }
            })
            .await?
            .ok_or_else(|| Status::not_found(format!("group {group} is not held at this hub")))?;
        if from > row.seq + 1 {
            return Err(Status::out_of_range(format!(
                "from_seq {from}: this hub holds {group} up to seq {}",
                row.seq
            )));
        }
        let from_head = from_head.ok_or_else(|| {
            tracing::error!(group = %group, seq = from - 1, "stored log has no hash at a held seq");
            Status::internal("the hub's copy of this log is damaged; see its log")
        })?;
        let mut first = Some(v1::LogResponse {
            group_key: row.key.as_bytes().to_vec(),
            fork_epoch: row.fork_epoch,
            from_seq: from,
            from_head: from_head.as_bytes().to_vec(),
            from_key: from_key.as_bytes().to_vec(),
            status: wire::group_status(row.status) as i32,
            payload: wire::log_payload(&group) as i32,
            ..Default::default()
        });
        let service = self.clone();
        let pulled = crate::rpc::pull::pull_stream(row, from, Some(from_head), move |gid, next| {
            // Held for as long as the stream reads: one of the caller's places.
            let _held = &permit;
            let service = service.clone();
            async move {
                service
                    .with_store(move |cx| {
                        Ok(cx
                            .store
                            .events_from(gid, next, sajja_proto::MAX_BATCH_BYTES)?)
                    })
                    .await
            }
        });
        let stream = tokio_stream::StreamExt::map(pulled, move |chunk| {
            chunk.map(|chunk| {
                let mut message = first.take().unwrap_or_default();
                message.events = chunk.events;
                message.checkpoint = chunk.checkpoint;
                message
            })
        });
        Ok(Response::new(Box::pin(stream)))
    }
}
