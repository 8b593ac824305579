//! The log read whole: every row checked against the chain, its stored hash
//! and the ledger rules, folded into the books; and the derived book tables
//! written from, or compared with, that fold.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params};
use sajja_common::chain::Hash;
use sajja_common::checkpoint::SigningKey;
use sajja_common::event::Event;
use sajja_common::ids::GroupId;
use sajja_common::ledger::{Books, reversal_target};
use sajja_common::verify::ChainVerifier;

use super::error::{Damage, StoreError};
use super::keys::Keys;

pub(super) fn damage_at(seq: u64, reason: impl ToString) -> StoreError {
    StoreError::Damaged(Damage::Event {
        seq,
        reason: reason.to_string(),
    })
}

/// Reads and decodes one stored event, for a reversal's target.
pub(super) fn load_event(conn: &Connection, seq: u64) -> Result<Option<Event>, StoreError> {
    let bytes: Option<Vec<u8>> = conn
        .query_row(
            "SELECT bytes FROM events WHERE seq = ?1",
            [seq as i64],
            |r| r.get(0),
        )
        .optional()?;
    match bytes {
        None => Ok(None),
        Some(bytes) => Event::decode(&bytes)
            .map(Some)
            .map_err(|e| damage_at(seq, format!("undecodable event bytes: {e}"))),
    }
}

pub(super) fn head_in_db(conn: &Connection) -> Result<u64, StoreError> {
    let seq: i64 = conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))?;
    Ok(seq as u64)
}

/// Streams the whole log in order, checking each row against the chain and its
/// stored hash and validating it with the ledger rules, and returns the books,
/// the head and any `PeriodClosed` whose digest disagrees. Rows are read one at
/// a time, so memory does not grow with the log.
pub(super) fn fold_log(
    conn: &Connection,
    group: &GroupId,
    keys: &Keys,
) -> Result<(Books, Hash, Vec<u64>), StoreError> {
    let mut verifier = ChainVerifier::new(group.clone(), keys.key_for(0));
    let mut books = Books::new(group.clone());
    let mut statement =
        conn.prepare("SELECT seq, bytes, hash, business_date FROM events ORDER BY seq")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let expected = verifier.seq() + 1;
        let seq: i64 = row.get(0)?;
        if seq as u64 != expected {
            return Err(damage_at(
                expected,
                format!("missing from the log (next stored row is seq {seq})"),
            ));
        }
        let bytes = row
            .get_ref(1)?
            .as_blob()
            .map_err(|e| damage_at(expected, format!("stored bytes: {e}")))?;
        let event = verifier.push(bytes).map_err(|e| damage_at(expected, e))?;
        // A hub operator's re-key is in no event; the key table records it.
        let recorded = keys.key_for(expected);
        if verifier.key() != recorded {
            verifier.adopt_key(recorded);
        }
        let stored = row
            .get_ref(2)?
            .as_blob()
            .ok()
            .and_then(Hash::from_slice)
            .ok_or_else(|| damage_at(expected, "stored hash is not 32 bytes"))?;
        verifier
            .expect_head(&stored)
            .map_err(|e| damage_at(expected, e))?;
        let business_date: i64 = row.get(3)?;
        if business_date != i64::from(event.date.days()) {
            return Err(damage_at(
                expected,
                "stored business date differs from the event's",
            ));
        }
        let original = match reversal_target(&event) {
            Some(target) if target < expected => load_event(conn, target)?,
            _ => None,
        };
        books
            .apply(&event, original.as_ref())
            .map_err(|refusal| damage_at(expected, refusal))?;
    }
    let mismatched = books
        .closes
        .iter()
        .filter(|c| !c.matches)
        .map(|c| c.seq)
        .collect();
    Ok((books, verifier.head(), mismatched))
}

