//! Tambon hubs relay every log they hold to their province hub, which verifies
//! each group's chain and signature itself.

use std::time::Duration;

use crate::support::*;

/// A province hub 23 and a tambon hub 230101 relaying to it, both running.
pub(crate) fn province_and_tambon(root: &std::path::Path) -> (Hub, Hub) {
    let mut province = Hub::init(&root.join("province"), "23", "province");
    let mut tambon = Hub::init(&root.join("tambon"), "230101", "tambon");
    province.add_child(&tambon);
    province.start();
    tambon.set_parent(&province);
    tambon.start();
    (province, tambon)
}

#[test]
fn a_group_log_reaches_the_province_byte_for_byte_through_its_tambon_hub() {
    let dir = tempfile::tempdir().unwrap();
    let (province, tambon) = province_and_tambon(dir.path());
    let node = enrolled_node(&dir.path().join("node"), &tambon, "230101-007");
    import_activity(&node, dir.path(), 20, 2_000);
    node.cli(&["sync", "--once"]);
    let expected = node.event_bytes();
    wait_for(
        "the province to hold the group's whole log",
        Duration::from_secs(30),
        || (hub_event_bytes(&province, "230101-007").len() == expected.len()).then_some(()),
    );
    assert_eq!(hub_event_bytes(&province, "230101-007"), expected);
    // The tambon hub's own administrative log, which carried the group's key, arrived too.
    assert!(!hub_event_bytes(&province, "230101-000").is_empty());
    let heads = province.admin(&["heads"]);
    assert!(heads.contains("230101-007"), "{heads}");
}

// ---------------------------------------------------------------------------
// Independent re-folds: what the province must report, computed in the test
// from the nodes' own SQLite files (and the tambon hubs' own admin logs).

use sajja_common::admin::{AdminBooks, AdminEvent};
use sajja_common::position::{GroupPosition, PoolPosition};
use sajja_common::{Books, Date, Event, GroupId, Money, PoolId};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

/// Today in Thailand (UTC+7): the hubs' default report date.
pub(crate) fn today() -> Date {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    Date::thai_date_at(seconds as i64)
}

pub(crate) fn date(text: &str) -> Date {
    text.parse().expect("date")
}

/// Starts a province hub 23 with `tambons` as its children, then each tambon
/// hub relaying to it.
fn network(root: &std::path::Path, tambons: &[&str]) -> (Hub, Vec<Hub>) {
    let mut province = Hub::init(&root.join("province"), "23", "province");
    let mut hubs: Vec<Hub> = tambons
        .iter()
        .map(|t| Hub::init(&root.join(format!("tambon-{t}")), t, "tambon"))
        .collect();
    for hub in &hubs {
        province.add_child(hub);
    }
    province.start();
    for hub in &mut hubs {
        hub.set_parent(&province);
        hub.start();
    }
    (province, hubs)
}

/// A node for `group` at `hub` with a simulated year (`sajja_activity`),
/// synced once; returns the node and its head seq.
fn simulated_group(
    root: &std::path::Path,
    hub: &Hub,
    group: &str,
    seed: u64,
    members: u32,
) -> (Node, u64) {
    let node = enrolled_node(&root.join(format!("node-{group}")), hub, group);
    let id = GroupId::parse(group).expect("group id");
    let spec = sajja_activity::GroupSpec {
        group: id,
        members,
        seed,
    };
    let year = sajja_activity::csv::year(&spec).expect("the generator's rows are importable");
    let file = root.join(format!("year-{group}.csv"));
    std::fs::write(&file, year).expect("write csv");
    node.cli(&["import", path_arg(&file)]);
    node.cli(&["sync", "--once"]);
    let head = node.event_bytes().len() as u64;
    (node, head)
}

