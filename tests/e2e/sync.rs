//! A node pushes its log to its tambon hub: verified, resumable, restorable.

use crate::support::*;

#[test]
fn a_node_with_ten_thousand_events_syncs_to_an_empty_hub_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let mut hub = Hub::init(&dir.path().join("hub"), "230101", "tambon");
    hub.start();
    let node = enrolled_node(&dir.path().join("node"), &hub, "230101-007");
    import_activity(&node, dir.path(), 50, 10_000 - 52);
    let out = node.cli(&["sync", "--once"]);
    assert!(out.contains("hub holds seq 10000"), "{out}");
    assert_eq!(hub_event_bytes(&hub, "230101-007"), node.event_bytes());
    let status = node.cli(&["status"]);
    assert!(status.contains("pending         0"), "{status}");
}
