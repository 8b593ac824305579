//! The exchange's event and its one encoding (`proto/sajja/v1/exchange.proto`).
//! Decoding refuses anything structurally wrong, so every decoded event
//! re-encodes to its own bytes; whether an event is *allowed* is the books'
//! business ([`super::ExchangeBooks::apply`]).

use std::fmt;

use prost::Message;

use super::credits::Credits;
use crate::date::Date;
use crate::event::{DecodeError, MAX_EVENT_BYTES, MAX_TEXT_BYTES};
use crate::ids::{GroupId, MemberNo, PoolId};
use crate::money::Money;
use crate::pb;

/// The longest unit name (`บุญ` is 9 bytes): 16 Thai characters.
pub const MAX_UNIT_NAME_BYTES: usize = 48;

/// An account's number in the exchange (1 and up). The holder's name stays
/// on the exchange's node register.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct AccountNo(pub u32);

impl fmt::Display for AccountNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Who holds an account: the seed's entry points into the exchange.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum HolderKind {
    /// A member of a Sajja group, by the group's own member number.
    Member {
        group: GroupId,
        member: MemberNo,
    },
    /// A producer, e.g. a farmer of an organic-farming group.
    Producer,
    /// A community enterprise, e.g. a homestay.
    Enterprise,
    Shop,
    /// A Sajja group itself.
    Group(GroupId),
}

/// What a transfer paid for, for the volume by category.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Category {
    Goods,
    Produce,
    Services,
    Labour,
}

impl Category {
    pub const ALL: [Category; 4] = [
        Category::Goods,
        Category::Produce,
        Category::Services,
        Category::Labour,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Category::Goods => "goods",
            Category::Produce => "produce",
            Category::Services => "services",
            Category::Labour => "labour",
        }
    }
}

/// The exchange's terms, from its `ExchangeOpened`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExchangeTerms {
    pub name: String,
    /// The exchange's own unit, e.g. `บุญ`: credits are never called baht.
    pub unit_name: String,
    /// Baht per whole credit, used only to value debit against the reserve.
    pub rate_per_credit: Money,
    pub reserve_pool: PoolId,
    pub policy_min_coverage_basis_points: u32,
    /// The most of the debit outstanding one account may hold before an alert.
    pub concentration_limit_basis_points: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExchangeEvent {
    /// `TTTTTT-XNN`: see [`GroupId::exchange_log`].
    pub log: GroupId,
    pub seq: u64,
    pub date: Date,
    pub recorded_at: i64,
    pub body: ExchangeBody,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExchangeBody {
    ExchangeOpened(ExchangeTerms),
    AccountOpened {
        account: AccountNo,
        holder: HolderKind,
        credit_limit: Credits,
    },
    CreditLimitChanged {
        account: AccountNo,
        new_limit: Credits,
        approved_by_committee: bool,
        reason: String,
    },
    Transfer {
        from: AccountNo,
        to: AccountNo,
        amount: Credits,
        category: Category,
        memo: String,
    },
    /// Vouchers `first_serial..=last_serial`, bought by `account`.
    VouchersIssued {
        account: AccountNo,
        first_serial: u32,
        last_serial: u32,
        denomination: Credits,
    },
    VouchersReturned {
        first_serial: u32,
        last_serial: u32,
        to_account: AccountNo,
    },
    AccountClosed {
        account: AccountNo,
    },
    AccountDefaulted {
        account: AccountNo,
        written_off: Credits,
        settled: Money,
        from_pool: PoolId,
    },
    Reversal {
        reversed_seq: u64,
        reason: String,
    },
}

impl ExchangeBody {
    pub fn kind(&self) -> &'static str {
        match self {
            ExchangeBody::ExchangeOpened(_) => "ExchangeOpened",
            ExchangeBody::AccountOpened { .. } => "AccountOpened",
            ExchangeBody::CreditLimitChanged { .. } => "CreditLimitChanged",
            ExchangeBody::Transfer { .. } => "Transfer",
            ExchangeBody::VouchersIssued { .. } => "VouchersIssued",
            ExchangeBody::VouchersReturned { .. } => "VouchersReturned",
            ExchangeBody::AccountClosed { .. } => "AccountClosed",
            ExchangeBody::AccountDefaulted { .. } => "AccountDefaulted",
            ExchangeBody::Reversal { .. } => "Reversal",
        }
    }
}

fn invalid(field: &'static str, reason: impl ToString) -> DecodeError {
    DecodeError::Invalid {
        field,
        reason: reason.to_string(),
    }
}

fn bounded(field: &'static str, value: String, max: usize) -> Result<String, DecodeError> {
    if value.len() > max {
        return Err(DecodeError::TooLong { field, max });
    }
    Ok(value)
}

fn text(field: &'static str, value: String) -> Result<String, DecodeError> {
    bounded(field, value, MAX_TEXT_BYTES)
}

fn pool(field: &'static str, text: &str) -> Result<PoolId, DecodeError> {
    PoolId::parse(text).map_err(|e| invalid(field, e))
}

