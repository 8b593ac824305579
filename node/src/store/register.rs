//! The member register: names, phones and ID numbers, local to this file and
//! never in an event.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, TransactionBehavior, params};
use sajja_common::ids::MemberNo;
use sajja_common::ledger::{Refusal, Rule};

use super::error::StoreError;
use super::handle::Store;

/// A member's private register row: it stays in this file and never enters an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterEntry {
    pub member: MemberNo,
    pub name: String,
    pub phone: Option<String>,
    pub national_id: Option<String>,
}

/// A correction of a member's register row; `None` leaves a field as it is,
/// an empty phone or ID number clears it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegisterEdit {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub national_id: Option<String>,
}

impl Store {
    /// The member register: local only, never in an event.
    pub fn register(&self) -> Result<BTreeMap<MemberNo, RegisterEntry>, StoreError> {
        let mut statement = self
            .conn
            .prepare("SELECT member, name, phone, national_id FROM member_register")?;
        let rows = statement.query_map([], |r| {
            Ok(RegisterEntry {
                member: MemberNo(r.get(0)?),
                name: r.get(1)?,
                phone: r.get(2)?,
                national_id: r.get(3)?,
            })
        })?;
        let mut out = BTreeMap::new();
        for row in rows {
            let row = row?;
            out.insert(row.member, row);
        }
        Ok(out)
    }

    /// Corrects member `member`'s register row (or writes the row a restore
    /// left out: then `edit.name` is required). Local only: no event is
    /// written, so nothing of it reaches the log or a hub. Returns the row.
    pub fn edit_register(
        &mut self,
        member: MemberNo,
        edit: &RegisterEdit,
    ) -> Result<RegisterEntry, StoreError> {
        self.refresh()?;
        if !self.books.members.contains_key(&member) {
            return Err(StoreError::Refused(Refusal {
                group: self.group.clone(),
                seq: self.head_seq + 1,
                rule: Rule::UnknownMember(member),
            }));
        }
        let cleared = |value: &Option<String>| {
            value
                .as_ref()
                .map(|v| Some(v.trim().to_string()).filter(|v| !v.is_empty()))
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current: Option<RegisterEntry> = tx
            .query_row(
                "SELECT member, name, phone, national_id FROM member_register WHERE member = ?1",
                [member.0],
                |r| {
                    Ok(RegisterEntry {
                        member: MemberNo(r.get(0)?),
                        name: r.get(1)?,
                        phone: r.get(2)?,
                        national_id: r.get(3)?,
                    })
                },
            )
            .optional()?;
        let given = edit
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty());
        let name = match (given, &current) {
            (Some(name), _) => name.to_string(),
            (None, Some(current)) => current.name.clone(),
            _ => {
                return Err(StoreError::NoRegisterRow {
                    group: self.group.clone(),
                    member,
                });
            }
        };
        let entry = RegisterEntry {
            member,
            name,
            phone: cleared(&edit.phone)
                .unwrap_or_else(|| current.as_ref().and_then(|c| c.phone.clone())),
            national_id: cleared(&edit.national_id)
                .unwrap_or_else(|| current.as_ref().and_then(|c| c.national_id.clone())),
        };
        tx.execute(
            "INSERT OR REPLACE INTO member_register (member, name, phone, national_id)
             VALUES (?1, ?2, ?3, ?4)",
            params![entry.member.0, entry.name, entry.phone, entry.national_id],
        )?;
        tx.commit()?;
        // The member number only: a name never goes to a log line.
        tracing::info!(group = %self.group, member = member.0, "member register corrected");
        Ok(entry)
    }
}
