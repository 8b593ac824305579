//! Tambon hubs relay every log they hold to their province hub, which verifies
//! each group's chain and signature itself.

use std::time::Duration;

use crate::support::*;

/// A province hub 23 and a tambon hub 230101 relaying to it, both running.
fn province_and_tambon(root: &std::path::Path) -> (Hub, Hub) {
    let mut province = Hub::init(&root.join("province"), "23", "province");
    let mut tambon = Hub::init(&root.join("tambon"), "230101", "tambon");
    let key = tambon.admin(&["key"]).trim().to_string();
    append(
        &province.config(),
        &format!("\n[[children]]\nhub_id = \"230101\"\nkey = \"{key}\"\n"),
    );
    province.start();
    append(
        &tambon.config(),
        &format!(
            "\n[parent]\nurl = \"{}\"\nca = \"{}\"\n",
            province.url(),
            province.ca().display()
        ),
    );
    tambon.start();
    (province, tambon)
}

fn append(path: &std::path::Path, text: &str) {
    let mut config = std::fs::read_to_string(path).expect("read config");
    config.push_str(text);
    std::fs::write(path, config).expect("write config");
}

#[test]
fn a_group_log_reaches_the_province_byte_for_byte_through_its_tambon_hub() {
    let dir = tempfile::tempdir().unwrap();
    let (province, tambon) = province_and_tambon(dir.path());
    let node = enrolled_node(&dir.path().join("node"), &tambon, "230101-007");
    import_activity(&node, dir.path(), 20, 2_000);
    node.cli(&["sync", "--once"]);
    let expected = node.event_bytes();
    wait_for(
        "the province to hold the group's whole log",
        Duration::from_secs(30),
        || (hub_event_bytes(&province, "230101-007").len() == expected.len()).then_some(()),
    );
    assert_eq!(hub_event_bytes(&province, "230101-007"), expected);
    // The tambon hub's own administrative log, which carried the group's key, arrived too.
    assert!(!hub_event_bytes(&province, "230101-000").is_empty());
    let heads = province.admin(&["heads"]);
    assert!(heads.contains("230101-007"), "{heads}");
}
