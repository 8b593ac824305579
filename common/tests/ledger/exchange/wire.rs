//! The exchange's wire: every kind round-trips to its own bytes, structural
//! damage is refused by name, and hostile bytes never panic anything.

use proptest::prelude::*;
use prost::Message;
use sajja_common::event::DecodeError;
use sajja_common::exchange::{
    Category, Credits, ExchangeBody, ExchangeBooks, ExchangeEvent, HolderKind,
};
use sajja_common::verify::ChainVerifier;
use sajja_common::{Event, GroupId, Money, PoolId, pb};

use super::support::*;

fn every_kind() -> Vec<ExchangeBody> {
    vec![
        ExchangeBody::ExchangeOpened(terms()),
        opens(1, member("230101-007", 12), 500),
        opens(2, HolderKind::Producer, 500),
        opens(3, HolderKind::Enterprise, 0),
        opens(4, HolderKind::Shop, 300),
        opens(5, HolderKind::Group(group("230101-001")), 2_000),
        limit(1, 800, true),
        pays(1, 2, cr(120), Category::Produce, "ผักอินทรีย์"),
        pays(2, 1, Credits::from_centi(1), Category::Labour, ""),
        issues(5, 1, 100, 10),
        returns(40, 60, 4),
        ExchangeBody::AccountClosed { account: a(3) },
        ExchangeBody::AccountDefaulted {
            account: a(1),
            written_off: cr(120),
            settled: Money::from_baht(120),
            from_pool: PoolId::parse(RESERVE_POOL).unwrap(),
        },
        ExchangeBody::Reversal {
            reversed_seq: 8,
            reason: "บันทึกซ้ำ".into(),
        },
    ]
}

#[test]
fn every_kind_decodes_to_itself_and_re_encodes_to_its_own_bytes() {
    // Proves the one encoding: decode(encode(e)) = e and encode(decode(b)) = b.
    for (n, body) in every_kind().into_iter().enumerate() {
        let e = event(n as u64 + 1, d("2026-11-03"), body);
        let bytes = e.encode();
        let back = ExchangeEvent::decode(&bytes).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.encode(), bytes);
    }
}

fn raw(body: pb::exchange_event::Body) -> pb::ExchangeEvent {
    pb::ExchangeEvent {
        log_id: LOG.into(),
        seq: 1,
        business_date: d("2026-11-03").days(),
        recorded_at: 0,
        body: Some(body),
    }
}

fn decode_error(message: pb::ExchangeEvent) -> DecodeError {
    ExchangeEvent::decode(&message.encode_to_vec()).unwrap_err()
}

#[test]
fn structurally_bad_events_are_refused_by_field() {
    // Proves decoding refuses wrong log ids, holders that don't add up,
    // unknown enums and unbounded text, naming the field.
    use pb::exchange_event::Body as B;
    let holder = |kind: pb::HolderKind, group_id: &str, member: u32| {
        raw(B::AccountOpened(pb::AccountOpened {
            account: 1,
            holder: kind as i32,
            group_id: group_id.into(),
            member,
            credit_limit: 0,
        }))
    };
    let field = |e: DecodeError| match e {
        DecodeError::Invalid { field, .. }
        | DecodeError::TooLong { field, .. }
        | DecodeError::UnknownEnum { field, .. } => field,
        other => panic!("{other}"),
    };
    for (message, expected) in [
        (holder(pb::HolderKind::Member, "230101-007", 0), "member"),
        (holder(pb::HolderKind::Member, "230101-000", 3), "group_id"),
        (holder(pb::HolderKind::Member, "230101-X02", 3), "group_id"),
        (holder(pb::HolderKind::Group, "230101-007", 3), "member"),
        (holder(pb::HolderKind::Shop, "230101-007", 0), "group_id"),
        (holder(pb::HolderKind::Producer, "", 4), "member"),
        (
            raw(B::Transfer(pb::CreditTransfer {
                category: 9,
                ..Default::default()
            })),
            "category",
        ),
        (
            raw(B::Transfer(pb::CreditTransfer {
                memo: "ก".repeat(200),
                ..Default::default()
            })),
            "memo",
        ),
        (
            raw(B::ExchangeOpened(pb::ExchangeOpened {
                name: "ตลาด".into(),
                unit_name: "บุญ".repeat(6),
                reserve_pool: RESERVE_POOL.into(),
                ..Default::default()
            })),
            "unit_name",
        ),
        (
            raw(B::AccountDefaulted(pb::AccountDefaulted {
                from_pool: "nowhere".into(),
                ..Default::default()
            })),
            "from_pool",
        ),
        (
            pb::ExchangeEvent {
                log_id: "230101-007".into(),
                ..raw(B::AccountClosed(pb::AccountClosed { account: 1 }))
            },
            "log_id",
        ),
        (
            pb::ExchangeEvent {
                seq: 0,
                ..raw(B::AccountClosed(pb::AccountClosed { account: 1 }))
            },
            "seq",
        ),
    ] {
        assert_eq!(field(decode_error(message)), expected);
    }
    assert!(matches!(
        decode_error(pb::ExchangeEvent {
            body: None,
            ..raw(B::AccountClosed(pb::AccountClosed { account: 1 }))
        }),
        DecodeError::MissingBody
    ));
}

