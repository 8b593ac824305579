//! Scenario helpers shared by the end-to-end tests.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

pub use sajja_testkit::*;

/// A node with a fresh group ledger, connected and enrolled at `hub`.
pub fn enrolled_node(dir: &Path, hub: &Hub, group: &str) -> Node {
    let node = opened_node(dir, group);
    let key = public_key(&node);
    let bundle = hub.enrol(&["group", group, "--key", &key]);
    node.cli(&["init", "--bundle", path_arg(&bundle)]);
    node
}

/// A node with a fresh group ledger opened on 2025-01-01, not yet enrolled.
pub fn opened_node(dir: &Path, group: &str) -> Node {
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
    // Members pay many times in February: each payment says it is extra.
    let mut csv = String::from("date,kind,member,name,birth_year,amount,extra\n");
    for m in 1..=members {
        csv.push_str(&format!("2025-01-01,member-join,{m},member {m},1970,,\n"));
    }
    for i in 0..contributions {
        let day = 2 + (i / members) % 27;
        csv.push_str(&format!(
            "2025-02-{day:02},contribute,{},,,30,yes\n",
            i % members + 1
        ));
    }
    let file = dir.join("activity.csv");
    std::fs::write(&file, csv).expect("write csv");
    node.cli(&["import", file.to_str().expect("utf-8 path")]);
}

/// Writes `rows` under `header` to `dir/name` and imports them in one transaction.
pub fn import_rows(node: &Node, dir: &Path, name: &str, header: &str, rows: &[String]) -> String {
    let mut csv = format!("{header}\n");
    for row in rows {
        csv.push_str(row);
        csv.push('\n');
    }
    let file = dir.join(name);
    std::fs::write(&file, csv).expect("write csv");
    node.cli(&["import", file.to_str().expect("utf-8 path")])
}

pub fn path_arg(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// A node's log as the raw-protocol tests need it: exact bytes, chain hashes
/// and the signing key, read from the node's own SQLite file.
pub struct GroupLog {
    pub group: sajja_common::GroupId,
    pub events: Vec<Vec<u8>>,
    pub hashes: Vec<sajja_common::Hash>,
    pub key: sajja_common::SigningKey,
}

impl GroupLog {
    pub fn read(node: &Node, group: &str) -> GroupLog {
        GroupLog {
            group: sajja_common::GroupId::parse(group).expect("group id"),
            events: node.event_bytes(),
            hashes: node
                .event_hashes()
                .iter()
                .map(|h| sajja_common::Hash::from_slice(h).expect("32-byte hash"))
                .collect(),
            key: sajja_common::SigningKey::from_seed(&node.signing_seed()).expect("seed"),
        }
    }

    /// Events `from..=to` (1-based seqs).
    pub fn range(&self, from: u64, to: u64) -> Vec<Vec<u8>> {
        self.events[(from - 1) as usize..to as usize].to_vec()
    }

    pub fn head_at(&self, seq: u64) -> sajja_common::Hash {
        self.hashes[(seq - 1) as usize]
    }

    /// The group's checkpoint at `seq`, signed as the node would sign it.
    pub fn checkpoint_at(&self, seq: u64) -> sajja_common::SignedCheckpoint {
        sajja_common::Checkpoint {
            group: self.group.clone(),
            seq,
            head: self.head_at(seq),
            fork_epoch: 0,
        }
        .sign(&self.key)
    }
}

use sajja_proto::v1;
pub use sajja_proto::v1::push_response::Message as PushAnswer;

/// A raw gRPC client of a hub's Sync service, built as the node builds its
/// own (TLS against the hub's CA, zstd), for tests that must say exactly
/// what goes on the wire.
pub struct RawHub {
    runtime: tokio::runtime::Runtime,
    client: v1::sync_client::SyncClient<tonic::transport::Channel>,
}

/// One open Push stream.
pub struct RawPush<'a> {
    runtime: &'a tokio::runtime::Runtime,
    outbound: tokio::sync::mpsc::Sender<v1::PushRequest>,
    inbound: tonic::codec::Streaming<v1::PushResponse>,
}

