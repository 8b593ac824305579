//! Something a coordinator must look at, with the line that says it.

use crate::values::lines::Risk;
use sajja_common::exchange::ExchangeAlert;
use sajja_common::position::basis_points_text;
use sajja_common::{GroupId, Hash, Money, Month, PoolId};

/// Something a coordinator must look at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Alert {
    ReserveBelowPolicy {
        pool: PoolId,
        headroom: Money,
    },
    Forked(GroupId),
    /// The scrub found this hub's copy of the log damaged from `seq`.
    Damaged {
        group: GroupId,
        seq: u64,
        reason: String,
    },
    Stale {
        group: GroupId,
        last_sync_at: Option<i64>,
    },
    /// Past an `[attention]` line (neither stale nor forked).
    AtRisk {
        group: GroupId,
        risks: Vec<Risk>,
    },
    /// A `PeriodClosed` whose digest differs from the hub's own fold.
    DigestMismatch {
        group: GroupId,
        seq: u64,
        month: sajja_common::Month,
    },
    /// A month sign-off whose digest the logs held now no longer reproduce:
    /// an event dated in or before the month arrived after the sign-off (see
    /// [`crate::read::signoff`] for the exact definition).
    SignOffBroken {
        subject: String,
        month: Month,
        signed_by: String,
        signed: Hash,
        current: Hash,
    },
    /// A community exchange's coverage below its policy, or one account
    /// holding too much of its debit ([`crate::read::exchanges`]).
    Exchange {
        exchange: GroupId,
        alert: ExchangeAlert,
    },
}

impl Alert {
    /// A stable name for machines.
    pub fn kind(&self) -> &'static str {
        match self {
            Alert::ReserveBelowPolicy { .. } => "reserve_below_policy",
            Alert::Forked(_) => "forked",
            Alert::Damaged { .. } => "damaged",
            Alert::Stale { .. } => "stale",
            Alert::AtRisk { .. } => "at_risk",
            Alert::DigestMismatch { .. } => "digest_mismatch",
            Alert::SignOffBroken { .. } => "sign_off_broken",
            Alert::Exchange {
                alert: ExchangeAlert::CoverageBelowPolicy { .. },
                ..
            } => "exchange_coverage_below_policy",
            Alert::Exchange {
                alert: ExchangeAlert::DebitConcentrated { .. },
                ..
            } => "exchange_debit_concentrated",
            Alert::Exchange {
                alert: ExchangeAlert::SettlementUnmatched { .. },
                ..
            } => "exchange_settlement_unmatched",
        }
    }

    /// The pool, group or tambon the alert is about.
    pub fn subject(&self) -> String {
        match self {
            Alert::ReserveBelowPolicy { pool, .. } => pool.as_str().to_string(),
            Alert::Forked(group)
            | Alert::Damaged { group, .. }
            | Alert::Stale { group, .. }
            | Alert::AtRisk { group, .. }
            | Alert::DigestMismatch { group, .. }
            | Alert::Exchange {
                exchange: group, ..
            } => group.as_str().to_string(),
            Alert::SignOffBroken { subject, .. } => subject.clone(),
        }
    }
}

impl std::fmt::Display for Alert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Alert::ReserveBelowPolicy { pool, headroom } => {
                write!(
                    f,
                    "pool {pool}: reserve below policy by {}",
                    Money::from_satang(-headroom.satang())
                )
            }
            Alert::Forked(group) => {
                write!(f, "group {group}: forked; pushes refused until resolved")
            }
            Alert::Damaged { group, seq, reason } => write!(
                f,
                "group {group}: this hub's copy is damaged from seq {seq} ({reason}); pushes held until the node pushes it again"
            ),
            Alert::Stale {
                group,
                last_sync_at: Some(at),
            } => write!(f, "group {group}: stale, last contact at {at}"),
            Alert::Stale {
                group,
                last_sync_at: None,
            } => write!(f, "group {group}: stale, no contact yet"),
            Alert::AtRisk { group, risks } => {
                let why = risks.iter().map(Risk::to_string).collect::<Vec<_>>();
                write!(f, "group {group}: at risk: {}", why.join("; "))
            }
            Alert::DigestMismatch { group, seq, month } => {
                write!(
                    f,
                    "group {group}: month {month} closed at seq {seq} with a trial balance this hub does not reproduce"
                )
            }
            Alert::SignOffBroken {
                subject,
                month,
                signed_by,
                ..
            } => {
                write!(
                    f,
                    "{subject}: sign-off of {month} by hub {signed_by} is BROKEN: events dated in or before the month changed its books after the sign-off"
                )
            }
            Alert::Exchange {
                exchange,
                alert:
                    ExchangeAlert::CoverageBelowPolicy {
                        coverage_basis_points,
                        policy_basis_points,
                        shortfall,
                    },
            } => write!(
                f,
                "exchange {exchange}: the reserve covers {}% of its debit and vouchers, below the policy of {}%; {shortfall} baht more reserve is needed",
                basis_points_text(*coverage_basis_points),
                basis_points_text(i64::from(*policy_basis_points))
            ),
            Alert::Exchange {
                exchange,
                alert:
                    ExchangeAlert::DebitConcentrated {
                        account,
                        debit,
                        share_basis_points,
                        limit_basis_points,
                    },
            } => write!(
                f,
                "exchange {exchange}: account {account} holds {}% of the debit ({debit} credits), above the limit of {}%",
                basis_points_text(*share_basis_points),
                basis_points_text(i64::from(*limit_basis_points))
            ),
            Alert::Exchange {
                exchange,
                alert:
                    ExchangeAlert::SettlementUnmatched {
                        settled_from_reserve,
                        settled_by_groups,
                    },
            } => write!(
                f,
                "exchange {exchange}: {settled_from_reserve} baht of defaulted debit settled against the reserve, but the pledging groups' logs record {settled_by_groups} baht paid from their pledges"
            ),
        }
    }
}