/// Waits until `hub` holds `group`'s log up to `seq`.
pub(crate) fn wait_held(hub: &Hub, group: &str, seq: u64) {
    wait_for(
        &format!("{} to hold {group} up to seq {seq}", hub.dir.display()),
        WAIT,
        || (hub.seq(group) >= seq).then_some(()),
    );
}

/// Waits until the province holds the tambon hub's whole administrative log.
pub(crate) fn wait_admin_relayed(province: &Hub, tambon: &Hub, tambon_id: &str) {
    let log = format!("{tambon_id}-000");
    wait_held(province, &log, tambon.seq(&log));
}

/// Runs a query and parses its stdout as JSON.
pub(crate) fn query_json(hub: &Hub, args: &[&str]) -> Value {
    let output = run(hub.command(args));
    assert!(output.status.success(), "{args:?}: {}", text(&output));
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {}", text(&output)))
}

pub(crate) fn node_events(node: &Node) -> Vec<Event> {
    node.event_bytes()
        .iter()
        .map(|b| Event::decode(b).expect("the node's own events decode"))
        .collect()
}

pub(crate) fn refold(node: &Node, group: &str, as_of: Date) -> GroupPosition {
    let events = node_events(node);
    let books = Books::fold_as_of(GroupId::parse(group).expect("group id"), &events, as_of);
    GroupPosition::of(&books, as_of)
}

/// A hub's administrative log folded from the writer's own database, as of a date.
fn admin_refold(tambon: &Hub, tambon_id: &str, as_of: Date) -> AdminBooks {
    let log = GroupId::hub_log(tambon_id).expect("hub log id");
    let mut books = AdminBooks::new(log.clone());
    for bytes in hub_event_bytes(tambon, log.as_str()) {
        let event = AdminEvent::decode(&bytes).expect("admin event decodes");
        if event.date <= as_of {
            books.apply(&event).expect("the hub's own log folds");
        }
    }
    books
}

fn baht(m: Money) -> Value {
    Value::from(m.to_plain())
}