impl RawHub {
    /// Connects with the client certificate of `bundle`.
    pub fn connect(hub: &Hub, bundle: &Path) -> RawHub {
        let bundle = sajja_edge::enrolment::Enrolment::read(bundle).expect("enrolment bundle");
        // One worker keeps the HTTP/2 connection alive while the test thread
        // blocks on a hub answer or reads SQLite.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let client = runtime.block_on(async {
            sajja_proto::client::connect(&hub.url(), &bundle.client_tls())
                .await
                .expect("connect to the hub over mutual TLS")
        });
        RawHub { runtime, client }
    }

    /// Connects as `group`'s node, with a certificate issued for it now.
    pub fn as_group(hub: &Hub, node: &Node, group: &str) -> RawHub {
        let bundle = hub.enrol(&["group", group, "--key", &public_key(node)]);
        RawHub::connect(hub, &bundle)
    }

    pub fn open(&mut self) -> RawPush<'_> {
        let (outbound, rx) = tokio::sync::mpsc::channel(2);
        let client = &mut self.client;
        let inbound = self.runtime.block_on(async {
            client
                .push(tokio_stream::wrappers::ReceiverStream::new(rx))
                .await
                .expect("open push stream")
                .into_inner()
        });
        RawPush {
            runtime: &self.runtime,
            outbound,
            inbound,
        }
    }
}

impl RawPush<'_> {
    fn ask(&mut self, message: v1::push_request::Message) -> PushAnswer {
        self.runtime.block_on(async {
            self.outbound
                .send(v1::PushRequest {
                    message: Some(message),
                })
                .await
                .expect("send on the push stream");
            tokio::time::timeout(std::time::Duration::from_secs(30), self.inbound.message())
                .await
                .expect("the hub answers within 30 s")
                .expect("push stream status")
                .expect("an answer")
                .message
                .expect("a non-empty answer")
        })
    }

    pub fn hello(&mut self, checkpoint: &sajja_common::SignedCheckpoint) -> v1::Welcome {
        match self.ask(v1::push_request::Message::Hello(v1::Hello {
            checkpoint: Some(checkpoint.into()),
            relayed_by: String::new(),
            last_contact_at: None,
        })) {
            PushAnswer::Welcome(welcome) => welcome,
            other => panic!("expected a welcome, got {other:?}"),
        }
    }

    /// A hello as a relaying hub sends it, naming itself in `relayed_by`.
    pub fn hello_relayed(
        &mut self,
        checkpoint: &sajja_common::SignedCheckpoint,
        relayed_by: &str,
    ) -> v1::Welcome {
        match self.ask(v1::push_request::Message::Hello(v1::Hello {
            checkpoint: Some(checkpoint.into()),
            relayed_by: relayed_by.to_string(),
            last_contact_at: None,
        })) {
            PushAnswer::Welcome(welcome) => welcome,
            other => panic!("expected a welcome, got {other:?}"),
        }
    }

    pub fn batch(
        &mut self,
        from: u64,
        events: Vec<Vec<u8>>,
        checkpoint: &sajja_common::SignedCheckpoint,
    ) -> PushAnswer {
        self.ask(v1::push_request::Message::Batch(v1::Batch {
            from_seq: from,
            events,
            checkpoint: Some(checkpoint.into()),
        }))
    }

    /// Sends `log`'s events `from..=to` with the checkpoint at `to`.
    pub fn push(&mut self, log: &GroupLog, from: u64, to: u64) -> PushAnswer {
        self.batch(from, log.range(from, to), &log.checkpoint_at(to))
    }
}

/// The ack in `answer`, or a panic naming what came instead.
pub fn ack(answer: PushAnswer) -> v1::Ack {
    match answer {
        PushAnswer::Ack(ack) => ack,
        other => panic!("expected an ack, got {other:?}"),
    }
}

