use std::os::unix::fs::PermissionsExt;

use sajja_common::event::{Channel, Sex};
use sajja_common::ledger::Rule;
use sajja_common::money::Money;
use tempfile::TempDir;

use rusqlite::Connection;
use sajja_common::chain;
use sajja_common::checkpoint::SigningKey;
use sajja_common::date::Date;
use sajja_common::event::{Body, Rules};
use sajja_common::ids::{GroupId, MemberNo};
use sajja_common::verify::VerifyError;

use super::schema::schema_version;
use super::*;

fn date(text: &str) -> Date {
    text.parse().unwrap()
}

fn group() -> GroupId {
    GroupId::parse("230101-007").unwrap()
}

fn key() -> SigningKey {
    SigningKey::from_seed(&[7; 32]).unwrap()
}

fn new_store(dir: &TempDir) -> Store {
    let init = GroupInit {
        group: group(),
        name: "กลุ่มสัจจะบ้านหนองบัว".into(),
        tambon: "230101".into(),
        province: "23".into(),
        opened_on: date("2024-01-01"),
        rules: Rules::default(),
    };
    Store::create(&dir.path().join("ledger.sqlite"), init, key()).unwrap()
}

fn join(store: &mut Store, number: u32) {
    let mut batch = store.begin().unwrap();
    batch
        .push_with_register(
            date("2024-01-02"),
            Body::MemberJoined {
                member: MemberNo(number),
                birth_year: 1960,
                sex: Sex::Female,
            },
            Some(RegisterEntry {
                member: MemberNo(number),
                name: format!("สมหญิง {number}"),
                phone: None,
                national_id: None,
            }),
        )
        .unwrap();
    batch.commit().unwrap();
}

fn save(member: u32, baht: i64) -> Body {
    Body::SavingsDeposited {
        member: MemberNo(member),
        amount: Money::from_baht(baht),
        channel: Channel::Cash,
    }
}

/// Every row of every table, so a test can say "nothing changed at all".
fn snapshot(store: &Store) -> Vec<String> {
    let mut out = Vec::new();
    for (table, order) in [
        ("events", "seq"),
        ("book_lines", "account"),
        ("book_members", "member"),
        ("member_register", "member"),
        ("meta", "id"),
        ("imports", "id"),
    ] {
        let mut statement = store
            .conn
            .prepare(&format!("SELECT * FROM {table} ORDER BY {order}"))
            .unwrap();
        let columns = statement.column_count();
        let mut rows = statement.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            let values: Vec<String> = (0..columns)
                .map(|i| format!("{:?}", row.get_ref(i).unwrap()))
                .collect();
            out.push(format!("{table}: {}", values.join(", ")));
        }
    }
    out
}

