//! Group keys through real processes: a node rotates its key and its tambon
//! hub and the province follow the rotation; a node whose key is lost is
//! rebuilt with a new key after an operator re-key, and the lost key's
//! checkpoints are refused from then on.

use std::time::Duration;

use crate::support::*;

const GROUP: &str = "230101-007";
const WAIT: Duration = Duration::from_secs(60);

/// The key a hub holds for a group, hex.
fn hub_key(hub: &Hub, group: &str) -> String {
    let key = read_blobs(
        &hub.database(),
        "SELECT public_key FROM groups WHERE group_id = ?1",
        [group],
    )
    .pop()
    .expect("the group is enrolled");
    sajja_common::PublicKey::from_slice(&key)
        .expect("a 32-byte key")
        .to_hex()
}

/// The value after `label` in the node's `status`.
fn status_line(node: &Node, label: &str) -> Vec<String> {
    node.cli(&["status"])
        .lines()
        .filter_map(|l| l.strip_prefix(label))
        .map(|v| v.trim().to_string())
        .collect()
}

/// The new key `rotate-key` printed.
fn rotate(node: &Node) -> String {
    let out = node.cli(&["rotate-key"]);
    out.lines()
        .find_map(|l| l.split("the group's signing key is now ").nth(1))
        .map(|k| k.trim().to_string())
        .unwrap_or_else(|| panic!("rotate-key prints the new key: {out}"))
}

#[test]
fn a_rotated_log_is_relayed_to_the_province_and_restored_from_its_backup() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut province = Hub::init(&root.join("province"), "23", "province");
    let mut tambon = Hub::init(&root.join("tambon"), "230101", "tambon");
    province.add_child(&tambon);
    province.start();
    tambon.set_parent(&province);
    tambon.start();

    let node = Node::new(&root.join("node"));
    node.cli(&[
        "init",
        "--group",
        GROUP,
        "--name",
        "กลุ่มออมทรัพย์ทดสอบ",
        "--opened-on",
        "2025-01-01",
    ]);
    let first = public_key(&node);
    let bundle = tambon.enrol(&["group", GROUP, "--key", &first]);
    node.cli(&["init", "--bundle", path_arg(&bundle)]);
    import_activity(&node, root, 5, 20);
    node.cli(&["sync", "--once"]);
    let before = node.event_bytes().len() as u64;

    let second = rotate(&node);
    assert_ne!(second, first);
    assert_eq!(public_key(&node), second);
    assert_eq!(status_line(&node, "earlier key").len(), 1);
    // Events after the rotation, pushed in one session with the rotation.
    import_rows(
        &node,
        root,
        "after.csv",
        "date,kind,member,name,birth_year,amount",
        &["2025-03-01,contribute,1,,,30".to_string()],
    );
    node.cli(&["sync", "--once"]);
    node.cli(&["verify"]);
    let expected = node.event_bytes();
    assert_eq!(expected.len() as u64, before + 2);
    assert_eq!(hub_event_bytes(&tambon, GROUP), expected);
    assert_eq!(hub_key(&tambon, GROUP), second);

    // The tambon relays the rotation; the province verifies it itself.
    wait_for("the province to hold the rotated log", WAIT, || {
        (province.seq(GROUP) == expected.len() as u64).then_some(())
    });
    assert_eq!(hub_event_bytes(&province, GROUP), expected);
    assert_eq!(hub_key(&province, GROUP), second);
    // Enrolling another group afterwards re-states nothing about this one.
    let other = Node::new(&root.join("other"));
    other.cli(&["init", "--group", "230101-008", "--name", "อีกกลุ่ม"]);
    tambon.enrol(&["group", "230101-008", "--key", &public_key(&other)]);
    wait_for("the province to hold the second enrolment", WAIT, || {
        hub_key_opt(&province, "230101-008").map(|_| ())
    });
    assert_eq!(hub_key(&tambon, GROUP), second);
    assert_eq!(hub_key(&province, GROUP), second);

    // A new SD card from the key backup: every key, followed from the first.
    let backup = root.join("key-backup.txt");
    node.cli(&["key-export", path_arg(&backup)]);
    let restored = Node::new(&root.join("restored"));
    let out = restored.cli(&[
        "restore",
        "--bundle",
        path_arg(&bundle),
        "--key",
        path_arg(&backup),
    ]);
    assert!(out.contains(&second), "{out}");
    assert_eq!(restored.event_bytes(), expected);
    assert_eq!(public_key(&restored), second);
    restored.cli(&["verify"]);
    import_rows(
        &restored,
        root,
        "restored.csv",
        "date,kind,member,name,birth_year,amount",
        &["2025-03-02,contribute,2,,,30".to_string()],
    );
    restored.cli(&["sync", "--once"]);
    assert_eq!(hub_event_bytes(&tambon, GROUP), restored.event_bytes());
}

