//! A hub operator's first day (issue 16): a hub listening on every interface
//! is reached by the name in its public URL, and the bundles it writes name
//! that URL, not the wildcard no node can dial.

use std::process::Command;

use sajja_proto::v1;
use tonic::codec::CompressionEncoding;

use crate::support::*;

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

fn init(dir: &std::path::Path, listen: &str, public_url: Option<&str>) -> (bool, String) {
    let mut command = Command::new(bin("sajja-hub"));
    command.args(["init", "--dir"]).arg(dir).args([
        "--hub-id", "230101", "--level", "tambon", "--listen", listen,
    ]);
    if let Some(url) = public_url {
        command.args(["--public-url", url]);
    }
    let output = run(command);
    (output.status.success(), text(&output))
}

#[test]
fn a_hub_on_every_interface_is_reached_by_its_public_name() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let listen = format!("0.0.0.0:{port}");

    // Without a public URL the hub would hand out https://0.0.0.0:PORT.
    let (ok, out) = init(&dir.path().join("refused"), &listen, None);
    assert!(
        !ok,
        "a wildcard listen without --public-url was accepted: {out}"
    );
    assert!(out.contains("--public-url"), "{out}");
    assert!(
        !dir.path().join("refused/hub.toml").exists(),
        "a refused init must write nothing"
    );

    let url = format!("https://localhost:{port}");
    let hub_dir = dir.path().join("hub");
    let (ok, out) = init(&hub_dir, &listen, Some(&url));
    assert!(ok, "{out}");
    let config = std::fs::read_to_string(hub_dir.join("hub.toml")).unwrap();
    assert!(
        config.contains(&format!("public_url = \"{url}\"")),
        "{config}"
    );
    let mut hub = Hub {
        dir: hub_dir,
        child: None,
        addr: None,
    };
    hub.start();

    // Enrolled without --url: the bundle carries the public URL.
    let group = "230101-001";
    let node = opened_node(&dir.path().join("node"), group);
    let key = public_key(&node);
    let bundle = dir.path().join("group.bundle");
    hub.admin(&[
        "enrol",
        "group",
        group,
        "--key",
        &key,
        "--out",
        path_arg(&bundle),
    ]);
    node.cli(&["init", "--bundle", path_arg(&bundle)]);
    let status = node.cli(&["status"]);
    assert!(
        status.contains(&url),
        "the node dials the public name: {status}"
    );

    node.cli(&[
        "member",
        "add",
        "--name",
        "สมศรี",
        "--birth-year",
        "1970",
        "--joined-on",
        "2025-01-01",
    ]);
    node.cli(&["contribute", "1", "30", "--date", "2025-01-05"]);
    node.cli(&["sync", "--once"]);
    assert_eq!(
        hub_event_bytes(&hub, group),
        node.event_bytes(),
        "the hub holds the node's log, pushed by the name in the certificate"
    );
}

/// The `grpc-encoding` a hub answers a pull with, for a client that accepts
/// only `accept` (or nothing).
fn pull_encoding(
    bundle: &std::path::Path,
    group: &str,
    accept: Option<CompressionEncoding>,
) -> String {
    let bundle = sajja_edge::enrolment::Enrolment::read(bundle).expect("bundle");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let channel = sajja_proto::client::channel(&bundle.hub_url, &bundle.client_tls())
            .await
            .expect("connect");
        let mut client = v1::sync_client::SyncClient::new(channel);
        if let Some(encoding) = accept {
            client = client.accept_compressed(encoding);
        }
        let response = client
            .pull(v1::PullRequest {
                group_id: group.to_string(),
                from_seq: 1,
            })
            .await
            .expect("pull");
        let encoding = response
            .metadata()
            .get("grpc-encoding")
            .map_or("identity".to_string(), |v| {
                v.to_str().unwrap_or("?").to_string()
            });
        let mut stream = response.into_inner();
        let mut events = 0;
        while let Some(batch) = stream.message().await.expect("a readable answer") {
            events += batch.events.len();
        }
        assert!(events > 0, "the pull carried the log");
        encoding
    })
}