#[test]
fn a_refused_append_leaves_the_database_and_the_books_exactly_as_they_were() {
    let dir = TempDir::new().unwrap();
    let mut store = new_store(&dir);
    join(&mut store, 1);
    store.append(date("2024-01-03"), save(1, 100)).unwrap();
    let (rows, books, head) = (snapshot(&store), store.books().clone(), store.head());

    let refused = store.append(
        date("2024-01-04"),
        Body::SavingsWithdrawn {
            member: MemberNo(1),
            amount: Money::from_baht(500),
            channel: Channel::Cash,
        },
    );
    match refused {
        Err(StoreError::Refused(refusal)) => {
            assert_eq!(refusal.seq, head.0 + 1);
            assert!(matches!(refusal.rule, Rule::SavingsOverdrawn { .. }));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(snapshot(&store), rows);
    assert_eq!(store.books(), &books);
    assert_eq!(store.head(), head);
}

#[test]
fn a_batch_with_one_refused_event_writes_none_of_them() {
    let dir = TempDir::new().unwrap();
    let mut store = new_store(&dir);
    join(&mut store, 1);
    let rows = snapshot(&store);
    {
        let mut batch = store.begin().unwrap();
        batch.push(date("2024-01-03"), save(1, 100)).unwrap();
        let error = batch.push(date("2024-01-03"), save(9, 100)).unwrap_err();
        assert!(matches!(
            refusal_rule(&error),
            Some(Rule::UnknownMember(MemberNo(9)))
        ));
    }
    assert_eq!(snapshot(&store), rows);
    assert_eq!(store.head().0, 3);
}

#[test]
fn appends_survive_a_reopen_and_the_derived_books_equal_a_refold() {
    let dir = TempDir::new().unwrap();
    let mut store = new_store(&dir);
    join(&mut store, 1);
    join(&mut store, 2);
    let saved = store.append(date("2024-01-03"), save(1, 100)).unwrap();
    store.append(date("2024-01-03"), save(2, 50)).unwrap();
    store
        .append(
            date("2024-01-05"),
            Body::Reversal {
                reversed_seq: saved,
                reason: "wrong member".into(),
            },
        )
        .unwrap();
    let (head, books) = (store.head(), store.books().clone());
    drop(store);

    let reopened = Store::open(&dir.path().join("ledger.sqlite")).unwrap();
    assert_eq!(reopened.head(), head);
    assert_eq!(reopened.books(), &books);
    assert_eq!(books.members[&MemberNo(1)].savings, Money::ZERO);
    let report = verify(reopened.path()).unwrap();
    assert_eq!((report.events, report.head), head);
    assert_eq!(reopened.register().unwrap()[&MemberNo(2)].name, "สมหญิง 2");
}

#[test]
fn the_database_file_is_private_to_its_owner() {
    let dir = TempDir::new().unwrap();
    let store = new_store(&dir);
    let mode = std::fs::metadata(store.path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let again = Store::create(
        store.path(),
        GroupInit {
            group: group(),
            name: "x".into(),
            tambon: "230101".into(),
            province: "23".into(),
            opened_on: date("2024-01-01"),
            rules: Rules::default(),
        },
        key(),
    );
    assert!(matches!(again, Err(StoreError::AlreadyExists(_))));
}

#[test]
fn a_group_in_the_wrong_tambon_leaves_no_file_behind() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("ledger.sqlite");
    let init = GroupInit {
        group: group(),
        name: "x".into(),
        tambon: "230102".into(),
        province: "23".into(),
        opened_on: date("2024-01-01"),
        rules: Rules::default(),
    };
    let error = Store::create(&path, init, key()).err().unwrap();
    assert!(matches!(
        refusal_rule(&error),
        Some(Rule::GroupNotInTambon { .. })
    ));
    assert!(!path.exists());
}

#[test]
fn migration_takes_an_empty_file_to_the_current_version_and_refuses_a_newer_one() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("empty.sqlite");
    let mut conn = Connection::open(&path).unwrap();
    assert_eq!(schema_version(&conn).unwrap(), 0);
    assert_eq!(migrate(&mut conn).unwrap(), SCHEMA_VERSION);
    // Running it again is a no-op, not a second CREATE TABLE.
    assert_eq!(migrate(&mut conn).unwrap(), SCHEMA_VERSION);
    let tables: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'
             AND name IN ('meta', 'secrets', 'events', 'member_register', 'book_lines', 'book_members')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 6);

    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(conn);
    assert!(matches!(
        Store::open(&path),
        Err(StoreError::SchemaTooNew { found, supported: SCHEMA_VERSION }) if found == SCHEMA_VERSION + 1
    ));
}

#[test]
fn a_ledger_opens_in_wal_mode_with_full_sync() {
    let dir = TempDir::new().unwrap();
    let store = new_store(&dir);
    let mode: String = store
        .conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    let synchronous: i64 = store
        .conn
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .unwrap();
    assert_eq!((mode.as_str(), synchronous), ("wal", 2));
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
}

