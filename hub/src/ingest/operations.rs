//! The operator's actions on a hub — enrol, revoke, resolve a fork — as
//! functions, so that the `sajja-hub` CLI on the hub machine and the
//! operator-only `Admin` gRPC service do exactly the same thing.

use sajja_common::admin::AdminBody;
use sajja_common::{GroupId, PublicKey};
use sajja_edge::enrolment::Enrolment;
use thiserror::Error;

use crate::config::{HubConfig, Level};
use crate::ingest::accept::Ingest;
use crate::ingest::admin;
use crate::ingest::admin::{AdminError, HubIdentity};
use crate::pki::certs::{Pem, TlsError};
use crate::pki::client_certs::Issued;
use crate::store::{Credential, Store, StoreError};
use crate::values::principal::{Principal, is_scope_geocode, scope_within};
use sajja_edge::clock::unix_now;

#[derive(Debug, Error)]
pub enum OperationError {
    #[error("group {group} is not in tambon {hub}")]
    OutsideTambon { group: GroupId, hub: String },
    #[error("{0} is a hub's log id, not a group")]
    HubLog(GroupId),
    #[error("group {0} is already enrolled with another key; a lost key needs `sajja-hub rekey`")]
    KeyConflict(GroupId),
    #[error("a group enrolment needs the group's public key (from `sajja-node init`)")]
    MissingKey,
    #[error(
        "this is a private key backup: never give it to the hub; use the public key from `sajja-node status`"
    )]
    PrivateKeyGiven,
    #[error(
        "{0:?} is not a group's public key: expected 64 hex digits, as `sajja-node status` prints after \"public key\""
    )]
    BadPublicKey(String),
    #[error("hub {0} is not listed under [[children]] in this hub's config")]
    NotAChild(String),
    #[error("only a province hub enrols child hubs")]
    NotProvince,
    #[error("scope {scope} is outside this hub ({hub})")]
    ScopeOutside { scope: String, hub: String },
    #[error("{0:?} is not a valid name: 1-64 of a-z, 0-9, '.', '_', '-'")]
    BadName(String),
    #[error("{0:?} is not a geocode (2 or 6 digits)")]
    BadGeocode(String),
    #[error("no live certificate matches {0}")]
    NothingToRevoke(String),
    #[error("group {0} has no unresolved fork")]
    NoFork(GroupId),
    #[error("group {0} is not enrolled")]
    NotEnrolled(GroupId),
    #[error("{path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// The hub's CA, read from the files named in its config.
pub fn read_ca(config: &HubConfig) -> Result<Pem, OperationError> {
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path).map_err(|source| OperationError::File {
            path: path.display().to_string(),
            source,
        })
    };
    Ok(Pem {
        cert: read(&config.tls.ca)?,
        key: read(&config.tls.ca_key)?,
    })
}

/// A group's public key as the operator gives it (`enrol --key`, `rekey
/// --key`, the Admin service). A line of a node's key backup is refused by
/// name: its prefix is the only thing that tells it from a public key, since
/// both are 64 hex digits, and a seed recorded in the signed admin log would
/// travel to the province.
pub fn parse_group_key(text: &str) -> Result<PublicKey, OperationError> {
    if sajja_common::checkpoint::is_private_key_backup(text) {
        return Err(OperationError::PrivateKeyGiven);
    }
    PublicKey::from_hex(text).ok_or_else(|| {
        // The text may be a secret pasted by mistake: show only its length.
        OperationError::BadPublicKey(format!("{} characters", text.trim().chars().count()))
    })
}

/// What an enrolment asks for.
pub struct EnrolRequest {
    pub principal: Principal,
    /// A group's Ed25519 key; for a child hub, checked against the config.
    pub public_key: Option<PublicKey>,
    /// The hub address written into the bundle.
    pub hub_url: String,
}

