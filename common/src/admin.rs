//! A hub's own administrative log: enrolments, pool policies, community
//! currency and guarantees given by a pool, fork resolutions and month
//! sign-offs. Single-writer and signed with the hub's key, hashed and relayed
//! exactly like a group's log, and folded by [`AdminBooks`] with the same
//! discipline as the ledger: validate, then apply; a refusal changes nothing.

use std::collections::BTreeMap;

use prost::Message;
use thiserror::Error;

use crate::chain::Hash;
use crate::checkpoint::PublicKey;
use crate::date::{Date, Month};
use crate::event::{DecodeError, MAX_EVENT_BYTES, MAX_TEXT_BYTES};
use crate::ids::{GroupId, PoolId};
use crate::money::{MAX_AMOUNT_SATANG, Money};
use crate::pb;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HubLevel {
    Tambon,
    Province,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminEvent {
    /// `TTTTTT-000` or `PP0000-000`: see [`GroupId::hub_log`].
    pub log: GroupId,
    pub seq: u64,
    pub date: Date,
    pub recorded_at: i64,
    pub body: AdminBody,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminBody {
    HubOpened {
        hub_id: String,
        level: HubLevel,
    },
    GroupEnrolled {
        group: GroupId,
        key: PublicKey,
    },
    GroupRekeyed {
        group: GroupId,
        key: PublicKey,
    },
    PoolPolicySet {
        pool: PoolId,
        min_reserve_ratio_basis_points: u32,
    },
    CurrencyIssued {
        pool: PoolId,
        amount: Money,
    },
    CurrencyRedeemed {
        pool: PoolId,
        amount: Money,
    },
    GuaranteeGiven {
        pool: PoolId,
        guarantee: u32,
        beneficiary: GroupId,
        lender: String,
        amount: Money,
    },
    GuaranteeReleased {
        pool: PoolId,
        guarantee: u32,
    },
    ForkResolved {
        group: GroupId,
        kept_offered: bool,
        fork_epoch: u32,
        kept_through: u64,
    },
    MonthSignedOff {
        subject: String,
        month: Month,
        digest: Hash,
    },
}

impl AdminBody {
    pub fn kind(&self) -> &'static str {
        match self {
            AdminBody::HubOpened { .. } => "HubOpened",
            AdminBody::GroupEnrolled { .. } => "GroupEnrolled",
            AdminBody::GroupRekeyed { .. } => "GroupRekeyed",
            AdminBody::PoolPolicySet { .. } => "PoolPolicySet",
            AdminBody::CurrencyIssued { .. } => "CurrencyIssued",
            AdminBody::CurrencyRedeemed { .. } => "CurrencyRedeemed",
            AdminBody::GuaranteeGiven { .. } => "GuaranteeGiven",
            AdminBody::GuaranteeReleased { .. } => "GuaranteeReleased",
            AdminBody::ForkResolved { .. } => "ForkResolved",
            AdminBody::MonthSignedOff { .. } => "MonthSignedOff",
        }
    }
}

fn invalid(field: &'static str, reason: impl ToString) -> DecodeError {
    DecodeError::Invalid {
        field,
        reason: reason.to_string(),
    }
}

fn group(field: &'static str, text: &str) -> Result<GroupId, DecodeError> {
    GroupId::parse(text).map_err(|e| invalid(field, e))
}

fn pool(text: &str) -> Result<PoolId, DecodeError> {
    PoolId::parse(text).map_err(|e| invalid("pool", e))
}

fn key(field: &'static str, bytes: &[u8]) -> Result<PublicKey, DecodeError> {
    PublicKey::from_slice(bytes).ok_or_else(|| invalid(field, "expected a 32-byte Ed25519 key"))
}

impl AdminEvent {
    /// The one encoding of an administrative event.
    pub fn encode(&self) -> Vec<u8> {
        use pb::admin_event::Body as B;
        let body = match &self.body {
            AdminBody::HubOpened { hub_id, level } => B::HubOpened(pb::HubOpened {
                hub_id: hub_id.clone(),
                level: match level {
                    HubLevel::Tambon => pb::HubLevel::Tambon,
                    HubLevel::Province => pb::HubLevel::Province,
                } as i32,
            }),
            AdminBody::GroupEnrolled { group, key } => B::GroupEnrolled(pb::GroupEnrolled {
                group_id: group.as_str().into(),
                public_key: key.as_bytes().to_vec(),
            }),
            AdminBody::GroupRekeyed { group, key } => B::GroupRekeyed(pb::GroupRekeyed {
                group_id: group.as_str().into(),
                public_key: key.as_bytes().to_vec(),
            }),
            AdminBody::PoolPolicySet {
                pool,
                min_reserve_ratio_basis_points,
            } => B::PoolPolicySet(pb::PoolPolicySet {
                pool: pool.as_str().into(),
                min_reserve_ratio_basis_points: *min_reserve_ratio_basis_points,
            }),
            AdminBody::CurrencyIssued { pool, amount } => B::CurrencyIssued(pb::CurrencyIssued {
                pool: pool.as_str().into(),
                amount: amount.satang(),
            }),
            AdminBody::CurrencyRedeemed { pool, amount } => {
                B::CurrencyRedeemed(pb::CurrencyRedeemed {
                    pool: pool.as_str().into(),
                    amount: amount.satang(),
                })
            }
            AdminBody::GuaranteeGiven {
                pool,
                guarantee,
                beneficiary,
                lender,
                amount,
            } => B::GuaranteeGiven(pb::GuaranteeGiven {
                pool: pool.as_str().into(),
                guarantee: *guarantee,
                beneficiary_group: beneficiary.as_str().into(),
                lender: lender.clone(),
                amount: amount.satang(),
            }),
            AdminBody::GuaranteeReleased { pool, guarantee } => {
                B::GuaranteeReleased(pb::GuaranteeReleased {
                    pool: pool.as_str().into(),
                    guarantee: *guarantee,
                })
            }
            AdminBody::ForkResolved {
                group,
                kept_offered,
                fork_epoch,
                kept_through,
            } => B::ForkResolved(pb::ForkResolved {
                group_id: group.as_str().into(),
                kept_offered: *kept_offered,
                fork_epoch: *fork_epoch,
                kept_through: *kept_through,
            }),
            AdminBody::MonthSignedOff {
                subject,
                month,
                digest,
            } => B::MonthSignedOff(pb::MonthSignedOff {
                subject: subject.clone(),
                month: month.yyyymm(),
                digest: digest.as_bytes().to_vec(),
            }),
        };
        pb::AdminEvent {
            log_id: self.log.as_str().into(),
            seq: self.seq,
            business_date: self.date.days(),
            recorded_at: self.recorded_at,
            body: Some(body),
        }
        .encode_to_vec()
    }

    /// Decodes untrusted bytes, refusing anything structurally wrong.
    pub fn decode(bytes: &[u8]) -> Result<AdminEvent, DecodeError> {
        use pb::admin_event::Body as B;
        if bytes.len() > MAX_EVENT_BYTES {
            return Err(DecodeError::TooLarge(bytes.len()));
        }
        let raw =
            pb::AdminEvent::decode(bytes).map_err(|e| DecodeError::Protobuf(e.to_string()))?;
        let log = group("log_id", &raw.log_id)?;
        if !log.is_hub_log() {
            return Err(invalid("log_id", "an administrative log id ends in -000"));
        }
        if raw.seq == 0 {
            return Err(invalid("seq", "sequence numbers start at 1"));
        }
        let date = Date::from_days(raw.business_date).map_err(|e| invalid("business_date", e))?;
        let money = |amount: i64| Money::from_satang(amount);
        let body = match raw.body.ok_or(DecodeError::MissingBody)? {
            B::HubOpened(b) => AdminBody::HubOpened {
                level: match pb::HubLevel::try_from(b.level) {
                    Ok(pb::HubLevel::Tambon) => HubLevel::Tambon,
                    Ok(pb::HubLevel::Province) => HubLevel::Province,
                    Err(_) => {
                        return Err(DecodeError::UnknownEnum {
                            field: "level",
                            value: b.level,
                        });
                    }
                },
                hub_id: b.hub_id,
            },
            B::GroupEnrolled(b) => AdminBody::GroupEnrolled {
                group: group("group_id", &b.group_id)?,
                key: key("public_key", &b.public_key)?,
            },
            B::GroupRekeyed(b) => AdminBody::GroupRekeyed {
                group: group("group_id", &b.group_id)?,
                key: key("public_key", &b.public_key)?,
            },
            B::PoolPolicySet(b) => AdminBody::PoolPolicySet {
                pool: pool(&b.pool)?,
                min_reserve_ratio_basis_points: b.min_reserve_ratio_basis_points,
            },
            B::CurrencyIssued(b) => AdminBody::CurrencyIssued {
                pool: pool(&b.pool)?,
                amount: money(b.amount),
            },
            B::CurrencyRedeemed(b) => AdminBody::CurrencyRedeemed {
                pool: pool(&b.pool)?,
                amount: money(b.amount),
            },
            B::GuaranteeGiven(b) => {
                if b.lender.len() > MAX_TEXT_BYTES {
                    return Err(DecodeError::TooLong {
                        field: "lender",
                        max: MAX_TEXT_BYTES,
                    });
                }
                AdminBody::GuaranteeGiven {
                    pool: pool(&b.pool)?,
                    guarantee: b.guarantee,
                    beneficiary: group("beneficiary_group", &b.beneficiary_group)?,
                    lender: b.lender,
                    amount: money(b.amount),
                }
            }
            B::GuaranteeReleased(b) => AdminBody::GuaranteeReleased {
                pool: pool(&b.pool)?,
                guarantee: b.guarantee,
            },
            B::ForkResolved(b) => AdminBody::ForkResolved {
                group: group("group_id", &b.group_id)?,
                kept_offered: b.kept_offered,
                fork_epoch: b.fork_epoch,
                kept_through: b.kept_through,
            },
            B::MonthSignedOff(b) => {
                if b.subject.len() > 16 {
                    return Err(DecodeError::TooLong {
                        field: "subject",
                        max: 16,
                    });
                }
                AdminBody::MonthSignedOff {
                    subject: b.subject,
                    month: Month::from_yyyymm(b.month).map_err(|e| invalid("month", e))?,
                    digest: Hash::from_slice(&b.digest)
                        .ok_or_else(|| invalid("digest", "expected 32 bytes"))?,
                }
            }
        };
        Ok(AdminEvent {
            log,
            seq: raw.seq,
            date,
            recorded_at: raw.recorded_at,
            body,
        })
    }
}

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum AdminRule {
    #[error("expected seq {expected}")]
    OutOfSequence { expected: u64 },
    #[error("the log must start with HubOpened")]
    NotOpened,
    #[error("the hub's log is already open")]
    AlreadyOpened,
    #[error("HubOpened names hub {found}, but this is the log of hub {expected}")]
    WrongHub { expected: String, found: String },
    #[error("group {group} is not under hub {hub}")]
    OutsideHub { group: GroupId, hub: String },
    #[error("group {0} is already enrolled")]
    AlreadyEnrolled(GroupId),
    #[error("group {0} is not enrolled")]
    NotEnrolled(GroupId),
    #[error("amount {0} is not positive or above the limit")]
    BadAmount(Money),
    #[error("redeeming {asked} is beyond the {outstanding} of currency outstanding in pool {pool}")]
    RedeemBeyondOutstanding {
        pool: PoolId,
        outstanding: Money,
        asked: Money,
    },
    #[error("guarantee {guarantee} of pool {pool} already exists")]
    DuplicateGuarantee { pool: PoolId, guarantee: u32 },
    #[error("guarantee {guarantee} of pool {pool} is not outstanding")]
    UnknownGuarantee { pool: PoolId, guarantee: u32 },
    #[error("pool {0} is not managed by this hub")]
    ForeignPool(PoolId),
    #[error("{subject} is not under hub {hub}: a hub signs off only its own groups or tambons")]
    ForeignSubject { subject: String, hub: String },
}

#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("hub log {log} seq {seq}: {rule}")]
pub struct AdminRefusal {
    pub log: GroupId,
    pub seq: u64,
    pub rule: AdminRule,
}

/// One guarantee the pool has given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Guarantee {
    pub beneficiary: GroupId,
    pub lender: String,
    pub amount: Money,
    pub given_on: Date,
}

