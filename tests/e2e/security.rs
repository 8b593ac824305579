//! Who may do what at a hub. Every listener is mutual TLS and the client
//! certificate decides: each refusal below comes with its status, and no
//! refused call changes a byte of any log the hubs hold.

use std::path::{Path, PathBuf};

use sajja_edge::enrolment::Enrolment;
use sajja_proto::client::ClientTls;
use sajja_proto::v1;
use tonic::Code;
use tonic::transport::Channel;

use crate::support::*;

/// A province 23 with tambon hubs 230101 and 230102, groups 230101-001 (A)
/// and 230101-002 (B) at the first and 230102-001 (C) at the second, all
/// synced up to the province.
struct Network {
    province: Hub,
    tambon: Hub,
    other_tambon: Hub,
    a: Node,
    b: Node,
    c: Node,
    a_bundle: PathBuf,
}

fn network(root: &Path) -> Network {
    let mut province = Hub::init(&root.join("province"), "23", "province");
    let mut tambon = Hub::init(&root.join("tambon-230101"), "230101", "tambon");
    let mut other_tambon = Hub::init(&root.join("tambon-230102"), "230102", "tambon");
    province.add_child(&tambon);
    province.add_child(&other_tambon);
    province.start();
    for hub in [&mut tambon, &mut other_tambon] {
        hub.set_parent(&province);
        hub.start();
    }
    let a = enrolled_node(&root.join("a"), &tambon, "230101-001");
    let b = enrolled_node(&root.join("b"), &tambon, "230101-002");
    let c = enrolled_node(&root.join("c"), &other_tambon, "230102-001");
    for node in [&a, &b, &c] {
        import_activity(node, &node.dir, 3, 9);
        node.cli(&["sync", "--once"]);
    }
    for (node, group) in [(&a, "230101-001"), (&b, "230101-002"), (&c, "230102-001")] {
        let held = node.event_bytes().len() as u64;
        wait_for(
            "the province to hold every log",
            std::time::Duration::from_secs(30),
            || (province.seq(group) == held).then_some(()),
        );
    }
    let a_bundle = tambon.enrol(&["group", "230101-001", "--key", &public_key(&a)]);
    Network {
        province,
        tambon,
        other_tambon,
        a,
        b,
        c,
        a_bundle,
    }
}

/// Every log a hub holds — events, checkpoints, heads, forks — but not the
/// credentials table, which enrolling and revoking are meant to change.
fn logs(hub: &Hub) -> Vec<String> {
    hub.dump()
        .into_iter()
        .filter(|row| !row.starts_with("credentials:"))
        .collect()
}

/// How a call came out: its gRPC status, or a connection the hub refused.
#[derive(Debug)]
enum Outcome {
    Ok,
    Status(Code, String),
    Refused(#[allow(dead_code)] String),
}

struct Client {
    runtime: tokio::runtime::Runtime,
}

impl Client {
    fn new() -> Client {
        Client {
            runtime: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime"),
        }
    }

    /// Runs `call` on a channel to `url` presenting `tls`.
    fn run<F, Fut>(&self, url: &str, tls: ClientTls, call: F) -> Outcome
    where
        F: FnOnce(Channel) -> Fut,
        Fut: std::future::Future<Output = Result<(), tonic::Status>>,
    {
        self.runtime.block_on(async {
            let channel = match sajja_proto::client::channel(url, &tls).await {
                Ok(channel) => channel,
                Err(e) => return Outcome::Refused(e.to_string()),
            };
            match call(channel).await {
                Ok(()) => Outcome::Ok,
                // A refused handshake surfaces on the first call.
                Err(status)
                    if matches!(status.code(), Code::Unavailable | Code::Unknown)
                        && status.message().contains("transport") =>
                {
                    Outcome::Refused(status.to_string())
                }
                Err(status) => Outcome::Status(status.code(), status.message().to_string()),
            }
        })
    }