/// Enrols `request.principal` and returns its bundle. A group's enrolment is
/// first recorded in the hub's signed admin log (once: enrolling again with
/// the same key just issues a new certificate, which is how a revoked node is
/// let back in).
pub fn enrol(
    ingest: &mut Ingest,
    config: &HubConfig,
    request: EnrolRequest,
) -> Result<Enrolment, OperationError> {
    let mut public_key = request.public_key;
    match &request.principal {
        Principal::Group(group) => {
            if group.is_hub_log() {
                return Err(OperationError::HubLog(group.clone()));
            }
            if config.level == Level::Tambon && group.tambon() != config.hub_id {
                return Err(OperationError::OutsideTambon {
                    group: group.clone(),
                    hub: config.hub_id.clone(),
                });
            }
            let key = public_key.ok_or(OperationError::MissingKey)?;
            match ingest.store().group(group)? {
                Some(existing) if existing.key != key => {
                    return Err(OperationError::KeyConflict(group.clone()));
                }
                Some(_) => {}
                None => {
                    let identity = HubIdentity::load(config)?;
                    let seq = admin::append(
                        ingest,
                        &identity,
                        vec![AdminBody::GroupEnrolled {
                            group: group.clone(),
                            key,
                        }],
                    )?;
                    tracing::info!(hub = %config.hub_id, group = %group, admin_seq = seq, "group enrolled");
                }
            }
        }
        Principal::Hub(hub) => {
            if config.level != Level::Province {
                return Err(OperationError::NotProvince);
            }
            let child = config
                .children
                .iter()
                .find(|c| &c.hub_id == hub)
                .ok_or_else(|| OperationError::NotAChild(hub.clone()))?;
            public_key = PublicKey::from_hex(&child.key);
        }
        Principal::Coordinator { name, scope } => {
            if !crate::values::principal::check_name(name) {
                return Err(OperationError::BadName(name.clone()));
            }
            if !is_scope_geocode(scope) {
                return Err(OperationError::BadGeocode(scope.clone()));
            }
            if !scope_within(scope, &config.hub_id) {
                return Err(OperationError::ScopeOutside {
                    scope: scope.clone(),
                    hub: config.hub_id.clone(),
                });
            }
        }
        Principal::Operator(name) => {
            if !crate::values::principal::check_name(name) {
                return Err(OperationError::BadName(name.clone()));
            }
        }
    }
    let ca = read_ca(config)?;
    let now = unix_now();
    let issued =
        crate::pki::client_certs::issue(&ca, &request.principal, config.client_cert_days, now)?;
    ingest
        .store()
        .add_credential(&crate::ingest::operations::credential_of(
            &request.principal,
            &issued,
            now,
        ))?;
    tracing::info!(hub = %config.hub_id, role = request.principal.role().name(), serial = %issued.serial, "certificate issued");
    Ok(Enrolment {
        role: request.principal.role(),
        subject: request.principal.subject().to_string(),
        scope: request.principal.scope().map(str::to_string),
        public_key: public_key.map(|k| k.to_hex()),
        hub_id: config.hub_id.clone(),
        hub_url: request.hub_url,
        serial: issued.serial,
        not_after: issued.not_after,
        ca: ca.cert,
        cert: issued.pem.cert,
        key: issued.pem.key,
    })
}

/// What to revoke: every live certificate of a principal, or one serial.
pub enum RevokeTarget {
    Principal(Principal),
    Serial(String),
}

/// Revokes certificates; takes effect on the hub's next call from them,
/// without a restart. Returns the serials revoked.
pub fn revoke(store: &Store, target: &RevokeTarget) -> Result<Vec<String>, OperationError> {
    let now = unix_now();
    let revoked = match target {
        RevokeTarget::Principal(principal) => store.revoke_principal(principal, now)?,
        RevokeTarget::Serial(serial) => {
            let serial = serial.to_ascii_lowercase();
            if store.revoke_serial(&serial, now)? {
                vec![serial]
            } else {
                Vec::new()
            }
        }
    };
    if revoked.is_empty() {
        let shown = match target {
            RevokeTarget::Principal(p) => p.to_string(),
            RevokeTarget::Serial(s) => format!("serial {s}"),
        };
        return Err(OperationError::NothingToRevoke(shown));
    }
    for serial in &revoked {
        tracing::warn!(serial = %serial, "certificate revoked");
    }
    Ok(revoked)
}