/// What a pool owes or guarantees, from its hub's administrative log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PoolObligations {
    pub min_reserve_ratio_basis_points: Option<u32>,
    pub currency_outstanding: Money,
    pub guarantees: BTreeMap<u32, Guarantee>,
}

impl PoolObligations {
    pub fn guarantees_outstanding(&self) -> Money {
        Money::from_satang(self.guarantees.values().map(|g| g.amount.satang()).sum())
    }

    /// Community currency outstanding plus guarantees given.
    pub fn total(&self) -> Money {
        Money::from_satang(
            self.currency_outstanding.satang() + self.guarantees_outstanding().satang(),
        )
    }
}

/// The fold of a hub's administrative log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminBooks {
    pub log: GroupId,
    pub hub_id: String,
    pub level: Option<HubLevel>,
    pub last_seq: u64,
    pub enrolled: BTreeMap<GroupId, PublicKey>,
    pub pools: BTreeMap<PoolId, PoolObligations>,
    pub sign_offs: BTreeMap<(String, Month), (Hash, u64)>,
    pub fork_resolutions: Vec<(GroupId, u32, u64)>,
}

impl AdminBooks {
    pub fn new(log: GroupId) -> AdminBooks {
        let hub_id = log.hub_of_log().unwrap_or_default().to_string();
        AdminBooks {
            log,
            hub_id,
            level: None,
            last_seq: 0,
            enrolled: BTreeMap::new(),
            pools: BTreeMap::new(),
            sign_offs: BTreeMap::new(),
            fork_resolutions: Vec::new(),
        }
    }