/// Every figure of a group's position, named as the hub's JSON names them.
fn group_figures(p: &GroupPosition) -> Value {
    let sources = |pairs: &[(sajja_common::event::Source, Money)]| -> Value {
        pairs
            .iter()
            .map(|(s, m)| (s.word().to_string(), baht(*m)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    json!({
        "as_of": p.as_of.to_string(),
        "last_event_date": p.last_event_date.map(|d| d.to_string()),
        "active_members": p.active_members,
        "cash": baht(p.cash),
        "bank": baht(p.bank),
        "welfare_fund": baht(p.welfare_fund),
        "member_savings": baht(p.member_savings),
        "loans_outstanding": baht(p.loans_outstanding),
        "pool_deposits": baht(p.pool_deposits),
        "pool_loans": baht(p.pool_loans),
        "reserve_pledged": baht(p.reserve_pledged),
        "contributions_month": sources(&p.contributions_month),
        "contributions_ytd": sources(&p.contributions_ytd),
        "benefits_ytd": p.benefits_ytd.iter()
            .map(|(k, m)| (k.word().to_string(), baht(*m)))
            .collect::<serde_json::Map<_, _>>(),
        "loans_in_arrears": p.arrears.loans,
        "arrears_overdue": baht(p.arrears.overdue),
        "at_risk_outstanding": baht(p.arrears.at_risk_outstanding),
        "par30_basis_points": p.par30_basis_points(),
        "fund_cover_months_x100": p.fund_cover_months_x100,
        "pools": p.pools.iter().map(|(pool, b)| json!({
            "pool": pool.as_str(),
            "deposits": baht(b.deposits),
            "loans_payable": baht(b.loans_payable),
            "reserve_pledged": baht(b.reserve_pledged),
        })).collect::<Vec<_>>(),
    })
}

fn ratio(numerator: i64, denominator: i64) -> Value {
    if denominator > 0 {
        Value::from((i128::from(numerator) * 10_000 / i128::from(denominator)) as i64)
    } else {
        Value::Null
    }
}

/// A scope's sums, counts and indicators over `positions`, all groups fresh.
/// The default `[attention]` lines, computed here from the refold: PAR30
/// above 10%, members' collection this year below 80%, a fund smaller than
/// a year before.
fn at_risk(p: &GroupPosition) -> bool {
    p.par30_basis_points() > 1_000
        || p.collection_rate_ytd_basis_points()
            .is_some_and(|r| r < 8_000)
        || p.fund_growth_basis_points().is_some_and(|g| g < 0)
}

fn scope_figures(positions: &[&GroupPosition]) -> Value {
    let sum = |f: &dyn Fn(&GroupPosition) -> Money| -> i64 {
        positions.iter().map(|p| f(p).satang()).sum()
    };
    fn total<K>(pairs: &[(K, Money)]) -> Money {
        Money::from_satang(pairs.iter().map(|(_, m)| m.satang()).sum())
    }
    let loans = sum(&|p| p.loans_outstanding);
    let at_risk = sum(&|p| p.arrears.at_risk_outstanding);
    let funds = sum(&|p| p.member_savings) + sum(&|p| p.welfare_fund);
    let contributions: i64 = positions
        .iter()
        .map(|p| total(&p.contributions_ytd).satang())
        .sum();
    let benefits: i64 = positions
        .iter()
        .map(|p| total(&p.benefits_ytd).satang())
        .sum();
    let money = |satang: i64| baht(Money::from_satang(satang));
    // The default [attention] lines: PAR30 above 10%, collection below 80%,
    // a fund smaller than a year before.
    let at_risk_groups = positions
        .iter()
        .filter(|p| {
            p.par30_basis_points() > 1_000
                || p.collection_rate_ytd_basis_points()
                    .is_some_and(|r| r < 8_000)
                || p.fund_growth_basis_points().is_some_and(|g| g < 0)
        })
        .count();
    json!({
        "groups": positions.len(),
        "ok": positions.len() - at_risk_groups,
        "stale": 0,
        "forked": 0,
        "at_risk": at_risk_groups,
        "members": positions.iter().map(|p| u64::from(p.active_members)).sum::<u64>(),
        "cash_and_bank": money(sum(&|p| Money::from_satang(p.cash.satang() + p.bank.satang()))),
        "welfare_fund": money(sum(&|p| p.welfare_fund)),
        "member_savings": money(sum(&|p| p.member_savings)),
        "loans_outstanding": money(loans),
        "loans_in_arrears": positions.iter().map(|p| p.arrears.loans).sum::<u32>(),
        "loans_at_risk": money(at_risk),
        "pool_deposits": money(sum(&|p| p.pool_deposits)),
        "pool_loans": money(sum(&|p| p.pool_loans)),
        "reserve_pledged": money(sum(&|p| p.reserve_pledged)),
        "contributions_ytd": money(contributions),
        "benefits_ytd": money(benefits),
        "par30_basis_points": ratio(at_risk, loans),
        "loan_to_fund_basis_points": ratio(loans, funds),
        "benefits_to_contributions_basis_points": ratio(benefits, contributions),
    })
}

fn pool_figures(p: &PoolPosition) -> Value {
    json!({
        "pool": p.pool.as_str(),
        "deposits": baht(p.deposits),
        "loans_to_groups": baht(p.loans_to_groups),
        "reserve": baht(p.reserve),
        "currency_outstanding": baht(p.currency_outstanding),
        "guarantees_outstanding": baht(p.guarantees_outstanding),
        "obligations": baht(p.obligations()),
        "reserve_ratio_basis_points": p.reserve_ratio_basis_points(),
        "min_reserve_ratio_basis_points": p.min_reserve_ratio_basis_points,
        "headroom": p.headroom().map(|h| h.to_plain()),
        "below_policy": p.below_policy(),
        "ratio_without_largest_basis_points": p.ratio_without_largest(1),
        "ratio_without_largest_three_basis_points": p.ratio_without_largest(3),
    })
}

/// Asserts that every figure in `expected` is in `actual` with the same value.
fn assert_figures(what: &str, actual: &Value, expected: &Value) {
    let Value::Object(expected) = expected else {
        panic!("expected figures are an object")
    };
    for (key, value) in expected {
        assert_eq!(
            actual.get(key),
            Some(value),
            "{what}: {key} differs\nreported: {actual:#}"
        );
    }
}

/// The entry of `list` whose `key` is `id`.
fn find<'a>(list: &'a Value, key: &str, id: &str) -> &'a Value {
    list.as_array()
        .expect("a list")
        .iter()
        .find(|v| v[key] == id)
        .unwrap_or_else(|| panic!("{id} missing from {list:#}"))
}

// A three-level network (province, two tambon hubs, six group nodes with a
// generated year) syncs, and every figure the province reports for each
// group, tambon and pool equals a re-fold of the nodes' own logs, at the end
// and at two past dates; the province's tambon figures equal the tambon hub's.
#[test]
fn the_province_reports_exactly_what_the_nodes_own_logs_fold_to() {
    let dir = tempfile::tempdir().unwrap();
    let tambon_ids = ["230101", "230102"];
    let (province, tambons) = network(dir.path(), &tambon_ids);
    let groups = [
        ("230101-001", 14),
        ("230101-002", 22),
        ("230101-003", 9),
        ("230102-001", 18),
        ("230102-002", 12),
        ("230102-003", 25),
    ];
    let mut nodes = Vec::new();
    for (index, (group, members)) in groups.iter().enumerate() {
        let hub = &tambons[usize::from(group.starts_with("230102"))];
        let (node, head) =
            simulated_group(dir.path(), hub, group, 7919 * (index as u64 + 1), *members);
        nodes.push((*group, node, head));
    }
    // Each tambon network fund: a reserve policy, community currency and a guarantee.
    for (t, hub) in tambon_ids.iter().zip(&tambons) {
        hub.admin(&["pool", "policy", t, "--min-ratio", "50"]);
        hub.admin(&["pool", "issue-currency", t, "20000"]);
        let beneficiary = format!("{t}-002");
        hub.admin(&[
            "pool",
            "guarantee",
            t,
            "--id",
            "1",
            "--group",
            &beneficiary,
            "--lender",
            "ธ.ก.ส.",
            "3000.50",
        ]);
    }
    for (group, _, head) in &nodes {
        wait_held(&province, group, *head);
    }
    for (t, hub) in tambon_ids.iter().zip(&tambons) {
        wait_admin_relayed(&province, hub, t);
    }

    let end = today();
    for as_of in [date("2026-03-31"), date("2026-06-30"), end] {
        let day = as_of.to_string();
        let positions: Vec<(&str, GroupPosition)> = nodes
            .iter()
            .map(|(group, node, _)| (*group, refold(node, group, as_of)))
            .collect();
        // Groups.
        let reported = query_json(
            &province,
            &["query", "groups", "23", "--as-of", &day, "--json"],
        );
        assert_eq!(reported["groups"].as_array().map(Vec::len), Some(6));
        for (group, position) in &positions {
            let line = find(&reported["groups"], "group", group);
            assert_figures(
                &format!("group {group} as of {day}"),
                line,
                &group_figures(position),
            );
            let status = if at_risk(position) { "at_risk" } else { "ok" };
            assert_eq!(line["status"], status, "group {group} as of {day}");
        }
        // Tambons and the province.
        for scope in ["230101", "230102", "23"] {
            let under: Vec<&GroupPosition> = positions
                .iter()
                .filter(|(g, _)| g.starts_with(scope))
                .map(|(_, p)| p)
                .collect();
            let reported = query_json(
                &province,
                &["query", "position", scope, "--as-of", &day, "--json"],
            );
            assert_figures(
                &format!("scope {scope} as of {day}"),
                &reported,
                &scope_figures(&under),
            );
        }
        for (t, hub) in tambon_ids.iter().zip(&tambons) {
            let at_province = query_json(
                &province,
                &["query", "position", t, "--as-of", &day, "--json"],
            );
            let at_tambon = query_json(hub, &["query", "position", t, "--as-of", &day, "--json"]);
            // Freshness too: the relay carries each group's last contact with
            // its tambon hub, so `oldest_contact` is the same at both levels.
            assert!(at_tambon["oldest_contact"].is_i64(), "{at_tambon:#}");
            assert_eq!(
                at_province, at_tambon,
                "tambon {t} as of {day}: the province and the tambon hub disagree"
            );
        }
        // Pools: the groups' side from the nodes, the obligations from each tambon hub's own log.
        let reported = query_json(
            &province,
            &["query", "reserves", "23", "--as-of", &day, "--json"],
        );
        for (t, hub) in tambon_ids.iter().zip(&tambons) {
            let pool = PoolId::parse(t).expect("pool id");
            let admin = admin_refold(hub, t, as_of);
            let ids: Vec<GroupId> = positions
                .iter()
                .map(|(g, _)| GroupId::parse(g).expect("id"))
                .collect();
            let expected = PoolPosition::of(
                &pool,
                ids.iter().zip(positions.iter().map(|(_, p)| p)),
                admin.pools.get(&pool),
            );
            let line = find(&reported["pools"], "pool", t);
            assert_figures(
                &format!("pool {t} as of {day}"),
                line,
                &pool_figures(&expected),
            );
            if as_of == end {
                assert_eq!(expected.currency_outstanding, Money::from_baht(20_000));
                assert_eq!(expected.guarantees_outstanding, Money::from_satang(300_050));
            }
        }
    }
}

// A tambon hub that alters, drops or reorders a relayed event is refused by
// the province, which names the check, the seq and the presenting hub, and
// stores nothing.
#[test]
fn the_province_refuses_a_relayed_log_a_tambon_hub_tampered_with_and_names_the_hub() {
    let dir = tempfile::tempdir().unwrap();
    let (province, tambon) = province_and_tambon(dir.path());
    let group = "230101-007";
    let node = enrolled_node(&dir.path().join("node"), &tambon, group);
    import_activity(&node, dir.path(), 5, 20);
    node.cli(&["sync", "--once"]);
    let held = node.event_bytes().len() as u64;
    wait_held(&province, group, held);
    // Six more events the honest relay has not seen: the node has not synced them.
    let rows: Vec<String> = (1..=6)
        .map(|m| format!("2025-03-0{m},contribute,{},,,30,yes", m % 5 + 1))
        .collect();
    import_rows(
        &node,
        dir.path(),
        "more.csv",
        "date,kind,member,name,birth_year,amount,extra",
        &rows,
    );
    let log = GroupLog::read(&node, group);
    let (from, to) = (held + 1, held + 6);
    let checkpoint = log.checkpoint_at(to);
    let stored = hub_event_bytes(&province, group);

    let mut flipped = log.range(from, to);
    // Still decodes (the business date's first byte), so only the chain can tell.
    flipped[1][15] ^= 0x01;
    let mut dropped = log.range(from, to);
    dropped.remove(1);
    let mut reordered = log.range(from, to);
    reordered.swap(1, 2);
    // The tambon hub's own certificate: a compromised relay.
    let mut raw = RawHub::connect(&province, &province.enrol(&["hub", "230101"]));
    let mut push = raw.open();
    let welcome = push.hello_relayed(&checkpoint, "230101");
    assert_eq!(welcome.send_from, from);
    for (what, events, check, seq) in [
        ("a flipped byte", flipped, "hash_mismatch", to),
        ("a dropped event", dropped, "sequence_gap", from + 2),
        ("a reordered pair", reordered, "out_of_order", from + 2),
    ] {
        let refused = refusal(push.batch(from, events, &checkpoint));
        assert_eq!(
            (refused.check.as_str(), refused.seq),
            (check, seq),
            "{what}: {refused:?}"
        );
        assert!(
            refused.message.contains("presented by hub 230101"),
            "{what}: {}",
            refused.message
        );
        assert!(
            refused.message.contains(group),
            "{what}: {}",
            refused.message
        );
        assert_eq!(
            hub_event_bytes(&province, group),
            stored,
            "{what} changed the stored log"
        );
        assert_eq!(province.seq(group), held);
    }
    drop(push);
    // The honest relay still delivers the genuine events.
    node.cli(&["sync", "--once"]);
    wait_held(&province, group, to);
    assert_eq!(hub_event_bytes(&province, group), node.event_bytes());
}

// With the province down for the whole activity, a tambon hub takes its
// groups' logs; once the province is up the relay catches up on its own and
// the province's figures equal a re-fold of the node's log.
#[test]
fn a_province_that_was_down_catches_up_and_its_figures_match() {
    let dir = tempfile::tempdir().unwrap();
    let mut province = Hub::init(&dir.path().join("province"), "23", "province");
    let mut tambon = Hub::init(&dir.path().join("tambon"), "230101", "tambon");
    province.add_child(&tambon);
    // Learn the province's address, keep it, and take the province down.
    province.start();
    province.pin_port();
    province.kill();
    tambon.set_parent(&province);
    tambon.start();
    let group = "230101-004";
    let (node, head) = simulated_group(dir.path(), &tambon, group, 31, 12);
    assert_eq!(
        tambon.seq(group),
        head,
        "the tambon hub holds the log while its parent is down"
    );
    assert_eq!(province.seq(group), 0);
    province.start();
    wait_held(&province, group, head);
    wait_admin_relayed(&province, &tambon, "230101");
    assert_eq!(hub_event_bytes(&province, group), node.event_bytes());
    for as_of in [date("2026-05-31"), today()] {
        let day = as_of.to_string();
        let reported = query_json(
            &province,
            &["query", "groups", "230101", "--as-of", &day, "--json"],
        );
        let line = find(&reported["groups"], "group", group);
        assert_figures(
            &format!("{group} as of {day}"),
            line,
            &group_figures(&refold(&node, group, as_of)),
        );
    }
}

// A group's ReserveReleased takes its pool below the reserve policy: the
// province raises the alert (query alerts, table and JSON) and lists the
// group under --below-reserve.
#[test]
fn a_reserve_release_below_policy_raises_an_alert_at_the_province() {
    let dir = tempfile::tempdir().unwrap();
    let (province, tambon) = province_and_tambon(dir.path());
    let group = "230101-001";
    let node = enrolled_node(&dir.path().join("node"), &tambon, group);
    import_activity(&node, dir.path(), 10, 100);
    node.cli(&["pool", "pledge", "230101", "1000"]);
    tambon.admin(&["pool", "policy", "230101", "--min-ratio", "50"]);
    tambon.admin(&["pool", "issue-currency", "230101", "1500"]);
    node.cli(&["sync", "--once"]);
    wait_held(&province, group, node.event_bytes().len() as u64);
    wait_admin_relayed(&province, &tambon, "230101");
    let below = |alerts: &Value| {
        alerts["alerts"]
            .as_array()
            .expect("alerts")
            .iter()
            .filter(|a| a["kind"] == "reserve_below_policy")
            .cloned()
            .collect::<Vec<_>>()
    };
    // 1,000 of reserve against 1,500 of currency: 66.66%, above the 50% policy.
    assert_eq!(
        below(&query_json(&province, &["query", "alerts", "23", "--json"])),
        Vec::<Value>::new()
    );

    node.cli(&["pool", "release", "230101", "600"]);
    node.cli(&["sync", "--once"]);
    wait_held(&province, group, node.event_bytes().len() as u64);
    // 400 against the 750 the policy requires.
    let alerts = below(&query_json(&province, &["query", "alerts", "23", "--json"]));
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["subject"], "230101");
    assert_eq!(alerts[0]["headroom"], "-350.00");
    let table = province.admin(&["query", "alerts", "23"]);
    assert!(
        table.contains("pool 230101: reserve below policy by 350.00"),
        "{table}"
    );
    let listed = query_json(
        &province,
        &["query", "groups", "23", "--below-reserve", "--json"],
    );
    assert_eq!(listed["groups"].as_array().map(Vec::len), Some(1));
    assert_eq!(listed["groups"][0]["group"], group);
    let csv = province.admin(&["query", "reserves", "23", "--csv"]);
    assert!(
        csv.contains("230101,") && csv.contains(",-350.00,true,"),
        "{csv}"
    );
}

