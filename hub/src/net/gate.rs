//! Who is calling: the principal named by a client certificate this hub's CA
//! issued at enrolment, and what each principal may do. One place decides
//! every permission, so the `Sync`, `Query` and `Admin` services cannot
//! drift apart.
//!
//! A certificate names its holder with one URI in its subject alternative
//! names: `sajja://group/230101-007`, `sajja://hub/230102`,
//! `sajja://coordinator/230101/somchai` (scope, then name) or
//! `sajja://operator/ann`. The serial number is what `revoke` records.

use std::future::Future;
use std::sync::{Arc, Mutex};

use sajja_common::GroupId;
pub use sajja_edge::enrolment::Role;
use tonic::{Request, Status};

use crate::net::blocking::{blocking, locked};
use crate::pki::client_certs::read_certificate;
use crate::store::{Store, StoreError};
use crate::values::principal::{Principal, scope_within};

/// An authenticated caller: the principal and the certificate's serial.
#[derive(Clone, Debug)]
pub struct Caller {
    pub principal: Principal,
    pub serial: String,
}

fn denied(caller: &Caller, what: &str) -> Status {
    tracing::warn!(caller = %caller.principal, serial = %caller.serial, refused = what, "permission denied");
    Status::permission_denied(format!("{} may not {what}", caller.principal))
}

impl Caller {
    /// Push a log: a group only its own; a child hub only its own
    /// administrative log and the groups of its tambon (a tambon hub can
    /// enrol nothing else, so these are exactly the logs enrolled beneath it).
    pub fn may_write(&self, log: &GroupId) -> Result<(), Status> {
        let allowed = match &self.principal {
            Principal::Group(own) => own == log,
            Principal::Hub(hub) => log.tambon() == hub,
            Principal::Coordinator { .. } | Principal::Operator(_) => false,
        };
        allowed
            .then_some(())
            .ok_or_else(|| denied(self, &format!("write the log of {log}")))
    }

    /// State when a group last made verified contact (a relayed hello's
    /// `last_contact_at`): only a child hub, for the logs of its own tambon.
    /// A node states nothing: its contact is the time its hub greets it.
    pub fn may_state_contact(&self, log: &GroupId) -> Result<(), Status> {
        let allowed = match &self.principal {
            Principal::Hub(hub) => log.tambon() == hub,
            _ => false,
        };
        allowed
            .then_some(())
            .ok_or_else(|| denied(self, &format!("state the last contact of {log}")))
    }

    /// Read a group's raw log: whoever may write it, an operator, and a
    /// coordinator (an auditor) whose scope holds it.
    pub fn may_read_log(&self, log: &GroupId) -> Result<(), Status> {
        let allowed = match &self.principal {
            Principal::Group(own) => own == log,
            Principal::Hub(hub) => log.tambon() == hub,
            Principal::Coordinator { scope, .. } => scope_within(log.as_str(), scope),
            Principal::Operator(_) => true,
        };
        allowed
            .then_some(())
            .ok_or_else(|| denied(self, &format!("read the log of {log}")))
    }

    /// Read positions of `scope` (a province or tambon geocode, or a group
    /// id): a coordinator within its scope, a group its own figures, an
    /// operator anything. Hubs relay; they do not query.
    pub fn may_query(&self, scope: &str) -> Result<(), Status> {
        let allowed = match &self.principal {
            Principal::Coordinator { scope: own, .. } => scope_within(scope, own),
            Principal::Group(own) => scope == own.as_str(),
            Principal::Operator(_) => true,
            Principal::Hub(_) => false,
        };
        allowed
            .then_some(())
            .ok_or_else(|| denied(self, &format!("query {scope}")))
    }

    /// Refusal for a caller that pushes no log at all (coordinators and
    /// operators read; they never write a group's history).
    pub fn may_write_nothing(&self) -> Status {
        denied(self, "push any log")
    }

    /// The operator-only admin surface.
    pub fn must_be_operator(&self, what: &str) -> Result<(), Status> {
        match self.principal {
            Principal::Operator(_) => Ok(()),
            _ => Err(denied(self, what)),
        }
    }
}

/// Turns a connection's client certificate into a `Caller`, consulting the
/// credentials table on every call so that `sajja-hub revoke`, run in
/// another process, takes effect without a restart.
pub struct Gate {
    store: Arc<Mutex<Store>>,
}

impl Gate {
    pub fn new(store: Store) -> Gate {
        Gate {
            store: Arc::new(Mutex::new(store)),
        }
    }

    /// The caller of `request`. The certificate is read at once (the
    /// returned future holds nothing of the request); the credentials table
    /// is read on a blocking thread, off the async runtime.
    pub fn caller<T>(
        &self,
        request: &Request<T>,
    ) -> impl Future<Output = Result<Caller, Status>> + Send + 'static {
        let presented = presented(request);
        let store = self.store.clone();
        async move {
            let (principal, serial) = presented?;
            let lookup = serial.clone();
            let credential = blocking("credentials", move || {
                locked(&store, "hub")?
                    .credential(&lookup)
                    .map_err(lookup_error)
            })
            .await?;
            admit(principal, serial, credential)
        }
    }
}

