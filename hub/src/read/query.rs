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

use std::collections::BTreeSet;

use sajja_common::position::PoolPosition;
use sajja_common::{Date, GroupId, PoolId};
use thiserror::Error;

use crate::read::cache::Reader;
use crate::read::exchanges::{self, ExchangeLine};
use crate::read::positions;
use crate::read::signoff;
use crate::store::StoreError;
use crate::values::alert::Alert;
use crate::values::lines::{Freshness, GroupFilter, GroupLine};
use crate::values::principal::Principal;
use crate::values::scope_position::ScopePosition;
use crate::values::signoff::SignOff;

/// The most groups one answer lists. A province holds a few thousand; more
/// than this is a scope to narrow, not a report to print.
pub const MAX_GROUPS: usize = 20_000;
/// The most alerts one answer lists.
pub const MAX_ALERTS: usize = 50_000;
/// The most sign-offs one answer lists: a province of 3,000 groups signs
/// 36,000 group-months a year.
pub const MAX_SIGN_OFFS: usize = 250_000;

/// The most exchanges one answer lists: each carries its monthly volume (up
/// to 48 lines a year), and the answer is one gRPC message.
pub const MAX_EXCHANGES: usize = 200;

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
    /// A read of a damaged log (see [`crate::ingest::scrub`]).
    #[error("{0}")]
    Damaged(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a query is about: a province or tambon geocode, or one group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope(pub(crate) String);

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
    Exchanges {
        scope: Option<Scope>,
        as_of: Option<Date>,
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
pub struct ExchangesAnswer {
    pub scope: String,
    pub as_of: Date,
    pub exchanges: Vec<ExchangeLine>,
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
    Exchanges(ExchangesAnswer),
}

/// What every answer is computed against: the hub's data, its clock and
/// its staleness rule, fixed once per query so all parts of an answer agree.
pub struct Context<'a> {
    pub store: &'a Reader,
    pub freshness: Freshness,
    /// The business date when none is asked for: today in Thailand.
    pub today: Date,
}

impl Context<'_> {
    pub fn new(store: &Reader, freshness: Freshness) -> Context<'_> {
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
        Ask::Exchanges { scope, as_of } => {
            Answer::Exchanges(exchanges(cx, &or_default(scope), *as_of)?)
        }
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
    let mut alerts = cx.store.read_snapshot(|| {
        let mut alerts = positions::alerts(cx.store, scope.as_str(), as_of, cx.freshness)?;
        for line in exchanges::exchange_lines(cx.store, scope.as_str(), as_of)? {
            for alert in line.position.alerts() {
                alerts.push(Alert::Exchange {
                    exchange: line.position.log.clone(),
                    alert,
                });
            }
        }
        Ok(alerts)
    })?;
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

/// The community exchanges under `scope` (a network, or one exchange's log
/// id), each beside the reserve that guarantees it.
pub fn exchanges(
    cx: &Context,
    scope: &Scope,
    as_of: Option<Date>,
) -> Result<ExchangesAnswer, QueryError> {
    let as_of = as_of.unwrap_or(cx.today);
    Ok(ExchangesAnswer {
        scope: scope.to_string(),
        as_of,
        exchanges: exchanges::exchange_lines(cx.store, scope.as_str(), as_of)?,
    })
}

/// Month sign-offs of the groups and tambons under `scope`.
pub fn sign_offs(cx: &Context, scope: &Scope) -> Result<SignOffsAnswer, QueryError> {
    Ok(SignOffsAnswer {
        scope: scope.to_string(),
        sign_offs: signoff::sign_offs(cx.store, scope.as_str())?,
    })
}