    /// Validates and applies one event; a refusal changes nothing.
    pub fn apply(&mut self, event: &AdminEvent) -> Result<(), AdminRefusal> {
        self.check(event).map_err(|rule| AdminRefusal {
            log: self.log.clone(),
            seq: event.seq,
            rule,
        })?;
        self.apply_unchecked(event);
        Ok(())
    }

    fn within(&self, group: &GroupId) -> bool {
        group.as_str().starts_with(&self.hub_id)
    }

    fn check(&self, event: &AdminEvent) -> Result<(), AdminRule> {
        if event.seq != self.last_seq + 1 {
            return Err(AdminRule::OutOfSequence {
                expected: self.last_seq + 1,
            });
        }
        let positive = |amount: Money| {
            if amount.is_positive() && amount.satang() <= MAX_AMOUNT_SATANG {
                Ok(())
            } else {
                Err(AdminRule::BadAmount(amount))
            }
        };
        let own_pool = |pool: &PoolId| {
            if pool.network() == self.hub_id {
                Ok(())
            } else {
                Err(AdminRule::ForeignPool(pool.clone()))
            }
        };
        match (&event.body, self.level) {
            (AdminBody::HubOpened { hub_id, .. }, None) => {
                if *hub_id != self.hub_id {
                    return Err(AdminRule::WrongHub {
                        expected: self.hub_id.clone(),
                        found: hub_id.clone(),
                    });
                }
                Ok(())
            }
            (AdminBody::HubOpened { .. }, Some(_)) => Err(AdminRule::AlreadyOpened),
            (_, None) => Err(AdminRule::NotOpened),
            (AdminBody::GroupEnrolled { group, .. }, _) => {
                if !self.within(group) || group.is_hub_log() {
                    return Err(AdminRule::OutsideHub {
                        group: group.clone(),
                        hub: self.hub_id.clone(),
                    });
                }
                if self.enrolled.contains_key(group) {
                    return Err(AdminRule::AlreadyEnrolled(group.clone()));
                }
                Ok(())
            }
            (AdminBody::GroupRekeyed { group, .. }, _) => {
                if !self.enrolled.contains_key(group) {
                    return Err(AdminRule::NotEnrolled(group.clone()));
                }
                Ok(())
            }
            (AdminBody::PoolPolicySet { pool, .. }, _) => own_pool(pool),
            (AdminBody::CurrencyIssued { pool, amount }, _) => {
                own_pool(pool)?;
                positive(*amount)
            }
            (AdminBody::CurrencyRedeemed { pool, amount }, _) => {
                own_pool(pool)?;
                positive(*amount)?;
                let outstanding = self
                    .pools
                    .get(pool)
                    .map_or(Money::ZERO, |p| p.currency_outstanding);
                if *amount > outstanding {
                    return Err(AdminRule::RedeemBeyondOutstanding {
                        pool: pool.clone(),
                        outstanding,
                        asked: *amount,
                    });
                }
                Ok(())
            }
            (
                AdminBody::GuaranteeGiven {
                    pool,
                    guarantee,
                    amount,
                    ..
                },
                _,
            ) => {
                own_pool(pool)?;
                positive(*amount)?;
                if self
                    .pools
                    .get(pool)
                    .is_some_and(|p| p.guarantees.contains_key(guarantee))
                {
                    return Err(AdminRule::DuplicateGuarantee {
                        pool: pool.clone(),
                        guarantee: *guarantee,
                    });
                }
                Ok(())
            }
            (AdminBody::GuaranteeReleased { pool, guarantee }, _) => {
                if !self
                    .pools
                    .get(pool)
                    .is_some_and(|p| p.guarantees.contains_key(guarantee))
                {
                    return Err(AdminRule::UnknownGuarantee {
                        pool: pool.clone(),
                        guarantee: *guarantee,
                    });
                }
                Ok(())
            }
            (AdminBody::ForkResolved { group, .. }, _) => {
                if !self.enrolled.contains_key(group) {
                    return Err(AdminRule::NotEnrolled(group.clone()));
                }
                Ok(())
            }
            (AdminBody::MonthSignedOff { subject, .. }, _) => {
                // A tambon hub signs off its groups (`230101-007`), a province
                // hub its tambons (`230101`); never itself or a stranger.
                if subject.len() > self.hub_id.len() && subject.starts_with(&self.hub_id) {
                    Ok(())
                } else {
                    Err(AdminRule::ForeignSubject {
                        subject: subject.clone(),
                        hub: self.hub_id.clone(),
                    })
                }
            }
        }
    }

