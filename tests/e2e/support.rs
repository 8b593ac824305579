//! Scenario helpers shared by the end-to-end tests.

use std::path::Path;

pub use sajja_tests::*;

/// A node with a fresh group ledger, connected and enrolled at `hub`.
pub fn enrolled_node(dir: &Path, hub: &Hub, group: &str) -> Node {
    let node = Node::new(dir);
    node.cli(&[
        "init",
        "--group",
        group,
        "--name",
        "กลุ่มออมทรัพย์ทดสอบ",
        "--opened-on",
        "2025-01-01",
    ]);
    let key = public_key(&node);
    hub.admin(&["enrol", group, "--key", &key]);
    node.cli(&[
        "connect",
        "--hub",
        &hub.url(),
        "--ca",
        hub.ca().to_str().expect("utf-8 path"),
    ]);
    node
}

pub fn public_key(node: &Node) -> String {
    let status = node.cli(&["status"]);
    status
        .lines()
        .find_map(|l| l.strip_prefix("public key"))
        .map(|k| k.trim().to_string())
        .expect("status prints the public key")
}

/// Writes a CSV of `members` joins followed by `contributions` monthly
/// contributions, and imports it in one transaction.
pub fn import_activity(node: &Node, dir: &Path, members: u32, contributions: u32) {
    let mut csv = String::from("date,kind,member,name,birth_year,amount\n");
    for m in 1..=members {
        csv.push_str(&format!("2025-01-01,member-join,{m},member {m},1970,\n"));
    }
    for i in 0..contributions {
        let day = 2 + (i / members) % 27;
        csv.push_str(&format!(
            "2025-02-{day:02},contribute,{},,,30\n",
            i % members + 1
        ));
    }
    let file = dir.join("activity.csv");
    std::fs::write(&file, csv).expect("write csv");
    node.cli(&["import", file.to_str().expect("utf-8 path")]);
}
