//! The client certificates this hub issued, and their revocation.

use rusqlite::{OptionalExtension, params};

use super::handle::*;
use crate::values::principal::Principal;

/// A client certificate this hub issued, as `revoke` and every call see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    /// The certificate's serial number, hex.
    pub serial: String,
    pub principal: Principal,
    pub issued_at: i64,
    pub not_after: i64,
    pub revoked_at: Option<i64>,
}

pub(super) fn credential_row(
    r: &rusqlite::Row<'_>,
) -> rusqlite::Result<Result<Credential, StoreError>> {
    let uri: String = r.get(1)?;
    let Some(principal) = Principal::from_uri(&uri) else {
        return Ok(Err(damaged("credential principal")));
    };
    Ok(Ok(Credential {
        serial: r.get(0)?,
        principal,
        issued_at: r.get(2)?,
        not_after: r.get(3)?,
        revoked_at: r.get(4)?,
    }))
}

impl Store {
    pub fn add_credential(&self, credential: &Credential) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO credentials (serial, principal, issued_at, not_after, revoked_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                credential.serial,
                credential.principal.uri(),
                credential.issued_at,
                credential.not_after,
                credential.revoked_at
            ],
        )?;
        Ok(())
    }

    pub fn credential(&self, serial: &str) -> Result<Option<Credential>, StoreError> {
        self.conn
            .query_row(
                "SELECT serial, principal, issued_at, not_after, revoked_at
                 FROM credentials WHERE serial = ?1",
                params![serial],
                credential_row,
            )
            .optional()?
            .transpose()
    }

    /// Every credential, newest first.
    pub fn credentials(&self) -> Result<Vec<Credential>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT serial, principal, issued_at, not_after, revoked_at
             FROM credentials ORDER BY issued_at DESC, serial",
        )?;
        let rows = stmt.query_map([], credential_row)?;
        rows.map(|row| row?).collect()
    }

    /// Revokes every live certificate of `principal`; returns their serials.
    pub fn revoke_principal(
        &self,
        principal: &Principal,
        now: i64,
    ) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare(
            "UPDATE credentials SET revoked_at = ?2
             WHERE principal = ?1 AND revoked_at IS NULL RETURNING serial",
        )?;
        let rows = stmt.query_map(params![principal.uri(), now], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Revokes one certificate; false when there is no live one by that serial.
    pub fn revoke_serial(&self, serial: &str, now: i64) -> Result<bool, StoreError> {
        let changed = self.conn.execute(
            "UPDATE credentials SET revoked_at = ?2 WHERE serial = ?1 AND revoked_at IS NULL",
            params![serial, now],
        )?;
        Ok(changed == 1)
    }
}
