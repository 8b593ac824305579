//! Hostile bytes: whatever arrives, decoding refuses it with an error or yields
//! a value the ledger then judges; nothing panics.

use proptest::prelude::*;
use sajja_common::admin::{AdminBooks, AdminEvent};
use sajja_common::ledger::reversal_target;
use sajja_common::verify::ChainVerifier;
use sajja_common::{Books, Event, GroupId};

use crate::support;

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    // Proves arbitrary bytes never panic the decoders, the verifier or the fold.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let group = GroupId::parse("230101-007").unwrap();
        if let Ok(event) = Event::decode(&bytes) {
            let mut books = Books::new(event.group.clone());
            let original = reversal_target(&event).map(|_| event.clone());
            let _ = books.apply(&event, original.as_ref());
            books.apply_unchecked(&event, original.as_ref());
        }
        if let Ok(event) = AdminEvent::decode(&bytes) {
            let mut books = AdminBooks::new(event.log.clone());
            let _ = books.apply(&event);
        }
        let key = sajja_common::SigningKey::from_seed(&[1; 32]).unwrap().public();
        let mut verifier = ChainVerifier::new(group.clone(), key);
        let _ = verifier.push(&bytes);
        let _ = ChainVerifier::new(GroupId::hub_log("230101").unwrap(), key).push_admin(&bytes);
    }

    // Proves a valid event with one byte changed never panics and is either
    // refused or decodes to a different event (the chain then tells).
    #[test]
    fn one_changed_byte_of_a_real_event_never_panics(index in 0usize..64, value in any::<u8>()) {
        let event = support::event(support::group(), 3, support::d("2026-10-01"), support::contributes(1, support::baht(30)));
        let mut bytes = event.encode();
        let i = index % bytes.len();
        bytes[i] = value;
        if let Ok(decoded) = Event::decode(&bytes) {
            let mut books = Books::new(decoded.group.clone());
            let _ = books.apply(&decoded, None);
        }
    }
}
