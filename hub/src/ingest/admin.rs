//! The hub's own administrative log: the hub signs it with its key and writes
//! it through the same accept rule as any group's log.

use std::path::Path;

use sajja_common::admin::{AdminBody, AdminEvent, HubLevel};
use sajja_common::{Checkpoint, GroupId, PublicKey, SigningKey, chain};
use thiserror::Error;

use crate::config::{HubConfig, Level};
use crate::ingest::accept::{BatchOutcome, Ingest, IngestError};
use crate::read::signoff;
use crate::read::signoff::SignOffError;
use sajja_edge::clock::{today, unix_now};

#[derive(Debug, Error)]
pub enum AdminError {
    #[error("hub key {path}: {reason}")]
    Key { path: String, reason: String },
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error("the hub's own log was refused: {0}")]
    Refused(String),
    #[error(transparent)]
    SignOff(#[from] SignOffError),
}

/// What signing off a month did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignedOff {
    /// The same digest was signed before, at this seq of the hub's log.
    Already { seq: u64 },
    New {
        seq: u64,
        digest: sajja_common::Hash,
    },
}

/// Signs off `subject`'s `month` in this hub's administrative log: a tambon
/// hub signs a group of its own, a province hub one of its tambons. The one
/// rule behind `sajja-hub signoff` and the dashboard's sign-off button.
pub fn sign_off(
    ingest: &mut Ingest,
    identity: &HubIdentity,
    config: &HubConfig,
    subject: &str,
    month: sajja_common::Month,
) -> Result<SignedOff, AdminError> {
    let digest = match config.level {
        Level::Tambon => {
            let group = GroupId::parse(subject).map_err(|_| SignOffError::BadSubject {
                subject: subject.to_string(),
                expected: format!(
                    "a tambon hub signs off a group's month, e.g. {}-007",
                    config.hub_id
                ),
            })?;
            if group.tambon() != config.hub_id || !group.is_group() {
                return Err(SignOffError::NotOurGroup {
                    group,
                    hub: config.hub_id.clone(),
                }
                .into());
            }
            signoff::group_sign_off(ingest.store(), &group, month)?
        }
        Level::Province => {
            sajja_common::ids::check_geocode(subject, "tambon", 6).map_err(|_| {
                SignOffError::BadSubject {
                    subject: subject.to_string(),
                    expected: format!(
                        "a province hub signs off a tambon's month, e.g. {}0101",
                        config.hub_id
                    ),
                }
            })?;
            if !config.children.iter().any(|c| c.hub_id == subject) {
                return Err(SignOffError::NotAChild(subject.to_string()).into());
            }
            signoff::tambon_sign_off(ingest.store(), subject, month)?
        }
    };
    if let Some(books) = signoff::admin_books(ingest.store(), &config.hub_id)
        .map_err(|e| AdminError::SignOff(e.into()))?
        && let Some((signed, seq)) = books.sign_offs.get(&(subject.to_string(), month))
        && *signed == digest
    {
        return Ok(SignedOff::Already { seq: *seq });
    }
    let seq = append(
        ingest,
        identity,
        vec![AdminBody::MonthSignedOff {
            subject: subject.to_string(),
            month,
            digest,
        }],
    )?;
    Ok(SignedOff::New { seq, digest })
}

/// Who this hub is: its geocode, level and signing key.
pub struct HubIdentity {
    pub hub_id: String,
    pub level: Level,
    pub key: SigningKey,
}

impl HubIdentity {
    pub fn load(config: &HubConfig) -> Result<HubIdentity, AdminError> {
        let key = read_key(&config.signing_key)?;
        Ok(HubIdentity {
            hub_id: config.hub_id.clone(),
            level: config.level,
            key,
        })
    }

    /// The id of this hub's administrative log.
    pub fn log(&self) -> GroupId {
        // The config was validated, so the geocode has the right length.
        GroupId::hub_log(&self.hub_id)
            .unwrap_or_else(|_| GroupId::parse("000000-000").expect("constant id parses"))
    }

    pub fn public(&self) -> PublicKey {
        self.key.public()
    }
}

pub fn read_key(path: &Path) -> Result<SigningKey, AdminError> {
    let error = |reason: String| AdminError::Key {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
    let seed = hex::decode(text.trim()).map_err(|_| error("not a hex key".into()))?;
    SigningKey::from_seed(&seed).map_err(|e| error(e.to_string()))
}

/// Appends `bodies` to the hub's administrative log (opening it first if
/// needed) through the accept rule, and returns the new head seq.
pub fn append(
    ingest: &mut Ingest,
    identity: &HubIdentity,
    bodies: Vec<AdminBody>,
) -> Result<u64, AdminError> {
    let log = identity.log();
    ingest
        .store_mut()
        .enrol(&log, &identity.public(), unix_now())
        .map_err(IngestError::from)?;
    let position = ingest.position(&log)?;
    let mut bodies = bodies;
    if position.seq == 0 {
        let level = match identity.level {
            Level::Tambon => HubLevel::Tambon,
            Level::Province => HubLevel::Province,
        };
        bodies.insert(
            0,
            AdminBody::HubOpened {
                hub_id: identity.hub_id.clone(),
                level,
            },
        );
    }
    let date = today();
    let mut head = position.head;
    let mut events = Vec::with_capacity(bodies.len());
    for (i, body) in bodies.into_iter().enumerate() {
        let event = AdminEvent {
            log: log.clone(),
            seq: position.seq + 1 + i as u64,
            date,
            recorded_at: unix_now(),
            body,
        };
        let bytes = event.encode();
        head = chain::next(&head, &bytes);
        events.push(bytes);
    }
    let to = position.seq + events.len() as u64;
    let checkpoint = Checkpoint {
        group: log.clone(),
        seq: to,
        head,
        fork_epoch: position.fork_epoch,
    }
    .sign(&identity.key);
    match ingest.batch(position.seq + 1, &events, &checkpoint)? {
        BatchOutcome::Acked { to, .. } => Ok(to),
        other => Err(AdminError::Refused(format!("{other:?}"))),
    }
}