#[test]
fn events_from_returns_bounded_chunks_that_cover_the_log_exactly() {
    let dir = TempDir::new().unwrap();
    let mut store = new_store(&dir);
    join(&mut store, 1);
    for i in 0..20 {
        store.append(date("2024-01-03"), save(1, 10 + i)).unwrap();
    }
    let head = store.head().0;
    let largest = store
        .events_from(1, usize::MAX)
        .unwrap()
        .iter()
        .map(|(_, b)| b.len())
        .max()
        .unwrap();
    let max_bytes = largest * 3;
    let mut next = 1;
    let mut all = Vec::new();
    while next <= head {
        let chunk = store.events_from(next, max_bytes).unwrap();
        assert!(!chunk.is_empty());
        assert!(chunk.iter().map(|(_, b)| b.len()).sum::<usize>() <= max_bytes);
        next = chunk.last().unwrap().0 + 1;
        all.extend(chunk);
    }
    let seqs: Vec<u64> = all.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, (1..=head).collect::<Vec<_>>());
    // A chunk too small for one event still carries one, so sync never stalls.
    assert_eq!(store.events_from(5, 0).unwrap().len(), 1);
    assert!(store.events_from(head + 1, max_bytes).unwrap().is_empty());
    // Hashes line up with the chain over the exact bytes.
    let mut hash = chain::genesis(store.group());
    for (seq, bytes) in &all {
        hash = chain::next(&hash, bytes);
        assert_eq!(store.hash_at(*seq).unwrap(), Some(hash));
    }
    assert_eq!(store.head().1, hash);
}

#[test]
fn a_rebuilt_node_takes_the_exact_bytes_and_refuses_a_tampered_one() {
    let dir = TempDir::new().unwrap();
    let mut source = new_store(&dir);
    join(&mut source, 1);
    source.append(date("2024-01-03"), save(1, 100)).unwrap();
    source.append(date("2024-01-04"), save(1, 20)).unwrap();
    let events: Vec<Vec<u8>> = source
        .events_from(1, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|(_, b)| b)
        .collect();

    let checkpoint = source.sign_checkpoint().unwrap();

    let path = dir.path().join("restored.sqlite");
    let mut restored = Store::create_empty(&path, group(), key()).unwrap();
    for index in [0, events.len() - 1] {
        let mut tampered = events.clone();
        let middle = tampered[index].len() / 2;
        tampered[index][middle] ^= 0x01;
        assert!(
            restored
                .append_verified_bytes(&tampered, &checkpoint)
                .is_err()
        );
        assert_eq!(restored.head().0, 0);
    }
    let mut dropped = events.clone();
    dropped.remove(2);
    assert!(matches!(
        restored.append_verified_bytes(&dropped, &checkpoint),
        Err(StoreError::Verify(VerifyError::SequenceGap {
            expected: 3,
            ..
        }))
    ));
    let other = SigningKey::from_seed(&[8; 32]).unwrap();
    let forged = checkpoint.checkpoint.clone().sign(&other);
    assert!(matches!(
        restored.append_verified_bytes(&events, &forged),
        Err(StoreError::Verify(VerifyError::BadSignature { .. }))
    ));
    assert_eq!(restored.head().0, 0);

    let head = restored
        .append_verified_bytes(&events, &checkpoint)
        .unwrap();
    assert_eq!(head, source.head());
    assert_eq!(restored.books(), source.books());
    assert_eq!(
        restored.events_from(1, usize::MAX).unwrap().len(),
        events.len()
    );
    assert!(verify(&path).is_ok());
}

#[test]
fn checkpoints_and_the_sync_position() {
    let dir = TempDir::new().unwrap();
    let mut store = new_store(&dir);
    join(&mut store, 1);
    let signed = store.sign_checkpoint().unwrap();
    assert!(signed.verify(&store.public_key()));
    assert_eq!(
        (
            signed.checkpoint.seq,
            signed.checkpoint.head,
            signed.checkpoint.fork_epoch
        ),
        (store.head().0, store.head().1, 0)
    );
    let earlier = store.sign_checkpoint_at(2).unwrap();
    assert!(earlier.verify(&store.public_key()));
    assert_eq!(Some(earlier.checkpoint.head), store.hash_at(2).unwrap());
    assert!(matches!(
        store.sign_checkpoint_at(99),
        Err(StoreError::BeyondHead { .. })
    ));
    store.set_fork_epoch(2).unwrap();
    assert_eq!(store.sign_checkpoint().unwrap().checkpoint.fork_epoch, 2);

    assert_eq!(
        store.acked().unwrap(),
        SyncState {
            acked_seq: 0,
            last_sync_at: None
        }
    );
    store.set_acked(2, 1_700_000_000).unwrap();
    assert_eq!(
        store.acked().unwrap(),
        SyncState {
            acked_seq: 2,
            last_sync_at: Some(1_700_000_000)
        }
    );
    assert!(matches!(
        store.set_acked(99, 0),
        Err(StoreError::AckBeyondHead { .. })
    ));
}