/// A group named inside an exchange event must be a group, not a hub's or
/// an exchange's log.
fn group(text: &str) -> Result<GroupId, DecodeError> {
    let group = GroupId::parse(text).map_err(|e| invalid("group_id", e))?;
    if !group.is_group() {
        return Err(invalid(
            "group_id",
            "names a hub's or an exchange's log, not a group",
        ));
    }
    Ok(group)
}

fn holder_to_pb(holder: &HolderKind) -> (pb::HolderKind, String, u32) {
    match holder {
        HolderKind::Member { group, member } => {
            (pb::HolderKind::Member, group.as_str().into(), member.0)
        }
        HolderKind::Producer => (pb::HolderKind::Producer, String::new(), 0),
        HolderKind::Enterprise => (pb::HolderKind::Enterprise, String::new(), 0),
        HolderKind::Shop => (pb::HolderKind::Shop, String::new(), 0),
        HolderKind::Group(group) => (pb::HolderKind::Group, group.as_str().into(), 0),
    }
}

/// The holder from its three wire fields. A field the kind does not use
/// must be empty, so the event re-encodes to its own bytes.
fn holder_from_pb(kind: i32, group_id: &str, member: u32) -> Result<HolderKind, DecodeError> {
    let kind = pb::HolderKind::try_from(kind).map_err(|_| DecodeError::UnknownEnum {
        field: "holder",
        value: kind,
    })?;
    let none = |field: &'static str, empty: bool| {
        if empty {
            Ok(())
        } else {
            Err(invalid(field, "not used by this kind of holder"))
        }
    };
    Ok(match kind {
        pb::HolderKind::Member => {
            if member == 0 {
                return Err(invalid("member", "member numbers start at 1"));
            }
            HolderKind::Member {
                group: group(group_id)?,
                member: MemberNo(member),
            }
        }
        pb::HolderKind::Group => {
            none("member", member == 0)?;
            HolderKind::Group(group(group_id)?)
        }
        simple => {
            none("group_id", group_id.is_empty())?;
            none("member", member == 0)?;
            match simple {
                pb::HolderKind::Producer => HolderKind::Producer,
                pb::HolderKind::Enterprise => HolderKind::Enterprise,
                _ => HolderKind::Shop,
            }
        }
    })
}

fn category_to_pb(category: Category) -> pb::TransferCategory {
    match category {
        Category::Goods => pb::TransferCategory::Goods,
        Category::Produce => pb::TransferCategory::Produce,
        Category::Services => pb::TransferCategory::Services,
        Category::Labour => pb::TransferCategory::Labour,
    }
}

fn category_from_pb(value: i32) -> Result<Category, DecodeError> {
    match pb::TransferCategory::try_from(value) {
        Ok(pb::TransferCategory::Goods) => Ok(Category::Goods),
        Ok(pb::TransferCategory::Produce) => Ok(Category::Produce),
        Ok(pb::TransferCategory::Services) => Ok(Category::Services),
        Ok(pb::TransferCategory::Labour) => Ok(Category::Labour),
        Err(_) => Err(DecodeError::UnknownEnum {
            field: "category",
            value,
        }),
    }
}

impl ExchangeEvent {
    /// The one encoding of an exchange event.
    pub fn encode(&self) -> Vec<u8> {
        use pb::exchange_event::Body as B;
        let body = match &self.body {
            ExchangeBody::ExchangeOpened(terms) => B::ExchangeOpened(pb::ExchangeOpened {
                name: terms.name.clone(),
                unit_name: terms.unit_name.clone(),
                rate_satang_per_credit: terms.rate_per_credit.satang(),
                reserve_pool: terms.reserve_pool.as_str().into(),
                policy_min_coverage_basis_points: terms.policy_min_coverage_basis_points,
                concentration_limit_basis_points: terms.concentration_limit_basis_points,
            }),
            ExchangeBody::AccountOpened {
                account,
                holder,
                credit_limit,
            } => {
                let (kind, group_id, member) = holder_to_pb(holder);
                B::AccountOpened(pb::AccountOpened {
                    account: account.0,
                    holder: kind as i32,
                    group_id,
                    member,
                    credit_limit: credit_limit.centi(),
                })
            }
            ExchangeBody::CreditLimitChanged {
                account,
                new_limit,
                approved_by_committee,
                reason,
            } => B::CreditLimitChanged(pb::CreditLimitChanged {
                account: account.0,
                new_limit: new_limit.centi(),
                approved_by_committee: *approved_by_committee,
                reason: reason.clone(),
            }),
            ExchangeBody::Transfer {
                from,
                to,
                amount,
                category,
                memo,
            } => B::Transfer(pb::CreditTransfer {
                from_account: from.0,
                to_account: to.0,
                amount: amount.centi(),
                category: category_to_pb(*category) as i32,
                memo: memo.clone(),
            }),
            ExchangeBody::VouchersIssued {
                account,
                first_serial,
                last_serial,
                denomination,
            } => B::VouchersIssued(pb::VouchersIssued {
                account: account.0,
                first_serial: *first_serial,
                last_serial: *last_serial,
                denomination: denomination.centi(),
            }),
            ExchangeBody::VouchersReturned {
                first_serial,
                last_serial,
                to_account,
            } => B::VouchersReturned(pb::VouchersReturned {
                first_serial: *first_serial,
                last_serial: *last_serial,
                to_account: to_account.0,
            }),
            ExchangeBody::AccountClosed { account } => {
                B::AccountClosed(pb::AccountClosed { account: account.0 })
            }
            ExchangeBody::AccountDefaulted {
                account,
                written_off,
                settled,
                from_pool,
            } => B::AccountDefaulted(pb::AccountDefaulted {
                account: account.0,
                written_off: written_off.centi(),
                settled_satang: settled.satang(),
                from_pool: from_pool.as_str().into(),
            }),
            ExchangeBody::Reversal {
                reversed_seq,
                reason,
            } => B::Reversal(pb::ExchangeReversal {
                reversed_seq: *reversed_seq,
                reason: reason.clone(),
            }),
        };
        pb::ExchangeEvent {
            log_id: self.log.as_str().into(),
            seq: self.seq,
            business_date: self.date.days(),
            recorded_at: self.recorded_at,
            body: Some(body),
        }
        .encode_to_vec()
    }

