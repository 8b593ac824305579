//! The hub link as the ledger holds it (from the group's enrolment bundle),
//! the hub's acknowledged position and the fork epoch.

use rusqlite::params;
use sajja_common::checkpoint::PublicKey;
use sajja_common::date::Date;
use sajja_edge::enrolment::Enrolment;

use super::error::{Damage, StoreError};
use super::fold::head_in_db;
use super::handle::Store;
use crate::link::{BundleError, ClientCert, StoredLink, check_bundle};

/// The sync position recorded from the hub.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncState {
    pub acked_seq: u64,
    /// Unix seconds of the last successful sync, if any.
    pub last_sync_at: Option<i64>,
}

impl Store {
    pub fn fork_epoch(&self) -> Result<u32, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT fork_epoch FROM meta", [], |r| r.get(0))?)
    }

    pub fn set_fork_epoch(&self, epoch: u32) -> Result<(), StoreError> {
        self.conn
            .execute("UPDATE meta SET fork_epoch = ?1", [epoch])?;
        Ok(())
    }

    /// Records that the hub has durably accepted everything up to `seq`.
    pub fn set_acked(&self, seq: u64, at_unix: i64) -> Result<(), StoreError> {
        let head = head_in_db(&self.conn)?;
        if seq > head {
            return Err(StoreError::AckBeyondHead {
                group: self.group.clone(),
                seq,
                head,
            });
        }
        self.conn.execute(
            "UPDATE meta SET hub_acked_seq = ?1, last_sync_at = ?2",
            params![seq as i64, at_unix],
        )?;
        Ok(())
    }

    pub fn acked(&self) -> Result<SyncState, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT hub_acked_seq, last_sync_at FROM meta", [], |r| {
                Ok(SyncState {
                    acked_seq: r.get::<_, i64>(0)? as u64,
                    last_sync_at: r.get(1)?,
                })
            })?)
    }

    /// The hub this node syncs with, as installed by `init --bundle` (or
    /// `connect`, before schema version 2).
    pub fn hub_link(&self) -> Result<Option<StoredLink>, StoreError> {
        type Row = (
            Option<String>,
            Option<Vec<u8>>,
            Option<String>,
            Option<Vec<u8>>,
            Option<Vec<u8>>,
            Option<String>,
            Option<i64>,
        );
        let (url, ca_pem, hub_id, cert_pem, key_pem, serial, not_after): Row =
            self.conn.query_row(
                "SELECT hub_url, hub_ca_pem, hub_id, hub_cert_pem, hub_key_pem,
                        hub_cert_serial, hub_cert_not_after
                 FROM meta",
                [],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ))
                },
            )?;
        let Some(url) = url else {
            return Ok(None);
        };
        let client = match (cert_pem, key_pem, serial, not_after) {
            (Some(cert_pem), Some(key_pem), Some(serial), Some(not_after)) => Some(ClientCert {
                cert_pem,
                key_pem,
                serial,
                not_after,
            }),
            (None, None, None, None) => None,
            // Written by one UPDATE, so a partial row is not ours.
            _ => {
                return Err(Damage::Meta(
                    "the hub link's client certificate is incomplete: install the group's bundle again (`sajja-node init --bundle FILE`)".into(),
                )
                .into());
            }
        };
        Ok(Some(StoredLink {
            url,
            hub_id,
            ca_pem: ca_pem.unwrap_or_default(),
            client,
        }))
    }

    /// Makes `bundle` this ledger's hub link, replacing any earlier one (a
    /// bundle re-issued after a revocation or before expiry is installed the
    /// same way). Refused unless it enrols this group under this ledger's key
    /// and has not expired at `now_unix`.
    pub fn set_hub_link(&self, bundle: &Enrolment, now_unix: i64) -> Result<(), StoreError> {
        self.check_own_bundle(bundle)?;
        if bundle.not_after <= now_unix {
            return Err(BundleError::Expired {
                expired: Date::thai_date_at(bundle.not_after),
                today: Date::thai_date_at(now_unix),
            }
            .into());
        }
        self.conn.execute(
            "UPDATE meta SET hub_url = ?1, hub_ca_pem = ?2, hub_id = ?3, hub_cert_pem = ?4,
                             hub_key_pem = ?5, hub_cert_serial = ?6, hub_cert_not_after = ?7",
            params![
                bundle.hub_url,
                bundle.ca.as_bytes(),
                bundle.hub_id,
                bundle.cert.as_bytes(),
                bundle.key.as_bytes(),
                bundle.serial,
                bundle.not_after
            ],
        )?;
        tracing::info!(group = %self.group, hub = %bundle.hub_url, serial = %bundle.serial, "enrolment bundle installed");
        Ok(())
    }

    /// Is `bundle` this ledger's? A bundle issued before a `rotate-key`
    /// binds a key this ledger signed with earlier: the certificate still
    /// names this group, so it stays valid until the hub re-issues it.
    pub fn check_own_bundle(&self, bundle: &Enrolment) -> Result<(), BundleError> {
        let bound = bundle.public_key.as_deref().and_then(PublicKey::from_hex);
        let key = match bound {
            Some(key) if self.had_key(&key) => key,
            _ => self.public_key(),
        };
        check_bundle(bundle, &self.group, &key)
    }
}
