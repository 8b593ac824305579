//! Enrolment bundles: `init --bundle` installs only the group's own bundle for
//! this ledger's key, the link round-trips through the ledger, a schema 1 link
//! survives the migration, and `sync` on a link without a client certificate
//! says to install a bundle instead of failing a TLS handshake.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    SanType,
};
use sajja_common::SigningKey;
use sajja_edge::enrolment::{Enrolment, Role};
use sajja_node::store::Store;
use sajja_node::sync::HubLink;

use crate::Node;

const GROUP: &str = "230101-007";
const DAY: i64 = 86_400;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A self-signed hub CA and a client certificate it issued to `principal`
/// (`group/230101-007`, ...): `(ca, cert, key)` PEMs.
fn certificates(principal: &str) -> (String, String, String) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Sajja hub 230101 CA (test)");
    let ca_key = KeyPair::generate().unwrap();
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca, ca_key);
    let mut client = CertificateParams::new(Vec::<String>::new()).unwrap();
    client.subject_alt_names.push(SanType::URI(
        format!("sajja://{principal}").try_into().unwrap(),
    ));
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let key = KeyPair::generate().unwrap();
    let cert = client.signed_by(&key, &issuer).unwrap();
    (ca_pem, cert.pem(), key.serialize_pem())
}

/// What `sajja-hub enrol` writes for `subject` in `role`, binding `public_key`.
fn bundle(role: Role, subject: &str, public_key: Option<String>, serial: &str) -> Enrolment {
    let (ca, cert, key) = certificates(&format!("{}/{subject}", role.name()));
    Enrolment {
        role,
        subject: subject.to_string(),
        scope: (role == Role::Coordinator).then(|| "230101".to_string()),
        public_key,
        hub_id: "230101".into(),
        hub_url: "https://127.0.0.1:9".into(),
        serial: serial.into(),
        not_after: now() + 365 * DAY,
        ca,
        cert,
        key,
    }
}

fn write(node: &Node, name: &str, bundle: &Enrolment) -> PathBuf {
    let path = node.dir.path().join(name);
    bundle.write(&path).unwrap();
    path
}

fn public_key(node: &Node) -> String {
    let status = node.ok(&["status"]);
    status
        .lines()
        .find_map(|l| l.strip_prefix("public key"))
        .unwrap()
        .trim()
        .to_string()
}

fn group_bundle(node: &Node, serial: &str) -> Enrolment {
    bundle(Role::Group, GROUP, Some(public_key(node)), serial)
}

fn install(node: &Node, path: &Path) -> String {
    node.ok(&["init", "--bundle", path.to_str().unwrap()])
}

fn refused(node: &Node, path: &Path) -> String {
    let stderr = node.fails(&["init", "--bundle", path.to_str().unwrap()], 1);
    assert!(
        node.ok(&["status"]).contains("hub             none"),
        "a refused bundle stores nothing"
    );
    stderr
}

#[test]
fn init_prints_the_public_key_and_the_next_step() {
    // Proves a new ledger tells the treasurer what to hand the hub operator and
    // what to run with the bundle that comes back.
    let node = Node::empty();
    let out = node.ok(&["init", "--group", GROUP, "--name", "g"]);
    let key = public_key(&node);
    assert!(out.contains(&format!("public key  {key}")), "{out}");
    assert!(
        out.contains(&format!("sajja-hub enrol group {GROUP} --key {key}")),
        "{out}"
    );
    assert!(out.contains("sajja-node init --bundle FILE"), "{out}");
}

#[test]
fn a_bundle_of_another_group_is_refused() {
    // Proves a bundle naming another group is not installed, and says which.
    let node = Node::opened();
    let other = bundle(Role::Group, "230101-008", Some(public_key(&node)), "01");
    let stderr = refused(&node, &write(&node, "other.bundle", &other));
    assert!(
        stderr.contains("this bundle enrols 230101-008, this ledger is 230101-007"),
        "{stderr}"
    );
}

