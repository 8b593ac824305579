//! Hostile input over the real RPCs: garbage, truncation, oversized fields,
//! impossible sequence numbers, future dates, negative amounts, unknown enum
//! values, duplicate member numbers. Each gets a clear refusal naming its
//! check, and the hub's stored data is exactly what it was.

use prost::Message;
use sajja_common::{Body, Checkpoint, Event, GroupId, Hash, Money, chain};
use sajja_proto::v1;

use crate::support::*;

const GROUP: &str = "230101-001";

/// The hub's rows except the credentials the test itself issues.
fn stored(hub: &Hub) -> Vec<String> {
    hub.dump()
        .into_iter()
        .filter(|row| !row.starts_with("credentials:"))
        .collect()
}

/// `events` offered right after the hub's head, with a checkpoint the group
/// really signed over exactly those bytes: only the content can be refused.
fn signed_batch(
    log: &GroupLog,
    held: u64,
    events: Vec<Vec<u8>>,
) -> (u64, Vec<Vec<u8>>, sajja_common::SignedCheckpoint) {
    let mut head = log.head_at(held);
    for bytes in &events {
        head = chain::next(&head, bytes);
    }
    let checkpoint = Checkpoint {
        group: log.group.clone(),
        seq: held + events.len() as u64,
        head,
        fork_epoch: 0,
    }
    .sign(&log.key);
    (held + 1, events, checkpoint)
}

fn event(group: &GroupId, seq: u64, date: sajja_common::Date, body: Body) -> Vec<u8> {
    Event {
        group: group.clone(),
        seq,
        date,
        recorded_at: 1_790_000_000,
        body,
    }
    .encode()
}

fn contribution(amount: Money) -> Body {
    Body::ContributionReceived {
        member: Some(sajja_common::ids::MemberNo(1)),
        amount,
        period: sajja_common::Month::new(2025, 2).unwrap(),
        source: sajja_common::event::Source::Member,
        channel: sajja_common::event::Channel::Cash,
        extra: false,
    }
}

#[test]
fn every_hostile_push_is_refused_by_name_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut hub = Hub::init(&dir.path().join("hub"), "230101", "tambon");
    hub.start();
    let node = enrolled_node(&dir.path().join("node"), &hub, GROUP);
    import_activity(&node, dir.path(), 3, 6);
    node.cli(&["sync", "--once"]);
    let log = GroupLog::read(&node, GROUP);
    let held = log.events.len() as u64;
    assert_eq!(hub.seq(GROUP), held);
    let group = log.group.clone();
    let next = held + 1;
    let day = sajja_common::Date::thai_date_at(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64,
    );
    let good_date: sajja_common::Date = "2025-03-01".parse().unwrap();

    let real = event(&group, next, good_date, contribution(Money::from_baht(30)));
    let mut unknown_enum = sajja_common::pb::Event::decode(real.as_slice()).unwrap();
    if let Some(sajja_common::pb::event::Body::ContributionReceived(body)) =
        unknown_enum.body.as_mut()
    {
        body.source = 99;
    } else {
        panic!("a contribution decodes as one");
    }
    let mut rng = rng_from_env("SAJJA_HOSTILE_SEED", 0x4057);
    let garbage: Vec<u8> = (0..64).map(|_| rng.next_u64() as u8).collect();

    // (what, events offered after the head, the check that must refuse them)
    let cases: Vec<(&str, Vec<Vec<u8>>, &str)> = vec![
        ("random bytes", vec![garbage], "undecodable"),
        (
            "a truncated event",
            vec![real[..real.len() / 2].to_vec()],
            "undecodable",
        ),
        (
            "an oversized event (70 KB)",
            vec![vec![0x0a; 70_000]],
            "undecodable",
        ),
        (
            "an unknown enum value",
            vec![unknown_enum.encode_to_vec()],
            "undecodable",
        ),
        (
            "a negative amount",
            vec![event(
                &group,
                next,
                good_date,
                contribution(Money::from_satang(-3_000)),
            )],
            "non_positive_amount",
        ),
        (
            "an amount beyond any fund",
            vec![event(
                &group,
                next,
                good_date,
                contribution(Money::from_satang(i64::MAX)),
            )],
            "amount_too_large",
        ),
        (
            "an event dated a month ahead",
            vec![event(
                &group,
                next,
                day.add_days(30),
                contribution(Money::from_baht(30)),
            )],
            "future_date",
        ),
        (
            "a duplicate member number",
            vec![event(
                &group,
                next,
                good_date,
                Body::MemberJoined {
                    member: sajja_common::ids::MemberNo(1),
                    birth_year: 1970,
                    sex: sajja_common::event::Sex::Female,
                },
            )],
            "duplicate_member",
        ),
        (
            "an event claiming seq u64::MAX",
            vec![event(
                &group,
                u64::MAX,
                good_date,
                contribution(Money::from_baht(30)),
            )],
            "sequence_gap",
        ),
    ];
    let before = stored(&hub);
    let mut raw = RawHub::as_group(&hub, &node, GROUP);
    let mut push = raw.open();
    push.hello(&log.checkpoint_at(held));
    for (what, events, check) in cases {
        let (from, events, checkpoint) = signed_batch(&log, held, events);
        let refused = refusal(push.batch(from, events, &checkpoint));
        assert_eq!(refused.check, check, "{what}: {refused:?}");
        assert!(
            refused.message.contains(GROUP),
            "{what}: {}",
            refused.message
        );
        assert_eq!(stored(&hub), before, "{what} changed the hub's data");
    }
    // Impossible positions of an otherwise good batch.
    let (_, events, checkpoint) = signed_batch(
        &log,
        held,
        vec![event(
            &group,
            next,
            good_date,
            contribution(Money::from_baht(30)),
        )],
    );
    for (what, from, check) in [
        ("a batch from seq 0", 0, "sequence_gap"),
        ("a batch from seq u64::MAX", u64::MAX, "gap"),
    ] {
        let refused = refusal(push.batch(from, events.clone(), &checkpoint));
        assert_eq!(refused.check, check, "{what}: {refused:?}");
        assert_eq!(stored(&hub), before, "{what} changed the hub's data");
    }
    // A checkpoint the group never signed, at seq u64::MAX.
    let forged = Checkpoint {
        group: group.clone(),
        seq: u64::MAX,
        head: Hash::from_slice(&[1; 32]).unwrap(),
        fork_epoch: 0,
    }
    .sign(&sajja_common::SigningKey::generate().unwrap());
    let refused = refusal(push.batch(next, vec![real.clone()], &forged));
    assert_ne!(refused.check, "", "{refused:?}");
    assert_eq!(stored(&hub), before);
    drop(push);

    // The honest log still goes through, and the amount the CLI refuses
    // (30 decimals) never becomes an event at all.
    let (ok, out) = node.try_cli(&["contribute", "1", "30.000000000000000000000000000001"]);
    assert!(!ok && out.contains("decimal"), "{out}");
    assert_eq!(node.event_bytes().len() as u64, held);
    node.cli(&["contribute", "1", "30", "--date", "2025-03-01"]);
    node.cli(&["sync", "--once"]);
    assert_eq!(hub.seq(GROUP), held + 1);
}