fn hub_key_opt(hub: &Hub, group: &str) -> Option<Vec<u8>> {
    read_blobs(
        &hub.database(),
        "SELECT public_key FROM groups WHERE group_id = ?1",
        [group],
    )
    .pop()
}

#[test]
fn after_an_operator_re_key_the_lost_key_is_refused_and_the_rebuilt_node_pushes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut tambon = Hub::init(&root.join("tambon"), "230101", "tambon");
    tambon.start();
    let lost = enrolled_node(&root.join("lost"), &tambon, GROUP);
    let old_key = public_key(&lost);
    import_activity(&lost, root, 5, 20);
    lost.cli(&["sync", "--once"]);
    let held = hub_event_bytes(&tambon, GROUP);

    // The Pi and the key backup are gone. A new key, the operator's re-key
    // to it and a bundle for it; then the log comes back from the hub.
    let rebuilt = Node::new(&root.join("rebuilt"));
    std::fs::create_dir_all(&rebuilt.dir).unwrap();
    let key_file = root.join("new.key");
    let out = rebuilt.cli(&["keygen", path_arg(&key_file)]);
    let new_key = out
        .lines()
        .find_map(|l| l.strip_prefix("public key"))
        .map(|k| k.trim().to_string())
        .expect("keygen prints the public key");
    let out = tambon.admin(&["rekey", GROUP, "--key", &new_key]);
    assert!(
        out.contains(&old_key),
        "rekey names the group's first key: {out}"
    );
    assert_eq!(hub_key(&tambon, GROUP), new_key);
    let bundle = tambon.enrol(&["group", GROUP, "--key", &new_key]);
    let out = rebuilt.cli(&[
        "restore",
        "--bundle",
        path_arg(&bundle),
        "--key",
        path_arg(&key_file),
        "--group-key",
        &old_key,
    ]);
    assert!(out.contains(&new_key), "{out}");
    assert_eq!(rebuilt.event_bytes(), held);
    rebuilt.cli(&["verify"]);

    // The old key signs nothing the hub accepts any more.
    import_rows(
        &lost,
        root,
        "lost.csv",
        "date,kind,member,name,birth_year,amount",
        &["2025-03-01,contribute,1,,,30".to_string()],
    );
    let database = tambon.dump();
    let (ok, out) = lost.try_cli(&["sync", "--once"]);
    assert!(
        !ok,
        "a checkpoint signed with the lost key was accepted: {out}"
    );
    assert!(out.contains("bad_signature"), "{out}");
    assert_eq!(hub_event_bytes(&tambon, GROUP), held);
    assert_eq!(tambon.dump(), database, "a refused push changes no row");

    // The rebuilt node signs with the new key and pushes.
    import_rows(
        &rebuilt,
        root,
        "rebuilt.csv",
        "date,kind,member,name,birth_year,amount",
        &["2025-03-02,contribute,2,,,30".to_string()],
    );
    rebuilt.cli(&["sync", "--once"]);
    assert_eq!(hub_event_bytes(&tambon, GROUP), rebuilt.event_bytes());
    assert_eq!(tambon.seq(GROUP), held.len() as u64 + 1);
}
