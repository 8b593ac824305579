//! The `Query` service in one process, over the hub's own mutual-TLS
//! listener: a province hub made by `sajja-hub init`, groups' logs ingested
//! through the accept rule, and clients holding the enrolment bundles the hub
//! issued. A remote answer renders exactly as the local one; every caller is
//! held to its scope; an auditor verifies a group's raw log itself.

mod wire;

use std::path::{Path, PathBuf};
use std::process::{Command, Output as ProcessOutput};
use std::sync::Arc;
use std::time::Duration;

use sajja_common::admin::AdminBody;
use sajja_common::event::{BenefitKind, Channel, Rules, Sex, Source};
use sajja_common::verify::VerifyError;
use sajja_common::{
    Body, Books, Date, GroupId, Hash, LoanNo, MemberNo, Money, Month, PoolId, SigningKey, chain,
};
use sajja_edge::clock::unix_now;
use sajja_edge::enrolment::Enrolment;
use sajja_hub::config::HubConfig;
use sajja_hub::ingest::accept::{BatchOutcome, Ingest};
use sajja_hub::ingest::admin;
use sajja_hub::ingest::admin::HubIdentity;
use sajja_hub::ingest::operations;
use sajja_hub::ingest::operations::{EnrolRequest, RevokeTarget};
use sajja_hub::net::gate::Gate;
use sajja_hub::net::listener;
use sajja_hub::read::query;
use sajja_hub::read::query::{Answer, Ask, Audience, Context, Scope};
use sajja_hub::render::Output;
use sajja_hub::rpc::query_client::{AuditError, LogAudit, Remote, RemoteError};
use sajja_hub::store::Store;
use sajja_hub::values::lines::GroupFilter;
use sajja_hub::values::principal::Principal;
use sajja_proto::v1;
use sajja_testkit::SignedLog;
use tempfile::TempDir;
use tonic::Code;

const BIN: &str = env!("CARGO_BIN_EXE_sajja-hub");

fn day(y: i64, m: u32, d: u32) -> Date {
    Date::from_ymd(y, m, d).unwrap()
}

fn baht(b: i64) -> Money {
    Money::from_baht(b)
}

fn pool(id: &str) -> PoolId {
    PoolId::parse(id).unwrap()
}

fn scope(text: &str) -> Option<Scope> {
    Some(Scope::parse(text).unwrap())
}

/// A group's log as its node writes it: validated by the same books, encoded
/// once, chained, signed by the key in effect.
struct Log {
    signed: SignedLog,
    first_key: SigningKey,
    books: Books,
    pushed: u64,
}

impl std::ops::Deref for Log {
    type Target = SignedLog;
    fn deref(&self) -> &SignedLog {
        &self.signed
    }
}

impl Log {
    fn new(id: &str, seed: u8) -> Log {
        let signed = SignedLog::new(id, seed);
        Log {
            books: Books::new(signed.group.clone()),
            first_key: SigningKey::from_seed(&[seed; 32]).unwrap(),
            signed,
            pushed: 0,
        }
    }

    fn append(&mut self, date: Date, body: Body) {
        let event = self.signed.append(date, body);
        if let Err(refusal) = self.books.apply(&event, None) {
            panic!("the test's own log was refused: {refusal}");
        }
    }

    /// Hands the group's key on, signed by the key in effect.
    fn rotate(&mut self, date: Date, seed: u8) {
        let new = SigningKey::from_seed(&[seed; 32]).unwrap();
        let seq = self.signed.next_seq();
        let body = Body::key_rotated(&self.group, seq, &self.head(), &self.key, new.public());
        self.append(date, body);
        self.signed.key = new;
    }

    /// Pushes everything the hub does not hold yet, as one batch.
    fn push(&mut self, ingest: &mut Ingest) {
        let from = self.pushed + 1;
        let outcome = ingest.batch(from, &self.events[from as usize - 1..], &self.checkpoint());
        assert!(
            matches!(outcome, Ok(BatchOutcome::Acked { .. })),
            "{}: {outcome:?}",
            self.group
        );
        self.pushed = self.events.len() as u64;
    }
}