/// The principal and serial a request's client certificate names.
fn presented<T>(request: &Request<T>) -> Result<(Principal, String), Status> {
    let certs = request.peer_certs().ok_or_else(|| {
        Status::unauthenticated(
            "no client certificate: connect with the enrolment bundle this hub issued",
        )
    })?;
    let leaf = certs
        .first()
        .ok_or_else(|| Status::unauthenticated("no client certificate"))?;
    read_certificate(leaf.as_ref())
        .map_err(|reason| Status::unauthenticated(format!("client certificate: {reason}")))
}

/// Admits a certificate only as the credential this hub recorded for its
/// serial: issued to the same principal and not revoked.
fn admit(
    principal: Principal,
    serial: String,
    credential: Option<crate::store::Credential>,
) -> Result<Caller, Status> {
    let refuse = |reason: String| {
        tracing::warn!(caller = %principal, serial = %serial, reason = %reason, "certificate refused");
        Status::unauthenticated(reason)
    };
    let Some(credential) = credential else {
        return Err(refuse(format!(
            "certificate {serial} ({principal}) is unknown to this hub"
        )));
    };
    if credential.principal != principal {
        return Err(refuse(format!(
            "certificate {serial} names {principal} but was issued to {}",
            credential.principal
        )));
    }
    if let Some(at) = credential.revoked_at {
        return Err(refuse(format!(
            "certificate {serial} ({principal}) was revoked at {}",
            crate::values::time::timestamp(at)
        )));
    }
    Ok(Caller { principal, serial })
}

pub fn lookup_error(e: StoreError) -> Status {
    Status::internal(format!("credentials: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::client_certs::issue;

    fn group(id: &str) -> Caller {
        Caller {
            principal: Principal::Group(GroupId::parse(id).unwrap()),
            serial: "01".into(),
        }
    }

    fn coordinator(scope: &str) -> Caller {
        Caller {
            principal: Principal::Coordinator {
                name: "somchai".into(),
                scope: scope.into(),
            },
            serial: "02".into(),
        }
    }

    #[test]
    fn every_principal_survives_its_uri() {
        for principal in [
            Principal::Group(GroupId::parse("230101-007").unwrap()),
            Principal::Hub("230102".into()),
            Principal::Coordinator {
                name: "somchai".into(),
                scope: "23".into(),
            },
            Principal::Operator("ann".into()),
        ] {
            assert_eq!(Principal::from_uri(&principal.uri()), Some(principal));
        }
        for bad in [
            "sajja://group/nope",
            "sajja://hub/2301",
            "sajja://coordinator/23",
            "sajja://coordinator/2/x",
            "sajja://operator/Ann Smith",
            "sajja://root/x",
            "https://group/230101-007",
        ] {
            assert_eq!(Principal::from_uri(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_group_writes_and_reads_only_its_own_log() {
        let a = GroupId::parse("230101-007").unwrap();
        let b = GroupId::parse("230101-008").unwrap();
        assert!(group("230101-007").may_write(&a).is_ok());
        let refused = group("230101-007").may_write(&b).unwrap_err();
        assert_eq!(refused.code(), tonic::Code::PermissionDenied);
        assert!(refused.message().contains("230101-008"));
        assert!(group("230101-007").may_read_log(&b).is_err());
        assert!(group("230101-007").may_query("230101").is_err());
    }

    #[test]
    fn a_child_hub_relays_only_its_own_tambon() {
        let hub = Caller {
            principal: Principal::Hub("230101".into()),
            serial: "03".into(),
        };
        assert!(
            hub.may_write(&GroupId::parse("230101-007").unwrap())
                .is_ok()
        );
        assert!(hub.may_write(&GroupId::hub_log("230101").unwrap()).is_ok());
        assert!(
            hub.may_write(&GroupId::parse("230102-001").unwrap())
                .is_err()
        );
        assert!(hub.may_write(&GroupId::hub_log("230102").unwrap()).is_err());
        assert!(hub.may_query("230101").is_err());
    }

    #[test]
    fn a_coordinator_reads_within_its_scope_and_writes_nothing() {
        assert!(coordinator("230101").may_query("230101").is_ok());
        assert!(coordinator("230101").may_query("230101-007").is_ok());
        assert!(coordinator("230101").may_query("230102").is_err());
        assert!(coordinator("230101").may_query("23").is_err());
        assert!(coordinator("23").may_query("230102").is_ok());
        let log = GroupId::parse("230101-007").unwrap();
        assert!(coordinator("230101").may_read_log(&log).is_ok());
        assert!(coordinator("230102").may_read_log(&log).is_err());
        assert!(coordinator("23").may_write(&log).is_err());
        assert!(coordinator("23").must_be_operator("revoke").is_err());
    }

    #[test]
    fn an_issued_certificate_names_its_principal() {
        let ca = crate::pki::certs::generate_ca("230101").unwrap();
        let principal = Principal::Coordinator {
            name: "somchai".into(),
            scope: "230101".into(),
        };
        let issued = issue(&ca, &principal, 30, 1_800_000_000).unwrap();
        let der = rustls::pki_types::pem::PemObject::from_pem_slice(issued.pem.cert.as_bytes())
            .map(|c: rustls::pki_types::CertificateDer<'static>| c)
            .unwrap();
        let (read, serial) = read_certificate(der.as_ref()).unwrap();
        assert_eq!(read, principal);
        assert_eq!(serial, issued.serial);
        assert_eq!(issued.not_after, 1_800_000_000 + 30 * 86_400);
    }
}