#[test]
fn group_and_exchange_events_cannot_pass_for_each_other() {
    // Proves a group event under an exchange log's id is refused, and the
    // verifier of an exchange log decodes exchange events only.
    let mut group_event = crate::support::event(
        crate::support::group(),
        1,
        d("2026-11-03"),
        crate::support::group_opened(),
    );
    group_event.group = log();
    assert!(matches!(
        Event::decode(&group_event.encode()),
        Err(DecodeError::Invalid {
            field: "group_id",
            ..
        })
    ));
    let key = sajja_common::SigningKey::from_seed(&[1; 32])
        .unwrap()
        .public();
    let opened = event(1, d(OPENED_ON), ExchangeBody::ExchangeOpened(terms()));
    let mut verifier = ChainVerifier::new(log(), key);
    assert_eq!(verifier.push_exchange(&opened.encode()).unwrap(), opened);
    let mut wrong = ChainVerifier::new(GroupId::parse("230101-X02").unwrap(), key);
    assert!(wrong.push_exchange(&opened.encode()).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    // Proves arbitrary bytes never panic the decoder, the verifier or the fold.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(event) = ExchangeEvent::decode(&bytes) {
            let mut books = ExchangeBooks::new(event.log.clone());
            let _ = books.apply(&event);
            books.apply_unchecked(&event);
        }
        let key = sajja_common::SigningKey::from_seed(&[1; 32]).unwrap().public();
        let _ = ChainVerifier::new(log(), key).push_exchange(&bytes);
    }

    // Proves a real log with one byte changed never panics: each event is
    // refused at decoding, refused by the books, or folds.
    #[test]
    fn one_changed_byte_of_a_real_log_never_panics(
        which in 0usize..14,
        index in 0usize..64,
        value in any::<u8>(),
    ) {
        let events: Vec<ExchangeEvent> = every_kind()
            .into_iter()
            .enumerate()
            .map(|(n, body)| event(n as u64 + 1, d("2026-11-03"), body))
            .collect();
        let mut books = ExchangeBooks::new(log());
        for (n, e) in events.iter().enumerate() {
            let mut bytes = e.encode();
            if n == which {
                let i = index % bytes.len();
                bytes[i] = value;
            }
            if let Ok(decoded) = ExchangeEvent::decode(&bytes) {
                let _ = books.apply(&decoded);
            }
        }
    }
}

/// Any body the decoder could yield, with no regard for the rules.
fn any_body() -> impl Strategy<Value = ExchangeBody> {
    let account = (0u32..4).prop_map(sajja_common::exchange::AccountNo);
    let credits = any::<i64>().prop_map(Credits::from_centi);
    prop_oneof![
        (account.clone(), credits.clone()).prop_map(|(account, limit)| {
            ExchangeBody::AccountOpened {
                account,
                holder: HolderKind::Shop,
                credit_limit: limit,
            }
        }),
        (account.clone(), account.clone(), credits.clone()).prop_map(|(from, to, amount)| {
            ExchangeBody::Transfer {
                from,
                to,
                amount,
                category: Category::Goods,
                memo: String::new(),
            }
        }),
        (account.clone(), any::<u32>(), any::<u32>(), credits.clone()).prop_map(
            |(account, first_serial, last_serial, denomination)| ExchangeBody::VouchersIssued {
                account,
                first_serial,
                last_serial,
                denomination,
            }
        ),
        (any::<u32>(), any::<u32>(), account.clone()).prop_map(
            |(first_serial, last_serial, to_account)| ExchangeBody::VouchersReturned {
                first_serial,
                last_serial,
                to_account,
            }
        ),
        (account.clone(), credits.clone()).prop_map(|(account, new_limit)| {
            ExchangeBody::CreditLimitChanged {
                account,
                new_limit,
                approved_by_committee: true,
                reason: "x".into(),
            }
        }),
        (account.clone(), credits).prop_map(|(account, written_off)| {
            ExchangeBody::AccountDefaulted {
                account,
                written_off,
                settled: Money::from_satang(1),
                from_pool: PoolId::parse(RESERVE_POOL).unwrap(),
            }
        }),
        account.prop_map(|account| ExchangeBody::AccountClosed { account }),
        (0u64..12).prop_map(|reversed_seq| ExchangeBody::Reversal {
            reversed_seq,
            reason: "x".into(),
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    // Proves neither the checked nor the unchecked fold, nor the position,
    // panics on events that break every rule (a hub folds verified logs
    // without re-validation, so the fold must survive a writer's bug).
    #[test]
    fn rule_breaking_events_never_panic_the_fold(
        bodies in prop::collection::vec(any_body(), 1..12),
        days in prop::collection::vec(0u32..5, 12),
    ) {
        let mut checked = ExchangeBooks::new(log());
        let mut unchecked = ExchangeBooks::new(log());
        let opened = event(1, d(OPENED_ON), ExchangeBody::ExchangeOpened(terms()));
        checked.apply(&opened).unwrap();
        unchecked.apply_unchecked(&opened);
        for (n, body) in bodies.into_iter().enumerate() {
            let date = d(OPENED_ON).add_days(days[n]);
            let e = event(n as u64 + 2, date, body);
            let _ = checked.apply(&e);
            unchecked.apply_unchecked(&e);
        }
        let pledged = reserve(&[("230101-001", 100)]);
        let _ = sajja_common::exchange::ExchangePosition::of(&unchecked, d("2026-11-03"), &pledged);
        prop_assert_eq!(checked.sum_of_balances_and_vouchers(), 0);
    }
}