#[test]
fn a_second_handle_sees_appends_made_by_another() {
    let dir = TempDir::new().unwrap();
    let mut first = new_store(&dir);
    let mut second = Store::open(first.path()).unwrap();
    join(&mut first, 1);
    // The second handle catches up before validating, so it neither forks the
    // log nor validates against stale books.
    second.append(date("2024-01-03"), save(1, 10)).unwrap();
    assert_eq!(second.head().0, 4);
    first.refresh().unwrap();
    assert_eq!(first.books(), second.books());
}

#[test]
fn verify_names_a_derived_row_that_drifted_from_the_log() {
    let dir = TempDir::new().unwrap();
    let mut store = new_store(&dir);
    join(&mut store, 1);
    store.append(date("2024-01-03"), save(1, 100)).unwrap();
    store
        .conn
        .execute("UPDATE book_members SET savings = savings + 1", [])
        .unwrap();
    let error = verify(store.path()).unwrap_err();
    assert!(
        matches!(&error, StoreError::Damaged(Damage::Derived(what)) if what.contains("member 1")),
        "{error}"
    );
    rebuild_derived(store.path()).unwrap();
    assert!(verify(store.path()).is_ok());
}

#[test]
fn two_imports_of_the_same_file_racing_cannot_both_commit() {
    // Proves the digest is checked inside the commit's transaction: a batch
    // prepared before another process imported the same bytes is refused at
    // commit, writes nothing, and leaves the first import as the only record.
    let dir = TempDir::new().unwrap();
    let mut first = new_store(&dir);
    join(&mut first, 1);
    let mut second = Store::open(&dir.path().join("ledger.sqlite")).unwrap();
    let source = ImportSource {
        sha256: [9; 32],
        file_name: "book.csv".into(),
        again: false,
    };

    let mut late = second.begin().unwrap();
    late.push(date("2024-01-03"), save(1, 100)).unwrap();
    late.record_import(source.clone());
    // `late` holds no lock until it commits: the other import lands first.
    let mut early = first.begin().unwrap();
    early.push(date("2024-01-03"), save(1, 100)).unwrap();
    early.record_import(source.clone());
    assert_eq!(early.commit().unwrap(), Some((4, 4)));
    let before = snapshot(&first);
    assert!(matches!(late.commit(), Err(StoreError::Concurrent { .. })));

    // Prepared again on the new head, it meets the record of the first import.
    let mut again = second.begin().unwrap();
    again.push(date("2024-01-03"), save(1, 100)).unwrap();
    again.record_import(source.clone());
    match again.commit() {
        Err(StoreError::AlreadyImported {
            first_seq: 4,
            last_seq: 4,
            ..
        }) => {}
        other => panic!("expected AlreadyImported, got {other:?}"),
    }
    assert_eq!(snapshot(&first), before);
    let imports = first.imports().unwrap();
    assert_eq!(imports.len(), 1);
    assert_eq!(
        (
            imports[0].events,
            imports[0].first_seq,
            imports[0].file_name.as_str()
        ),
        (1, 4, "book.csv")
    );

    // With `again`, the same bytes are recorded a second time, on purpose.
    let mut on_purpose = second.begin().unwrap();
    on_purpose.push(date("2024-01-03"), save(1, 100)).unwrap();
    on_purpose.record_import(ImportSource {
        again: true,
        ..source
    });
    assert_eq!(on_purpose.commit().unwrap(), Some((5, 5)));
    let imports = second.imports().unwrap();
    assert_eq!((imports.len(), imports[1].again), (2, true));
}
