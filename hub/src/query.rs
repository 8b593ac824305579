//! Coordinator queries, on the hub machine (`sajja-hub query --config`) and
//! remotely (the `Query` gRPC service, `sajja-hub query --bundle`).
//!
//! Both paths compute an answer with the same functions here and print it
//! with the same renderer ([`Answer::render`]): the remote path carries the
//! answer over the wire as typed messages ([`wire`]) and turns it back into
//! the very domain values the local path renders, so a remote report cannot
//! drift from a local one.
//!
//! The service reads through its own SQLite connection (WAL lets it read
//! while ingest writes), on a blocking thread, so a slow query never holds
//! the ingest lock and a push never waits for a report.

pub mod client;
pub mod wire;

use std::collections::BTreeSet;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use sajja_common::position::PoolPosition;
use sajja_common::{Date, GroupId, PoolId};
use sajja_proto::MAX_MESSAGE_BYTES;
use sajja_proto::v1::query_server::{Query as QueryRpc, QueryServer};
use sajja_proto::v1::{self};
use thiserror::Error;
use tokio_stream::Stream;
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status};

use crate::config::HubConfig;
use crate::identity::{Caller, Gate};
use crate::limits::Guard;
use crate::positions;
use crate::report::{self, Output};
use crate::signoff;
use crate::store::{Store, StoreError};
use crate::values::alert::Alert;
use crate::values::lines::{Attention, Freshness, GroupFilter, GroupLine};
use crate::values::principal::Principal;
use crate::values::scope_position::ScopePosition;
use crate::values::signoff::SignOff;
use sajja_edge::clock::unix_now;

/// The most groups one answer lists. A province holds a few thousand; more
/// than this is a scope to narrow, not a report to print.
pub const MAX_GROUPS: usize = 20_000;
/// The most alerts one answer lists.
pub const MAX_ALERTS: usize = 50_000;
/// The most sign-offs one answer lists: a province of 3,000 groups signs
/// 36,000 group-months a year.
pub const MAX_SIGN_OFFS: usize = 250_000;

/// List items per streamed message, so that each stays far below the 1 MiB
/// message limit whatever the names and pools of the groups in it.
const GROUPS_PER_CHUNK: usize = 256;
const ALERTS_PER_CHUNK: usize = 1_024;
const SIGN_OFFS_PER_CHUNK: usize = 1_024;

/// A scope is a geocode or a group id: ten characters at most; anything far
/// longer is refused before it is even echoed back.
const MAX_SCOPE_LEN: usize = 16;