#[test]
fn a_bundle_binding_another_key_is_refused() {
    // Proves a bundle for this group but another key (a second `init`, an old
    // Pi) is not installed, and names both keys and where to find the right one.
    let node = Node::opened();
    let ours = public_key(&node);
    let theirs = SigningKey::generate().unwrap().public().to_hex();
    let wrong = bundle(Role::Group, GROUP, Some(theirs.clone()), "02");
    let stderr = refused(&node, &write(&node, "wrong-key.bundle", &wrong));
    assert!(
        stderr.contains(&format!(
            "the bundle binds key {theirs} but this ledger signs with {ours}"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("sajja-node status"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    let keyless = bundle(Role::Group, GROUP, None, "03");
    let stderr = refused(&node, &write(&node, "keyless.bundle", &keyless));
    assert!(stderr.contains("binds no group key"), "{stderr}");
}

#[test]
fn a_bundle_for_another_role_is_refused() {
    // Proves a coordinator's or a child hub's bundle is never a node's hub link.
    let node = Node::opened();
    let key = Some(public_key(&node));
    for (role, subject) in [
        (Role::Coordinator, "somchai"),
        (Role::Hub, "230101"),
        (Role::Operator, GROUP),
    ] {
        let other = bundle(role, subject, key.clone(), "04");
        let path = write(&node, &format!("{}.bundle", role.name()), &other);
        let stderr = refused(&node, &path);
        assert!(
            stderr.contains(&format!("this bundle enrols a {}", role.name())),
            "{stderr}"
        );
    }
}

#[test]
fn what_is_not_a_bundle_or_expired_is_refused() {
    // Proves an unreadable or malformed file is bad usage (64) naming the file,
    // and an expired certificate is refused with its date.
    let node = Node::opened();
    let missing = node.dir.path().join("missing.bundle");
    let stderr = node.fails(&["init", "--bundle", missing.to_str().unwrap()], 64);
    assert!(stderr.contains("missing.bundle"), "{stderr}");
    let garbage = node.dir.path().join("garbage.bundle");
    std::fs::write(&garbage, "role = \"group\"\n").unwrap();
    let stderr = node.fails(&["init", "--bundle", garbage.to_str().unwrap()], 64);
    assert!(stderr.contains("not an enrolment bundle"), "{stderr}");
    let mut expired = group_bundle(&node, "05");
    expired.not_after = now() - DAY;
    let stderr = refused(&node, &write(&node, "expired.bundle", &expired));
    assert!(stderr.contains("certificate expired on"), "{stderr}");
}

#[test]
fn a_good_bundle_is_stored_and_reads_back() {
    // Proves the link round-trips: what the bundle carries is what sync will
    // present, status shows the hub, serial and expiry, the ledger stays
    // private, and a re-issued bundle replaces the old one.
    let node = Node::opened();
    let first = group_bundle(&node, "0a1b");
    let out = install(&node, &write(&node, "group.bundle", &first));
    assert!(
        out.contains(&format!("group {GROUP} now syncs with https://127.0.0.1:9")),
        "{out}"
    );
    let status = node.ok(&["status"]);
    assert!(
        status.contains("hub             https://127.0.0.1:9 (hub 230101)"),
        "{status}"
    );
    assert!(
        status.contains("certificate     serial 0a1b, expires "),
        "{status}"
    );
    assert!(!status.contains("WARNING"), "{status}");
    assert!(!status.contains("PRIVATE KEY"), "{status}");

    let store = Store::open(&node.database()).unwrap();
    let stored = store.hub_link().unwrap().unwrap();
    assert_eq!(stored.hub_id.as_deref(), Some("230101"));
    let client = stored.client.as_ref().unwrap();
    assert_eq!(
        (client.serial.as_str(), client.not_after),
        ("0a1b", first.not_after)
    );
    assert!(
        !format!("{stored:?}").contains("PRIVATE"),
        "Debug hides the key"
    );
    let link = HubLink::from_stored(stored).unwrap();
    let expected = HubLink::from_bundle(&first);
    assert_eq!(link.url, expected.url);
    assert_eq!(link.tls.ca_pem, expected.tls.ca_pem);
    assert_eq!(link.tls.cert_pem, expected.tls.cert_pem);
    assert_eq!(link.tls.key_pem, expected.tls.key_pem);
    drop(store);
    let mode = std::fs::metadata(node.database())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600, "the ledger now holds a client key too");

    let mut reissued = group_bundle(&node, "0c2d");
    reissued.not_after = now() + 10 * DAY;
    install(&node, &write(&node, "reissued.bundle", &reissued));
    let status = node.ok(&["status"]);
    assert!(status.contains("serial 0c2d"), "{status}");
    assert!(status.contains("WARNING: in 10 days"), "{status}");
    let store = Store::open(&node.database()).unwrap();
    let link = HubLink::from_stored(store.hub_link().unwrap().unwrap()).unwrap();
    assert_eq!(link.tls.cert_pem, reissued.cert.as_bytes());
}

#[test]
fn a_bundle_needs_the_ledger_it_binds_first() {
    // Proves the two steps: a bundle without a ledger, or given together with
    // --group, is refused with the order to follow.
    let node = Node::empty();
    let key = SigningKey::generate().unwrap().public().to_hex();
    let early = bundle(Role::Group, GROUP, Some(key), "06");
    let path = write(&node, "early.bundle", &early);
    let stderr = node.fails(&["init", "--bundle", path.to_str().unwrap()], 1);
    assert!(
        stderr.contains(&format!("sajja-node init --group {GROUP} --name NAME")),
        "{stderr}"
    );
    assert!(!node.database().exists());
    let stderr = node.fails(
        &[
            "init",
            "--group",
            GROUP,
            "--name",
            "g",
            "--bundle",
            path.to_str().unwrap(),
        ],
        64,
    );
    assert!(stderr.contains("binds the public key"), "{stderr}");
    assert!(!node.database().exists());
    assert!(
        node.fails(&["connect", "--hub", "https://h:1", "--ca", "x"], 64)
            .contains("connect")
    );
}

#[test]
fn restore_refuses_a_bundle_for_another_key_before_writing_anything() {
    // Proves a restored Pi uses the group's own bundle: one binding another
    // key is refused before a ledger file exists or the hub is called.
    let node = Node::empty();
    let dir = node.dir.path();
    let key_file = dir.join("group.key");
    let key = SigningKey::generate().unwrap();
    std::fs::write(&key_file, hex::encode(key.seed())).unwrap();
    let other = SigningKey::generate().unwrap().public().to_hex();
    let wrong = bundle(Role::Group, GROUP, Some(other), "07");
    let path = write(&node, "wrong.bundle", &wrong);
    let args = [
        "restore",
        "--bundle",
        path.to_str().unwrap(),
        "--key",
        key_file.to_str().unwrap(),
    ];
    let stderr = node.fails(&args, 1);
    assert!(stderr.contains("the bundle binds key"), "{stderr}");
    assert!(!node.database().exists());
}

/// Schema version 1 of the node's ledger, as shipped: hub_url and hub_ca_pem
/// in `meta`, no client certificate.
const SCHEMA_V1: &str = "
    CREATE TABLE meta (
        id             INTEGER PRIMARY KEY CHECK (id = 1),
        group_id       TEXT    NOT NULL,
        fork_epoch     INTEGER NOT NULL DEFAULT 0,
        hub_acked_seq  INTEGER NOT NULL DEFAULT 0,
        last_sync_at   INTEGER,
        books_seq      INTEGER NOT NULL DEFAULT 0,
        created_at     INTEGER NOT NULL,
        hub_url        TEXT,
        hub_ca_pem     BLOB
    );
    CREATE TABLE secrets (
        id           INTEGER PRIMARY KEY CHECK (id = 1),
        signing_seed BLOB    NOT NULL
    );
    CREATE TABLE events (
        seq           INTEGER PRIMARY KEY,
        bytes         BLOB    NOT NULL,
        hash          BLOB    NOT NULL,
        business_date INTEGER NOT NULL
    );
    CREATE TABLE member_register (
        member      INTEGER PRIMARY KEY,
        name        TEXT NOT NULL,
        phone       TEXT,
        national_id TEXT
    );
    CREATE TABLE book_lines (
        account TEXT PRIMARY KEY,
        debit   INTEGER NOT NULL,
        credit  INTEGER NOT NULL
    );
    CREATE TABLE book_members (
        member      INTEGER PRIMARY KEY,
        savings     INTEGER NOT NULL,
        contributed INTEGER NOT NULL,
        active      INTEGER NOT NULL
    );
    PRAGMA user_version = 1;
";

/// Rewrites `node`'s ledger as a schema 1 file holding the same log and key,
/// with the hub link `connect --hub URL --ca FILE` stored.
fn downgrade_to_v1(node: &Node, url: &str, ca_pem: &[u8]) {
    let v1 = node.dir.path().join("v1.sqlite");
    let conn = rusqlite::Connection::open(&v1).unwrap();
    conn.execute_batch(SCHEMA_V1).unwrap();
    conn.execute(
        "ATTACH DATABASE ?1 AS current",
        [node.database().to_str().unwrap()],
    )
    .unwrap();
    conn.execute_batch(
        "INSERT INTO meta (id, group_id, fork_epoch, hub_acked_seq, last_sync_at, books_seq, created_at)
             SELECT id, group_id, fork_epoch, hub_acked_seq, last_sync_at, books_seq, created_at FROM current.meta;
         INSERT INTO secrets (id, signing_seed) SELECT id, signing_seed FROM current.secrets;
         INSERT INTO events SELECT seq, bytes, hash, business_date FROM current.events;
         INSERT INTO member_register SELECT member, name, phone, national_id FROM current.member_register;
         INSERT INTO book_lines SELECT account, debit, credit FROM current.book_lines;
         INSERT INTO book_members SELECT member, savings, contributed, active FROM current.book_members;
         DETACH DATABASE current;",
    )
    .unwrap();
    conn.execute(
        "UPDATE meta SET hub_url = ?1, hub_ca_pem = ?2",
        rusqlite::params![url, ca_pem],
    )
    .unwrap();
    drop(conn);
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", node.database().display()));
    }
    std::fs::rename(&v1, node.database()).unwrap();
    std::fs::set_permissions(node.database(), std::fs::Permissions::from_mode(0o600)).unwrap();
}

#[test]
fn a_schema_1_link_survives_migration_and_sync_asks_for_a_bundle() {
    // Proves the migration to schema 2 keeps the stored url and CA, that such
    // a link (no client certificate) makes `sync` and `run` say to install
    // the group's bundle instead of failing a TLS handshake, and that
    // installing one then completes the link.
    let node = Node::opened();
    node.ok(&["member", "add", "--name", "a", "--birth-year", "1960"]);
    let (ca, _, _) = certificates("group/x");
    downgrade_to_v1(&node, "https://hub.example:7400", ca.as_bytes());

    let status = node.ok(&["status"]);
    assert!(
        status.contains("hub             https://hub.example:7400\n"),
        "{status}"
    );
    assert!(status.contains("certificate     none"), "{status}");
    assert!(status.contains("init --bundle FILE"), "{status}");

    let conn = rusqlite::Connection::open(node.database()).unwrap();
    let (version, url, stored_ca): (u32, String, Vec<u8>) = conn
        .query_row(
            "SELECT (SELECT user_version FROM pragma_user_version), hub_url, hub_ca_pem FROM meta",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    drop(conn);
    assert_eq!(version, sajja_node::store::SCHEMA_VERSION);
    assert_eq!(url, "https://hub.example:7400");
    assert_eq!(stored_ca, ca.as_bytes());
    let stored = Store::open(&node.database())
        .unwrap()
        .hub_link()
        .unwrap()
        .unwrap();
    assert!(stored.client.is_none() && stored.hub_id.is_none());
    assert_eq!(node.event_count(), 3, "the log came through the migration");
    node.ok(&["verify"]);

    for command in [&["sync", "--once"][..], &["run"]] {
        let stderr = node.fails(command, 1);
        assert!(
            stderr.contains("has no client certificate")
                && stderr.contains("sajja-node init --bundle FILE"),
            "{command:?}: {stderr}"
        );
        assert!(
            !stderr.contains("TLS") && !stderr.contains("cannot reach"),
            "{stderr}"
        );
    }

    install(
        &node,
        &write(&node, "group.bundle", &group_bundle(&node, "0e")),
    );
    let status = node.ok(&["status"]);
    assert!(
        status.contains("hub             https://127.0.0.1:9"),
        "{status}"
    );
    assert!(status.contains("serial 0e"), "{status}");
}

#[test]
fn a_config_bundle_must_fit_the_ledger() {
    // Proves `[hub] bundle` in node.toml is the link, that status shows it,
    // and that one for another group stops `sync` with the bundle check's
    // one line, before any connection.
    let node = Node::opened();
    let good = write(&node, "good.bundle", &group_bundle(&node, "10"));
    let config = node.dir.path().join("node.toml");
    std::fs::write(&config, "[hub]\nbundle = \"good.bundle\"\n").unwrap();
    let config = config.to_str().unwrap();
    let status = node.ok(&["--config", config, "status"]);
    assert!(
        status.contains(&format!(
            "hub             https://127.0.0.1:9 (hub 230101; bundle {} from the config file)",
            good.display()
        )),
        "{status}"
    );
    assert!(status.contains("serial 10"), "{status}");

    let other = bundle(Role::Group, "230101-008", Some(public_key(&node)), "11");
    write(&node, "other.bundle", &other);
    std::fs::write(
        node.dir.path().join("node.toml"),
        "[hub]\nbundle = \"other.bundle\"\n",
    )
    .unwrap();
    let status = node.ok(&["--config", config, "status"]);
    assert!(
        status.contains("WARNING         the config file's bundle does not fit"),
        "{status}"
    );
    let stderr = node.fails(&["--config", config, "sync", "--once"], 1);
    assert!(
        stderr.contains("this bundle enrols 230101-008, this ledger is 230101-007"),
        "{stderr}"
    );
}

#[test]
fn a_bundle_issued_before_a_key_rotation_still_installs() {
    // Proves the certificate names the group, not its key: after
    // `rotate-key`, the bundle issued for the key the ledger signed with
    // before is still this ledger's, while a key it never held is refused.
    let node = Node::opened();
    let before = group_bundle(&node, "04");
    node.ok(&["rotate-key"]);
    assert_ne!(public_key(&node), before.public_key.clone().unwrap());
    let out = install(&node, &write(&node, "before-rotation.bundle", &before));
    assert!(out.contains(GROUP), "{out}");
    let stranger = SigningKey::generate().unwrap().public().to_hex();
    let wrong = bundle(Role::Group, GROUP, Some(stranger), "05");
    let stderr = node.fails(
        &[
            "init",
            "--bundle",
            write(&node, "stranger.bundle", &wrong).to_str().unwrap(),
        ],
        1,
    );
    assert!(stderr.contains("but this ledger signs with"), "{stderr}");
}