    /// Runs `call` as the holder of `bundle` against the bundle's hub.
    fn as_holder<F, Fut>(&self, bundle: &Path, call: F) -> Outcome
    where
        F: FnOnce(Channel) -> Fut,
        Fut: std::future::Future<Output = Result<(), tonic::Status>>,
    {
        let bundle = Enrolment::read(bundle).expect("bundle");
        self.run(&bundle.hub_url, bundle.client_tls(), call)
    }
}

async fn pull(channel: Channel, group: &str) -> Result<(), tonic::Status> {
    let mut client = v1::sync_client::SyncClient::new(channel);
    let mut stream = client
        .pull(v1::PullRequest {
            group_id: group.to_string(),
            from_seq: 1,
        })
        .await?
        .into_inner();
    while stream.message().await?.is_some() {}
    Ok(())
}

async fn heads(channel: Channel, group: &str) -> Result<(), tonic::Status> {
    v1::sync_client::SyncClient::new(channel)
        .heads(v1::HeadsRequest {
            group_ids: vec![group.to_string()],
        })
        .await?;
    Ok(())
}

/// Opens a push and says hello with `checkpoint`; Ok only if welcomed.
async fn hello(
    channel: Channel,
    checkpoint: sajja_common::SignedCheckpoint,
) -> Result<(), tonic::Status> {
    let mut client = v1::sync_client::SyncClient::new(channel);
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tx.send(v1::PushRequest {
        message: Some(v1::push_request::Message::Hello(v1::Hello {
            checkpoint: Some((&checkpoint).into()),
            relayed_by: String::new(),
            last_contact_at: None,
        })),
    })
    .await
    .expect("queue hello");
    let mut answers = client
        .push(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await?
        .into_inner();
    match answers.message().await? {
        Some(v1::PushResponse {
            message: Some(v1::push_response::Message::Welcome(_)),
        }) => Ok(()),
        other => Err(tonic::Status::unknown(format!("no welcome: {other:?}"))),
    }
}

async fn position(channel: Channel, scope: &str) -> Result<(), tonic::Status> {
    v1::query_client::QueryClient::new(channel)
        .position(v1::PositionRequest {
            scope: scope.to_string(),
            as_of: None,
        })
        .await?;
    Ok(())
}

async fn revoke(channel: Channel, serial: &str) -> Result<(), tonic::Status> {
    v1::admin_client::AdminClient::new(channel)
        .revoke(v1::RevokeRequest {
            serial: serial.to_string(),
            ..Default::default()
        })
        .await?;
    Ok(())
}

/// TLS material with no client certificate at all: the hub's CA only.
fn anonymous(hub: &Hub) -> ClientTls {
    ClientTls {
        ca_pem: std::fs::read(hub.ca()).expect("hub CA"),
        cert_pem: Vec::new(),
        key_pem: Vec::new(),
    }
}

#[test]
fn every_forbidden_call_is_refused_with_its_status_and_no_log_changes() {
    let dir = tempfile::tempdir().unwrap();
    let net = network(dir.path());
    let client = Client::new();
    let a_log = GroupLog::read(&net.a, "230101-001");
    let b_log = GroupLog::read(&net.b, "230101-002");
    let c_log = GroupLog::read(&net.c, "230102-001");
    let b_head = b_log.checkpoint_at(b_log.events.len() as u64);
    let c_head = c_log.checkpoint_at(c_log.events.len() as u64);

    let coordinator_230101 = net
        .tambon
        .enrol(&["coordinator", "somchai", "--scope", "230101"]);
    let stranger = net
        .other_tambon
        .enrol(&["group", "230102-001", "--key", &public_key(&net.c)]);
    let relay_230101 = net.province.enrol(&["hub", "230101"]);
    let province_coordinator = net
        .province
        .enrol(&["coordinator", "somchai", "--scope", "230101"]);
    let revoked = net
        .tambon
        .enrol(&["coordinator", "malee", "--scope", "230101"]);
    let revoked_serial = Enrolment::read(&revoked).unwrap().serial;
    net.tambon.admin(&["revoke", "serial", &revoked_serial]);
    // The old bundle of a node whose certificate was revoked and re-issued.
    let old_bundle = net.a_bundle.clone();
    net.tambon.admin(&["revoke", "group", "230101-001"]);
    let new_bundle = net
        .tambon
        .enrol(&["group", "230101-001", "--key", &public_key(&net.a)]);

    // Signed by this hub's own CA, but never issued by it (say, made from
    // a stolen CA key, or issued before a database restore), and one expired.
    let ca = sajja_hub::pki::certs::Pem {
        cert: std::fs::read_to_string(net.tambon.ca()).unwrap(),
        key: std::fs::read_to_string(net.tambon.dir.join("tls/ca.key")).unwrap(),
    };
    let group_a = sajja_hub::values::principal::Principal::Group(
        sajja_common::GroupId::parse("230101-001").unwrap(),
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let forged = |issued: sajja_hub::pki::client_certs::Issued| ClientTls {
        ca_pem: ca.cert.as_bytes().to_vec(),
        cert_pem: issued.pem.cert.into_bytes(),
        key_pem: issued.pem.key.into_bytes(),
    };
    let unrecorded = forged(sajja_hub::pki::client_certs::issue(&ca, &group_a, 30, now).unwrap());
    let expired =
        forged(sajja_hub::pki::client_certs::issue(&ca, &group_a, 30, now - 400 * 86_400).unwrap());

    let before: Vec<Vec<String>> = [&net.province, &net.tambon, &net.other_tambon]
        .iter()
        .map(|hub| logs(hub))
        .collect();
    let tambon_url = net.tambon.url();

    type Case<'a> = (&'a str, Outcome, Code, &'a str);
    let cases: Vec<Case> = vec![
        (
            "no client certificate",
            client.run(&tambon_url, anonymous(&net.tambon), |ch| {
                heads(ch, "230101-001")
            }),
            Code::Unauthenticated,
            "no client certificate",
        ),
        (
            "a certificate from another hub's CA",
            client.run(
                &tambon_url,
                ClientTls {
                    ca_pem: std::fs::read(net.tambon.ca()).unwrap(),
                    ..Enrolment::read(&stranger).unwrap().client_tls()
                },
                |ch| heads(ch, "230102-001"),
            ),
            Code::Unavailable,
            "",
        ),
        (
            "a certificate signed by the hub's CA but never issued",
            client.run(&tambon_url, unrecorded, |ch| pull(ch, "230101-001")),
            Code::Unauthenticated,
            "unknown to this hub",
        ),
        (
            "an expired certificate",
            client.run(&tambon_url, expired, |ch| pull(ch, "230101-001")),
            Code::Unavailable,
            "",
        ),
        (
            "a revoked certificate",
            client.as_holder(&revoked, |ch| heads(ch, "230101-001")),
            Code::Unauthenticated,
            "revoked",
        ),
        (
            "group A pushing group B's log",
            client.as_holder(&new_bundle, |ch| hello(ch, b_head.clone())),
            Code::PermissionDenied,
            "group 230101-001 may not write the log of 230101-002",
        ),
        (
            "group A pulling group B's log",
            client.as_holder(&new_bundle, |ch| pull(ch, "230101-002")),
            Code::PermissionDenied,
            "may not read the log of 230101-002",
        ),
        (
            "a coordinator of tambon 230101 querying 230102",
            client.as_holder(&province_coordinator, |ch| position(ch, "230102")),
            Code::PermissionDenied,
            "coordinator somchai (scope 230101) may not query 230102",
        ),
        (
            "a coordinator of 230101 reading a log of 230102",
            client.run(
                &net.province.url(),
                Enrolment::read(&province_coordinator).unwrap().client_tls(),
                |ch| pull(ch, "230102-001"),
            ),
            Code::PermissionDenied,
            "coordinator somchai (scope 230101) may not read the log of 230102-001",
        ),
        (
            "a coordinator calling an admin RPC",
            client.as_holder(&coordinator_230101, |ch| revoke(ch, &revoked_serial)),
            Code::PermissionDenied,
            "may not revoke",
        ),
        (
            "a coordinator pushing a log",
            client.as_holder(&coordinator_230101, |ch| hello(ch, a_log.checkpoint_at(1))),
            Code::PermissionDenied,
            "may not push any log",
        ),
        (
            "a tambon hub relaying a group enrolled at another tambon",
            client.as_holder(&relay_230101, |ch| hello(ch, c_head.clone())),
            Code::PermissionDenied,
            "hub 230101 may not write the log of 230102-001",
        ),
        (
            "a replayed old enrolment bundle after revocation",
            client.as_holder(&old_bundle, |ch| pull(ch, "230101-001")),
            Code::Unauthenticated,
            "revoked",
        ),
    ];
    for (what, outcome, code, says) in cases {
        match (&outcome, code) {
            (Outcome::Refused(_), Code::Unavailable) => {}
            (Outcome::Status(got, message), _) if *got == code && message.contains(says) => {}
            _ => panic!("{what}: expected {code:?} saying {says:?}, got {outcome:?}"),
        }
    }
    assert!(
        net.tambon.log().contains("TLS handshake refused"),
        "the hub logs the foreign certificate"
    );
    assert!(
        net.tambon.log().contains("permission denied"),
        "the hub logs each denied call with the caller"
    );

    let after: Vec<Vec<String>> = [&net.province, &net.tambon, &net.other_tambon]
        .iter()
        .map(|hub| logs(hub))
        .collect();
    assert_eq!(before, after, "no refused call changed any log");

    // What each holder may do still works.
    for (what, outcome) in [
        (
            "the re-issued bundle pulls its own log",
            client.as_holder(&new_bundle, |ch| pull(ch, "230101-001")),
        ),
        (
            "a coordinator reads a log within its scope",
            client.as_holder(&coordinator_230101, |ch| pull(ch, "230101-002")),
        ),
        (
            "a coordinator queries its scope",
            client.as_holder(&province_coordinator, |ch| position(ch, "230101")),
        ),
    ] {
        assert!(matches!(outcome, Outcome::Ok), "{what}: {outcome:?}");
    }
    net.a.cli(&["init", "--bundle", path_arg(&new_bundle)]);
    net.a.cli(&["sync", "--once"]);
}

/// The hub's peak resident memory so far, from /proc (Linux), in KiB.
fn peak_rss_kib(hub: &Hub) -> u64 {
    let pid = hub.child.as_ref().expect("hub running").id();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmHWM")
}

/// One misbehaving but enrolled client floods the hub with bad batches on
/// every stream it may open; the limits slow it down, a well-behaved node
/// still completes its sync, and the hub's memory stays bounded.
#[test]
fn a_flood_of_bad_batches_does_not_stop_an_honest_node_or_grow_the_hub() {
    let seconds: u64 = std::env::var("SAJJA_FLOOD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let dir = tempfile::tempdir().unwrap();
    let mut hub = Hub::init(&dir.path().join("hub"), "230101", "tambon");
    hub.start();
    let honest = enrolled_node(&dir.path().join("honest"), &hub, "230101-001");
    import_activity(&honest, &honest.dir, 20, 1_000);
    let flooder_key = sajja_common::SigningKey::generate().expect("key");
    let flooder_seed = *flooder_key.seed();
    let flooder = hub.enrol(&[
        "group",
        "230101-666",
        "--key",
        &flooder_key.public().to_hex(),
    ]);
    let tls = Enrolment::read(&flooder).unwrap().client_tls();
    let url = hub.url();
    let streams = 8; // limits.max_streams_per_client
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    let flood = runtime.spawn({
        let sent = sent.clone();
        async move {
            let mut tasks = Vec::new();
            for stream in 0..streams + 2 {
                let (url, tls, sent) = (url.clone(), tls.clone(), sent.clone());
                let key = sajja_common::SigningKey::from_seed(&flooder_seed).expect("seed");
                tasks.push(tokio::spawn(async move {
                    let group = sajja_common::GroupId::parse("230101-666").unwrap();
                    while std::time::Instant::now() < deadline {
                        let Ok(mut client) = sajja_proto::client::connect(&url, &tls).await else {
                            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                            continue;
                        };
                        let (tx, rx) = tokio::sync::mpsc::channel(64);
                        let Ok(answers) = client
                            .push(tokio_stream::wrappers::ReceiverStream::new(rx))
                            .await
                        else {
                            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                            continue;
                        };
                        // Answers are read and dropped so the stream keeps flowing.
                        let mut answers = answers.into_inner();
                        tokio::spawn(
                            async move { while let Ok(Some(_)) = answers.message().await {} },
                        );
                        let checkpoint = sajja_common::Checkpoint {
                            group: group.clone(),
                            seq: 1_000_000 + stream,
                            head: sajja_common::Hash::from_slice(&[7; 32]).unwrap(),
                            fork_epoch: 0,
                        }
                        .sign(&key);
                        let _ = tx
                            .send(v1::PushRequest {
                                message: Some(v1::push_request::Message::Hello(v1::Hello {
                                    checkpoint: Some((&checkpoint).into()),
                                    relayed_by: String::new(),
                                    last_contact_at: None,
                                })),
                            })
                            .await;
                        while std::time::Instant::now() < deadline {
                            let garbage = vec![vec![0xff; 200]; 100];
                            let batch = v1::PushRequest {
                                message: Some(v1::push_request::Message::Batch(v1::Batch {
                                    from_seq: 1,
                                    events: garbage,
                                    checkpoint: Some((&checkpoint).into()),
                                })),
                            };
                            match tokio::time::timeout(
                                std::time::Duration::from_millis(200),
                                tx.send(batch),
                            )
                            .await
                            {
                                Ok(Ok(())) => {
                                    sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                }
                                Ok(Err(_)) => break,
                                Err(_) => {}
                            }
                        }
                    }
                }));
            }
            for task in tasks {
                let _ = task.await;
            }
        }
    });
    std::thread::sleep(std::time::Duration::from_secs(seconds.min(5)));
    let started = std::time::Instant::now();
    let out = honest.cli(&["sync", "--once"]);
    let took = started.elapsed();
    assert_eq!(
        hub.seq("230101-001"),
        honest.event_bytes().len() as u64,
        "the honest node's whole log is held: {out}"
    );
    runtime.block_on(flood).expect("flood task");
    let peak = peak_rss_kib(&hub);
    let batches = sent.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "flood: {batches} bad batches queued in {seconds} s; honest 1,000-event sync took {took:?}; hub peak RSS {} MiB",
        peak / 1024
    );
    assert!(
        peak < 256 * 1024,
        "hub memory stays bounded under the flood: peak {peak} KiB"
    );
    assert_eq!(hub.seq("230101-666"), 0, "nothing of the flood was stored");
    assert!(
        hub.log().contains("too many concurrent calls"),
        "the extra streams were refused"
    );
}