/// Rewrites the derived books from `new`. With `old`, only members whose
/// figures changed are touched, so a one-event append costs a few rows.
pub(super) fn write_derived(
    conn: &Connection,
    old: Option<&Books>,
    new: &Books,
) -> Result<(), StoreError> {
    conn.execute("DELETE FROM book_lines", [])?;
    {
        let mut insert = conn.prepare_cached(
            "INSERT INTO book_lines (account, debit, credit) VALUES (?1, ?2, ?3)",
        )?;
        for line in new.trial_balance() {
            insert.execute(params![
                line.account,
                line.debit.satang(),
                line.credit.satang()
            ])?;
        }
    }
    match old {
        None => {
            conn.execute("DELETE FROM book_members", [])?;
        }
        Some(old) => {
            let mut delete = conn.prepare_cached("DELETE FROM book_members WHERE member = ?1")?;
            for member in old.members.keys() {
                if !new.members.contains_key(member) {
                    delete.execute([member.0])?;
                }
            }
        }
    }
    let mut upsert = conn.prepare_cached(
        "INSERT OR REPLACE INTO book_members (member, savings, contributed, active)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (number, member) in &new.members {
        let unchanged = old.and_then(|o| o.members.get(number)).is_some_and(|o| {
            o.savings == member.savings
                && o.contributed == member.contributed
                && o.is_active() == member.is_active()
        });
        if !unchanged {
            upsert.execute(params![
                number.0,
                member.savings.satang(),
                member.contributed.satang(),
                member.is_active()
            ])?;
        }
    }
    conn.execute("UPDATE meta SET books_seq = ?1", [new.last_seq as i64])?;
    Ok(())
}

/// Compares the stored derived books with a fresh fold; names the first difference.
pub(super) fn check_derived(conn: &Connection, books: &Books) -> Result<(), StoreError> {
    let derived = |what: String| StoreError::Damaged(Damage::Derived(what));
    let books_seq: i64 = conn.query_row("SELECT books_seq FROM meta", [], |r| r.get(0))?;
    if books_seq as u64 != books.last_seq {
        return Err(derived(format!(
            "stored books are at seq {books_seq}, the log at seq {}",
            books.last_seq
        )));
    }
    let mut stored: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let mut statement = conn.prepare("SELECT account, debit, credit FROM book_lines")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        stored.insert(row.get(0)?, (row.get(1)?, row.get(2)?));
    }
    let folded: BTreeMap<String, (i64, i64)> = books
        .trial_balance()
        .into_iter()
        .map(|l| (l.account, (l.debit.satang(), l.credit.satang())))
        .collect();
    for account in stored.keys().chain(folded.keys()) {
        let (s, f) = (stored.get(account), folded.get(account));
        if s != f {
            return Err(derived(format!(
                "account {account}: stored {s:?}, re-fold {f:?} (debit, credit in satang)"
            )));
        }
    }
    let mut stored: BTreeMap<u32, (i64, i64, bool)> = BTreeMap::new();
    let mut statement =
        conn.prepare("SELECT member, savings, contributed, active FROM book_members")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        stored.insert(row.get(0)?, (row.get(1)?, row.get(2)?, row.get(3)?));
    }
    let folded: BTreeMap<u32, (i64, i64, bool)> = books
        .members
        .iter()
        .map(|(n, m)| {
            (
                n.0,
                (m.savings.satang(), m.contributed.satang(), m.is_active()),
            )
        })
        .collect();
    for member in stored.keys().chain(folded.keys()) {
        let (s, f) = (stored.get(member), folded.get(member));
        if s != f {
            return Err(derived(format!(
                "member {member}: stored {s:?}, re-fold {f:?} (savings, contributed, active)"
            )));
        }
    }
    Ok(())
}

pub(super) fn read_identity(conn: &Connection) -> Result<(GroupId, SigningKey), StoreError> {
    let group: Option<String> = conn
        .query_row("SELECT group_id FROM meta WHERE id = 1", [], |r| r.get(0))
        .optional()?;
    let group = group.ok_or_else(|| Damage::Meta("the meta row is missing".into()))?;
    let group = GroupId::parse(&group).map_err(|e| Damage::Meta(e.to_string()))?;
    let seed: Option<Vec<u8>> = conn
        .query_row("SELECT signing_seed FROM secrets WHERE id = 1", [], |r| {
            r.get(0)
        })
        .optional()?;
    let seed = seed.ok_or_else(|| Damage::Meta("the signing key is missing".into()))?;
    Ok((group, SigningKey::from_seed(&seed)?))
}