    /// Applies an event already known to be valid.
    pub fn apply_unchecked(&mut self, event: &AdminEvent) {
        self.last_seq = event.seq;
        let add = |m: &mut Money, by: i64| *m = Money::from_satang(m.satang() + by);
        match &event.body {
            AdminBody::HubOpened { level, .. } => self.level = Some(*level),
            AdminBody::GroupEnrolled { group, key } | AdminBody::GroupRekeyed { group, key } => {
                self.enrolled.insert(group.clone(), *key);
            }
            AdminBody::PoolPolicySet {
                pool,
                min_reserve_ratio_basis_points,
            } => {
                self.pools
                    .entry(pool.clone())
                    .or_default()
                    .min_reserve_ratio_basis_points = Some(*min_reserve_ratio_basis_points);
            }
            AdminBody::CurrencyIssued { pool, amount } => {
                add(
                    &mut self
                        .pools
                        .entry(pool.clone())
                        .or_default()
                        .currency_outstanding,
                    amount.satang(),
                );
            }
            AdminBody::CurrencyRedeemed { pool, amount } => {
                add(
                    &mut self
                        .pools
                        .entry(pool.clone())
                        .or_default()
                        .currency_outstanding,
                    -amount.satang(),
                );
            }
            AdminBody::GuaranteeGiven {
                pool,
                guarantee,
                beneficiary,
                lender,
                amount,
            } => {
                self.pools
                    .entry(pool.clone())
                    .or_default()
                    .guarantees
                    .insert(
                        *guarantee,
                        Guarantee {
                            beneficiary: beneficiary.clone(),
                            lender: lender.clone(),
                            amount: *amount,
                            given_on: event.date,
                        },
                    );
            }
            AdminBody::GuaranteeReleased { pool, guarantee } => {
                if let Some(p) = self.pools.get_mut(pool) {
                    p.guarantees.remove(guarantee);
                }
            }
            AdminBody::ForkResolved {
                group,
                fork_epoch,
                kept_through,
                ..
            } => {
                self.fork_resolutions
                    .push((group.clone(), *fork_epoch, *kept_through));
            }
            AdminBody::MonthSignedOff {
                subject,
                month,
                digest,
            } => {
                self.sign_offs
                    .insert((subject.clone(), *month), (*digest, event.seq));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: u64, body: AdminBody) -> AdminEvent {
        AdminEvent {
            log: GroupId::hub_log("230101").unwrap(),
            seq,
            date: Date::from_days(20_000).unwrap(),
            recorded_at: 0,
            body,
        }
    }

    #[test]
    fn a_hub_log_enrols_groups_and_tracks_what_its_pool_guarantees() {
        let pool = PoolId::parse("230101").unwrap();
        let key = PublicKey::from_slice(&[7; 32]).unwrap();
        let group = GroupId::parse("230101-007").unwrap();
        let events = vec![
            event(
                1,
                AdminBody::HubOpened {
                    hub_id: "230101".into(),
                    level: HubLevel::Tambon,
                },
            ),
            event(
                2,
                AdminBody::GroupEnrolled {
                    group: group.clone(),
                    key,
                },
            ),
            event(
                3,
                AdminBody::PoolPolicySet {
                    pool: pool.clone(),
                    min_reserve_ratio_basis_points: 5_000,
                },
            ),
            event(
                4,
                AdminBody::CurrencyIssued {
                    pool: pool.clone(),
                    amount: Money::from_baht(10_000),
                },
            ),
            event(
                5,
                AdminBody::CurrencyRedeemed {
                    pool: pool.clone(),
                    amount: Money::from_baht(4_000),
                },
            ),
            event(
                6,
                AdminBody::GuaranteeGiven {
                    pool: pool.clone(),
                    guarantee: 1,
                    beneficiary: group.clone(),
                    lender: "ธ.ก.ส.".into(),
                    amount: Money::from_baht(50_000),
                },
            ),
        ];
        let mut books = AdminBooks::new(GroupId::hub_log("230101").unwrap());
        for e in &events {
            assert_eq!(AdminEvent::decode(&e.encode()).unwrap(), *e);
            books.apply(e).unwrap();
        }
        assert_eq!(books.enrolled.get(&group), Some(&key));
        assert_eq!(books.pools[&pool].total(), Money::from_baht(56_000));

        let before = books.clone();
        let refusals = [
            (
                AdminBody::CurrencyRedeemed {
                    pool: pool.clone(),
                    amount: Money::from_baht(7_000),
                },
                "beyond",
            ),
            (
                AdminBody::GroupEnrolled {
                    group: GroupId::parse("230102-001").unwrap(),
                    key,
                },
                "not under hub",
            ),
            (
                AdminBody::GroupEnrolled {
                    group: group.clone(),
                    key,
                },
                "already enrolled",
            ),
            (
                AdminBody::GuaranteeReleased {
                    pool: pool.clone(),
                    guarantee: 9,
                },
                "not outstanding",
            ),
            (
                AdminBody::CurrencyIssued {
                    pool: PoolId::parse("230102").unwrap(),
                    amount: Money::from_baht(1),
                },
                "not managed",
            ),
            (
                AdminBody::MonthSignedOff {
                    subject: "230102-001".into(),
                    month: Month::new(2026, 9).unwrap(),
                    digest: Hash::of(b"test", &[]),
                },
                "not under hub",
            ),
        ];
        for (body, says) in refusals {
            let error = books.apply(&event(7, body)).unwrap_err();
            assert!(error.to_string().contains(says), "{error}");
            assert_eq!(books, before);
        }
    }
}