/// A year of a small group: contributions with local and national matching,
/// savings, a loan that falls into arrears, a sickness benefit, deposits and
/// reserve pledges in its tambon's pool and the province's. `rotate` hands
/// the key on mid-year; `bad_close` closes June with a digest that does not
/// match the books (recorded, not refused: an alert).
fn group_year(id: &str, seed: u8, members: u32, rotate: bool, bad_close: bool) -> Log {
    let mut log = Log::new(id, seed);
    let group = log.group.clone();
    let opened = day(2025, 1, 1);
    log.append(
        opened,
        Body::GroupOpened {
            name: format!("กลุ่มสัจจะบ้าน {id}"),
            tambon: group.tambon().to_string(),
            province: group.province().to_string(),
        },
    );
    log.append(opened, Body::RulesChanged(Rules::default()));
    for m in 1..=members {
        log.append(
            opened,
            Body::MemberJoined {
                member: MemberNo(m),
                birth_year: 1950 + m,
                sex: Sex::Female,
            },
        );
        log.append(
            opened.add_days(1),
            Body::SavingsDeposited {
                member: MemberNo(m),
                amount: baht(500),
                channel: Channel::Cash,
            },
        );
    }
    let tambon = pool(group.tambon());
    let province = pool(group.province());
    for month in 1..=12u32 {
        let period = Month::new(2025, month).unwrap();
        let date = |d| day(2025, month, d);
        for m in 1..=members {
            log.append(
                date(5),
                Body::ContributionReceived {
                    member: Some(MemberNo(m)),
                    amount: baht(30),
                    period,
                    source: Source::Member,
                    channel: Channel::Cash,
                    extra: false,
                },
            );
        }
        for source in [Source::LocalGovernment, Source::NationalGovernment] {
            log.append(
                date(6),
                Body::ContributionReceived {
                    member: None,
                    amount: baht(30 * i64::from(members)),
                    period,
                    source,
                    channel: Channel::Cash,
                    extra: false,
                },
            );
        }
        match month {
            3 => log.append(
                date(10),
                Body::LoanDisbursed {
                    loan: LoanNo(1),
                    member: MemberNo(1),
                    principal: baht(3_000),
                    monthly_interest_basis_points: 100,
                    term_months: 10,
                    guarantors: vec![MemberNo(2), MemberNo(3)],
                    channel: Channel::Cash,
                    plan: Default::default(),
                },
            ),
            // Two instalments, then nothing: arrears.
            4 | 5 => log.append(
                date(10),
                Body::LoanRepaid {
                    loan: LoanNo(1),
                    principal: baht(300),
                    interest: baht(30),
                    channel: Channel::Cash,
                },
            ),
            6 => {
                for (pool, deposit, pledge) in [(&tambon, 1_000, 500), (&province, 800, 300)] {
                    log.append(
                        date(20),
                        Body::PoolDeposited {
                            pool: pool.clone(),
                            amount: baht(deposit),
                            channel: Channel::Cash,
                        },
                    );
                    log.append(
                        date(20),
                        Body::ReservePledged {
                            pool: pool.clone(),
                            amount: baht(pledge),
                        },
                    );
                }
                if bad_close {
                    log.append(
                        day(2025, 7, 1),
                        Body::PeriodClosed {
                            month: period,
                            trial_balance_digest: Hash::of(b"not the books", &[]),
                        },
                    );
                }
                if rotate {
                    log.rotate(day(2025, 7, 2), seed.wrapping_add(100));
                }
            }
            8 => log.append(
                date(15),
                Body::BenefitPaid {
                    member: MemberNo(4),
                    kind: BenefitKind::Sickness,
                    amount: baht(200),
                    nights: 2,
                    committee_override: false,
                    override_reason: String::new(),
                    channel: Channel::Cash,
                },
            ),
            _ => {}
        }
    }
    log
}

