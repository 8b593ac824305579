//! The exchange's file: what a refusal leaves, what reopening checks, and
//! what damage at rest looks like.

use sajja_common::Money;
use sajja_common::checkpoint::SigningKey;
use sajja_common::date::Date;
use sajja_common::exchange::{
    AccountNo, Category, Credits, ExchangeBody, ExchangeTerms, HolderKind,
};
use sajja_common::ids::{GroupId, PoolId};

use super::{ExchangeStore, ExchangeStoreError, Holder};

fn day(text: &str) -> Date {
    text.parse().unwrap()
}

fn terms() -> ExchangeTerms {
    ExchangeTerms {
        name: "ตลาดบุญ".into(),
        unit_name: "บุญ".into(),
        rate_per_credit: Money::from_baht(1),
        reserve_pool: PoolId::parse("230101-XCH").unwrap(),
        policy_min_coverage_basis_points: 5_000,
        concentration_limit_basis_points: 2_500,
    }
}

/// An exchange with accounts 1 and 2 (limit 300 each), account 1 owing 120.
fn exchange(dir: &std::path::Path) -> ExchangeStore {
    let log = GroupId::parse("230101-X01").unwrap();
    let key = SigningKey::from_seed(&[5; 32]).unwrap();
    let mut store = ExchangeStore::create(
        &dir.join("exchange.sqlite"),
        log,
        terms(),
        day("2026-11-01"),
        key,
    )
    .unwrap();
    for account in [1, 2] {
        let opens = ExchangeBody::AccountOpened {
            account: AccountNo(account),
            holder: HolderKind::Producer,
            credit_limit: Credits::from_whole(300),
        };
        let holder = Holder {
            name: format!("ผู้ถือบัญชี {account}"),
            phone: None,
        };
        store
            .append(day("2026-11-01"), opens, Some(&holder))
            .unwrap();
    }
    store
        .append(day("2026-11-02"), pays(1, 2, 120), None)
        .unwrap();
    store
}

fn pays(from: u32, to: u32, credits: i64) -> ExchangeBody {
    ExchangeBody::Transfer {
        from: AccountNo(from),
        to: AccountNo(to),
        amount: Credits::from_whole(credits),
        category: Category::Produce,
        memo: String::new(),
    }
}

#[test]
fn a_refused_transfer_leaves_the_file_and_the_books_as_they_were() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = exchange(dir.path());
    let before = (store.head(), store.books().clone());
    let refused = store.append(day("2026-11-03"), pays(1, 2, 200), None);
    assert!(
        matches!(&refused, Err(ExchangeStoreError::Refused(r)) if r.rule.name() == "limit_breached"),
        "{refused:?}"
    );
    assert_eq!((store.head(), store.books().clone()), before);
    let reopened = ExchangeStore::open(store.path()).unwrap();
    assert_eq!(reopened.head(), before.0);
    assert_eq!(reopened.events().unwrap().len(), 4);
}

#[test]
fn an_import_is_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = exchange(dir.path());
    let head = store.head();
    let entries = vec![
        (day("2026-11-03"), pays(2, 1, 50), None),
        (day("2026-11-04"), pays(1, 2, 500), None),
    ];
    assert!(store.append_all(entries).is_err());
    assert_eq!(store.head(), head);
    assert_eq!(ExchangeStore::open(store.path()).unwrap().head(), head);
}

#[test]
fn names_stay_in_the_register_and_never_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let store = exchange(dir.path());
    assert_eq!(
        store.holder(AccountNo(1)).unwrap().map(|h| h.name),
        Some("ผู้ถือบัญชี 1".to_string())
    );
    let bytes: Vec<Vec<u8>> = store
        .events_from(1, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|(_, b)| b)
        .collect();
    let name = "ผู้ถือบัญชี".as_bytes();
    assert!(
        bytes
            .iter()
            .all(|b| !b.windows(name.len()).any(|w| w == name))
    );
}

#[test]
fn a_byte_changed_at_rest_is_named_when_the_file_is_opened() {
    let dir = tempfile::tempdir().unwrap();
    let path = exchange(dir.path()).path().to_path_buf();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mut bytes: Vec<u8> = conn
        .query_row("SELECT bytes FROM events WHERE seq = 4", [], |r| r.get(0))
        .unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    conn.execute("UPDATE events SET bytes = ?1 WHERE seq = 4", [bytes])
        .unwrap();
    drop(conn);
    match ExchangeStore::open(&path) {
        Err(ExchangeStoreError::Damaged(what)) => assert!(what.contains("seq 4"), "{what}"),
        Err(other) => panic!("expected damage, got {other}"),
        Ok(_) => panic!("a changed byte was not noticed"),
    }
}

#[test]
fn only_an_exchange_log_id_makes_an_exchange() {
    let dir = tempfile::tempdir().unwrap();
    let group = GroupId::parse("230101-007").unwrap();
    let key = SigningKey::from_seed(&[5; 32]).unwrap();
    let made = ExchangeStore::create(
        &dir.path().join("exchange.sqlite"),
        group,
        terms(),
        day("2026-11-01"),
        key,
    );
    assert!(matches!(made, Err(ExchangeStoreError::NotAnExchange(_))));
    assert!(!dir.path().join("exchange.sqlite").exists());
}

#[test]
fn the_same_file_is_never_imported_twice() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = exchange(dir.path());
    let rows = || vec![(day("2026-11-03"), pays(2, 1, 5), None)];
    let (first, last) = store.import_file(rows(), [7; 32]).unwrap();
    assert_eq!((first, last), (5, 5));
    let again = store.import_file(rows(), [7; 32]);
    assert!(
        matches!(
            again,
            Err(ExchangeStoreError::AlreadyImported { first: 5, last: 5 })
        ),
        "{again:?}"
    );
    assert_eq!(store.head().0, 5);
    // Another file with the same rows is a new import.
    assert_eq!(store.import_file(rows(), [8; 32]).unwrap(), (6, 6));
}
