//! A community exchange's log travels like any other log: written by the
//! exchange's own node (`sajja-node exchange`), pushed over mutual TLS to
//! its tambon hub, relayed to the province, verified and checked by the
//! exchange's rules at both. What the hubs report of it (credit, debit,
//! vouchers, coverage by the reserve the groups pledged) must equal a
//! re-fold, in this test, of the exchange node's and the groups' own SQLite
//! files. Every process is real: two hubs, two group nodes, the exchange's
//! node; a tampered transfer is sent over the raw protocol.

use std::collections::BTreeMap;
use std::path::Path;

use sajja_common::exchange::{
    AccountNo, Category, Credits, ExchangeBody, ExchangeBooks, ExchangeEvent, ExchangePosition,
    ExchangeTerms,
};
use sajja_common::{Date, GroupId, Money, PoolId, SigningKey};
use serde_json::{Value, json};

use crate::federation::{
    date, province_and_tambon, query_json, refold, today, wait_admin_relayed, wait_held,
};
use crate::support::*;

const EXCHANGE: &str = "230101-X01";
const POOL: &str = "230101-RES";
const GROUPS: [(&str, i64); 2] = [("230101-001", 1_000), ("230101-002", 600)];

fn terms() -> ExchangeTerms {
    ExchangeTerms {
        name: "ตลาดบุญตำบลในเมือง".into(),
        unit_name: "บุญ".into(),
        rate_per_credit: Money::from_baht(1),
        reserve_pool: PoolId::parse(POOL).expect("pool id"),
        policy_min_coverage_basis_points: 5_000,
        concentration_limit_basis_points: 2_500,
    }
}

fn transfer(from: u32, to: u32, credits: i64, category: Category) -> ExchangeBody {
    ExchangeBody::Transfer {
        from: AccountNo(from),
        to: AccountNo(to),
        amount: Credits::from_whole(credits),
        category,
        memo: "ผัก ข้าว แรงงาน".into(),
    }
}

/// A month of the exchange from the one activity generator: 30 accounts
/// (ten members of each group, producers, enterprises, a shop, a group) of
/// limit 300, vouchers 1–20 of 5 credits, 80 transfers, five vouchers back.
fn month_csv(seed: u64) -> String {
    sajja_activity::exchange::month_csv(&sajja_activity::exchange::ExchangeSpec {
        log: GroupId::parse(EXCHANGE).expect("log id"),
        terms: terms(),
        opened_on: date("2026-11-01"),
        groups: GROUPS
            .iter()
            .map(|(g, _)| GroupId::parse(g).expect("group id"))
            .collect(),
        transfers: 80,
        limit: 300,
        seed,
    })
}

/// The exchange's node: `sajja-node exchange` on its own data directory.
pub(crate) struct ExchangeNode {
    pub(crate) dir: std::path::PathBuf,
}

impl ExchangeNode {
    /// A new exchange, opened on 2026-11-01 with a generated month imported
    /// (not enrolled at any hub).
    pub(crate) fn opened_with_a_month(root: &Path) -> ExchangeNode {
        let node = ExchangeNode {
            dir: root.join("exchange"),
        };
        node.cli(&[
            "init",
            "--log",
            EXCHANGE,
            "--name",
            "ตลาดบุญตำบลในเมือง",
            "--unit",
            "บุญ",
            "--rate",
            "1",
            "--reserve-pool",
            POOL,
            "--opened-on",
            "2026-11-01",
        ]);
        let csv = root.join("exchange-month.csv");
        std::fs::write(&csv, month_csv(2026)).expect("write csv");
        node.cli(&["import", path_arg(&csv)]);
        node
    }

    pub(crate) fn cli(&self, args: &[&str]) -> String {
        let (ok, said) = self.try_cli(args);
        assert!(ok, "exchange {args:?}: {said}");
        said
    }

    pub(crate) fn try_cli(&self, args: &[&str]) -> (bool, String) {
        let mut command = std::process::Command::new(bin("sajja-node"));
        command
            .arg("--data-dir")
            .arg(&self.dir)
            .arg("exchange")
            .args(args);
        let output = run(command);
        (output.status.success(), text(&output))
    }