#[test]
fn clients_without_zstd_get_gzip_and_sajja_clients_keep_zstd() {
    // Proves issue 16's finding: a grpcio-like client that accepts only gzip
    // got every answer uncompressed; now it gets gzip, and a client that
    // accepts nothing still gets plain answers.
    let dir = tempfile::tempdir().unwrap();
    let mut hub = Hub::init(&dir.path().join("hub"), "230101", "tambon");
    hub.start();
    let group = "230101-001";
    let node = enrolled_node(&dir.path().join("node"), &hub, group);
    node.cli(&["sync", "--once"]);
    let bundle = std::fs::read_dir(dir.path().join("hub/bundles"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_eq!(
        pull_encoding(&bundle, group, Some(CompressionEncoding::Gzip)),
        "gzip"
    );
    assert_eq!(
        pull_encoding(&bundle, group, Some(CompressionEncoding::Zstd)),
        "zstd"
    );
    assert_eq!(pull_encoding(&bundle, group, None), "identity");
}

#[test]
fn a_hub_logging_to_a_file_writes_no_colour_codes() {
    // Proves issue 16's finding: logs written to files kept ANSI colour codes.
    let dir = tempfile::tempdir().unwrap();
    let mut hub = Hub::init(&dir.path().join("hub"), "230101", "tambon");
    hub.start();
    let node = enrolled_node(&dir.path().join("node"), &hub, "230101-001");
    node.cli(&["sync", "--once"]);
    let log = wait_for("the hub to log", std::time::Duration::from_secs(10), || {
        let log = hub.log();
        (!log.is_empty()).then_some(log)
    });
    assert!(
        !log.contains('\u{1b}'),
        "escape codes in the hub's log file: {log:?}"
    );
}

/// A TLS channel to `hub` that trusts its CA but presents no client
/// certificate: what a load balancer or a stranger with `grpcurl` has.
async fn anonymous_channel(hub: &Hub) -> tonic::transport::Channel {
    let ca = std::fs::read(hub.ca()).expect("hub CA");
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(ca))
        .domain_name("localhost");
    tonic::transport::Channel::from_shared(hub.url())
        .expect("url")
        .tls_config(tls)
        .expect("tls")
        .connect()
        .await
        .expect("connect")
}

#[test]
fn health_and_reflection_answer_a_client_without_a_certificate_and_nothing_else_does() {
    // Proves issue 16's finding: no grpc.health.v1 and no reflection, so
    // grpcurl and load balancers could not ask.
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let dir = tempfile::tempdir().unwrap();
    let mut hub = Hub::init(&dir.path().join("hub"), "230101", "tambon");
    hub.start();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let channel = anonymous_channel(&hub).await;
        let mut health = HealthClient::new(channel.clone());
        for service in ["", "sajja.v1.Sync", "sajja.v1.Query", "sajja.v1.Admin"] {
            let answer = health
                .check(HealthCheckRequest {
                    service: service.to_string(),
                })
                .await
                .unwrap_or_else(|e| panic!("health of {service:?}: {e}"))
                .into_inner();
            assert_eq!(answer.status, ServingStatus::Serving as i32, "{service:?}");
        }
        let unknown = health
            .check(HealthCheckRequest {
                service: "sajja.v1.Nothing".into(),
            })
            .await
            .expect_err("an unknown service");
        assert_eq!(unknown.code(), tonic::Code::NotFound);

        let mut reflection = ServerReflectionClient::new(channel.clone());
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut answers = reflection
            .server_reflection_info(tokio_stream::iter(vec![request]))
            .await
            .expect("reflection")
            .into_inner();
        let answer = answers
            .message()
            .await
            .expect("answer")
            .expect("one answer");
        let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
            panic!("a service list: {answer:?}");
        };
        let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
        for service in ["sajja.v1.Sync", "sajja.v1.Query", "sajja.v1.Admin"] {
            assert!(names.iter().any(|n| n == service), "{service} in {names:?}");
        }

        // Without a certificate, every Sajja call is still refused.
        let refused = v1::sync_client::SyncClient::new(channel)
            .heads(v1::HeadsRequest::default())
            .await
            .expect_err("no certificate, no heads");
        assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{refused}");
    });
}

/// The `sajja_*` names a string holds, whole (`sajja_groups`, not its prefix).
fn metric_names(text: &str) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    let bytes = text.as_bytes();
    let mut at = 0;
    while let Some(found) = text[at..].find("sajja_") {
        let start = at + found;
        let before_ok =
            start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let end = text[start..]
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .map_or(text.len(), |n| start + n);
        if before_ok {
            names.insert(text[start..end].to_string());
        }
        at = end;
    }
    names
}

// deploy/prometheus's rules parse as Prometheus rule groups (every rule an
// alert with an expression, a severity and a summary), and every `sajja_*`
// metric they name is one the hub's operations endpoint exports.
#[test]
fn the_alert_rules_parse_and_name_only_metrics_the_hub_exports() {
    use yaml_rust2::{Yaml, YamlLoader};
    let rules = include_str!("../../deploy/prometheus/sajja-hub.rules.yml");
    let docs = YamlLoader::load_from_str(rules).expect("the rules are YAML");
    let groups = docs[0]["groups"].as_vec().expect("groups");
    let mut alerts = 0;
    let mut named = std::collections::BTreeSet::new();
    for group in groups {
        assert!(group["name"].as_str().is_some(), "a named group: {group:?}");
        for rule in group["rules"].as_vec().expect("rules") {
            let alert = rule["alert"].as_str().expect("every rule is an alert");
            let expr = rule["expr"]
                .as_str()
                .unwrap_or_else(|| panic!("{alert}: expr"));
            assert!(
                matches!(
                    rule["labels"]["severity"].as_str(),
                    Some("critical" | "warning" | "info")
                ),
                "{alert}: severity"
            );
            assert!(
                rule["annotations"]["summary"].as_str().is_some(),
                "{alert}: summary"
            );
            if let Yaml::String(wait) = &rule["for"] {
                assert!(
                    wait.trim_end_matches(['s', 'm', 'h', 'd'])
                        .parse::<u32>()
                        .is_ok(),
                    "{alert}: for {wait}"
                );
            }
            named.extend(metric_names(expr));
            alerts += 1;
        }
    }
    assert!(alerts >= 10, "{alerts} alerts");
    let exported: std::collections::BTreeSet<String> = [
        include_str!("../../hub/src/net/metrics.rs"),
        include_str!("../../hub/src/ingest/scrub.rs"),
    ]
    .iter()
    .flat_map(|source| metric_names(source))
    .collect();
    let unknown: Vec<&String> = named.difference(&exported).collect();
    assert!(
        unknown.is_empty(),
        "rules name metrics the hub does not export: {unknown:?}"
    );
    for needed in [
        "sajja_groups",
        "sajja_relay_last_success_timestamp_seconds",
        "sajja_exchange_coverage_basis_points",
        "sajja_tls_certificate_expiry_timestamp_seconds",
    ] {
        assert!(named.contains(needed), "a rule on {needed}");
    }
}
