//! The domain event and its one encoding.
//!
//! An event is encoded once, on the node, by [`Event::encode`]; from then on its
//! bytes are the event. [`Event::decode`] turns untrusted bytes into a domain
//! value, refusing anything structurally wrong (unknown enum values, bad ids,
//! oversized fields) before any ledger rule looks at it. This module is the only
//! place that knows the generated `pb` types.

use prost::Message;
use thiserror::Error;

use crate::chain::Hash;
use crate::checkpoint::{PublicKey, SigningKey, rotation_signing_bytes};
use crate::date::{Date, Month};
use crate::ids::{GroupId, LoanNo, MemberNo, PoolId, check_geocode};
use crate::money::Money;
use crate::pb;

/// Upper bounds on what one event may carry, so that a hostile event cannot make
/// anyone allocate much. An honest event is a few dozen bytes.
pub const MAX_EVENT_BYTES: usize = 64 * 1024;
pub const MAX_TEXT_BYTES: usize = 500;
pub const MAX_GUARANTORS: usize = 10;
pub const MAX_DIVIDEND_LINES: usize = 5_000;
pub const MAX_TIERS: usize = 20;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub group: GroupId,
    pub seq: u64,
    pub date: Date,
    /// The node's clock when it was recorded: informational, never used for order.
    pub recorded_at: i64,
    pub body: Body,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Channel {
    Cash,
    Bank,
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum ContributionPeriod {
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Sex {
    Unstated,
    Female,
    Male,
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum LeaveReason {
    Resigned,
    Moved,
    Died,
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Source {
    Member,
    LocalGovernment,
    NationalGovernment,
    Donation,
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum IncomeKind {
    BankInterest,
    Donation,
    Fundraising,
    Fee,
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum ExpenseKind {
    Administration,
    Meeting,
    BankFee,
    Other,
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum BenefitKind {
    Childbirth,
    Sickness,
    OldAge,
    Death,
    Education,
    Disaster,
    Other,
}

/// How a loan's principal falls due; arrears and PAR30 follow it.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
pub enum LoanPlan {
    /// Equal monthly instalments over the term (logs written before plans
    /// existed are all of this kind).
    #[default]
    EqualInstalments,
    /// Interest monthly; the whole principal due at the end of the term (the
    /// common Thai savings-group loan).
    PrincipalAtMaturity,
    /// Repaid as the borrower can; the whole principal due by `final_due`.
    Flexible { final_due: Date },
}

/// One step of a tiered benefit table: from `min_years` on, `amount` applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tier {
    pub min_years: u32,
    pub amount: Money,
}

/// A group's own welfare rules. Each fund sets its own; these defaults are the
/// common Sajja 1-baht-a-day pattern (30 baht a month, 180 days' wait).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rules {
    pub contribution_amount: Money,
    pub contribution_period: ContributionPeriod,
    pub waiting_days: u32,
    pub childbirth_amount: Money,
    pub sickness_per_night: Money,
    pub sickness_max_nights_per_year: u32,
    pub sickness_max_amount_per_year: Money,
    pub death_by_membership_years: Vec<Tier>,
    pub pension_min_age: u32,
    /// Monthly pension by whole years of contributions.
    pub pension_by_contribution_years: Vec<Tier>,
    /// Per claim; zero means the fund does not offer it.
    pub education_max: Money,
    pub disaster_max: Money,
    pub admin_cap_basis_points: u32,
}

impl Default for Rules {
    fn default() -> Rules {
        let tier = |min_years, baht| Tier {
            min_years,
            amount: Money::from_baht(baht),
        };
        Rules {
            contribution_amount: Money::from_baht(30),
            contribution_period: ContributionPeriod::Monthly,
            waiting_days: 180,
            childbirth_amount: Money::from_baht(500),
            sickness_per_night: Money::from_baht(100),
            sickness_max_nights_per_year: 10,
            sickness_max_amount_per_year: Money::from_baht(1_000),
            death_by_membership_years: vec![tier(0, 2_000), tier(1, 5_000), tier(5, 10_000)],
            pension_min_age: 60,
            pension_by_contribution_years: vec![tier(15, 300), tier(20, 400), tier(25, 500)],
            education_max: Money::from_baht(500),
            disaster_max: Money::from_baht(2_000),
            admin_cap_basis_points: 2_000,
        }
    }
}

impl ContributionPeriod {
    pub fn periods_per_year(self) -> i64 {
        match self {
            ContributionPeriod::Daily => 365,
            ContributionPeriod::Weekly => 52,
            ContributionPeriod::Monthly => 12,
            ContributionPeriod::Yearly => 1,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    GroupOpened {
        name: String,
        tambon: String,
        province: String,
    },
    RulesChanged(Rules),
    MemberJoined {
        member: MemberNo,
        birth_year: u32,
        sex: Sex,
    },
    MemberLeft {
        member: MemberNo,
        reason: LeaveReason,
        savings_refund: Money,
        channel: Channel,
    },
    /// `member` is `None` for matching funds not tied to one member.
    ContributionReceived {
        member: Option<MemberNo>,
        amount: Money,
        period: Month,
        source: Source,
        channel: Channel,
        /// The treasurer's word that a second payment for a paid period is
        /// meant (see `Rule::PeriodAlreadyPaid`).
        extra: bool,
    },
    SavingsDeposited {
        member: MemberNo,
        amount: Money,
        channel: Channel,
    },
    SavingsWithdrawn {
        member: MemberNo,
        amount: Money,
        channel: Channel,
    },
    IncomeReceived {
        kind: IncomeKind,
        amount: Money,
        channel: Channel,
    },
    DividendPaid {
        year: u32,
        lines: Vec<(MemberNo, Money)>,
    },
    BenefitPaid {
        member: MemberNo,
        kind: BenefitKind,
        amount: Money,
        nights: u32,
        committee_override: bool,
        override_reason: String,
        channel: Channel,
    },
    ExpensePaid {
        kind: ExpenseKind,
        amount: Money,
        channel: Channel,
    },
    LoanDisbursed {
        loan: LoanNo,
        member: MemberNo,
        principal: Money,
        monthly_interest_basis_points: u32,
        term_months: u32,
        guarantors: Vec<MemberNo>,
        channel: Channel,
        plan: LoanPlan,
    },
    LoanRepaid {
        loan: LoanNo,
        principal: Money,
        interest: Money,
        channel: Channel,
    },
    LoanWrittenOff {
        loan: LoanNo,
        principal: Money,
    },
    CashBanked {
        amount: Money,
    },
    CashDrawn {
        amount: Money,
    },
    PoolDeposited {
        pool: PoolId,
        amount: Money,
        channel: Channel,
    },
    PoolWithdrawn {
        pool: PoolId,
        amount: Money,
        channel: Channel,
    },
    ReservePledged {
        pool: PoolId,
        amount: Money,
    },
    ReserveReleased {
        pool: PoolId,
        amount: Money,
    },
    /// The group's share of a community exchange's default, paid out of the
    /// reserve it pledged to `pool` (see `exchange::ExchangeBody::AccountDefaulted`).
    ReserveDrawn {
        pool: PoolId,
        amount: Money,
        channel: Channel,
        /// The exchange's log, `TTTTTT-XNN`.
        exchange: GroupId,
        /// The seq of the exchange's `AccountDefaulted` this settles.
        exchange_seq: u64,
    },
    PoolLoanReceived {
        pool: PoolId,
        amount: Money,
        channel: Channel,
    },
    PoolLoanRepaid {
        pool: PoolId,
        principal: Money,
        interest: Money,
        channel: Channel,
    },
    Reversal {
        reversed_seq: u64,
        reason: String,
    },
    PeriodClosed {
        month: Month,
        trial_balance_digest: Hash,
    },
    /// The group's new signing key, with the old key's consent; see
    /// [`Body::key_rotated`] and `verify::ChainVerifier`, which checks it.
    KeyRotated {
        new_key: PublicKey,
        old_key: PublicKey,
        old_key_signature: [u8; 64],
    },
}

impl Body {
    /// A `KeyRotated` for the event at `seq` of `group`, whose chain head
    /// before it is `previous_head`, signed by the key in effect there.
    pub fn key_rotated(
        group: &GroupId,
        seq: u64,
        previous_head: &Hash,
        old: &SigningKey,
        new_key: PublicKey,
    ) -> Body {
        let message = rotation_signing_bytes(group, seq, previous_head, &new_key);
        Body::KeyRotated {
            new_key,
            old_key: old.public(),
            old_key_signature: old.sign(&message),
        }
    }

    /// The event kind's name as shown in logs, errors and the treasurer's `log`.
    pub fn kind(&self) -> &'static str {
        match self {
            Body::GroupOpened { .. } => "GroupOpened",
            Body::RulesChanged(_) => "RulesChanged",
            Body::MemberJoined { .. } => "MemberJoined",
            Body::MemberLeft { .. } => "MemberLeft",
            Body::ContributionReceived { .. } => "ContributionReceived",
            Body::SavingsDeposited { .. } => "SavingsDeposited",
            Body::SavingsWithdrawn { .. } => "SavingsWithdrawn",
            Body::IncomeReceived { .. } => "IncomeReceived",
            Body::DividendPaid { .. } => "DividendPaid",
            Body::BenefitPaid { .. } => "BenefitPaid",
            Body::ExpensePaid { .. } => "ExpensePaid",
            Body::LoanDisbursed { .. } => "LoanDisbursed",
            Body::LoanRepaid { .. } => "LoanRepaid",
            Body::LoanWrittenOff { .. } => "LoanWrittenOff",
            Body::CashBanked { .. } => "CashBanked",
            Body::CashDrawn { .. } => "CashDrawn",
            Body::PoolDeposited { .. } => "PoolDeposited",
            Body::PoolWithdrawn { .. } => "PoolWithdrawn",
            Body::ReservePledged { .. } => "ReservePledged",
            Body::ReserveReleased { .. } => "ReserveReleased",
            Body::ReserveDrawn { .. } => "ReserveDrawn",
            Body::PoolLoanReceived { .. } => "PoolLoanReceived",
            Body::PoolLoanRepaid { .. } => "PoolLoanRepaid",
            Body::Reversal { .. } => "Reversal",
            Body::PeriodClosed { .. } => "PeriodClosed",
            Body::KeyRotated { .. } => "KeyRotated",
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("event is {0} bytes, more than the {MAX_EVENT_BYTES}-byte limit")]
    TooLarge(usize),
    #[error("not a protobuf event: {0}")]
    Protobuf(String),
    #[error("event has no body")]
    MissingBody,
    #[error("field {field} has unknown value {value}")]
    UnknownEnum { field: &'static str, value: i32 },
    #[error("field {field} is invalid: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("field {field} is longer than {max}")]
    TooLong { field: &'static str, max: usize },
}

fn invalid(field: &'static str, reason: impl ToString) -> DecodeError {
    DecodeError::Invalid {
        field,
        reason: reason.to_string(),
    }
}

fn text(field: &'static str, value: String) -> Result<String, DecodeError> {
    if value.len() > MAX_TEXT_BYTES {
        return Err(DecodeError::TooLong {
            field,
            max: MAX_TEXT_BYTES,
        });
    }
    Ok(value)
}

fn money(value: i64) -> Money {
    Money::from_satang(value)
}

fn month(field: &'static str, value: u32) -> Result<Month, DecodeError> {
    Month::from_yyyymm(value).map_err(|e| invalid(field, e))
}

fn pool(value: String) -> Result<PoolId, DecodeError> {
    PoolId::parse(&value).map_err(|e| invalid("pool", e))
}

/// A community exchange's log id (`TTTTTT-XNN`), and nothing else.
fn exchange_log(value: String) -> Result<GroupId, DecodeError> {
    let log = GroupId::parse(&value).map_err(|e| invalid("exchange_id", e))?;
    if !log.is_exchange_log() {
        return Err(invalid(
            "exchange_id",
            format!("{log} is not an exchange's log"),
        ));
    }
    Ok(log)
}

fn member(value: u32) -> Result<MemberNo, DecodeError> {
    if value == 0 {
        return Err(invalid("member", "member numbers start at 1"));
    }
    Ok(MemberNo(value))
}

fn loan(value: u32) -> Result<LoanNo, DecodeError> {
    if value == 0 {
        return Err(invalid("loan", "loan numbers start at 1"));
    }
    Ok(LoanNo(value))
}

macro_rules! enum_codec {
    ($domain:ident, $pb:ident, $field:literal, { $($d:ident <=> $p:ident),+ $(,)? }) => {
        impl $domain {
            fn to_pb(self) -> i32 {
                match self { $($domain::$d => pb::$pb::$p as i32),+ }
            }
            fn from_pb(value: i32) -> Result<$domain, DecodeError> {
                match pb::$pb::try_from(value) {
                    $(Ok(pb::$pb::$p) => Ok($domain::$d),)+
                    Err(_) => Err(DecodeError::UnknownEnum { field: $field, value }),
                }
            }
        }
    };
}

enum_codec!(Channel, Channel, "channel", { Cash <=> Cash, Bank <=> Bank });
enum_codec!(ContributionPeriod, ContributionPeriod, "contribution_period", {
    Daily <=> Daily, Weekly <=> Weekly, Monthly <=> Monthly, Yearly <=> Yearly,
});
enum_codec!(Sex, Sex, "sex", { Unstated <=> Unstated, Female <=> Female, Male <=> Male });
enum_codec!(LeaveReason, LeaveReason, "reason", { Resigned <=> Resigned, Moved <=> Moved, Died <=> Died });
enum_codec!(Source, ContributionSource, "source", {
    Member <=> Member, LocalGovernment <=> LocalGovernment,
    NationalGovernment <=> NationalGovernment, Donation <=> Donation,
});
enum_codec!(IncomeKind, IncomeKind, "income kind", {
    BankInterest <=> BankInterest, Donation <=> Donation, Fundraising <=> Fundraising, Fee <=> Fee,
});
enum_codec!(ExpenseKind, ExpenseKind, "expense kind", {
    Administration <=> Administration, Meeting <=> Meeting, BankFee <=> BankFee, Other <=> Other,
});
enum_codec!(BenefitKind, BenefitKind, "benefit kind", {
    Childbirth <=> Childbirth, Sickness <=> Sickness, OldAge <=> OldAge, Death <=> Death,
    Education <=> Education, Disaster <=> Disaster, Other <=> Other,
});

impl LoanPlan {
    /// The plan and its final due day (0 unless flexible).
    fn to_pb(self) -> (i32, u32) {
        match self {
            LoanPlan::EqualInstalments => (pb::LoanPlan::EqualInstalments as i32, 0),
            LoanPlan::PrincipalAtMaturity => (pb::LoanPlan::PrincipalAtMaturity as i32, 0),
            LoanPlan::Flexible { final_due } => (pb::LoanPlan::Flexible as i32, final_due.days()),
        }
    }

    /// Refuses a due day on a plan that has none, so that every decoded
    /// event encodes back to the same bytes.
    fn from_pb(plan: i32, final_due_date: u32) -> Result<LoanPlan, DecodeError> {
        let plan = match pb::LoanPlan::try_from(plan) {
            Ok(pb::LoanPlan::EqualInstalments) => LoanPlan::EqualInstalments,
            Ok(pb::LoanPlan::PrincipalAtMaturity) => LoanPlan::PrincipalAtMaturity,
            Ok(pb::LoanPlan::Flexible) => {
                return Ok(LoanPlan::Flexible {
                    final_due: Date::from_days(final_due_date)
                        .map_err(|e| invalid("final_due_date", e))?,
                });
            }
            Err(_) => {
                return Err(DecodeError::UnknownEnum {
                    field: "plan",
                    value: plan,
                });
            }
        };
        if final_due_date != 0 {
            return Err(invalid(
                "final_due_date",
                "only a flexible loan has a final due date",
            ));
        }
        Ok(plan)
    }
}

fn tiers_to_pb(tiers: &[Tier]) -> Vec<pb::Tier> {
    tiers
        .iter()
        .map(|t| pb::Tier {
            min_years: t.min_years,
            amount: t.amount.satang(),
        })
        .collect()
}

fn tiers_from_pb(field: &'static str, tiers: Vec<pb::Tier>) -> Result<Vec<Tier>, DecodeError> {
    if tiers.len() > MAX_TIERS {
        return Err(DecodeError::TooLong {
            field,
            max: MAX_TIERS,
        });
    }
    let tiers: Vec<Tier> = tiers
        .into_iter()
        .map(|t| Tier {
            min_years: t.min_years,
            amount: money(t.amount),
        })
        .collect();
    if tiers.windows(2).any(|w| w[0].min_years >= w[1].min_years) {
        return Err(invalid(field, "tiers must be in increasing order of years"));
    }
    if tiers.iter().any(|t| t.amount.satang() < 0) {
        return Err(invalid(field, "tier amounts cannot be negative"));
    }
    Ok(tiers)
}

impl Rules {
    fn to_pb(&self) -> pb::Rules {
        pb::Rules {
            contribution_amount: self.contribution_amount.satang(),
            contribution_period: self.contribution_period.to_pb(),
            waiting_days: self.waiting_days,
            childbirth_amount: self.childbirth_amount.satang(),
            sickness_per_night: self.sickness_per_night.satang(),
            sickness_max_nights_per_year: self.sickness_max_nights_per_year,
            sickness_max_amount_per_year: self.sickness_max_amount_per_year.satang(),
            death_by_membership_years: tiers_to_pb(&self.death_by_membership_years),
            pension_min_age: self.pension_min_age,
            pension_by_contribution_years: tiers_to_pb(&self.pension_by_contribution_years),
            education_max: self.education_max.satang(),
            disaster_max: self.disaster_max.satang(),
            admin_cap_basis_points: self.admin_cap_basis_points,
        }
    }

    fn from_pb(r: pb::Rules) -> Result<Rules, DecodeError> {
        let amounts = [
            r.contribution_amount,
            r.childbirth_amount,
            r.sickness_per_night,
            r.sickness_max_amount_per_year,
            r.education_max,
            r.disaster_max,
        ];
        if amounts
            .iter()
            .any(|a| *a < 0 || *a > crate::money::MAX_AMOUNT_SATANG)
        {
            return Err(invalid(
                "rules",
                "amounts must be between 0 and the amount limit",
            ));
        }
        if r.contribution_amount == 0 {
            return Err(invalid("rules", "the contribution amount must be positive"));
        }
        if r.admin_cap_basis_points > 10_000 {
            return Err(invalid("rules", "the administration cap is at most 100%"));
        }
        Ok(Rules {
            contribution_amount: money(r.contribution_amount),
            contribution_period: ContributionPeriod::from_pb(r.contribution_period)?,
            waiting_days: r.waiting_days,
            childbirth_amount: money(r.childbirth_amount),
            sickness_per_night: money(r.sickness_per_night),
            sickness_max_nights_per_year: r.sickness_max_nights_per_year,
            sickness_max_amount_per_year: money(r.sickness_max_amount_per_year),
            death_by_membership_years: tiers_from_pb("death tiers", r.death_by_membership_years)?,
            pension_min_age: r.pension_min_age,
            pension_by_contribution_years: tiers_from_pb(
                "pension tiers",
                r.pension_by_contribution_years,
            )?,
            education_max: money(r.education_max),
            disaster_max: money(r.disaster_max),
            admin_cap_basis_points: r.admin_cap_basis_points,
        })
    }
}

impl Body {
    fn to_pb(&self) -> pb::event::Body {
        use pb::event::Body as B;
        match self {
            Body::GroupOpened {
                name,
                tambon,
                province,
            } => B::GroupOpened(pb::GroupOpened {
                name: name.clone(),
                tambon_code: tambon.clone(),
                province_code: province.clone(),
            }),
            Body::RulesChanged(rules) => B::RulesChanged(pb::RulesChanged {
                rules: Some(rules.to_pb()),
            }),
            Body::MemberJoined {
                member,
                birth_year,
                sex,
            } => B::MemberJoined(pb::MemberJoined {
                member: member.0,
                birth_year: *birth_year,
                sex: sex.to_pb(),
            }),
            Body::MemberLeft {
                member,
                reason,
                savings_refund,
                channel,
            } => B::MemberLeft(pb::MemberLeft {
                member: member.0,
                reason: reason.to_pb(),
                savings_refund: savings_refund.satang(),
                channel: channel.to_pb(),
            }),
            Body::ContributionReceived {
                member,
                amount,
                period,
                source,
                channel,
                extra,
            } => B::ContributionReceived(pb::ContributionReceived {
                member: member.map_or(0, |m| m.0),
                amount: amount.satang(),
                period: period.yyyymm(),
                source: source.to_pb(),
                channel: channel.to_pb(),
                extra: *extra,
            }),
            Body::SavingsDeposited {
                member,
                amount,
                channel,
            } => B::SavingsDeposited(pb::SavingsDeposited {
                member: member.0,
                amount: amount.satang(),
                channel: channel.to_pb(),
            }),
            Body::SavingsWithdrawn {
                member,
                amount,
                channel,
            } => B::SavingsWithdrawn(pb::SavingsWithdrawn {
                member: member.0,
                amount: amount.satang(),
                channel: channel.to_pb(),
            }),
            Body::IncomeReceived {
                kind,
                amount,
                channel,
            } => B::IncomeReceived(pb::IncomeReceived {
                kind: kind.to_pb(),
                amount: amount.satang(),
                channel: channel.to_pb(),
            }),
            Body::DividendPaid { year, lines } => B::DividendPaid(pb::DividendPaid {
                year: *year,
                lines: lines
                    .iter()
                    .map(|(m, a)| pb::DividendLine {
                        member: m.0,
                        amount: a.satang(),
                    })
                    .collect(),
            }),
            Body::BenefitPaid {
                member,
                kind,
                amount,
                nights,
                committee_override,
                override_reason,
                channel,
            } => B::BenefitPaid(pb::BenefitPaid {
                member: member.0,
                kind: kind.to_pb(),
                amount: amount.satang(),
                nights: *nights,
                committee_override: *committee_override,
                override_reason: override_reason.clone(),
                channel: channel.to_pb(),
            }),
            Body::ExpensePaid {
                kind,
                amount,
                channel,
            } => B::ExpensePaid(pb::ExpensePaid {
                kind: kind.to_pb(),
                amount: amount.satang(),
                channel: channel.to_pb(),
            }),
            Body::LoanDisbursed {
                loan,
                member,
                principal,
                monthly_interest_basis_points,
                term_months,
                guarantors,
                channel,
                plan,
            } => {
                let (plan, final_due_date) = plan.to_pb();
                B::LoanDisbursed(pb::LoanDisbursed {
                    loan: loan.0,
                    member: member.0,
                    principal: principal.satang(),
                    monthly_interest_basis_points: *monthly_interest_basis_points,
                    term_months: *term_months,
                    guarantors: guarantors.iter().map(|g| g.0).collect(),
                    channel: channel.to_pb(),
                    plan,
                    final_due_date,
                })
            }
            Body::LoanRepaid {
                loan,
                principal,
                interest,
                channel,
            } => B::LoanRepaid(pb::LoanRepaid {
                loan: loan.0,
                principal: principal.satang(),
                interest: interest.satang(),
                channel: channel.to_pb(),
            }),
            Body::LoanWrittenOff { loan, principal } => B::LoanWrittenOff(pb::LoanWrittenOff {
                loan: loan.0,
                principal: principal.satang(),
            }),
            Body::CashBanked { amount } => B::CashBanked(pb::CashBanked {
                amount: amount.satang(),
            }),
            Body::CashDrawn { amount } => B::CashDrawn(pb::CashDrawn {
                amount: amount.satang(),
            }),
            Body::PoolDeposited {
                pool,
                amount,
                channel,
            } => B::PoolDeposited(pb::PoolDeposited {
                pool: pool.as_str().to_string(),
                amount: amount.satang(),
                channel: channel.to_pb(),
            }),
            Body::PoolWithdrawn {
                pool,
                amount,
                channel,
            } => B::PoolWithdrawn(pb::PoolWithdrawn {
                pool: pool.as_str().to_string(),
                amount: amount.satang(),
                channel: channel.to_pb(),
            }),
            Body::ReservePledged { pool, amount } => B::ReservePledged(pb::ReservePledged {
                pool: pool.as_str().to_string(),
                amount: amount.satang(),
            }),
            Body::ReserveReleased { pool, amount } => B::ReserveReleased(pb::ReserveReleased {
                pool: pool.as_str().to_string(),
                amount: amount.satang(),
            }),
            Body::ReserveDrawn {
                pool,
                amount,
                channel,
                exchange,
                exchange_seq,
            } => B::ReserveDrawn(pb::ReserveDrawn {
                pool: pool.as_str().to_string(),
                amount: amount.satang(),
                channel: channel.to_pb(),
                exchange_id: exchange.as_str().to_string(),
                exchange_seq: *exchange_seq,
            }),
            Body::PoolLoanReceived {
                pool,
                amount,
                channel,
            } => B::PoolLoanReceived(pb::PoolLoanReceived {
                pool: pool.as_str().to_string(),
                amount: amount.satang(),
                channel: channel.to_pb(),
            }),
            Body::PoolLoanRepaid {
                pool,
                principal,
                interest,
                channel,
            } => B::PoolLoanRepaid(pb::PoolLoanRepaid {
                pool: pool.as_str().to_string(),
                principal: principal.satang(),
                interest: interest.satang(),
                channel: channel.to_pb(),
            }),
            Body::Reversal {
                reversed_seq,
                reason,
            } => B::Reversal(pb::Reversal {
                reversed_seq: *reversed_seq,
                reason: reason.clone(),
            }),
            Body::PeriodClosed {
                month,
                trial_balance_digest,
            } => B::PeriodClosed(pb::PeriodClosed {
                month: month.yyyymm(),
                trial_balance_digest: trial_balance_digest.as_bytes().to_vec(),
            }),
            Body::KeyRotated {
                new_key,
                old_key,
                old_key_signature,
            } => B::KeyRotated(pb::KeyRotated {
                new_public_key: new_key.as_bytes().to_vec(),
                old_public_key: old_key.as_bytes().to_vec(),
                old_key_signature: old_key_signature.to_vec(),
            }),
        }
    }

    fn from_pb(body: pb::event::Body) -> Result<Body, DecodeError> {
        use pb::event::Body as B;
        Ok(match body {
            B::GroupOpened(b) => {
                check_geocode(&b.tambon_code, "tambon", 6)
                    .map_err(|e| invalid("tambon_code", e))?;
                check_geocode(&b.province_code, "province", 2)
                    .map_err(|e| invalid("province_code", e))?;
                if !b.tambon_code.starts_with(&b.province_code) {
                    return Err(invalid("tambon_code", "the tambon is not in the province"));
                }
                Body::GroupOpened {
                    name: text("name", b.name)?,
                    tambon: b.tambon_code,
                    province: b.province_code,
                }
            }
            B::RulesChanged(b) => Body::RulesChanged(Rules::from_pb(
                b.rules.ok_or_else(|| invalid("rules", "missing"))?,
            )?),
            B::MemberJoined(b) => Body::MemberJoined {
                member: member(b.member)?,
                birth_year: b.birth_year,
                sex: Sex::from_pb(b.sex)?,
            },
            B::MemberLeft(b) => Body::MemberLeft {
                member: member(b.member)?,
                reason: LeaveReason::from_pb(b.reason)?,
                savings_refund: money(b.savings_refund),
                channel: Channel::from_pb(b.channel)?,
            },
            B::ContributionReceived(b) => Body::ContributionReceived {
                member: if b.member == 0 {
                    None
                } else {
                    Some(MemberNo(b.member))
                },
                amount: money(b.amount),
                period: month("period", b.period)?,
                source: Source::from_pb(b.source)?,
                channel: Channel::from_pb(b.channel)?,
                extra: b.extra,
            },
            B::SavingsDeposited(b) => Body::SavingsDeposited {
                member: member(b.member)?,
                amount: money(b.amount),
                channel: Channel::from_pb(b.channel)?,
            },
            B::SavingsWithdrawn(b) => Body::SavingsWithdrawn {
                member: member(b.member)?,
                amount: money(b.amount),
                channel: Channel::from_pb(b.channel)?,
            },
            B::IncomeReceived(b) => Body::IncomeReceived {
                kind: IncomeKind::from_pb(b.kind)?,
                amount: money(b.amount),
                channel: Channel::from_pb(b.channel)?,
            },
            B::DividendPaid(b) => {
                if b.lines.len() > MAX_DIVIDEND_LINES {
                    return Err(DecodeError::TooLong {
                        field: "dividend lines",
                        max: MAX_DIVIDEND_LINES,
                    });
                }
                Body::DividendPaid {
                    year: b.year,
                    lines: b
                        .lines
                        .into_iter()
                        .map(|l| Ok((member(l.member)?, money(l.amount))))
                        .collect::<Result<_, DecodeError>>()?,
                }
            }
            B::BenefitPaid(b) => Body::BenefitPaid {
                member: member(b.member)?,
                kind: BenefitKind::from_pb(b.kind)?,
                amount: money(b.amount),
                nights: b.nights,
                committee_override: b.committee_override,
                override_reason: text("override_reason", b.override_reason)?,
                channel: Channel::from_pb(b.channel)?,
            },
            B::ExpensePaid(b) => Body::ExpensePaid {
                kind: ExpenseKind::from_pb(b.kind)?,
                amount: money(b.amount),
                channel: Channel::from_pb(b.channel)?,
            },
            B::LoanDisbursed(b) => {
                if b.guarantors.len() > MAX_GUARANTORS {
                    return Err(DecodeError::TooLong {
                        field: "guarantors",
                        max: MAX_GUARANTORS,
                    });
                }
                Body::LoanDisbursed {
                    loan: loan(b.loan)?,
                    member: member(b.member)?,
                    principal: money(b.principal),
                    monthly_interest_basis_points: b.monthly_interest_basis_points,
                    term_months: b.term_months,
                    guarantors: b
                        .guarantors
                        .into_iter()
                        .map(member)
                        .collect::<Result<_, _>>()?,
                    channel: Channel::from_pb(b.channel)?,
                    plan: LoanPlan::from_pb(b.plan, b.final_due_date)?,
                }
            }
            B::LoanRepaid(b) => Body::LoanRepaid {
                loan: loan(b.loan)?,
                principal: money(b.principal),
                interest: money(b.interest),
                channel: Channel::from_pb(b.channel)?,
            },
            B::LoanWrittenOff(b) => Body::LoanWrittenOff {
                loan: loan(b.loan)?,
                principal: money(b.principal),
            },
            B::CashBanked(b) => Body::CashBanked {
                amount: money(b.amount),
            },
            B::CashDrawn(b) => Body::CashDrawn {
                amount: money(b.amount),
            },
            B::PoolDeposited(b) => Body::PoolDeposited {
                pool: pool(b.pool)?,
                amount: money(b.amount),
                channel: Channel::from_pb(b.channel)?,
            },
            B::PoolWithdrawn(b) => Body::PoolWithdrawn {
                pool: pool(b.pool)?,
                amount: money(b.amount),
                channel: Channel::from_pb(b.channel)?,
            },
            B::ReservePledged(b) => Body::ReservePledged {
                pool: pool(b.pool)?,
                amount: money(b.amount),
            },
            B::ReserveReleased(b) => Body::ReserveReleased {
                pool: pool(b.pool)?,
                amount: money(b.amount),
            },
            B::ReserveDrawn(b) => Body::ReserveDrawn {
                pool: pool(b.pool)?,
                amount: money(b.amount),
                channel: Channel::from_pb(b.channel)?,
                exchange: exchange_log(b.exchange_id)?,
                exchange_seq: match b.exchange_seq {
                    0 => return Err(invalid("exchange_seq", "an exchange's seqs start at 1")),
                    seq => seq,
                },
            },
            B::PoolLoanReceived(b) => Body::PoolLoanReceived {
                pool: pool(b.pool)?,
                amount: money(b.amount),
                channel: Channel::from_pb(b.channel)?,
            },
            B::PoolLoanRepaid(b) => Body::PoolLoanRepaid {
                pool: pool(b.pool)?,
                principal: money(b.principal),
                interest: money(b.interest),
                channel: Channel::from_pb(b.channel)?,
            },
            B::Reversal(b) => Body::Reversal {
                reversed_seq: b.reversed_seq,
                reason: text("reason", b.reason)?,
            },
            B::PeriodClosed(b) => Body::PeriodClosed {
                month: month("month", b.month)?,
                trial_balance_digest: Hash::from_slice(&b.trial_balance_digest)
                    .ok_or_else(|| invalid("trial_balance_digest", "expected 32 bytes"))?,
            },
            B::KeyRotated(b) => Body::KeyRotated {
                new_key: PublicKey::from_slice(&b.new_public_key)
                    .ok_or_else(|| invalid("new_public_key", "expected a 32-byte Ed25519 key"))?,
                old_key: PublicKey::from_slice(&b.old_public_key)
                    .ok_or_else(|| invalid("old_public_key", "expected a 32-byte Ed25519 key"))?,
                old_key_signature: <[u8; 64]>::try_from(b.old_key_signature.as_slice())
                    .map_err(|_| invalid("old_key_signature", "expected a 64-byte signature"))?,
            },
        })
    }
}

impl Event {
    /// The one encoding of an event. Call it once, when the event is created.
    pub fn encode(&self) -> Vec<u8> {
        pb::Event {
            group_id: self.group.as_str().to_string(),
            seq: self.seq,
            business_date: self.date.days(),
            recorded_at: self.recorded_at,
            body: Some(self.body.to_pb()),
        }
        .encode_to_vec()
    }

    /// Decodes untrusted bytes, refusing anything structurally wrong.
    pub fn decode(bytes: &[u8]) -> Result<Event, DecodeError> {
        if bytes.len() > MAX_EVENT_BYTES {
            return Err(DecodeError::TooLarge(bytes.len()));
        }
        let raw = pb::Event::decode(bytes).map_err(|e| DecodeError::Protobuf(e.to_string()))?;
        let group = GroupId::parse(&raw.group_id).map_err(|e| invalid("group_id", e))?;
        // An exchange's log has its own event type; a group event carrying
        // its id is someone's mistake or forgery, and was refused before
        // exchange ids existed, so it stays refused.
        if group.is_exchange_log() {
            return Err(invalid(
                "group_id",
                "an exchange log's id; its events are ExchangeEvents",
            ));
        }
        if raw.seq == 0 {
            return Err(invalid("seq", "sequence numbers start at 1"));
        }
        let date = Date::from_days(raw.business_date).map_err(|e| invalid("business_date", e))?;
        let body = Body::from_pb(raw.body.ok_or(DecodeError::MissingBody)?)?;
        Ok(Event {
            group,
            seq: raw.seq,
            date,
            recorded_at: raw.recorded_at,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(body: Body) -> Event {
        Event {
            group: GroupId::parse("230101-007").unwrap(),
            seq: 3,
            date: "2026-10-01".parse().unwrap(),
            recorded_at: 1_790_000_000,
            body,
        }
    }

    #[test]
    fn every_kind_round_trips_through_its_bytes() {
        let pool = PoolId::parse("230101").unwrap();
        let bodies = vec![
            Body::GroupOpened {
                name: "กลุ่มสัจจะบ้านหนองบัว".into(),
                tambon: "230101".into(),
                province: "23".into(),
            },
            Body::RulesChanged(Rules::default()),
            Body::MemberJoined {
                member: MemberNo(7),
                birth_year: 1961,
                sex: Sex::Female,
            },
            Body::MemberLeft {
                member: MemberNo(7),
                reason: LeaveReason::Died,
                savings_refund: Money::from_baht(5),
                channel: Channel::Bank,
            },
            Body::ContributionReceived {
                member: None,
                amount: Money::from_baht(30),
                period: Month::new(2026, 10).unwrap(),
                source: Source::NationalGovernment,
                channel: Channel::Cash,
                extra: false,
            },
            Body::DividendPaid {
                year: 2025,
                lines: vec![(MemberNo(1), Money::from_baht(12))],
            },
            Body::BenefitPaid {
                member: MemberNo(2),
                kind: BenefitKind::Sickness,
                amount: Money::from_baht(200),
                nights: 2,
                committee_override: true,
                override_reason: "flood".into(),
                channel: Channel::Cash,
            },
            Body::LoanDisbursed {
                loan: LoanNo(1),
                member: MemberNo(2),
                principal: Money::from_baht(5_000),
                monthly_interest_basis_points: 100,
                term_months: 12,
                guarantors: vec![MemberNo(3), MemberNo(4)],
                channel: Channel::Bank,
                plan: Default::default(),
            },
            Body::PoolLoanRepaid {
                pool: pool.clone(),
                principal: Money::from_baht(1),
                interest: Money::from_satang(5),
                channel: Channel::Bank,
            },
            Body::Reversal {
                reversed_seq: 2,
                reason: "typo".into(),
            },
            Body::PeriodClosed {
                month: Month::new(2026, 9).unwrap(),
                trial_balance_digest: Hash::from_slice(&[7; 32]).unwrap(),
            },
            Body::KeyRotated {
                new_key: PublicKey::from_slice(&[9; 32]).unwrap(),
                old_key: PublicKey::from_slice(&[8; 32]).unwrap(),
                old_key_signature: [7; 64],
            },
        ];
        for body in bodies {
            let original = event(body);
            assert_eq!(Event::decode(&original.encode()).unwrap(), original);
        }
    }

    #[test]
    fn structural_garbage_is_refused_before_any_rule() {
        assert!(matches!(
            Event::decode(&[0xff, 0xff, 0xff]),
            Err(DecodeError::Protobuf(_))
        ));
        let mut raw = pb::Event {
            group_id: "230101-007".into(),
            seq: 1,
            business_date: 1,
            recorded_at: 0,
            body: None,
        };
        assert_eq!(
            Event::decode(&raw.encode_to_vec()),
            Err(DecodeError::MissingBody)
        );
        raw.body = Some(pb::event::Body::BenefitPaid(pb::BenefitPaid {
            member: 1,
            kind: 99,
            ..Default::default()
        }));
        assert_eq!(
            Event::decode(&raw.encode_to_vec()),
            Err(DecodeError::UnknownEnum {
                field: "benefit kind",
                value: 99
            })
        );
        raw.seq = 0;
        assert!(matches!(
            Event::decode(&raw.encode_to_vec()),
            Err(DecodeError::Invalid { field: "seq", .. })
        ));
        assert!(matches!(
            Event::decode(&vec![0; MAX_EVENT_BYTES + 1]),
            Err(DecodeError::TooLarge(_))
        ));
    }
}