    fn file(&self) -> std::path::PathBuf {
        self.dir.join("exchange.sqlite")
    }

    pub(crate) fn event_bytes(&self) -> Vec<Vec<u8>> {
        read_blobs(&self.file(), "SELECT bytes FROM events ORDER BY seq", [])
    }

    pub(crate) fn events(&self) -> Vec<ExchangeEvent> {
        self.event_bytes()
            .iter()
            .map(|b| ExchangeEvent::decode(b).expect("the node's own events decode"))
            .collect()
    }

    /// The node's log as a raw pusher needs it: bytes, hashes and key.
    fn signed_log(&self) -> SignedLog {
        let seed = read_blobs(&self.file(), "SELECT signing_seed FROM meta", [])
            .pop()
            .expect("a signing seed");
        let mut log = SignedLog::new(EXCHANGE, 0);
        log.key = SigningKey::from_seed(&seed).expect("seed");
        log.events = self.event_bytes();
        log.hashes = read_blobs(&self.file(), "SELECT hash FROM events ORDER BY seq", [])
            .iter()
            .map(|h| sajja_common::Hash::from_slice(h).expect("32-byte hash"))
            .collect();
        log
    }

    fn seq(&self) -> u64 {
        self.event_bytes().len() as u64
    }

    /// The exchange's position as of `as_of`, folded here from the node's
    /// file and the groups' own logs' pledges to its pool.
    fn refolded(&self, nodes: &[(Node, &str)], as_of: Date) -> ExchangePosition {
        let log = GroupId::parse(EXCHANGE).expect("log id");
        let books = ExchangeBooks::fold_as_of(log, &self.events(), as_of);
        let pool = PoolId::parse(POOL).expect("pool id");
        let reserve: BTreeMap<GroupId, Money> = nodes
            .iter()
            .filter_map(|(node, group)| {
                let position = refold(node, group, as_of);
                let pledged = position
                    .pools
                    .iter()
                    .find(|(id, _)| *id == pool)
                    .map(|(_, b)| b.reserve_pledged)?;
                pledged
                    .is_positive()
                    .then(|| (GroupId::parse(group).expect("group id"), pledged))
            })
            .collect();
        ExchangePosition::of(&books, as_of, &reserve).expect("the exchange had opened")
    }
}

/// Starts the exchange's node with a month imported and enrols it at `tambon`.
fn exchange_node(root: &Path, tambon: &Hub) -> ExchangeNode {
    let node = ExchangeNode::opened_with_a_month(root);
    let status = node.cli(&["status"]);
    let key = status
        .lines()
        .find_map(|l| l.strip_prefix("public key"))
        .map(|k| k.trim().to_string())
        .expect("status prints the public key");
    let bundle = tambon.enrol(&["group", EXCHANGE, "--key", &key]);
    node.cli(&["init", "--bundle", path_arg(&bundle)]);
    node
}

fn optional(value: Option<i64>) -> Value {
    value.map_or(Value::Null, Value::from)
}

/// The figures a hub must report for `p`, in the JSON's own forms.
fn figures(p: &ExchangePosition) -> Value {
    json!({
        "exchange": p.log.as_str(),
        "accounts_open": p.accounts_open,
        "credit_in_circulation_credits": p.credit_in_circulation.to_plain(),
        "debit_outstanding_credits": p.debit_outstanding.to_plain(),
        "vouchers_outstanding_credits": p.vouchers_outstanding.to_plain(),
        "reserve_pledged": p.reserve_pledged.to_plain(),
        "exposure": p.exposure.to_plain(),
        "coverage_basis_points": optional(p.coverage_basis_points),
        "reserve_required": p.reserve_required.to_plain(),
        "headroom_credits": p.headroom.map(Credits::to_plain),
        "coverage_without_largest_pledger_basis_points": optional(p.coverage_without_largest_pledger),
        "volume_months": p.volume_by_month.len(),
    })
}