/// A province hub (23) holding groups of two tambons, its pool's policy and
/// currency, and a bundle for each kind of caller.
struct Province {
    _dir: TempDir,
    dir: PathBuf,
    config: HubConfig,
    ingest: Ingest,
    url: String,
    tcp: Option<tokio::net::TcpListener>,
    logs: Vec<Log>,
}

impl Province {
    async fn new() -> Province {
        let root = TempDir::new().unwrap();
        let dir = root.path().join("hub-23");
        let out = Command::new(BIN)
            .args(["init", "--dir", dir.to_str().unwrap(), "--hub-id", "23"])
            .args(["--level", "province", "--listen", "127.0.0.1:0"])
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let config = HubConfig::load(&dir.join("hub.toml")).unwrap();
        let ingest = Ingest::new(Store::open(&config.database_path()).unwrap());
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("https://{}", tcp.local_addr().unwrap());
        let mut logs = vec![
            group_year("230101-001", 1, 5, false, false),
            group_year("230101-002", 2, 4, true, true),
            group_year("230102-001", 3, 6, false, false),
            // Enrolled, never synced: stale.
            Log::new("230102-002", 4),
        ];
        let mut province = Province {
            _dir: root,
            dir,
            config,
            ingest,
            url,
            tcp: Some(tcp),
            logs: Vec::new(),
        };
        for log in &mut logs {
            province.enrol(
                Principal::Group(log.group.clone()),
                Some(log.first_key.public()),
                &format!("group-{}", log.group),
            );
            if !log.events.is_empty() {
                log.push(&mut province.ingest);
            }
        }
        province.logs = logs;
        let identity = HubIdentity::load(&province.config).unwrap();
        admin::append(
            &mut province.ingest,
            &identity,
            vec![
                AdminBody::PoolPolicySet {
                    pool: pool("23"),
                    min_reserve_ratio_basis_points: 5_000,
                },
                AdminBody::CurrencyIssued {
                    pool: pool("23"),
                    amount: baht(10_000),
                },
            ],
        )
        .unwrap();
        let coordinator = |name: &str, scope: &str| Principal::Coordinator {
            name: name.into(),
            scope: scope.into(),
        };
        province.enrol(Principal::Operator("ann".into()), None, "operator");
        province.enrol(coordinator("somchai", "230101"), None, "somchai");
        province.enrol(coordinator("malee", "230102"), None, "malee");
        province.enrol(coordinator("prasert", "23"), None, "prasert");
        province
    }

    /// Enrols `principal` and writes its bundle as `<name>.bundle`.
    fn enrol(&mut self, principal: Principal, key: Option<sajja_common::PublicKey>, name: &str) {
        let bundle = operations::enrol(
            &mut self.ingest,
            &self.config,
            EnrolRequest {
                principal,
                public_key: key,
                hub_url: self.url.clone(),
            },
        )
        .unwrap();
        bundle.write(&self.bundle_path(name)).unwrap();
    }

    fn bundle_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.bundle"))
    }

    fn bundle(&self, name: &str) -> Enrolment {
        Enrolment::read(&self.bundle_path(name)).unwrap()
    }

    /// Serves the Query service, exactly as the hub would: its own listener,
    /// its own gate, its own database connection.
    fn serve(&mut self) {
        let tcp = self.tcp.take().unwrap();
        let tls = listener::server_tls(&self.config).unwrap();
        let incoming = listener::incoming(tcp, tls, 64, Duration::from_secs(5));
        let gate = Arc::new(Gate::new(
            Store::open(&self.config.database_path()).unwrap(),
        ));
        let service = sajja_hub::rpc::query::query_service(&self.config, gate).unwrap();
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(incoming),
        );
    }

    async fn remote(&self, name: &str) -> Remote {
        Remote::connect(&self.bundle(name)).await.unwrap()
    }

    /// The answer the hub machine computes itself, as `query --config` does.
    fn local(&self, ask: &Ask) -> Answer {
        let store = sajja_hub::read::cache::Reader::open(&self.config.database_path()).unwrap();
        let cx = Context::new(&store, self.config.freshness(unix_now()));
        query::answer(
            &cx,
            ask,
            &Scope::parse("23").unwrap(),
            &Audience::Everything,
        )
        .unwrap()
    }

    fn log(&self, id: &str) -> &Log {
        self.logs.iter().find(|l| l.group.as_str() == id).unwrap()
    }

    fn config_path(&self) -> PathBuf {
        self.dir.join("hub.toml")
    }
}

