//! Key rotation on the node: who signs which checkpoint, what a restore
//! accepts, and that the key table survives reopening.

use sajja_common::event::{Channel, Sex};
use sajja_common::money::Money;
use tempfile::TempDir;

use sajja_common::checkpoint::{PublicKey, SigningKey};
use sajja_common::date::Date;
use sajja_common::event::{Body, Rules};
use sajja_common::ids::{GroupId, MemberNo};
use sajja_common::verify::{ChainVerifier, VerifyError};

use super::*;

fn date(text: &str) -> Date {
    text.parse().unwrap()
}

fn group() -> GroupId {
    GroupId::parse("230101-007").unwrap()
}

fn first_key() -> SigningKey {
    SigningKey::from_seed(&[7; 32]).unwrap()
}

/// Opened (seqs 1-2), a member (3) and a saving (4), then a rotation (5) and
/// another saving (6). Returns the store and the key made by the rotation.
fn rotated(dir: &TempDir) -> (Store, PublicKey) {
    let init = GroupInit {
        group: group(),
        name: "กลุ่มสัจจะบ้านหนองบัว".into(),
        tambon: "230101".into(),
        province: "23".into(),
        opened_on: date("2024-01-01"),
        rules: Rules::default(),
    };
    let mut store = Store::create(&dir.path().join("ledger.sqlite"), init, first_key()).unwrap();
    store
        .append(
            date("2024-01-02"),
            Body::MemberJoined {
                member: MemberNo(1),
                birth_year: 1960,
                sex: Sex::Female,
            },
        )
        .unwrap();
    store.append(date("2024-01-03"), saving()).unwrap();
    let (seq, new) = store.rotate_key(date("2024-02-01")).unwrap();
    assert_eq!(seq, 5);
    store.append(date("2024-02-02"), saving()).unwrap();
    (store, new)
}

fn saving() -> Body {
    Body::SavingsDeposited {
        member: MemberNo(1),
        amount: Money::from_baht(10),
        channel: Channel::Cash,
    }
}

fn log_of(store: &Store) -> Vec<Vec<u8>> {
    store
        .events_from(1, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|(_, bytes)| bytes)
        .collect()
}

fn seed_of(store: &Store, public: &PublicKey) -> SigningKey {
    let seeds = store.held_seeds();
    let seed = seeds
        .iter()
        .find(|s| SigningKey::from_seed(&s[..]).unwrap().public() == *public)
        .expect("the store holds the key");
    SigningKey::from_seed(seed).unwrap()
}

#[test]
fn a_rotation_signs_later_checkpoints_with_the_new_key_and_earlier_ones_with_the_old() {
    let dir = TempDir::new().unwrap();
    let (store, new) = rotated(&dir);
    let old = first_key().public();
    assert_eq!(store.public_key(), new);
    for (seq, key) in [(4, old), (5, new), (6, new)] {
        let checkpoint = store.sign_checkpoint_at(seq).unwrap();
        assert!(checkpoint.verify(&key), "checkpoint at seq {seq}");
    }
    // The log proves the hand-over to anyone who knows only the first key.
    let mut verifier = ChainVerifier::new(group(), old);
    for bytes in log_of(&store) {
        verifier.push(&bytes).unwrap();
    }
    verifier
        .finish(&store.sign_checkpoint().unwrap(), 0)
        .unwrap();
    assert_eq!(store.books().rotated_key, Some(new));

    // The table outlives the process, and `verify` follows the rotation.
    let path = store.path().to_path_buf();
    drop(store);
    let reopened = Store::open(&path).unwrap();
    assert_eq!(reopened.public_key(), new);
    let retired = reopened.retired_keys();
    assert_eq!(retired.len(), 1);
    assert_eq!((retired[0].until_seq, retired[0].public), (5, old));
    assert!(retired[0].held());
    assert_eq!(reopened.held_seeds().len(), 2);
    assert!(reopened.sign_checkpoint_at(4).unwrap().verify(&old));
    assert_eq!(verify(&path).unwrap().events, 6);
}

#[test]
fn a_running_daemon_picks_up_a_rotation_made_by_the_cli() {
    let dir = TempDir::new().unwrap();
    let (store, _) = rotated(&dir);
    let path = store.path().to_path_buf();
    drop(store);
    let mut daemon = Store::open(&path).unwrap();
    let mut cli = Store::open(&path).unwrap();
    let (_, newer) = cli.rotate_key(date("2024-03-01")).unwrap();
    daemon.refresh().unwrap();
    assert_eq!(daemon.head().0, 7);
    assert!(daemon.sign_checkpoint().unwrap().verify(&newer));
}

#[test]
fn only_rotate_key_may_append_a_rotation() {
    let dir = TempDir::new().unwrap();
    let (mut store, new) = rotated(&dir);
    let stranger = SigningKey::from_seed(&[9; 32]).unwrap();
    let (head, hash) = store.head();
    let body = Body::key_rotated(
        &group(),
        head + 1,
        &hash,
        &seed_of(&store, &new),
        stranger.public(),
    );
    assert!(matches!(
        store.append(date("2024-03-01"), body),
        Err(StoreError::KeyNotHeld { seq: 7, .. })
    ));
    assert_eq!(store.head().0, 6);
}

#[test]
fn a_pulled_tail_that_rotates_the_key_is_refused_as_a_key_this_node_lacks() {
    // A node restored from a copy taken before the rotation cannot sign after it.
    let dir = TempDir::new().unwrap();
    let (source, new) = rotated(&dir);
    let events = log_of(&source);
    let path = dir.path().join("behind.sqlite");
    let mut behind = Store::create_empty(&path, group(), first_key()).unwrap();
    let trusted = RestoreKeys {
        seeds: vec![first_key()],
        public: Vec::new(),
    };
    behind
        .restore_log(
            &events[..4],
            &source.sign_checkpoint_at(4).unwrap(),
            &trusted,
        )
        .unwrap();
    let result = behind.append_verified_bytes(&events[4..], &source.sign_checkpoint().unwrap());
    match result {
        Err(StoreError::KeyNotHeld { seq, key, .. }) => assert_eq!((seq, key), (5, new)),
        other => panic!("expected key_not_held, got {other:?}"),
    }
    assert_eq!(behind.head().0, 4);
}