fn reported(hub: &Hub, scope: &str, as_of: Date) -> Value {
    let day = as_of.to_string();
    let answer = query_json(
        hub,
        &["query", "exchanges", scope, "--as-of", &day, "--json"],
    );
    let list = answer["exchanges"].as_array().expect("exchanges");
    assert_eq!(list.len(), 1, "{answer}");
    let mut line = list[0].clone();
    let months = line["volume_by_month"].as_array().map_or(0, Vec::len);
    let keys = figures_keys();
    let mut out = serde_json::Map::new();
    for key in keys {
        out.insert(key.to_string(), line[key].take());
    }
    out.insert("volume_months".into(), months.into());
    Value::Object(out)
}

fn figures_keys() -> [&'static str; 11] {
    [
        "exchange",
        "accounts_open",
        "credit_in_circulation_credits",
        "debit_outstanding_credits",
        "vouchers_outstanding_credits",
        "reserve_pledged",
        "exposure",
        "coverage_basis_points",
        "reserve_required",
        "headroom_credits",
        "coverage_without_largest_pledger_basis_points",
    ]
}

fn exchange_alerts(hub: &Hub, scope: &str) -> Vec<Value> {
    let answer = query_json(hub, &["query", "alerts", scope, "--json"]);
    answer["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .filter(|a| a["kind"] == "exchange_coverage_below_policy")
        .cloned()
        .collect()
}

#[test]
fn an_exchange_reaches_the_province_and_its_coverage_is_the_refold_of_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let (mut province, tambon) = province_and_tambon(dir.path());
    let nodes: Vec<(Node, &str)> = GROUPS
        .iter()
        .map(|(group, pledge)| {
            let home = dir.path().join(group);
            let node = enrolled_node(&home, &tambon, group);
            import_activity(&node, &home, 10, 100);
            // February closed before anything dated later is recorded (a
            // close digests the books as they stand).
            node.cli(&["close-month", "2025-02", "--date", "2025-03-01"]);
            let pledge = pledge.to_string();
            node.cli(&["pool", "pledge", POOL, &pledge, "--date", "2026-10-15"]);
            node.cli(&["sync", "--once"]);
            (node, *group)
        })
        .collect();

    let exchange = exchange_node(dir.path(), &tambon);
    // A transfer beyond the payer's limit is refused on the exchange's own
    // node, by the rule, before anything is written; so is the month's file
    // imported a second time.
    let n = exchange.seq();
    let csv = dir.path().join("exchange-month.csv");
    let (ok, said) = exchange.try_cli(&["import", path_arg(&csv)]);
    assert!(!ok && said.contains("imported before"), "{said}");
    assert_eq!(exchange.seq(), n);
    let (ok, said) = exchange.try_cli(&[
        "transfer",
        "23",
        "24",
        "900",
        "--category",
        "goods",
        "--date",
        "2026-11-30",
    ]);
    assert!(!ok && said.contains("beyond its credit limit"), "{said}");
    assert_eq!(exchange.seq(), n);
    let synced = exchange.cli(&["sync"]);
    assert!(synced.contains(&format!("hub holds seq {n}")), "{synced}");
    let status = exchange.cli(&["status"]);
    assert!(status.contains(&format!("hub holds   seq {n}")), "{status}");
    // A backup is the exchange's way back (its key is in this file alone):
    // the copy holds the same log, byte for byte.
    let copy = dir.path().join("exchange-backup.sqlite");
    exchange.cli(&["backup", path_arg(&copy)]);
    assert_eq!(
        read_blobs(&copy, "SELECT bytes FROM events ORDER BY seq", []),
        exchange.event_bytes()
    );

    // The same two refusals at the hub, from a pusher holding the exchange's
    // certificate and key: a transfer changed on the way (500 credits where
    // 50 were signed) and a signed transfer beyond the limit. Each is
    // refused by name and stores nothing.
    let log = exchange.signed_log();
    let bundle = tambon.enrol(&["group", EXCHANGE, "--key", &log.key.public().to_hex()]);
    let mut raw = RawHub::connect(&tambon, &bundle);
    {
        let mut push = raw.open();
        let welcome = push.hello(&log.checkpoint_at(n));
        assert_eq!(
            welcome.position.as_ref().map(|p| p.seq),
            Some(n),
            "{welcome:?}"
        );
        let mut signed = log.clone();
        signed.append_exchange(date("2026-11-30"), transfer(23, 24, 50, Category::Goods));
        let tampered = ExchangeEvent {
            log: log.group.clone(),
            seq: n + 1,
            date: date("2026-11-30"),
            recorded_at: 0,
            body: transfer(23, 24, 500, Category::Goods),
        };
        let refused =
            refusal(push.batch(n + 1, vec![tampered.encode()], &signed.checkpoint_at(n + 1)));
        assert_eq!(refused.check, "hash_mismatch", "{refused:?}");

        let mut beyond = log.clone();
        beyond.append_exchange(date("2026-11-30"), transfer(23, 24, 900, Category::Goods));
        let refused = refusal(push.batch(
            n + 1,
            beyond.range(n + 1, n + 1),
            &beyond.checkpoint_at(n + 1),
        ));
        assert_eq!(refused.check, "limit_breached", "{refused:?}");
        assert!(refused.message.contains(EXCHANGE), "{}", refused.message);
    }
    drop(raw);
    assert_eq!(tambon.seq(EXCHANGE), n);
    wait_held(&province, EXCHANGE, n);
    assert_eq!(hub_event_bytes(&province, EXCHANGE), exchange.event_bytes());

    // At a past date and today, at both levels: the re-fold's figures.
    for as_of in [date("2026-11-15"), today()] {
        let expected = figures(&exchange.refolded(&nodes, as_of));
        for (hub, scope) in [(&tambon, "230101"), (&province, "23")] {
            assert_eq!(
                reported(hub, scope, as_of),
                expected,
                "{scope} as of {as_of}"
            );
        }
    }
    let now = exchange.refolded(&nodes, today());
    assert_eq!(now.reserve_pledged, Money::from_baht(1_600));
    assert_eq!(
        exchange_alerts(&province, "23").is_empty(),
        now.coverage_basis_points.is_none_or(|c| c >= 5_000),
        "an alert exactly when coverage is below policy: {now:?}"
    );

    // The largest debtor defaults: the exchange settles its debit against
    // the reserve in its own log, and until the groups' logs pay it from
    // their pledges both hubs say the two logs disagree.
    let debtor = exchange
        .refolded(&nodes, today())
        .largest_debtor
        .expect("a debtor")
        .account;
    exchange.cli(&["account", "default", &debtor.0.to_string()]);
    let default_seq = exchange.seq();
    exchange.cli(&["sync"]);
    wait_held(&province, EXCHANGE, default_seq);
    let settled = exchange.refolded(&nodes, today()).settled_from_reserve;
    assert!(settled.is_positive());
    let unmatched = |hub: &Hub, scope: &str| {
        let answer = query_json(hub, &["query", "alerts", scope, "--json"]);
        answer["alerts"]
            .as_array()
            .expect("alerts")
            .iter()
            .filter(|a| a["kind"] == "exchange_settlement_unmatched")
            .cloned()
            .collect::<Vec<_>>()
    };
    for (hub, scope) in [(&tambon, "230101"), (&province, "23")] {
        let alerts = unmatched(hub, scope);
        assert_eq!(alerts.len(), 1, "{scope}: {alerts:?}");
        assert_eq!(alerts[0]["settled_from_reserve"], settled.to_plain());
        assert_eq!(alerts[0]["settled_by_groups"], "0.00");
    }
    // Each group pays half from its pledge (the second the odd satang).
    let half = Money::from_satang(settled.satang() / 2);
    let shares = [half, Money::from_satang(settled.satang() - half.satang())];
    let seq_text = default_seq.to_string();
    for ((node, group), share) in nodes.iter().zip(shares) {
        let amount = share.to_plain();
        node.cli(&[
            "pool",
            "draw",
            POOL,
            &amount,
            "--exchange",
            EXCHANGE,
            "--exchange-seq",
            &seq_text,
        ]);
        node.cli(&["sync", "--once"]);
        wait_held(&province, group, node.event_bytes().len() as u64);
    }
    for (hub, scope) in [(&tambon, "230101"), (&province, "23")] {
        assert_eq!(unmatched(hub, scope), Vec::<Value>::new(), "{scope}");
        let answer = query_json(hub, &["query", "exchanges", scope, "--json"]);
        assert_eq!(
            answer["exchanges"][0]["settled_by_groups"],
            settled.to_plain(),
            "{scope}"
        );
    }

    // The groups take back most of what is left of their pledges (keeping
    // 100 and 50): coverage falls below the 50% policy and both hubs raise
    // the alert.
    for ((node, group), keep) in nodes.iter().zip([100, 50]) {
        let pool = PoolId::parse(POOL).expect("pool id");
        let pledged = refold(node, group, today())
            .pools
            .iter()
            .find(|(id, _)| *id == pool)
            .map(|(_, b)| b.reserve_pledged)
            .expect("a pledge");
        let release = Money::from_satang(pledged.satang() - Money::from_baht(keep).satang());
        node.cli(&["pool", "release", POOL, &release.to_plain()]);
        node.cli(&["sync", "--once"]);
        wait_held(&province, group, node.event_bytes().len() as u64);
    }
    let after = exchange.refolded(&nodes, today());
    assert_eq!(after.reserve_pledged, Money::from_baht(150));
    assert!(
        after.coverage_basis_points < Some(5_000),
        "the premise: {after:?}"
    );
    assert_eq!(reported(&province, "23", today()), figures(&after));
    for (hub, scope) in [(&tambon, "230101"), (&province, "23")] {
        let alerts = exchange_alerts(hub, scope);
        assert_eq!(alerts.len(), 1, "{scope}: {alerts:?}");
        assert_eq!(alerts[0]["subject"], EXCHANGE);
        assert_eq!(
            alerts[0]["coverage_basis_points"],
            json!(after.coverage_basis_points)
        );
    }
    // The CSV a spreadsheet reads: one row, the same coverage.
    let csv = province.admin(&["query", "exchanges", "23", "--csv"]);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header = reader.headers().expect("header").clone();
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), 1, "{csv}");
    let cell = |name: &str| {
        let at = header.iter().position(|h| h == name).expect(name);
        rows[0][at].to_string()
    };
    assert_eq!(cell("exchange"), EXCHANGE);
    assert_eq!(
        cell("coverage_basis_points"),
        after
            .coverage_basis_points
            .map_or(String::new(), |c| c.to_string())
    );
    assert_eq!(cell("reserve_pledged"), after.reserve_pledged.to_plain());
    let table = province.admin(&["query", "exchanges", "23"]);
    assert!(table.contains("COVERAGE BELOW POLICY"), "{table}");
    assert!(table.contains("not money"), "{table}");

    // An exchange enrolled under the tambon is no part of the tambon's
    // month: the groups' February signs off at both levels as without it.
    for (_, group) in &nodes {
        tambon.admin(&["signoff", group, "2025-02"]);
    }
    wait_admin_relayed(&province, &tambon, "230101");
    for (_, group) in &nodes {
        wait_held(&province, group, tambon.seq(group));
    }
    province.admin(&["signoff", "230101", "2025-02"]);

    // A coordinator's remote answer is the very report the hub prints.
    let coordinator = province.enrol(&["coordinator", "somchai", "--scope", "23"]);
    let mut remote = std::process::Command::new(bin("sajja-hub"));
    remote
        .args(["query", "exchanges", "23", "--json", "--bundle"])
        .arg(&coordinator);
    let remote = run(remote);
    assert!(remote.status.success(), "{}", text(&remote));
    let local = run(province.command(&["query", "exchanges", "23", "--json"]));
    assert_eq!(text(&remote), text(&local));

    // The province's operations endpoint carries the exchange's coverage
    // beside its policy, for an alert rule to compare.
    province.kill();
    enable_metrics(&province);
    province.start();
    let (status, metrics) = get(&metrics_addr(&province), "/metrics");
    assert_eq!(status, 200);
    let coverage = after.coverage_basis_points.expect("a coverage");
    for line in [
        format!("sajja_exchange_coverage_basis_points{{exchange=\"{EXCHANGE}\"}} {coverage}"),
        format!("sajja_exchange_policy_basis_points{{exchange=\"{EXCHANGE}\"}} 5000"),
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in {metrics}");
    }
}