fn code<T: std::fmt::Debug>(result: Result<T, RemoteError>) -> Code {
    let error = result.unwrap_err();
    error
        .status()
        .unwrap_or_else(|| panic!("not a refusal: {error}"))
        .code()
}

fn audit_code(result: Result<sajja_hub::rpc::query_client::AuditedLog, AuditError>) -> Code {
    match result {
        Err(AuditError::Remote(e)) => e.status().map(tonic::Status::code).unwrap(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// The remote answer with the local clock: a report's "minutes ago" and
/// groups' health are of the moment each answer was made.
fn at_remote_time(local: Answer, remote: &Answer) -> Answer {
    match (local, remote) {
        (Answer::Position(mut l), Answer::Position(r)) => {
            l.freshness = r.freshness;
            Answer::Position(l)
        }
        (Answer::Groups(mut l), Answer::Groups(r)) => {
            l.freshness = r.freshness;
            Answer::Groups(l)
        }
        (local, _) => local,
    }
}

fn cli(args: &[&str]) -> ProcessOutput {
    Command::new(BIN)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

async fn cli_async(args: Vec<String>) -> ProcessOutput {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        cli(&args)
    })
    .await
    .unwrap()
}

fn stdout(out: &ProcessOutput) -> String {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_answer_renders_exactly_as_the_local_one() {
    let mut hub = Province::new().await;
    hub.serve();
    let mut remote = hub.remote("operator").await;
    let filter = |f: fn(&mut GroupFilter)| {
        let mut filter = GroupFilter::default();
        f(&mut filter);
        filter
    };
    let asks = [
        Ask::Position {
            scope: None,
            as_of: None,
        },
        Ask::Position {
            scope: scope("230101"),
            as_of: Some(day(2025, 6, 30)),
        },
        Ask::Position {
            scope: scope("230101-002"),
            as_of: None,
        },
        Ask::Groups {
            scope: None,
            as_of: None,
            filter: GroupFilter::default(),
        },
        Ask::Groups {
            scope: scope("230101"),
            as_of: Some(day(2025, 12, 31)),
            filter: filter(|f| f.arrears = true),
        },
        Ask::Groups {
            scope: None,
            as_of: None,
            filter: filter(|f| f.stale = true),
        },
        Ask::Groups {
            scope: scope("23"),
            as_of: None,
            filter: filter(|f| f.below_reserve = true),
        },
        Ask::Reserves {
            scope: None,
            as_of: None,
        },
        Ask::Alerts {
            scope: None,
            as_of: None,
        },
        Ask::SignOffs { scope: None },
    ];
    for ask in &asks {
        let answer = remote.answer(ask).await.unwrap();
        let local = at_remote_time(hub.local(ask), &answer);
        for output in [Output::Table, Output::Json, Output::Csv] {
            assert_eq!(
                local.render(output),
                answer.render(output),
                "{ask:?} as {output:?}"
            );
        }
    }

    // The figures are the hub's, not empty tables that happen to agree.
    let alerts = remote
        .answer(&Ask::Alerts {
            scope: None,
            as_of: None,
        })
        .await
        .unwrap()
        .render(Output::Csv);
    for kind in ["reserve_below_policy", "stale", "digest_mismatch"] {
        assert!(alerts.contains(kind), "{alerts}");
    }
    let groups = remote
        .answer(&Ask::Groups {
            scope: None,
            as_of: None,
            filter: filter(|f| f.below_reserve = true),
        })
        .await
        .unwrap()
        .render(Output::Csv);
    assert_eq!(groups.lines().count(), 1 + 3, "{groups}");

    // And the binary: --bundle prints what --config prints.
    let op = hub.bundle_path("operator").display().to_string();
    let config = hub.config_path().display().to_string();
    for args in [
        vec!["query", "groups", "23", "--json"],
        vec![
            "query",
            "position",
            "230101",
            "--as-of",
            "2025-12-31",
            "--csv",
        ],
        vec!["query", "reserves", "--json"],
        vec!["query", "alerts", "23", "--csv"],
        vec!["query", "signoffs", "--json"],
    ] {
        let with = |flag: &str, file: &str| -> Vec<String> {
            let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            all.extend([flag.to_string(), file.to_string()]);
            all
        };
        let remote = stdout(&cli_async(with("--bundle", &op)).await);
        let local = stdout(&cli_async(with("--config", &config)).await);
        assert_eq!(remote, local, "{args:?}");
    }
    let both = cli_async(vec![
        "query".into(),
        "alerts".into(),
        "--config".into(),
        config.clone(),
        "--bundle".into(),
        op,
    ])
    .await;
    assert!(
        !both.status.success(),
        "--config and --bundle are alternatives"
    );
    let neither = cli_async(vec!["query".into(), "alerts".into()]).await;
    assert!(!neither.status.success(), "one of them is required");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coordinator_reads_within_its_scope_and_nothing_else() {
    let mut hub = Province::new().await;
    hub.serve();
    let mut somchai = hub.remote("somchai").await;
    let position = |scope: Option<Scope>| Ask::Position { scope, as_of: None };
    let groups = |scope: Option<Scope>| Ask::Groups {
        scope,
        as_of: None,
        filter: GroupFilter::default(),
    };

    // No scope: the coordinator's own.
    let Answer::Position(own) = somchai.answer(&position(None)).await.unwrap() else {
        panic!("a position answers a position");
    };
    assert_eq!(own.position.scope, "230101");
    assert_eq!(own.position.groups, 2);
    let Answer::Groups(listed) = somchai.answer(&groups(None)).await.unwrap() else {
        panic!("groups answer groups");
    };
    let ids: Vec<&str> = listed.lines.iter().map(|l| l.group.as_str()).collect();
    assert_eq!(ids, ["230101-001", "230101-002"]);
    assert!(somchai.answer(&position(scope("230101-001"))).await.is_ok());

    // Another tambon, the province, a group of another tambon: denied.
    for other in ["230102", "23", "230102-001"] {
        assert_eq!(
            code(somchai.answer(&position(scope(other))).await),
            Code::PermissionDenied,
            "{other}"
        );
        assert_eq!(
            code(somchai.answer(&groups(scope(other))).await),
            Code::PermissionDenied
        );
    }
    for ask in [
        Ask::Alerts {
            scope: scope("230102"),
            as_of: None,
        },
        Ask::Reserves {
            scope: scope("230102"),
            as_of: None,
        },
        Ask::SignOffs { scope: scope("23") },
    ] {
        assert_eq!(code(somchai.answer(&ask).await), Code::PermissionDenied);
    }

    // The tambon's coordinator sees its tambon's pool, not the province
    // pool's pledges by other tambons' groups; the operator sees both.
    let reserves = Ask::Reserves {
        scope: None,
        as_of: None,
    };
    let Answer::Reserves(seen) = somchai.answer(&reserves).await.unwrap() else {
        panic!("reserves answer reserves");
    };
    let pools: Vec<&str> = seen.pools.iter().map(|p| p.pool.as_str()).collect();
    assert_eq!(pools, ["230101"]);
    let mut operator = hub.remote("operator").await;
    let Answer::Reserves(all) = operator
        .answer(&Ask::Reserves {
            scope: scope("230101"),
            as_of: None,
        })
        .await
        .unwrap()
    else {
        panic!("reserves answer reserves");
    };
    let pools: Vec<&str> = all.pools.iter().map(|p| p.pool.as_str()).collect();
    assert_eq!(pools, ["23", "230101"]);
    let alerts = somchai
        .answer(&Ask::Alerts {
            scope: None,
            as_of: None,
        })
        .await
        .unwrap()
        .render(Output::Csv);
    assert!(!alerts.contains("reserve_below_policy"), "{alerts}");
    assert!(alerts.contains("digest_mismatch"), "{alerts}");

    // The other tambon's coordinator, and the province's.
    let mut malee = hub.remote("malee").await;
    let Answer::Groups(listed) = malee.answer(&groups(None)).await.unwrap() else {
        panic!("groups answer groups");
    };
    assert_eq!(listed.lines.len(), 2);
    assert!(listed.lines.iter().all(|l| l.group.tambon() == "230102"));
    assert_eq!(
        code(malee.answer(&position(scope("230101"))).await),
        Code::PermissionDenied
    );
    let mut prasert = hub.remote("prasert").await;
    let Answer::Position(province) = prasert.answer(&position(None)).await.unwrap() else {
        panic!("a position answers a position");
    };
    assert_eq!(
        (province.position.scope.as_str(), province.position.groups),
        ("23", 4)
    );

    // A group reads its own figures only.
    let mut node = hub.remote("group-230101-001").await;
    let Answer::Position(own) = node.answer(&position(None)).await.unwrap() else {
        panic!("a position answers a position");
    };
    assert_eq!(
        (own.position.scope.as_str(), own.position.groups),
        ("230101-001", 1)
    );
    assert!(
        own.pools.is_empty(),
        "a group's position is its own figures"
    );
    assert_eq!(
        code(node.answer(&groups(scope("230101"))).await),
        Code::PermissionDenied
    );
    assert_eq!(
        code(node.answer(&reserves).await),
        Code::InvalidArgument,
        "pools belong to a network, not to a group"
    );

    // Malformed requests are refused before anything is read.
    for bad in [
        "2301",
        "230101-000",
        "23; DROP TABLE groups",
        &"2".repeat(5_000),
    ] {
        let request = v1::PositionRequest {
            scope: bad.to_string(),
            as_of: None,
        };
        let mut client = raw_client(&hub, "operator").await;
        let status = client.position(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{bad}");
        assert!(status.message().len() < 300);
    }
    let mut client = raw_client(&hub, "operator").await;
    let status = client
        .position(v1::PositionRequest {
            scope: "23".into(),
            as_of: Some(u32::MAX),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
}

async fn raw_client(
    hub: &Province,
    name: &str,
) -> v1::query_client::QueryClient<tonic::transport::Channel> {
    let bundle = hub.bundle(name);
    let tls = sajja_proto::client::ClientTls {
        ca_pem: bundle.ca.into_bytes(),
        cert_pem: bundle.cert.into_bytes(),
        key_pem: bundle.key.into_bytes(),
    };
    let channel = sajja_proto::client::channel(&bundle.hub_url, &tls)
        .await
        .unwrap();
    v1::query_client::QueryClient::new(channel)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_verifies_a_groups_raw_log_with_its_own_verifier() {
    let mut hub = Province::new().await;
    hub.serve();
    let mut somchai = hub.remote("somchai").await;
    let first = hub.log("230101-001");
    let audited = somchai
        .audit_log(&first.group, 1, Some(first.key.public()))
        .await
        .unwrap();
    assert_eq!(audited.to_seq, first.events.len() as u64);
    assert_eq!(audited.head, first.head());
    assert_eq!(
        (audited.key, audited.from_key),
        (first.key.public(), first.key.public())
    );
    assert!(audited.signed && !audited.forked);

    // A rotated key is followed through the log to the key that signs now.
    let rotated = hub.log("230101-002");
    let audited = somchai
        .audit_log(&rotated.group, 1, Some(rotated.key.public()))
        .await
        .unwrap();
    assert_eq!(audited.from_key, rotated.first_key.public());
    assert_eq!(audited.key, rotated.key.public());
    assert_ne!(audited.key, audited.from_key);
    assert!(audited.render(Output::Table).contains("KeyRotated"));
    // From a later seq, past the rotation, on the hub's stored head.
    let tail = somchai.audit_log(&rotated.group, 50, None).await.unwrap();
    assert_eq!(
        (tail.from_seq, tail.to_seq),
        (50, rotated.events.len() as u64)
    );
    let nothing_new = rotated.events.len() as u64 + 1;
    let end = somchai
        .audit_log(&rotated.group, nothing_new, None)
        .await
        .unwrap();
    assert_eq!(end.events(), 0);
    assert!(end.signed);

    // The key the auditor knows must be the one the log ends with.
    let wrong = SigningKey::from_seed(&[77; 32]).unwrap().public();
    assert!(matches!(
        somchai.audit_log(&first.group, 1, Some(wrong)).await,
        Err(AuditError::KeyMismatch { .. })
    ));
    assert_eq!(
        audit_code(
            somchai
                .audit_log(&first.group, nothing_new + 10_000, None)
                .await
        ),
        Code::OutOfRange
    );
    let other = GroupId::parse("230102-001").unwrap();
    assert_eq!(
        audit_code(somchai.audit_log(&other, 1, None).await),
        Code::PermissionDenied
    );

    // A log never written to: nothing to verify, and nothing claimed.
    let mut malee = hub.remote("malee").await;
    let empty = malee
        .audit_log(&GroupId::parse("230102-002").unwrap(), 1, None)
        .await
        .unwrap();
    assert!(!empty.signed && empty.events() == 0);
    // The province's own administrative log, under the hub's key.
    let mut prasert = hub.remote("prasert").await;
    let hub_log = GroupId::hub_log("23").unwrap();
    let audited = prasert.audit_log(&hub_log, 1, None).await.unwrap();
    let identity = HubIdentity::load(&hub.config).unwrap();
    assert_eq!(audited.key, identity.public());
    assert!(audited.to_seq > 5);
    let mut operator = hub.remote("operator").await;
    assert_eq!(
        audit_code(
            operator
                .audit_log(&GroupId::parse("230101-099").unwrap(), 1, None)
                .await
        ),
        Code::NotFound
    );
    // A group reads its own log, not its neighbour's.
    let mut node = hub.remote("group-230101-001").await;
    assert!(node.audit_log(&first.group, 1, None).await.is_ok());
    assert_eq!(
        audit_code(node.audit_log(&rotated.group, 1, None).await),
        Code::PermissionDenied
    );

    // From the command line.
    let bundle = hub.bundle_path("somchai").display().to_string();
    let key = first.key.public().to_hex();
    let out = cli_async(
        [
            "query",
            "log",
            "230101-001",
            "--bundle",
            &bundle,
            "--key",
            &key,
        ]
        .map(String::from)
        .to_vec(),
    )
    .await;
    let text = stdout(&out);
    assert!(text.contains("verified") && text.contains(&key), "{text}");
    let out = cli_async(
        [
            "query",
            "log",
            "230101-001",
            "--bundle",
            &bundle,
            "--key",
            &wrong.to_hex(),
        ]
        .map(String::from)
        .to_vec(),
    )
    .await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not the key you expected"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_or_foreign_certificate_is_refused() {
    let mut hub = Province::new().await;
    hub.serve();
    let ask = Ask::Position {
        scope: None,
        as_of: None,
    };
    let mut somchai = hub.remote("somchai").await;
    assert!(somchai.answer(&ask).await.is_ok());
    let store = Store::open(&hub.config.database_path()).unwrap();
    let serial = hub.bundle("somchai").serial;
    operations::revoke(&store, &RevokeTarget::Serial(serial)).unwrap();
    assert_eq!(code(somchai.answer(&ask).await), Code::Unauthenticated);
    let group = GroupId::parse("230101-001").unwrap();
    assert!(matches!(
        somchai.audit_log(&group, 1, None).await,
        Err(AuditError::Remote(_))
    ));
}

/// The reply of `Query.Log` for `log`, as the service cuts it: first chunk
/// with the keys, last with the checkpoint.
fn log_reply(log: &Log, per: usize) -> Vec<v1::LogResponse> {
    let mut chunks: Vec<v1::LogResponse> = log
        .events
        .chunks(per)
        .map(|events| v1::LogResponse {
            events: events.to_vec(),
            ..Default::default()
        })
        .collect();
    chunks[0].group_key = log.key.public().as_bytes().to_vec();
    chunks[0].from_key = log.first_key.public().as_bytes().to_vec();
    chunks[0].from_seq = 1;
    chunks[0].from_head = chain::genesis(&log.group).as_bytes().to_vec();
    chunks[0].payload = v1::LogPayload::GroupEvents as i32;
    if let Some(last) = chunks.last_mut() {
        last.checkpoint = Some(v1::Checkpoint::from(&log.checkpoint()));
    }
    chunks
}

fn audit(log: &Log, chunks: Vec<v1::LogResponse>) -> Result<(), AuditError> {
    let mut audit = LogAudit::new(log.group.clone(), 1, None);
    for chunk in chunks {
        audit.chunk(chunk)?;
    }
    audit.finish().map(|_| ())
}

#[test]
fn an_audit_refuses_a_log_the_hub_altered() {
    let log = group_year("230101-003", 9, 5, true, false);
    assert!(audit(&log, log_reply(&log, 7)).is_ok());

    let mut altered = log_reply(&log, 7);
    let byte = altered[2].events[1].len() - 1;
    altered[2].events[1][byte] ^= 1;
    assert!(matches!(audit(&log, altered), Err(AuditError::Verify(_))));

    let mut dropped = log_reply(&log, 7);
    dropped[1].events.remove(0);
    assert!(matches!(
        audit(&log, dropped),
        Err(AuditError::Verify(VerifyError::SequenceGap { .. }))
    ));

    let mut unsigned = log_reply(&log, 7);
    if let Some(last) = unsigned.last_mut() {
        last.checkpoint = None;
    }
    assert!(matches!(
        audit(&log, unsigned),
        Err(AuditError::Unsigned { .. })
    ));

    // A reply that says it carries a hub's administrative events for a group.
    let mut mislabelled = log_reply(&log, 7);
    mislabelled[0].payload = v1::LogPayload::AdminEvents as i32;
    assert!(matches!(audit(&log, mislabelled), Err(AuditError::Wire(_))));

    let mut trailing = log_reply(&log, 7);
    trailing.push(v1::LogResponse {
        events: vec![log.events[0].clone()],
        ..Default::default()
    });
    assert!(matches!(audit(&log, trailing), Err(AuditError::Wire(_))));

    // The hub claiming the group's current key is the first one: the log's
    // own rotation says otherwise.
    let mut lying = log_reply(&log, 7);
    lying[0].group_key = log.first_key.public().as_bytes().to_vec();
    assert!(matches!(
        audit(&log, lying),
        Err(AuditError::KeyChain { .. })
    ));

    // A made-up starting key cannot hand on to the group's real one.
    let mut forged = log_reply(&log, 7);
    forged[0].from_key = SigningKey::from_seed(&[5; 32])
        .unwrap()
        .public()
        .as_bytes()
        .to_vec();
    assert!(matches!(audit(&log, forged), Err(AuditError::Verify(_))));
}

#[test]
fn a_bundle_that_is_not_one_is_refused_before_any_connection() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("nope.bundle");
    std::fs::write(&path, "role = \"coordinator\"\n").unwrap();
    let out = cli(&["query", "position", "--bundle", path.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an enrolment bundle"));
    let missing = Path::new("/nonexistent/x.bundle");
    let out = cli(&[
        "query",
        "log",
        "230101-001",
        "--bundle",
        missing.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
}
