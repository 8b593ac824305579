//! The hub link and the enrolment-bundle checks: whether a bundle is this
//! group's own, for this ledger's key, at an address a node may use; and the
//! link as the ledger stores it. Pure values and rules: no SQLite, no network.

use sajja_common::checkpoint::PublicKey;
use sajja_common::date::Date;
use sajja_common::ids::GroupId;
use sajja_edge::enrolment::{Enrolment, Role};
use thiserror::Error;

/// The one address rule, shared with the hub and `check-config`.
pub use sajja_edge::enrolment::check_hub_url;

/// The hub link as the ledger holds it.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredLink {
    /// `https://host:port`.
    pub url: String,
    /// The hub's geocode; unknown for a link stored before schema version 2.
    pub hub_id: Option<String>,
    /// The hub's CA certificate (PEM).
    pub ca_pem: Vec<u8>,
    /// `None` for a link stored before hubs required client certificates.
    pub client: Option<ClientCert>,
}

/// The client certificate a hub issued to this group at enrolment.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCert {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
    /// Hex, as `sajja-hub revoke` names it.
    pub serial: String,
    /// Unix seconds.
    pub not_after: i64,
}

// Neither Debug shows the client key: these values reach log lines and errors.
impl std::fmt::Debug for StoredLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredLink")
            .field("url", &self.url)
            .field("hub_id", &self.hub_id)
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ClientCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCert")
            .field("serial", &self.serial)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

/// Why an enrolment bundle cannot be this ledger's hub link. A hub accepts a
/// group's log only under the key the bundle binds, so a bundle for another
/// group or another key would fail later, at the hub, far less clearly.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum BundleError {
    #[error(
        "this bundle enrols a {role} ({subject}), not a group: ask the hub operator for this group's bundle (`sajja-hub enrol group {group} --key KEY`)"
    )]
    NotAGroup {
        role: &'static str,
        subject: String,
        group: GroupId,
    },
    #[error("this bundle enrols {bundle}, this ledger is {ledger}")]
    OtherGroup { bundle: String, ledger: GroupId },
    #[error(
        "the bundle binds key {bundle} but this ledger signs with {ledger}: give the hub operator this ledger's public key (`sajja-node status` shows it) and install the bundle issued for it"
    )]
    OtherKey { bundle: String, ledger: PublicKey },
    #[error(
        "the bundle binds no group key: ask the hub operator to enrol this ledger's key (`sajja-hub enrol group {group} --key {ledger}`)"
    )]
    NoKey { group: GroupId, ledger: PublicKey },
    #[error("the bundle's hub address: {0}")]
    Url(String),
    #[error(
        "the bundle's certificate expired on {expired} (today here is {today}): ask the hub operator for a new bundle"
    )]
    Expired { expired: Date, today: Date },
}

/// A bundle's text as it may appear in a message or on screen: it came from a
/// file, so control characters are dropped and its length is bounded.
pub fn printable(text: &str) -> String {
    const SHOWN_MAX: usize = 80;
    let mut out: String = text
        .chars()
        .filter(|c| !c.is_control())
        .take(SHOWN_MAX)
        .collect();
    if text.chars().count() > SHOWN_MAX {
        out.push('…');
    }
    out
}

/// Checks that `bundle` enrols `group` under `key`: the group's own bundle for
/// this ledger. Expiry is not checked here: a running node keeps trying with
/// the certificate it has (a Pi's clock may be wrong), and `status` warns.
pub fn check_bundle(
    bundle: &Enrolment,
    group: &GroupId,
    key: &PublicKey,
) -> Result<(), BundleError> {
    if bundle.role != Role::Group {
        return Err(BundleError::NotAGroup {
            role: bundle.role.name(),
            subject: printable(&bundle.subject),
            group: group.clone(),
        });
    }
    if bundle.subject != group.as_str() {
        return Err(BundleError::OtherGroup {
            bundle: printable(&bundle.subject),
            ledger: group.clone(),
        });
    }
    let Some(bound) = bundle.public_key.as_deref() else {
        return Err(BundleError::NoKey {
            group: group.clone(),
            ledger: *key,
        });
    };
    if PublicKey::from_hex(bound).as_ref() != Some(key) {
        return Err(BundleError::OtherKey {
            bundle: printable(bound),
            ledger: *key,
        });
    }
    check_hub_url(&bundle.hub_url).map_err(BundleError::Url)
}