pub fn credentials(store: &Store) -> Result<Vec<Credential>, OperationError> {
    Ok(store.credentials()?)
}

/// The outcome of resolving a fork.
pub struct Resolved {
    pub fork_epoch: u32,
    pub hub_seq: u64,
}

/// Resolves a group's open fork, keeping the accepted or the offered branch.
pub fn resolve_fork(
    store: &mut Store,
    group: &GroupId,
    keep_offered: bool,
) -> Result<Resolved, OperationError> {
    let row = store
        .group(group)?
        .ok_or_else(|| OperationError::NotEnrolled(group.clone()))?;
    let fork = store
        .forks(Some(group), true)?
        .pop()
        .ok_or_else(|| OperationError::NoFork(group.clone()))?;
    // Only a fork found in a batch pins where the branches part; from a
    // checkpoint alone the node re-pushes its whole log, verified again.
    let keep_through = if fork.offered_event.is_some() {
        fork.seq - 1
    } else {
        0
    };
    store.resolve_fork(&row, fork.id, keep_offered, keep_through, unix_now())?;
    let row = store
        .group(group)?
        .ok_or_else(|| OperationError::NotEnrolled(group.clone()))?;
    tracing::warn!(group = %group, keep_offered, fork_epoch = row.fork_epoch, "fork resolved");
    Ok(Resolved {
        fork_epoch: row.fork_epoch,
        hub_seq: row.seq,
    })
}

/// Parses `role subject` as the CLI and the Admin service name principals:
/// `group 230101-007`, `hub 230102`, `coordinator somchai` with a scope,
/// `operator ann`.
pub fn principal(
    role: &str,
    subject: &str,
    scope: Option<&str>,
) -> Result<Principal, OperationError> {
    match role {
        "group" => GroupId::parse(subject)
            .map(Principal::Group)
            .map_err(|_| OperationError::BadGeocode(subject.to_string())),
        "hub" if is_scope_geocode(subject) && subject.len() == 6 => {
            Ok(Principal::Hub(subject.to_string()))
        }
        "hub" => Err(OperationError::BadGeocode(subject.to_string())),
        "coordinator" => {
            let scope = scope.unwrap_or_default();
            if !is_scope_geocode(scope) {
                return Err(OperationError::BadGeocode(scope.to_string()));
            }
            Ok(Principal::Coordinator {
                name: subject.to_string(),
                scope: scope.to_string(),
            })
        }
        "operator" => Ok(Principal::Operator(subject.to_string())),
        other => Err(OperationError::BadName(other.to_string())),
    }
}

/// The address bundles name: `public_url` from the config, else the
/// address the running hub bound (`<data_dir>/hub.addr`), else `listen`.
pub fn hub_url(config: &HubConfig) -> String {
    if let Some(url) = &config.public_url {
        return url.clone();
    }
    let bound = std::fs::read_to_string(config.addr_file())
        .ok()
        .map(|text| text.trim().to_string())
        .filter(|text| text.parse::<std::net::SocketAddr>().is_ok());
    format!(
        "https://{}",
        bound.unwrap_or_else(|| config.listen.to_string())
    )
}

/// The credential a newly issued certificate is recorded as.
pub fn credential_of(principal: &Principal, issued: &Issued, now: i64) -> Credential {
    Credential {
        serial: issued.serial.clone(),
        principal: principal.clone(),
        issued_at: now,
        not_after: issued.not_after,
        revoked_at: None,
    }
}