/// The refusal in `answer`, or a panic naming what came instead.
pub fn refusal(answer: PushAnswer) -> v1::Refused {
    match answer {
        PushAnswer::Refused(refused) => refused,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Imports a history of `events` events in all (counting the two `init`
/// writes): 50 members join, then contributions each followed by its
/// reversal, whose reason is 480 characters of PRNG hex. The long reasons
/// make a 5,000-event log span several 256 KiB batches, so a push resumes
/// across batch boundaries, and keep it from compressing to nothing.
pub fn import_long_history(node: &Node, dir: &Path, events: u32, rng: &mut Rng) {
    const MEMBERS: u32 = 50;
    assert!(events > 2 + MEMBERS);
    let mut rows = Vec::new();
    for m in 1..=MEMBERS {
        rows.push(format!("2025-01-01,member-join,{m},member {m},1970,,,"));
    }
    let mut seq = 2 + MEMBERS;
    while seq < events {
        let day = 1 + (seq / 200) % 28;
        let member = seq % MEMBERS + 1;
        seq += 1;
        rows.push(format!("2025-02-{day:02},contribute,{member},,,30,,"));
        if seq < events {
            let reason: String = (0..30)
                .map(|_| format!("{:016x}", rng.next_u64()))
                .collect();
            rows.push(format!("2025-02-{day:02},reverse,,,,,{},{reason}", seq));
            seq += 1;
        }
    }
    import_rows(
        node,
        dir,
        "long-history.csv",
        "date,kind,member,name,birth_year,amount,seq,reason",
        &rows,
    );
}

// ---- the hub's operations endpoint (`metrics_listen`) ----

/// Puts `metrics_listen` on an ephemeral port: first in the file, so that it
/// is a top-level key whatever tables follow.
pub fn enable_metrics(hub: &Hub) {
    let config = std::fs::read_to_string(hub.config()).expect("read hub.toml");
    std::fs::write(
        hub.config(),
        format!("metrics_listen = \"127.0.0.1:0\"\n{config}"),
    )
    .expect("write hub.toml");
}

/// The operations endpoint's address, as the running hub wrote it (remove
/// the file before a restart to never read the last run's).
pub fn metrics_addr(hub: &Hub) -> String {
    let file = hub.dir.join("data/metrics.addr");
    wait_for("the metrics address", Duration::from_secs(20), || {
        std::fs::read_to_string(&file).ok()
    })
}

/// One plain HTTP/1.1 GET: (status code, body).
pub fn get(addr: &str, path: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the metrics endpoint");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").expect("send request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("read the response");
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of head in {response:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    (status, body.to_string())
}

/// The web app's address as the running node wrote it to `addr_file`
/// (`web.addr`), once its port accepts connections.
pub fn web_address(addr_file: &Path) -> String {
    let base = wait_for("the web app's address", Duration::from_secs(20), || {
        std::fs::read_to_string(addr_file)
            .ok()
            .map(|a| a.trim().to_string())
            .filter(|a| a.starts_with("http://"))
    });
    wait_for("the web app", Duration::from_secs(20), || {
        std::net::TcpStream::connect(base.trim_start_matches("http://")).ok()
    });
    base
}

/// `sajja-node user add NAME --role ROLE` on `data_dir`, the password on
/// standard input as a person types it.
pub fn add_web_user(data_dir: &Path, name: &str, role: &str, password: &str) {
    let mut child = std::process::Command::new(bin("sajja-node"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(["user", "add", name, "--role", role])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn user add");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("password");
    let output = child.wait_with_output().expect("user add");
    assert!(output.status.success(), "user add: {}", text(&output));
}

/// A logged-in session of a node's web app over plain HTTP, as a browser
/// gets one: its cookie, and the form token read off `form_page`.
pub fn web_login(base: &str, user: &str, password: &str, form_page: &str) -> (String, String) {
    use sajja_testkit::webdriver::http;
    let form = http("GET", &format!("{base}/login"), &[], b"");
    let login_cookie = form.cookies().into_iter().next().expect("login cookie");
    let token = login_cookie.split_once('=').expect("cookie").1.to_string();
    let body = format!("user={user}&password={password}&csrf={token}");
    let answer = http(
        "POST",
        &format!("{base}/login"),
        &[
            ("Cookie", &login_cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        body.as_bytes(),
    );
    assert_eq!(answer.status, 303, "login of {user}: {}", answer.text());
    let session = answer
        .cookies()
        .into_iter()
        .find(|c| c.starts_with("sajja_session=") && c.len() > 20)
        .expect("session cookie");
    let page = http(
        "GET",
        &format!("{base}{form_page}"),
        &[("Cookie", &session)],
        b"",
    );
    let csrf = page
        .text()
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("csrf token on the page")
        .to_string();
    (session, csrf)
}