fn code<T>(result: Result<T, tonic::Status>) -> tonic::Code {
    match result {
        Ok(_) => tonic::Code::Ok,
        Err(status) => status.code(),
    }
}

/// The read RPCs refuse malformed requests with INVALID_ARGUMENT (or answer
/// nothing) and never fail the hub.
#[test]
fn malformed_reads_get_invalid_argument() {
    let dir = tempfile::tempdir().unwrap();
    let mut hub = Hub::init(&dir.path().join("hub"), "230101", "tambon");
    hub.start();
    let node = enrolled_node(&dir.path().join("node"), &hub, GROUP);
    node.cli(&["sync", "--once"]);
    let operator = hub.enrol(&["operator", "ann"]);
    let tls = sajja_edge::enrolment::Enrolment::read(&operator)
        .unwrap()
        .client_tls();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let channel = sajja_proto::client::channel(&hub.url(), &tls)
            .await
            .unwrap();
        let mut sync = v1::sync_client::SyncClient::new(channel.clone());
        let mut query = v1::query_client::QueryClient::new(channel.clone());
        let mut admin = v1::admin_client::AdminClient::new(channel);
        let invalid = tonic::Code::InvalidArgument;
        let pull = |id: &str| v1::PullRequest {
            group_id: id.to_string(),
            from_seq: 1,
        };
        assert_eq!(code(sync.pull(pull("../../etc/passwd")).await), invalid);
        let oversized = sync.pull(pull(&"9".repeat(100_000))).await;
        assert!(
            matches!(&oversized, Err(s) if s.code() == invalid || s.code() == tonic::Code::ResourceExhausted),
            "an oversized group id: {:?}",
            oversized.err()
        );
        let too_many = v1::HeadsRequest {
            group_ids: vec![GROUP.to_string(); 10_001],
        };
        assert_eq!(code(sync.heads(too_many).await), invalid);
        let far = sync
            .pull(v1::PullRequest {
                group_id: GROUP.to_string(),
                from_seq: u64::MAX,
            })
            .await;
        if let Ok(stream) = far {
            let mut stream = stream.into_inner();
            while let Ok(Some(chunk)) = stream.message().await {
                assert!(chunk.events.is_empty(), "nothing lies beyond the head");
            }
        }
        let scope = |s: &str| v1::PositionRequest {
            scope: s.to_string(),
            as_of: None,
        };
        assert_eq!(
            code(query.position(scope("23'; DROP TABLE groups;--")).await),
            invalid
        );
        assert_eq!(code(query.position(scope("2301019")).await), invalid);
        let enrol = v1::EnrolRequest {
            role: "root".into(),
            subject: "x".into(),
            ..Default::default()
        };
        assert_eq!(code(admin.enrol(enrol).await), invalid);
        let enrol = v1::EnrolRequest {
            role: "group".into(),
            subject: "230101-009".into(),
            public_key: "zz".into(),
            ..Default::default()
        };
        assert_eq!(code(admin.enrol(enrol).await), invalid);
    });
    assert!(hub.child.is_some());
    node.cli(&["sync", "--once"]);
}