// A tambon hub signs off a group's closed month and the province signs off the
// tambon's; each refuses what is not ready; a back-dated event arriving later
// flags both sign-offs BROKEN in query alerts, at both levels.
#[test]
fn month_sign_offs_travel_up_and_a_back_dated_event_breaks_them() {
    let dir = tempfile::tempdir().unwrap();
    let (province, tambon) = province_and_tambon(dir.path());
    let group = "230101-001";
    let (node, head) = simulated_group(dir.path(), &tambon, group, 17, 8);
    wait_held(&province, group, head);

    let refused = |hub: &Hub, args: &[&str]| {
        let output = run(hub.command(args));
        assert!(
            !output.status.success(),
            "{args:?} was accepted: {}",
            text(&output)
        );
        text(&output)
    };
    let out = refused(&tambon, &["signoff", group, "2026-12"]);
    assert!(out.contains("has not closed 2026-12"), "{out}");
    let out = refused(&province, &["signoff", "230101", "2026-03"]);
    assert!(
        out.contains("2026-03 is not signed off by tambon hub 230101"),
        "{out}"
    );

    tambon.admin(&["signoff", group, "2026-03"]);
    wait_admin_relayed(&province, &tambon, "230101");
    province.admin(&["signoff", "230101", "2026-03"]);
    let sign_offs = query_json(&province, &["query", "signoffs", "23", "--json"]);
    let list = sign_offs["sign_offs"].as_array().expect("sign-offs");
    assert_eq!(list.len(), 2, "{sign_offs:#}");
    assert!(list.iter().all(|s| s["broken"] == false), "{sign_offs:#}");
    let groups = query_json(&province, &["query", "groups", "23", "--json"]);
    assert_eq!(groups["groups"][0]["signed_off"], json!(["2026-03"]));

    // Matching funds for March, recorded in November.
    node.cli(&[
        "contribute",
        "-",
        "30",
        "--source",
        "local",
        "--date",
        "2026-03-15",
    ]);
    node.cli(&["sync", "--once"]);
    wait_held(&province, group, head + 1);
    let broken = |hub: &Hub, scope: &str| -> Vec<(String, String)> {
        query_json(hub, &["query", "alerts", scope, "--json"])["alerts"]
            .as_array()
            .expect("alerts")
            .iter()
            .filter(|a| a["kind"] == "sign_off_broken")
            .map(|a| {
                (
                    a["subject"].as_str().unwrap_or("").to_string(),
                    a["signed_by"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    };
    assert_eq!(
        broken(&province, "23"),
        vec![
            ("230101".to_string(), "23".to_string()),
            (group.to_string(), "230101".to_string()),
        ]
    );
    assert_eq!(
        broken(&tambon, "230101"),
        vec![(group.to_string(), "230101".to_string())]
    );
    let out = refused(&tambon, &["signoff", group, "2026-03"]);
    assert!(out.contains("differ from its close"), "{out}");
    let table = province.admin(&["query", "signoffs", "23"]);
    assert!(table.contains("BROKEN"), "{table}");
}
