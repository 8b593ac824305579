//! Operations: node.toml and check-config, JSON logs, online backups and the
//! documented restore.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use sajja_edge::enrolment::{Enrolment, Role};
use tempfile::TempDir;

use crate::{BIN, Node};

/// A well-formed bundle (its PEMs are placeholders: `check-config` reads the
/// bundle, it does not open a connection).
fn sample_bundle(role: Role, subject: &str) -> Enrolment {
    let pem = |label: &str| format!("-----BEGIN {label}-----\nAA\n-----END {label}-----\n");
    Enrolment {
        role,
        subject: subject.into(),
        scope: (role == Role::Coordinator).then(|| "230101".into()),
        public_key: Some("00".repeat(32)),
        hub_id: "230101".into(),
        hub_url: "https://hub.example:7400".into(),
        serial: "0a1b".into(),
        not_after: 4_000_000_000,
        ca: pem("CERTIFICATE"),
        cert: pem("CERTIFICATE"),
        key: pem("PRIVATE KEY"),
    }
}

/// The binary with no environment that could point it at a ledger or config.
fn bare(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("SAJJA_NODE_DATA")
        .env_remove("SAJJA_NODE_CONFIG")
        .env_remove("SAJJA_LOG")
        .output()
        .unwrap()
}

/// Runs check-config on `text` written to a temp file; returns (exit code, stderr).
fn check(text: &str) -> (Option<i32>, String, PathBuf, TempDir) {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("node.toml");
    std::fs::write(&path, text).unwrap();
    let out = bare(&["check-config", path.to_str().unwrap()]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    (out.status.code(), stderr, path, dir)
}

/// `(seq, bytes, hash)` of every event in a ledger file.
fn rows(database: &Path) -> Vec<(i64, Vec<u8>, Vec<u8>)> {
    let conn = rusqlite::Connection::open(database).unwrap();
    let mut statement = conn
        .prepare("SELECT seq, bytes, hash FROM events ORDER BY seq")
        .unwrap();
    statement
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

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
fn every_node_example_config_in_deploy_passes_check_config() {
    // Proves each node*.toml under deploy/ is valid as shipped. Its bundle
    // path is relative to the file, so the copy gets the bundle it names.
    let mut files = Vec::new();
    tomls_under(&deploy_dir(), &mut files);
    let nodes: Vec<_> = files
        .iter()
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with("node"))
        .collect();
    assert!(!nodes.is_empty(), "no node example in deploy/");
    for example in nodes {
        let text = std::fs::read_to_string(example).unwrap();
        let dir = TempDir::new().unwrap();
        let copy = dir.path().join("node.toml");
        std::fs::write(&copy, &text).unwrap();
        let table: toml::Table = toml::from_str(&text).unwrap();
        if let Some(bundle) = table
            .get("hub")
            .and_then(|h| h.get("bundle"))
            .and_then(|c| c.as_str())
        {
            assert!(
                Path::new(bundle).is_relative(),
                "{}: keep the example's bundle path relative",
                example.display()
            );
            sample_bundle(Role::Group, "230101-007")
                .write(&dir.path().join(bundle))
                .unwrap();
        }
        let out = bare(&["check-config", copy.to_str().unwrap()]);
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
fn check_config_names_each_problem_with_its_line() {
    // Proves an unknown key, a missing bundle file and a wrong type are each
    // reported at their own line, in one pass, with exit 64.
    let (code, stderr, path, _dir) = check(
        "data_dir = \"d\"\n\
         colour = \"blue\"\n\
         [hub]\n\
         bundle = \"missing.bundle\"\n\
         [sync]\n\
         poll_interval_s = \"often\"\n",
    );
    assert_eq!(code, Some(64), "{stderr}");
    let file = path.display().to_string();
    for expected in [
        format!("{file}:2: unknown field `colour`"),
        format!("{file}:4: hub.bundle: "),
        format!("{file}:6: sync.poll_interval_s: invalid type"),
    ] {
        assert!(
            stderr.contains(&expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    assert!(stderr.contains("missing.bundle: No such file"), "{stderr}");
}

#[test]
fn check_config_explains_a_bad_bundle_and_the_old_hub_keys() {
    // Proves a malformed bundle, another role's bundle, a [hub] without a
    // bundle and the url/ca keys that bundles replaced are each named at
    // their line, with what to do.
    let dir = TempDir::new().unwrap();
    let config = dir.path().join("node.toml");
    let run = |text: &str| {
        std::fs::write(&config, text).unwrap();
        let out = bare(&["check-config", config.to_str().unwrap()]);
        (out.status.code(), String::from_utf8(out.stderr).unwrap())
    };
    let file = config.display().to_string();

    std::fs::write(dir.path().join("garbage.bundle"), "role = \"group\"\n").unwrap();
    let (code, stderr) = run("\n[hub]\nbundle = \"garbage.bundle\"\n");
    assert_eq!(code, Some(64), "{stderr}");
    assert!(
        stderr.contains(&format!("{file}:3: hub.bundle: ")),
        "{stderr}"
    );
    assert!(stderr.contains("not an enrolment bundle"), "{stderr}");

    sample_bundle(Role::Coordinator, "somchai")
        .write(&dir.path().join("coordinator.bundle"))
        .unwrap();
    let (code, stderr) = run("[hub]\nbundle = \"coordinator.bundle\"\n");
    assert_eq!(code, Some(64), "{stderr}");
    assert!(
        stderr.contains(&format!("{file}:2: hub.bundle: "))
            && stderr.contains("enrols a coordinator, not a group"),
        "{stderr}"
    );

    let (code, stderr) = run("[hub]\nurl = \"https://hub.example:7400\"\nca = \"ca.pem\"\n");
    assert_eq!(code, Some(64), "{stderr}");
    for expected in [
        format!("{file}:1: hub: needs `bundle = \"FILE\"`"),
        format!("{file}:2: hub.url: no longer read"),
        format!("{file}:3: hub.ca: no longer read"),
    ] {
        assert!(
            stderr.contains(&expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }

    sample_bundle(Role::Group, "230101-007")
        .write(&dir.path().join("group.bundle"))
        .unwrap();
    let out = {
        std::fs::write(&config, "[hub]\nbundle = \"group.bundle\"\n").unwrap();
        bare(&["check-config", config.to_str().unwrap()])
    };
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("hub https://hub.example:7400 for group 230101-007"),
        "{stdout}"
    );
}

#[test]
fn check_config_reports_syntax_errors_and_limits_with_lines() {
    // Proves a TOML syntax error and an out-of-range value carry their lines.
    let (code, stderr, path, _dir) = check("[log]\nformat = \"json\"\nlevel = = \"info\"\n");
    assert_eq!(code, Some(64), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:3: ", path.display())),
        "{stderr}"
    );
    let (code, stderr, path, _dir) = check("\n[sync]\nbackoff_max_s = 0\n");
    assert_eq!(code, Some(64), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:3: sync.backoff_max_s: 0", path.display())),
        "{stderr}"
    );
    let (code, stderr, _, _dir) = check("");
    assert_eq!(code, Some(0), "an empty file is every default: {stderr}");
}

#[test]
fn config_values_are_defaults_and_flags_win() {
    // Proves data_dir and [hub] come from --config, --data-dir overrides the
    // file, and a bad --config stops every command with exit 64.
    let dir = TempDir::new().unwrap();
    sample_bundle(Role::Group, "230101-007")
        .write(&dir.path().join("group.bundle"))
        .unwrap();
    let config = dir.path().join("node.toml");
    std::fs::write(
        &config,
        "data_dir = \"ledger\"\n[hub]\nbundle = \"group.bundle\"\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let out = bare(&[
        "--config",
        config,
        "init",
        "--group",
        "230101-007",
        "--name",
        "g",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("ledger/ledger.sqlite").is_file());
    let out = bare(&["--config", config, "status"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("https://hub.example:7400 (hub 230101; bundle ")
            && stdout.contains("group.bundle from the config file)"),
        "{stdout}"
    );
    let elsewhere = dir.path().join("elsewhere");
    let out = bare(&[
        "--config",
        config,
        "--data-dir",
        elsewhere.to_str().unwrap(),
        "status",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the flag must win over the file"
    );
    std::fs::write(dir.path().join("node.toml"), "data_dir = 5\n").unwrap();
    let out = bare(&["--config", config, "status"]);
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains(":1: data_dir: invalid type"));
}

#[test]
fn json_logs_are_one_object_a_line_and_never_name_a_member() {
    // Proves --log-format json and [log] format = "json" give JSON lines, and
    // that even at trace level a member's name stays out of the log.
    let node = Node::opened();
    let name = "สมหญิง ใจดี";
    let out = node
        .command(&[
            "--log-format",
            "json",
            "member",
            "add",
            "--name",
            name,
            "--birth-year",
            "1960",
        ])
        .env("SAJJA_LOG", "trace")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.lines().count() > 0, "trace level logs the append");
    for line in stderr.lines() {
        assert!(line.starts_with('{') && line.ends_with('}'), "{line}");
        assert!(line.contains("\"level\""), "{line}");
    }
    assert!(
        !stderr.contains(name) && !stderr.contains("สมหญิง"),
        "{stderr}"
    );

    let config = node.dir.path().join("node.toml");
    std::fs::write(&config, "[log]\nformat = \"json\"\nlevel = \"info\"\n").unwrap();
    let out = node
        .command(&[
            "--config",
            config.to_str().unwrap(),
            "contribute",
            "1",
            "30",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with('{') && l.contains("appended")),
        "{stderr}"
    );
}

#[test]
fn a_backup_taken_while_appending_is_a_verified_prefix_and_restores() {
    // Proves `backup` copies a ledger while another process appends: each copy
    // has mode 0600, passes `verify`, is a prefix of the live log at least as
    // long as what was committed before it began; and the documented restore
    // (stop, copy back, start, verify) gives back exactly that ledger.
    let node = Node::opened();
    let mut child = node
        .command(&["debug", "append-loop"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut committed = |rounds: usize| {
        let mut last = 0u64;
        for _ in 0..rounds {
            let line = lines.next().expect("the append loop ended early").unwrap();
            last = line.trim_start_matches("appended ").parse().unwrap();
        }
        last
    };
    let backups = TempDir::new().unwrap();
    let mut copies = Vec::new();
    for round in 0..3 {
        let before = committed(5);
        let dest = backups.path().join(format!("ledger-{round}.sqlite"));
        let out = node.ok(&["backup", dest.to_str().unwrap()]);
        assert!(out.starts_with("backed up group 230101-007"), "{out}");
        copies.push((dest, before));
    }
    committed(5);
    child.kill().unwrap();
    child.wait().unwrap();

    let live = rows(&node.database());
    for (dest, before) in &copies {
        let mode = std::fs::metadata(dest).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", dest.display());
        let copy = rows(dest);
        assert!(
            copy.len() as u64 >= *before,
            "the copy lost committed events"
        );
        assert!(
            copy.len() < live.len(),
            "the writer kept going after the copy"
        );
        assert_eq!(
            copy[..],
            live[..copy.len()],
            "the copy is a prefix of the live log"
        );
        // The copy is one file: no WAL beside it.
        assert!(!PathBuf::from(format!("{}-wal", dest.display())).exists());
    }

    // Restore: the daemon (here the append loop) is stopped; copy the file
    // back over the ledger, removing the old WAL and shared-memory files.
    let (dest, _) = &copies[1];
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", node.database().display()));
    }
    std::fs::copy(dest, node.database()).unwrap();
    let verified = node.ok(&["verify"]);
    assert!(verified.starts_with("ok:"), "{verified}");
    let head = rows(dest).len();
    assert_eq!(node.event_count() as usize, head);
    let status = node.ok(&["status"]);
    assert!(
        status.contains(&format!("local head      seq {head} ")),
        "{status}"
    );
}

#[test]
fn a_backup_never_overwrites_and_needs_a_ledger() {
    // Proves an existing DEST is left untouched and a missing ledger is an error.
    let node = Node::opened();
    let dest = node.dir.path().join("taken.sqlite");
    std::fs::write(&dest, "keep me").unwrap();
    let stderr = node.fails(&["backup", dest.to_str().unwrap()], 1);
    assert!(stderr.contains("already exists"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), "keep me");
    assert!(!node.dir.path().join("taken.sqlite.partial").exists());
    let empty = Node::empty();
    let dest = empty.dir.path().join("b.sqlite");
    empty.fails(&["backup", dest.to_str().unwrap()], 1);
    assert!(!dest.exists());
}

#[test]
fn status_shows_the_last_sync_as_thai_clock_time() {
    // Proves `status` prints when the hub last acknowledged in Thailand's
    // time (UTC+7), ISO by default and Buddhist era with SAJJA_LANG=th, not
    // unix seconds.
    let node = Node::opened();
    let conn = rusqlite::Connection::open(node.database()).unwrap();
    // 2026-12-07 10:42:00 UTC.
    conn.execute("UPDATE meta SET last_sync_at = 1796640120", [])
        .unwrap();
    drop(conn);
    let status = node.ok(&["status"]);
    assert!(
        status.contains("last sync       2026-12-07 17:42 (Thailand time)\n"),
        "{status}"
    );
    let thai = node
        .command(&["status"])
        .env("SAJJA_LANG", "th")
        .output()
        .unwrap();
    let thai = String::from_utf8(thai.stdout).unwrap();
    assert!(
        thai.contains("last sync       2569-12-07 17:42 (Thailand time)\n"),
        "{thai}"
    );
    assert!(!status.contains("unix"), "{status}");
}