#[test]
fn a_restore_with_every_seed_follows_the_rotations_and_signs_as_before() {
    let dir = TempDir::new().unwrap();
    let (source, new) = rotated(&dir);
    let seeds: Vec<SigningKey> = source
        .held_seeds()
        .iter()
        .map(|s| SigningKey::from_seed(s).unwrap())
        .collect();
    let path = dir.path().join("restored.sqlite");
    let provisional = SigningKey::from_seed(seeds[seeds.len() - 1].seed()).unwrap();
    let mut restored = Store::create_empty(&path, group(), provisional).unwrap();
    let trusted = RestoreKeys {
        seeds,
        public: Vec::new(),
    };
    let head = restored
        .restore_log(
            &log_of(&source),
            &source.sign_checkpoint().unwrap(),
            &trusted,
        )
        .unwrap();
    assert_eq!(head, source.head());
    assert_eq!(restored.public_key(), new);
    for seq in [3, 5, 6] {
        assert_eq!(
            restored.sign_checkpoint_at(seq).unwrap(),
            source.sign_checkpoint_at(seq).unwrap()
        );
    }
    drop(restored);
    assert_eq!(verify(&path).unwrap().head, source.head().1);
}

#[test]
fn a_restore_with_a_lost_key_signs_everything_with_the_replacement() {
    // The Pi and every seed are gone: the treasurer knows the group's first
    // public key and brings a new key the hub operator re-keys the group to.
    let dir = TempDir::new().unwrap();
    let (source, lost) = rotated(&dir);
    let replacement = SigningKey::from_seed(&[42; 32]).unwrap();
    let path = dir.path().join("restored.sqlite");
    let mut restored = Store::create_empty(
        &path,
        group(),
        SigningKey::from_seed(replacement.seed()).unwrap(),
    )
    .unwrap();
    let trusted = RestoreKeys {
        seeds: vec![SigningKey::from_seed(replacement.seed()).unwrap()],
        public: vec![first_key().public()],
    };
    restored
        .restore_log(
            &log_of(&source),
            &source.sign_checkpoint().unwrap(),
            &trusted,
        )
        .unwrap();
    assert_eq!(restored.public_key(), replacement.public());
    let retired: Vec<(u64, PublicKey, bool)> = restored
        .retired_keys()
        .iter()
        .map(|k| (k.until_seq, k.public, k.held()))
        .collect();
    assert_eq!(
        retired,
        vec![(5, first_key().public(), false), (6, lost, false)]
    );
    // A re-keyed hub verifies the whole log with the replacement.
    for seq in [2, 5, 6] {
        assert!(
            restored
                .sign_checkpoint_at(seq)
                .unwrap()
                .verify(&replacement.public())
        );
    }
    // The new node rotates on from its own key; reopening follows the
    // re-key the table records and this rotation.
    let (seq, newer) = restored.rotate_key(date("2024-03-01")).unwrap();
    assert_eq!(seq, 7);
    assert!(
        restored
            .sign_checkpoint_at(6)
            .unwrap()
            .verify(&replacement.public())
    );
    drop(restored);
    let reopened = Store::open(&path).unwrap();
    assert_eq!(reopened.public_key(), newer);
    assert_eq!(verify(&path).unwrap().events, 7);
}

#[test]
fn a_restore_refuses_a_log_none_of_the_given_keys_vouches_for() {
    let dir = TempDir::new().unwrap();
    let (source, new) = rotated(&dir);
    let stranger = SigningKey::from_seed(&[9; 32]).unwrap();
    let path = dir.path().join("restored.sqlite");
    let mut restored = Store::create_empty(&path, group(), stranger).unwrap();
    let trusted = RestoreKeys {
        seeds: vec![SigningKey::from_seed(&[9; 32]).unwrap()],
        public: Vec::new(),
    };
    match restored.restore_log(
        &log_of(&source),
        &source.sign_checkpoint().unwrap(),
        &trusted,
    ) {
        Err(StoreError::Untrusted { seq, key, .. }) => assert_eq!((seq, key), (6, new)),
        other => panic!("expected untrusted, got {other:?}"),
    }
    assert_eq!(restored.head().0, 0);

    // The first key alone (a backup from before the rotation) vouches, but
    // cannot sign after the rotation: the key in effect is named.
    let trusted = RestoreKeys {
        seeds: vec![first_key()],
        public: Vec::new(),
    };
    match restored.restore_log(
        &log_of(&source),
        &source.sign_checkpoint().unwrap(),
        &trusted,
    ) {
        Err(StoreError::KeyNotHeld { seq, key, .. }) => assert_eq!((seq, key), (5, new)),
        other => panic!("expected key_not_held, got {other:?}"),
    }
    assert_eq!(restored.head().0, 0);

    // A checkpoint signed by the old key after the rotation is no signature.
    let stale = source
        .sign_checkpoint()
        .unwrap()
        .checkpoint
        .sign(&first_key());
    let trusted = RestoreKeys {
        seeds: vec![first_key(), SigningKey::from_seed(&[9; 32]).unwrap()],
        public: Vec::new(),
    };
    assert!(matches!(
        restored.restore_log(&log_of(&source), &stale, &trusted),
        Err(StoreError::Verify(VerifyError::BadSignature { seq: 6, .. }))
    ));
}
