//! The real `sajja-hub` binary driven through its CLI: check-config on the
//! shipped examples and on broken files, and an online backup of a running hub.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use sajja_common::GroupId;
use sajja_hub::store::Store;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_sajja-hub");
/// How long a hub may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(30);
const KEY_A: &str = "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29";
const KEY_B: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

fn hub(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = hub(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A hub directory made by `sajja-hub init`: config, certificates, database.
fn init(root: &Path, hub_id: &str, level: &str) -> PathBuf {
    sajja_testkit::Hub::init(&root.join(format!("hub-{hub_id}")), hub_id, level)
        .dir
        .clone()
}

/// Runs check-config on `text` in a hub directory with real certificates.
fn check(text: &str) -> (Option<i32>, String, String, TempDir) {
    let root = TempDir::new().unwrap();
    let dir = init(root.path(), "230101", "tambon");
    let path = dir.join("hub.toml");
    std::fs::write(&path, text).unwrap();
    let out = hub(&["check-config", path.to_str().unwrap()]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    (out.status.code(), stderr, path.display().to_string(), root)
}

const VALID: &str = "hub_id = \"230101\"\n\
                     level = \"tambon\"\n\
                     listen = \"127.0.0.1:0\"\n\
                     [tls]\n\
                     cert = \"tls/server.pem\"\n\
                     key = \"tls/server.key\"\n\
                     ca = \"tls/ca.pem\"\n\
                     ca_key = \"tls/ca.key\"\n";

fn tomls_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            tomls_under(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}

#[test]
fn every_example_config_in_deploy_passes_check_config() {
    // Proves each hub config shipped under deploy/ is valid. Examples keep
    // their certificate paths relative, in the layout `sajja-hub init`
    // creates, so each is checked as the hub.toml of a freshly made hub
    // directory with real certificates. node*.toml files are checked by the
    // node's own CLI tests; any other file here must be a hub config.
    let mut files = Vec::new();
    tomls_under(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy"),
        &mut files,
    );
    let hubs: Vec<_> = files
        .iter()
        .filter(|p| !p.file_name().unwrap().to_str().unwrap().starts_with("node"))
        .collect();
    assert!(
        hubs.len() >= 2,
        "expected tambon and province examples: {files:?}"
    );
    for example in hubs {
        let text = std::fs::read_to_string(example).unwrap();
        let root = TempDir::new().unwrap();
        let dir = init(root.path(), "230101", "tambon");
        let path = dir.join("hub.toml");
        std::fs::write(&path, &text).unwrap();
        let out = hub(&["check-config", path.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            example.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn a_config_made_by_init_is_valid() {
    // Proves check-config accepts what `init` writes and says what it read.
    let (code, stderr, _, root) = check(VALID);
    assert_eq!(code, Some(0), "{stderr}");
    let dir = init(root.path(), "23", "province");
    let out = ok(&["check-config", dir.join("hub.toml").to_str().unwrap()]);
    assert!(out.contains("ok: hub 23 (province)"), "{out}");
}

#[test]
fn check_config_names_each_problem_with_its_line() {
    // Proves an unknown key, a bad address, a missing certificate file and a
    // bad hub id are each reported at their own line in one pass, exit 64.
    let text = VALID
        .replace("hub_id = \"230101\"", "hub_id = \"2301\"")
        .replace(
            "listen = \"127.0.0.1:0\"",
            "listen = \"127.0.0.1\"\ncolour = \"blue\"",
        )
        .replace("tls/server.pem", "tls/missing.pem");
    let (code, stderr, file, _root) = check(&text);
    assert_eq!(code, Some(64), "{stderr}");
    for expected in [
        format!("{file}:1: hub_id: "),
        format!("{file}:3: listen: invalid socket address"),
        format!("{file}:4: unknown field `colour`"),
        format!("{file}:6: tls.cert: "),
    ] {
        assert!(
            stderr.contains(&expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    assert!(stderr.contains("missing.pem does not exist"), "{stderr}");
    let lines: Vec<_> = stderr.lines().collect();
    assert_eq!(
        lines.len(),
        4,
        "one line per problem, in file order: {stderr}"
    );
}

#[test]
fn check_config_checks_metrics_listen() {
    // Proves `metrics_listen` is optional, must be an address, and may not
    // take the Sync service's own address.
    let with = |value: &str| {
        VALID
            .replace("listen = \"127.0.0.1:0\"", "listen = \"127.0.0.1:7400\"")
            .replace("[tls]", &format!("metrics_listen = {value}\n[tls]"))
    };
    let (code, stderr, _, _root) = check(&with("\"127.0.0.1:9400\""));
    assert_eq!(code, Some(0), "{stderr}");
    let (code, stderr, file, _root) = check(&with("\"127.0.0.1\""));
    assert_eq!(code, Some(64));
    assert!(
        stderr.contains(&format!("{file}:4: metrics_listen: invalid socket address")),
        "{stderr}"
    );
    let (code, stderr, file, _root) = check(&with("\"0.0.0.0:7400\""));
    assert_eq!(code, Some(64));
    assert!(
        stderr.contains(&format!(
            "{file}:4: metrics_listen: 0.0.0.0:7400 is the address the Sync service listens on"
        )),
        "{stderr}"
    );
}

#[test]
fn check_config_reports_a_bad_level_and_a_missing_key() {
    // Proves a bad enum value carries its line, a missing table names itself,
    // and an unreadable file is an error too.
    let (code, stderr, file, _root) = check(&VALID.replace("\"tambon\"", "\"village\""));
    assert_eq!(code, Some(64));
    assert!(
        stderr.contains(&format!("{file}:2: level: unknown variant `village`")),
        "{stderr}"
    );
    let (code, stderr, file, _root) = check("hub_id = \"230101\"\nlevel = \"tambon\"\n");
    assert_eq!(code, Some(64));
    assert!(
        stderr.contains(&format!("{file}: missing field `tls`")),
        "{stderr}"
    );
    let out = hub(&["check-config", "/nonexistent/hub.toml"]);
    assert_eq!(out.status.code(), Some(64));
}

/// A running `sajja-hub run`, killed on drop.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for_file(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < START_TIMEOUT,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_backup_of_a_running_hub_opens_and_restores() {
    // Proves `backup` copies the database while `sajja-hub run` serves: the
    // copy has mode 0600, opens with the hub's own Store and holds the enrolled
    // groups; a group enrolled afterwards is not in it; and the documented
    // restore (stop, copy back, start) brings the hub back to the copy.
    let root = TempDir::new().unwrap();
    let dir = init(root.path(), "230101", "tambon");
    let config = dir.join("hub.toml");
    let config = config.to_str().unwrap();
    let bundle = root.path().join("230101-001.bundle");
    ok(&[
        "enrol",
        "group",
        "230101-001",
        "--key",
        KEY_A,
        "--config",
        config,
        "--out",
        bundle.to_str().unwrap(),
    ]);
    let bundle = root.path().join("230101-002.bundle");
    ok(&[
        "enrol",
        "group",
        "230101-002",
        "--key",
        KEY_B,
        "--config",
        config,
        "--out",
        bundle.to_str().unwrap(),
    ]);
    let running = Running(
        Command::new(BIN)
            .args(["run", "--config", config])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for_file(&dir.join("data/hub.addr"));

    let dest = root.path().join("hub-backup.sqlite");
    let out = ok(&["backup", "--config", config, dest.to_str().unwrap()]);
    assert!(out.starts_with("backed up hub 230101 ("), "{out}");
    let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let again = hub(&["backup", "--config", config, dest.to_str().unwrap()]);
    assert!(!again.status.success(), "a backup never overwrites");
    let bundle = root.path().join("230101-003.bundle");
    ok(&[
        "enrol",
        "group",
        "230101-003",
        "--key",
        KEY_A,
        "--config",
        config,
        "--out",
        bundle.to_str().unwrap(),
    ]);

    let groups = Store::open(&dest).unwrap().groups().unwrap();
    let id = |g: &str| GroupId::parse(g).unwrap();
    assert!(groups.contains(&id("230101-001")), "{groups:?}");
    assert!(groups.contains(&id("230101-002")), "{groups:?}");
    assert!(!groups.contains(&id("230101-003")), "{groups:?}");

    // Restore: stop the hub, copy the file back (without the old WAL), start.
    drop(running);
    let database = dir.join("data/hub.sqlite");
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", database.display()));
    }
    std::fs::copy(&dest, &database).unwrap();
    let heads = ok(&["heads", "--config", config]);
    assert!(
        heads.contains("230101-001") && heads.contains("230101-002"),
        "{heads}"
    );
    assert!(!heads.contains("230101-003"), "{heads}");
}

#[test]
fn enrol_refuses_a_private_key_backup_and_its_help_names_the_public_key() {
    // Proves `enrol group --key` refuses a node's key-export line by name (issue 12, bug 3), and the help no longer points at key-export as the key's source.
    let root = TempDir::new().unwrap();
    let dir = init(root.path(), "230101", "tambon");
    let config = dir.join("hub.toml");
    let seed = "sajja-private-key-v1:".to_string() + &"ab".repeat(32);
    let out = hub(&[
        "enrol",
        "group",
        "230101-001",
        "--key",
        &seed,
        "--config",
        config.to_str().unwrap(),
        "--out",
        root.path().join("g.bundle").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("this is a private key backup: never give it to the hub; use the public key from `sajja-node status`"),
        "{err}"
    );
    assert!(
        !err.contains(&"ab".repeat(32)),
        "the secret is not echoed: {err}"
    );
    assert!(!root.path().join("g.bundle").exists());
    let help = ok(&["enrol", "group", "--help"]);
    assert!(help.contains("sajja-node status"), "{help}");
    assert!(help.contains("refused"), "{help}");
}