    /// Decodes untrusted bytes, refusing anything structurally wrong.
    pub fn decode(bytes: &[u8]) -> Result<ExchangeEvent, DecodeError> {
        use pb::exchange_event::Body as B;
        if bytes.len() > MAX_EVENT_BYTES {
            return Err(DecodeError::TooLarge(bytes.len()));
        }
        let raw =
            pb::ExchangeEvent::decode(bytes).map_err(|e| DecodeError::Protobuf(e.to_string()))?;
        let log = GroupId::parse(&raw.log_id).map_err(|e| invalid("log_id", e))?;
        if !log.is_exchange_log() {
            return Err(invalid(
                "log_id",
                "an exchange log id is a tambon geocode, -X and two digits",
            ));
        }
        if raw.seq == 0 {
            return Err(invalid("seq", "sequence numbers start at 1"));
        }
        let date = Date::from_days(raw.business_date).map_err(|e| invalid("business_date", e))?;
        let credits = Credits::from_centi;
        let body = match raw.body.ok_or(DecodeError::MissingBody)? {
            B::ExchangeOpened(b) => ExchangeBody::ExchangeOpened(ExchangeTerms {
                name: text("name", b.name)?,
                unit_name: bounded("unit_name", b.unit_name, MAX_UNIT_NAME_BYTES)?,
                rate_per_credit: Money::from_satang(b.rate_satang_per_credit),
                reserve_pool: pool("reserve_pool", &b.reserve_pool)?,
                policy_min_coverage_basis_points: b.policy_min_coverage_basis_points,
                concentration_limit_basis_points: b.concentration_limit_basis_points,
            }),
            B::AccountOpened(b) => ExchangeBody::AccountOpened {
                account: AccountNo(b.account),
                holder: holder_from_pb(b.holder, &b.group_id, b.member)?,
                credit_limit: credits(b.credit_limit),
            },
            B::CreditLimitChanged(b) => ExchangeBody::CreditLimitChanged {
                account: AccountNo(b.account),
                new_limit: credits(b.new_limit),
                approved_by_committee: b.approved_by_committee,
                reason: text("reason", b.reason)?,
            },
            B::Transfer(b) => ExchangeBody::Transfer {
                from: AccountNo(b.from_account),
                to: AccountNo(b.to_account),
                amount: credits(b.amount),
                category: category_from_pb(b.category)?,
                memo: text("memo", b.memo)?,
            },
            B::VouchersIssued(b) => ExchangeBody::VouchersIssued {
                account: AccountNo(b.account),
                first_serial: b.first_serial,
                last_serial: b.last_serial,
                denomination: credits(b.denomination),
            },
            B::VouchersReturned(b) => ExchangeBody::VouchersReturned {
                first_serial: b.first_serial,
                last_serial: b.last_serial,
                to_account: AccountNo(b.to_account),
            },
            B::AccountClosed(b) => ExchangeBody::AccountClosed {
                account: AccountNo(b.account),
            },
            B::AccountDefaulted(b) => ExchangeBody::AccountDefaulted {
                account: AccountNo(b.account),
                written_off: credits(b.written_off),
                settled: Money::from_satang(b.settled_satang),
                from_pool: pool("from_pool", &b.from_pool)?,
            },
            B::Reversal(b) => ExchangeBody::Reversal {
                reversed_seq: b.reversed_seq,
                reason: text("reason", b.reason)?,
            },
        };
        Ok(ExchangeEvent {
            log,
            seq: raw.seq,
            date,
            recorded_at: raw.recorded_at,
            body,
        })
    }
}
