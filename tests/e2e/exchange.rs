//! A community exchange's log travels like any other log: pushed over
//! mutual TLS by the exchange's pusher to its tambon hub, relayed to the
//! province, verified and checked by the exchange's rules at both. What the
//! hubs report of it (credit, debit, vouchers, coverage by the reserve the
//! groups pledged) must equal a re-fold, in this test, of the exchange's
//! events and the groups' own SQLite logs.
//!
//! The exchange's pusher is this test over the raw Sync protocol (the
//! exchange node mode of `sajja-node` is not built yet); the two groups are
//! real `sajja-node` processes.

use std::collections::BTreeMap;

use sajja_common::exchange::{
    AccountNo, Category, Credits, ExchangeBody, ExchangeBooks, ExchangeEvent, ExchangePosition,
    ExchangeTerms, HolderKind,
};
use sajja_common::{Date, GroupId, MemberNo, Money, PoolId};
use serde_json::{Value, json};

use crate::federation::{date, province_and_tambon, query_json, refold, today, wait_held};
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

fn holder(account: u32) -> HolderKind {
    let group = |g: &str| GroupId::parse(g).expect("group id");
    match account {
        1..=10 => HolderKind::Member {
            group: group("230101-001"),
            member: MemberNo(account),
        },
        11..=20 => HolderKind::Member {
            group: group("230101-002"),
            member: MemberNo(account - 10),
        },
        21..=25 => HolderKind::Producer,
        26..=28 => HolderKind::Enterprise,
        29 => HolderKind::Shop,
        _ => HolderKind::Group(group("230101-001")),
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

/// The exchange's log and its events: opened on 2026-11-01 with 30
/// accounts (limit 300 credits each), a month of random transfers that the
/// exchange's rules accept (each is checked on a copy of the books before it
/// is appended), and vouchers 1–20 of 5 credits, five of them returned.
struct Exchange {
    log: SignedLog,
    events: Vec<ExchangeEvent>,
    books: ExchangeBooks,
}

impl Exchange {
    fn append(&mut self, on: Date, body: ExchangeBody) -> bool {
        let mut trial = self.books.clone();
        let event = ExchangeEvent {
            log: self.log.group.clone(),
            seq: self.log.next_seq(),
            date: on,
            recorded_at: 0,
            body: body.clone(),
        };
        if trial.apply(&event).is_err() {
            return false;
        }
        self.books = trial;
        self.events.push(self.log.append_exchange(on, body));
        true
    }

    fn month(seed: u64) -> Exchange {
        let log = SignedLog::new(EXCHANGE, 41);
        let books = ExchangeBooks::new(log.group.clone());
        let mut exchange = Exchange {
            log,
            events: Vec::new(),
            books,
        };
        let opened = date("2026-11-01");
        assert!(exchange.append(opened, ExchangeBody::ExchangeOpened(terms())));
        for account in 1..=30 {
            let opens = ExchangeBody::AccountOpened {
                account: AccountNo(account),
                holder: holder(account),
                credit_limit: Credits::from_whole(300),
            };
            assert!(exchange.append(opened, opens));
        }
        let vouchers = ExchangeBody::VouchersIssued {
            account: AccountNo(21),
            first_serial: 1,
            last_serial: 20,
            denomination: Credits::from_whole(5),
        };
        assert!(exchange.append(date("2026-11-05"), vouchers));
        let mut rng = Rng::new(seed);
        let mut accepted = 0;
        while accepted < 80 {
            let from = 1 + rng.below(30) as u32;
            let to = 1 + rng.below(30) as u32;
            let credits = 10 + rng.below(140) as i64;
            let category = Category::ALL[rng.below(4) as usize];
            let on = date("2026-11-01").add_days(rng.below(30) as u32);
            // Transfers go in date order, as a treasurer records them.
            let on = on.max(exchange.books.last_date.unwrap_or(opened));
            if from != to && exchange.append(on, transfer(from, to, credits, category)) {
                accepted += 1;
            }
        }
        let returned = ExchangeBody::VouchersReturned {
            first_serial: 1,
            last_serial: 5,
            to_account: AccountNo(22),
        };
        assert!(exchange.append(date("2026-11-30"), returned));
        exchange
    }

    fn seq(&self) -> u64 {
        self.events.len() as u64
    }

    /// The exchange's position as of `as_of`, folded here from its events
    /// and the groups' own logs' pledges to its pool.
    fn refolded(&self, nodes: &[(Node, &str)], as_of: Date) -> ExchangePosition {
        let books = ExchangeBooks::fold_as_of(self.log.group.clone(), &self.events, as_of);
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
    let (province, tambon) = province_and_tambon(dir.path());
    let nodes: Vec<(Node, &str)> = GROUPS
        .iter()
        .map(|(group, pledge)| {
            let home = dir.path().join(group);
            let node = enrolled_node(&home, &tambon, group);
            import_activity(&node, &home, 10, 100);
            let pledge = pledge.to_string();
            node.cli(&["pool", "pledge", POOL, &pledge, "--date", "2026-10-15"]);
            node.cli(&["sync", "--once"]);
            (node, *group)
        })
        .collect();

    let exchange = Exchange::month(2026);
    let key = exchange.log.key.public().to_hex();
    let bundle = tambon.enrol(&["group", EXCHANGE, "--key", &key]);
    let mut raw = RawHub::connect(&tambon, &bundle);
    let n = exchange.seq();
    {
        let mut push = raw.open();
        let welcome = push.hello(&exchange.log.checkpoint_at(n));
        assert_eq!(welcome.send_from, 1, "{welcome:?}");
        let acked = ack(push.batch(1, exchange.log.range(1, n), &exchange.log.checkpoint_at(n)));
        assert_eq!(acked.to_seq, n);

        // A transfer changed on the way (500 credits where 50 were signed):
        // refused by name, nothing stored.
        let mut signed = exchange.log.clone();
        signed.append_exchange(date("2026-11-30"), transfer(23, 24, 50, Category::Goods));
        let tampered = ExchangeEvent {
            log: exchange.log.group.clone(),
            seq: n + 1,
            date: date("2026-11-30"),
            recorded_at: 0,
            body: transfer(23, 24, 500, Category::Goods),
        };
        let refused =
            refusal(push.batch(n + 1, vec![tampered.encode()], &signed.checkpoint_at(n + 1)));
        assert_eq!(refused.check, "hash_mismatch", "{refused:?}");

        // A signed transfer beyond the payer's limit: refused by the
        // exchange's rule, by name.
        let mut beyond = exchange.log.clone();
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
    assert_eq!(hub_event_bytes(&province, EXCHANGE), exchange.log.events);

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

    // The groups take back most of their pledges: coverage falls below the
    // 50% policy and both hubs raise the alert.
    for ((node, group), release) in nodes.iter().zip(["900", "550"]) {
        node.cli(&["pool", "release", POOL, release]);
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
    let table = province.admin(&["query", "exchanges", "23"]);
    assert!(table.contains("COVERAGE BELOW POLICY"), "{table}");
    assert!(table.contains("not money"), "{table}");

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
}