#[derive(Debug, Error)]
pub enum QueryError {
    #[error(
        "scope {0:?}: expected a province (2 digits) or tambon (6 digits) geocode, or a group id such as 230101-007"
    )]
    BadScope(String),
    #[error("scope {0}: pooled funds belong to a network; ask for a province or tambon")]
    NotANetwork(String),
    #[error(
        "{count} {what} under {scope} are more than the {max} one answer may list; narrow the scope"
    )]
    TooMany {
        what: &'static str,
        scope: String,
        count: usize,
        max: usize,
    },
    /// A read of a damaged log (see [`crate::scrub`]).
    #[error("{0}")]
    Damaged(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

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

/// What a query is about: a province or tambon geocode, or one group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope(String);

impl Scope {
    pub fn parse(text: &str) -> Result<Scope, QueryError> {
        let refuse = || {
            let shown: String = text.chars().take(MAX_SCOPE_LEN).collect();
            QueryError::BadScope(shown)
        };
        if text.len() > MAX_SCOPE_LEN {
            return Err(refuse());
        }
        let geocode = matches!(text.len(), 2 | 6)
            && sajja_common::ids::check_geocode(text, "scope", text.len()).is_ok();
        // A hub's administrative log has no position of its own.
        let group = GroupId::parse(text).is_ok_and(|g| !g.is_hub_log());
        if geocode || group {
            Ok(Scope(text.to_string()))
        } else {
            Err(refuse())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_group(&self) -> bool {
        self.0.contains('-')
    }

    /// The province whose groups cover the scope's own and its pools'.
    fn province(&self) -> &str {
        self.0.get(..2).unwrap_or(&self.0)
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whom an answer is for. A pooled fund belongs to the network that manages
/// it, and its position lists every pledging group: a tambon's coordinator
/// sees the pools of networks within its scope, not the province pool with
/// the pledges of other tambons' groups. The hub's operator sees everything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Audience {
    Everything,
    Within(String),
}

impl Audience {
    pub fn of(principal: &Principal) -> Audience {
        match principal {
            Principal::Operator(_) => Audience::Everything,
            Principal::Coordinator { scope, .. } => Audience::Within(scope.clone()),
            Principal::Group(group) => Audience::Within(group.as_str().to_string()),
            Principal::Hub(hub) => Audience::Within(hub.clone()),
        }
    }

    pub fn sees_pool(&self, pool: &PoolId) -> bool {
        match self {
            Audience::Everything => true,
            Audience::Within(scope) => pool.network().starts_with(scope.as_str()),
        }
    }
}

/// A query as asked: no scope means the asker's own.
#[derive(Clone, Debug)]
pub enum Ask {
    Position {
        scope: Option<Scope>,
        as_of: Option<Date>,
    },
    Groups {
        scope: Option<Scope>,
        as_of: Option<Date>,
        filter: GroupFilter,
    },
    Reserves {
        scope: Option<Scope>,
        as_of: Option<Date>,
    },
    Alerts {
        scope: Option<Scope>,
        as_of: Option<Date>,
    },
    SignOffs {
        scope: Option<Scope>,
    },
}

#[derive(Clone, Debug)]
pub struct PositionAnswer {
    pub as_of: Date,
    pub freshness: Freshness,
    pub position: ScopePosition,
    pub pools: Vec<PoolPosition>,
}

#[derive(Clone, Debug)]
pub struct GroupsAnswer {
    pub scope: String,
    pub as_of: Date,
    pub freshness: Freshness,
    pub lines: Vec<GroupLine>,
}

#[derive(Clone, Debug)]
pub struct ReservesAnswer {
    pub scope: String,
    pub as_of: Date,
    pub pools: Vec<PoolPosition>,
}

#[derive(Clone, Debug)]
pub struct AlertsAnswer {
    pub scope: String,
    pub as_of: Date,
    pub alerts: Vec<Alert>,
}

#[derive(Clone, Debug)]
pub struct SignOffsAnswer {
    pub scope: String,
    pub sign_offs: Vec<SignOff>,
}

/// A query's answer in domain terms: what both paths render.
#[derive(Clone, Debug)]
pub enum Answer {
    Position(PositionAnswer),
    Groups(GroupsAnswer),
    Reserves(ReservesAnswer),
    Alerts(AlertsAnswer),
    SignOffs(SignOffsAnswer),
}

impl Answer {
    /// The one renderer of every query, local or remote.
    pub fn render(&self, output: Output) -> String {
        match self {
            Answer::Position(a) => match output {
                Output::Table => {
                    report::position_table(&a.position, &a.pools, a.as_of, a.freshness.now)
                }
                Output::Json => report::position_json(&a.position, &a.pools, a.as_of),
                Output::Csv => report::position_csv(&a.position, a.as_of),
            },
            Answer::Groups(a) => match output {
                Output::Table => report::group_table(&a.lines, a.as_of, a.freshness),
                Output::Json => report::groups_json(&a.scope, &a.lines, a.as_of, a.freshness),
                Output::Csv => report::groups_csv(&a.lines, a.freshness),
            },
            Answer::Reserves(a) => match output {
                Output::Table => report::pool_table(&a.pools, a.as_of),
                Output::Json => report::pools_json(&a.scope, &a.pools, a.as_of),
                Output::Csv => report::pools_csv(&a.pools, a.as_of),
            },
            Answer::Alerts(a) => match output {
                Output::Table => report::alerts_table(&a.scope, &a.alerts, a.as_of),
                Output::Json => report::alerts_json(&a.scope, &a.alerts, a.as_of),
                Output::Csv => report::alerts_csv(&a.alerts),
            },
            Answer::SignOffs(a) => match output {
                Output::Table => report::signoffs_table(&a.scope, &a.sign_offs),
                Output::Json => report::signoffs_json(&a.scope, &a.sign_offs),
                Output::Csv => report::signoffs_csv(&a.sign_offs),
            },
        }
    }
}

/// What every answer is computed against: the hub's data, its clock and
/// its staleness rule, fixed once per query so all parts of an answer agree.
pub struct Context<'a> {
    pub store: &'a Store,
    pub freshness: Freshness,
    /// The business date when none is asked for: today in Thailand.
    pub today: Date,
}

impl Context<'_> {
    pub fn new(store: &Store, freshness: Freshness) -> Context<'_> {
        Context {
            store,
            freshness,
            today: Date::thai_date_at(freshness.now),
        }
    }
}

/// Answers `ask`, with `default_scope` when it names none.
pub fn answer(
    cx: &Context,
    ask: &Ask,
    default_scope: &Scope,
    audience: &Audience,
) -> Result<Answer, QueryError> {
    let or_default = |scope: &Option<Scope>| scope.clone().unwrap_or_else(|| default_scope.clone());
    Ok(match ask {
        Ask::Position { scope, as_of } => {
            Answer::Position(position(cx, &or_default(scope), *as_of, audience)?)
        }
        Ask::Groups {
            scope,
            as_of,
            filter,
        } => Answer::Groups(groups(cx, &or_default(scope), *as_of, filter)?),
        Ask::Reserves { scope, as_of } => {
            Answer::Reserves(reserves(cx, &or_default(scope), *as_of, audience)?)
        }
        Ask::Alerts { scope, as_of } => {
            Answer::Alerts(alerts(cx, &or_default(scope), *as_of, audience)?)
        }
        Ask::SignOffs { scope } => Answer::SignOffs(sign_offs(cx, &or_default(scope))?),
    })
}

/// Sums, counts and indicators over `scope`, and the pools managed under
/// it. A group's position is its own figures: the pools it deals with are
/// its networks', not its own.
pub fn position(
    cx: &Context,
    scope: &Scope,
    as_of: Option<Date>,
    audience: &Audience,
) -> Result<PositionAnswer, QueryError> {
    let as_of = as_of.unwrap_or(cx.today);
    let (lines, pools) = if scope.is_group() {
        (
            positions::group_lines(cx.store, scope.as_str(), as_of)?,
            Vec::new(),
        )
    } else {
        // The province's groups cover both the scope's own and its pools'.
        let all = positions::group_lines(cx.store, scope.province(), as_of)?;
        let mut pools = positions::pools_of_lines(cx.store, &all, scope.as_str(), as_of)?;
        pools.retain(|p| audience.sees_pool(&p.pool));
        let lines = all
            .into_iter()
            .filter(|l| l.group.as_str().starts_with(scope.as_str()))
            .collect::<Vec<_>>();
        (lines, pools)
    };
    let position =
        crate::values::scope_position::scope_position(&lines, scope.as_str(), cx.freshness);
    Ok(PositionAnswer {
        as_of,
        freshness: cx.freshness,
        position,
        pools,
    })
}

/// Each group's position under `scope` that passes every filter given.
pub fn groups(
    cx: &Context,
    scope: &Scope,
    as_of: Option<Date>,
    filter: &GroupFilter,
) -> Result<GroupsAnswer, QueryError> {
    let as_of = as_of.unwrap_or(cx.today);
    let mut lines = positions::group_lines(cx.store, scope.as_str(), as_of)?;
    if !filter.is_empty() {
        // Which pools are below policy is the filter's input only: what the
        // caller reads is still its own groups.
        let below: BTreeSet<PoolId> = if filter.below_reserve {
            positions::pool_positions(cx.store, "", as_of)?
                .into_iter()
                .filter(PoolPosition::below_policy)
                .map(|p| p.pool)
                .collect()
        } else {
            BTreeSet::new()
        };
        lines = crate::values::lines::filter_lines(lines, filter, cx.freshness, &below);
    }
    Ok(GroupsAnswer {
        scope: scope.to_string(),
        as_of,
        freshness: cx.freshness,
        lines,
    })
}

/// The pooled funds managed under a province or tambon.
pub fn reserves(
    cx: &Context,
    scope: &Scope,
    as_of: Option<Date>,
    audience: &Audience,
) -> Result<ReservesAnswer, QueryError> {
    if scope.is_group() {
        return Err(QueryError::NotANetwork(scope.to_string()));
    }
    let as_of = as_of.unwrap_or(cx.today);
    let mut pools = positions::pool_positions(cx.store, scope.as_str(), as_of)?;
    pools.retain(|p| audience.sees_pool(&p.pool));
    Ok(ReservesAnswer {
        scope: scope.to_string(),
        as_of,
        pools,
    })
}

/// Every alert under `scope`: a pool's only when the audience sees the pool
/// and the scope is a network (as in [`position`]).
pub fn alerts(
    cx: &Context,
    scope: &Scope,
    as_of: Option<Date>,
    audience: &Audience,
) -> Result<AlertsAnswer, QueryError> {
    let as_of = as_of.unwrap_or(cx.today);
    let mut alerts = positions::alerts(cx.store, scope.as_str(), as_of, cx.freshness)?;
    alerts.retain(|alert| match alert {
        Alert::ReserveBelowPolicy { pool, .. } => !scope.is_group() && audience.sees_pool(pool),
        _ => true,
    });
    Ok(AlertsAnswer {
        scope: scope.to_string(),
        as_of,
        alerts,
    })
}

/// Month sign-offs of the groups and tambons under `scope`.
pub fn sign_offs(cx: &Context, scope: &Scope) -> Result<SignOffsAnswer, QueryError> {
    Ok(SignOffsAnswer {
        scope: scope.to_string(),
        sign_offs: signoff::sign_offs(cx.store, scope.as_str())?,
    })
}

/// The `Query` service: every call is put to the gate, then to the caller's
/// permissions for the scope or log it names, and only then answered.
#[derive(Clone)]
pub struct QueryService {
    inner: Arc<Inner>,
}

struct Inner {
    store: Mutex<Store>,
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
                store: Mutex::new(store),
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
    fn scoped<T>(&self, request: &Request<T>, asked: &str) -> Result<(Caller, Scope), Status> {
        let caller = self.inner.gate.caller(request)?;
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
        tokio::task::spawn_blocking(move || {
            let store = inner
                .store
                .lock()
                .map_err(|_| Status::internal("query state poisoned"))?;
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
        .map_err(|e| Status::internal(format!("query task failed: {e}")))?
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
        let (caller, scope) = self.scoped(&request, &request.get_ref().scope)?;
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
        let (caller, scope) = self.scoped(&request, &request.get_ref().scope)?;
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
        let (caller, scope) = self.scoped(&request, &request.get_ref().scope)?;
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
        let (caller, scope) = self.scoped(&request, &request.get_ref().scope)?;
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
        let (caller, scope) = self.scoped(&request, &request.get_ref().scope)?;
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

    type LogStream = LogStream;

    async fn log(&self, request: Request<v1::LogRequest>) -> Result<Response<LogStream>, Status> {
        let caller = self.inner.gate.caller(&request)?;
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
                        return Err(QueryError::Damaged(crate::server::damaged_message(
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
        let pulled = crate::server::pull_stream(row, from, Some(from_head), move |gid, next| {
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
