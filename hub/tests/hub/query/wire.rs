//! Proto ↔ domain: every figure a report shows survives the trip through the
//! `Query` messages, so a remote answer renders exactly as the local one; and
//! a malformed reply is refused by name, never rendered.

use sajja_common::event::{BenefitKind, Source};
use sajja_common::ledger::PoolBalances;
use sajja_common::position::{Arrears, GroupPosition, PoolPosition};
use sajja_common::{Date, GroupId, Hash, Money, Month, PoolId};
use sajja_hub::read::query::{
    AlertsAnswer, Answer, Audience, GroupsAnswer, PositionAnswer, ReservesAnswer, Scope,
    SignOffsAnswer,
};
use sajja_hub::render::Output;
use sajja_hub::rpc::query_wire as wire;
use sajja_hub::values::alert::Alert;
use sajja_hub::values::lines::{Attention, Freshness, GroupLine, Risk};
use sajja_hub::values::scope_position::ScopePosition;
use sajja_hub::values::signoff::SignOff;
use sajja_proto::convert::WireError;
use sajja_proto::v1;

const OUTPUTS: [Output; 3] = [Output::Table, Output::Json, Output::Csv];

fn group(id: &str) -> GroupId {
    GroupId::parse(id).unwrap()
}

fn pool(id: &str) -> PoolId {
    PoolId::parse(id).unwrap()
}

fn baht(b: i64) -> Money {
    Money::from_satang(b * 100 + 37)
}

fn day(y: i64, m: u32, d: u32) -> Date {
    Date::from_ymd(y, m, d).unwrap()
}

fn freshness() -> Freshness {
    Freshness {
        now: 1_790_000_000,
        stale_after_days: 7,
        attention: Attention {
            par30_percent: 15,
            collection_percent: 70,
            falling_fund: false,
        },
    }
}

/// A position with every field set, and set differently.
fn position(seed: i64) -> GroupPosition {
    GroupPosition {
        as_of: day(2026, 11, 27),
        cash: baht(1_000 + seed),
        bank: baht(2_000 + seed),
        welfare_fund: baht(3_000 + seed),
        member_savings: baht(4_000 + seed),
        loans_outstanding: baht(5_000 + seed),
        pool_deposits: baht(600 + seed),
        pool_loans: baht(700 + seed),
        reserve_pledged: baht(800 + seed),
        active_members: 59 + seed as u32,
        contributions_month: vec![
            (Source::Member, baht(30)),
            (Source::LocalGovernment, baht(31)),
        ],
        contributions_ytd: vec![
            (Source::Member, baht(330)),
            (Source::NationalGovernment, baht(332)),
            (Source::Donation, baht(5)),
        ],
        benefits_ytd: vec![
            (BenefitKind::Childbirth, baht(500)),
            (BenefitKind::Sickness, baht(200)),
            (BenefitKind::OldAge, baht(300)),
            (BenefitKind::Death, baht(2_000)),
            (BenefitKind::Education, baht(1)),
            (BenefitKind::Disaster, baht(2)),
            (BenefitKind::Other, baht(3)),
        ],
        arrears: Arrears {
            loans: 2,
            overdue: baht(900),
            at_risk_outstanding: baht(1_200),
        },
        fund_cover_months_x100: Some(1_250 + seed),
        last_event_date: Some(day(2026, 11, 20)),
        pools: vec![
            (
                pool("230101"),
                PoolBalances {
                    deposits: baht(600),
                    reserve_pledged: baht(800),
                    loans_payable: baht(700),
                    reserve_drawn: baht(50),
                },
            ),
            (
                pool("23-CUR1"),
                PoolBalances {
                    deposits: Money::ZERO,
                    reserve_pledged: baht(1),
                    loans_payable: Money::from_satang(-3),
                    reserve_drawn: Money::ZERO,
                },
            ),
        ],
        fund_a_year_ago: baht(2_500 + seed),
        members_a_year_ago: 50 + seed as u32,
        contributions_due_month: baht(1_770 + seed),
        contributions_due_ytd: baht(19_470 + seed),
    }
}

fn lines() -> Vec<GroupLine> {
    vec![
        GroupLine {
            group: group("230101-001"),
            name: "กลุ่มสัจจะบ้านหนองบัว, \"หมู่ 3\"".into(),
            seq: 1_237,
            forked: false,
            damaged: false,
            last_contact_at: Some(freshness().now - 60),
            position: position(1).into(),
            signed_off: vec![Month::new(2026, 9).unwrap(), Month::new(2026, 10).unwrap()],
        },
        GroupLine {
            group: group("230101-002"),
            name: String::new(),
            seq: 0,
            forked: false,
            damaged: false,
            // Stale: never synced.
            last_contact_at: None,
            position: GroupPosition {
                fund_cover_months_x100: None,
                last_event_date: None,
                contributions_month: Vec::new(),
                pools: Vec::new(),
                ..position(2)
            }
            .into(),
            signed_off: Vec::new(),
        },
        GroupLine {
            group: group("230102-003"),
            name: "กองทุนหมู่บ้านโคกกลาง".into(),
            seq: 42,
            forked: true,
            damaged: false,
            last_contact_at: Some(freshness().now - 30 * 86_400),
            position: position(3).into(),
            signed_off: vec![Month::new(2025, 12).unwrap()],
        },
    ]
}

fn pools() -> Vec<PoolPosition> {
    vec![
        PoolPosition {
            pool: pool("230101"),
            deposits: baht(15_000),
            loans_to_groups: baht(5_000),
            reserve: baht(35_640),
            currency_outstanding: baht(30_000),
            guarantees_outstanding: baht(20_000),
            min_reserve_ratio_basis_points: Some(5_000),
            pledges: vec![
                (group("230101-003"), baht(22_680)),
                (group("230101-002"), baht(9_720)),
            ],
            reserve_drawn: baht(120),
        },
        PoolPosition {
            pool: pool("23"),
            deposits: Money::ZERO,
            loans_to_groups: Money::ZERO,
            reserve: Money::ZERO,
            currency_outstanding: Money::ZERO,
            guarantees_outstanding: Money::ZERO,
            min_reserve_ratio_basis_points: None,
            pledges: Vec::new(),
            reserve_drawn: Money::ZERO,
        },
    ]
}

fn alerts() -> Vec<Alert> {
    vec![
        Alert::ReserveBelowPolicy {
            pool: pool("230102"),
            headroom: Money::from_satang(-394_000),
        },
        Alert::Forked(group("230102-003")),
        Alert::Stale {
            group: group("230101-002"),
            last_sync_at: None,
        },
        Alert::Stale {
            group: group("230101-004"),
            last_sync_at: Some(1_780_000_000),
        },
        Alert::AtRisk {
            group: group("230101-004"),
            risks: vec![
                Risk::Par30 {
                    basis_points: 2_065,
                },
                Risk::Collection {
                    basis_points: 7_000,
                },
                Risk::FallingFund {
                    growth_basis_points: -120,
                },
            ],
        },
        Alert::DigestMismatch {
            group: group("230101-001"),
            seq: 812,
            month: Month::new(2026, 6).unwrap(),
        },
        Alert::SignOffBroken {
            subject: "230101".into(),
            month: Month::new(2026, 10).unwrap(),
            signed_by: "23".into(),
            signed: Hash::of(b"signed", &[]),
            current: Hash::of(b"current", &[]),
        },
    ]
}

fn sign_offs() -> Vec<SignOff> {
    vec![
        SignOff {
            signed_by: "230101".into(),
            subject: "230101-001".into(),
            month: Month::new(2026, 10).unwrap(),
            seq: 17,
            signed: Hash::of(b"a", &[]),
            current: Hash::of(b"a", &[]),
        },
        SignOff {
            signed_by: "23".into(),
            subject: "230101".into(),
            month: Month::new(2026, 10).unwrap(),
            seq: 9,
            signed: Hash::of(b"a", &[]),
            current: Hash::of(b"b", &[]),
        },
    ]
}

fn scope_position() -> ScopePosition {
    ScopePosition {
        scope: "230101".into(),
        groups: 3,
        ok: 1,
        at_risk: 2,
        damaged: 1,
        stale: 1,
        forked: 1,
        members: 657,
        cash_and_bank: baht(9_000),
        welfare_fund: baht(646_420),
        member_savings: baht(392_400),
        loans_outstanding: baht(346_600),
        loans_at_risk: baht(28_990),
        pool_deposits: baht(15_000),
        pool_loans: baht(5_000),
        reserve_pledged: baht(35_640),
        loans_in_arrears: 4,
        contributions_ytd: baht(500_000),
        benefits_ytd: baht(80_000),
        oldest_contact: Some(1_789_990_000),
        fund_a_year_ago: baht(560_000),
        members_a_year_ago: 600,
        member_contributions_month: baht(19_000),
        contributions_due_month: baht(19_710),
        member_contributions_ytd: baht(210_000),
        contributions_due_ytd: baht(216_810),
    }
}

/// Both answers print the same in every format, and hold the same values.
fn same(local: &Answer, remote: &Answer) {
    assert_eq!(format!("{local:?}"), format!("{remote:?}"));
    for output in OUTPUTS {
        assert_eq!(local.render(output), remote.render(output), "{output:?}");
    }
}

#[test]
fn a_groups_answer_in_many_chunks_renders_as_the_local_one() {
    let answer = GroupsAnswer {
        scope: "230101".into(),
        as_of: day(2026, 11, 27),
        freshness: freshness(),
        lines: lines(),
    };
    for per in [1, 2, 256] {
        let chunks = wire::groups_responses(&answer, per);
        assert_eq!(chunks.len(), 3usize.div_ceil(per));
        let back = wire::groups_answer(chunks).unwrap();
        same(&Answer::Groups(answer.clone()), &Answer::Groups(back));
    }
    let table = Answer::Groups(answer).render(Output::Table);
    assert!(
        table.contains("FORKED") && table.contains("STALE"),
        "{table}"
    );
}

#[test]
fn the_health_sent_is_the_one_the_renderer_derives() {
    let chunks = wire::groups_responses(
        &GroupsAnswer {
            scope: "23".into(),
            as_of: day(2026, 11, 27),
            freshness: freshness(),
            lines: lines(),
        },
        10,
    );
    let health: Vec<i32> = chunks[0].groups.iter().map(|g| g.health).collect();
    assert_eq!(
        health,
        [
            // The first line's figures cross the [attention] lines.
            v1::GroupHealth::AtRisk as i32,
            v1::GroupHealth::Stale as i32,
            v1::GroupHealth::Forked as i32
        ]
    );
}

#[test]
fn an_empty_list_is_still_one_message_that_names_its_scope() {
    let answer = AlertsAnswer {
        scope: "230102".into(),
        as_of: day(2026, 1, 1),
        alerts: Vec::new(),
    };
    let chunks = wire::alerts_responses(&answer, 100);
    assert_eq!(chunks.len(), 1);
    let back = wire::alerts_answer(chunks).unwrap();
    same(&Answer::Alerts(answer), &Answer::Alerts(back));
}

#[test]
fn position_reserves_alerts_and_sign_offs_survive_the_trip() {
    let position = PositionAnswer {
        as_of: day(2026, 11, 27),
        freshness: freshness(),
        position: scope_position(),
        pools: pools(),
    };
    let back = wire::position_answer(wire::position_response(&position)).unwrap();
    same(&Answer::Position(position), &Answer::Position(back));

    let reserves = ReservesAnswer {
        scope: "23".into(),
        as_of: day(2026, 11, 27),
        pools: pools(),
    };
    let back = wire::reserves_answer(wire::reserves_response(&reserves)).unwrap();
    same(&Answer::Reserves(reserves), &Answer::Reserves(back));

    let alerts = AlertsAnswer {
        scope: "23".into(),
        as_of: day(2026, 11, 27),
        alerts: alerts(),
    };
    let back = wire::alerts_answer(wire::alerts_responses(&alerts, 4)).unwrap();
    same(&Answer::Alerts(alerts), &Answer::Alerts(back));

    let signed = SignOffsAnswer {
        scope: "23".into(),
        sign_offs: sign_offs(),
    };
    let back = wire::sign_offs_answer(wire::sign_offs_responses(&signed, 1)).unwrap();
    same(&Answer::SignOffs(signed), &Answer::SignOffs(back));
}

#[test]
fn derived_figures_are_sent_for_other_clients() {
    let wire = wire::pool_position(&pools()[0]);
    assert_eq!(wire.obligations, pools()[0].obligations().satang());
    assert!(wire.obligations > 0);
    assert_eq!(
        wire.reserve_ratio_basis_points,
        pools()[0].reserve_ratio_basis_points()
    );
    assert_eq!(wire.headroom, pools()[0].headroom().map(Money::satang));
    assert_eq!(wire.below_policy, pools()[0].below_policy());
    let alert = wire::alert(&alerts()[0]);
    assert!(alert.message.contains("below policy"), "{}", alert.message);
    let signed = wire::sign_off(&sign_offs()[1]);
    assert!(signed.broken);
}

fn one_group_chunk() -> v1::GroupsResponse {
    wire::groups_responses(
        &GroupsAnswer {
            scope: "230101".into(),
            as_of: day(2026, 11, 27),
            freshness: freshness(),
            lines: lines()[..1].to_vec(),
        },
        10,
    )
    .remove(0)
}

fn refused(chunk: v1::GroupsResponse) -> WireError {
    wire::groups_answer([chunk]).unwrap_err()
}

#[test]
fn a_malformed_answer_is_refused_by_name() {
    let mut bad = one_group_chunk();
    bad.groups[0].group_id = "230101-07".into();
    assert!(matches!(
        refused(bad),
        WireError::Invalid {
            field: "group.group_id",
            ..
        }
    ));

    let mut bad = one_group_chunk();
    bad.groups[0].position = None;
    assert_eq!(refused(bad), WireError::Missing("group.position"));

    for value in [0, 99] {
        let mut bad = one_group_chunk();
        if let Some(p) = bad.groups[0].position.as_mut() {
            p.contributions_ytd[0].source = value;
        }
        assert!(matches!(
            refused(bad),
            WireError::Invalid {
                field: "source",
                ..
            }
        ));
        let mut bad = one_group_chunk();
        if let Some(p) = bad.groups[0].position.as_mut() {
            p.benefits_ytd[0].benefit = value;
        }
        assert!(matches!(
            refused(bad),
            WireError::Invalid {
                field: "benefit",
                ..
            }
        ));
    }

    let mut bad = one_group_chunk();
    bad.groups[0].signed_off = vec![202613];
    assert!(matches!(refused(bad), WireError::Invalid { .. }));

    let mut bad = one_group_chunk();
    bad.as_of = u32::MAX;
    assert!(matches!(
        refused(bad),
        WireError::Invalid { field: "as_of", .. }
    ));

    let mut bad = one_group_chunk();
    bad.scope = "2301".into();
    assert!(matches!(
        refused(bad),
        WireError::Invalid { field: "scope", .. }
    ));

    let mut bad = one_group_chunk();
    bad.freshness = None;
    assert_eq!(refused(bad), WireError::Missing("freshness"));

    let mut bad = one_group_chunk();
    if let Some(p) = bad.groups[0].position.as_mut() {
        p.pools[0].pool_id = "pool!".into();
    }
    assert!(matches!(refused(bad), WireError::Invalid { .. }));

    assert_eq!(
        wire::groups_answer(Vec::new()).unwrap_err(),
        WireError::Missing("groups answer")
    );
}

#[test]
fn a_later_chunk_must_repeat_the_first_chunks_header() {
    let first = one_group_chunk();
    let mut second = one_group_chunk();
    second.scope = "230102".into();
    assert!(matches!(
        wire::groups_answer([first.clone(), second]).unwrap_err(),
        WireError::Invalid {
            field: "groups chunk",
            ..
        }
    ));
    let mut later = one_group_chunk();
    if let Some(f) = later.freshness.as_mut() {
        f.now += 1;
    }
    assert!(wire::groups_answer([first, later]).is_err());
}

#[test]
fn a_broken_digest_or_alert_is_refused() {
    let mut signed = wire::sign_off(&sign_offs()[0]);
    signed.current_digest.pop();
    let chunk = v1::SignOffsResponse {
        scope: "23".into(),
        sign_offs: vec![signed],
    };
    assert!(matches!(
        wire::sign_offs_answer([chunk]).unwrap_err(),
        WireError::Invalid {
            field: "sign_off.current_digest",
            ..
        }
    ));
    let chunk = v1::AlertsResponse {
        scope: "23".into(),
        as_of: 20_000,
        alerts: vec![v1::Alert {
            kind: None,
            message: "trust me".into(),
        }],
    };
    assert_eq!(
        wire::alerts_answer([chunk]).unwrap_err(),
        WireError::Missing("alert.kind")
    );
}

#[test]
fn a_scope_is_a_geocode_or_a_group_and_nothing_else() {
    for good in ["23", "230101", "230101-007"] {
        assert_eq!(Scope::parse(good).unwrap().as_str(), good);
    }
    assert!(Scope::parse("230101-007").unwrap().is_group());
    assert!(!Scope::parse("230101").unwrap().is_group());
    for bad in [
        "",
        "2",
        "2301",
        "23010",
        "2301011",
        "23a101",
        "230101-000",
        "230101-7",
        "../../etc",
        &"9".repeat(10_000),
    ] {
        let refused = Scope::parse(bad).unwrap_err().to_string();
        assert!(refused.len() < 200, "the refusal echoes a bounded scope");
    }
}

#[test]
fn a_coordinator_sees_the_pools_of_networks_within_its_scope() {
    let tambon = Audience::Within("230101".into());
    assert!(tambon.sees_pool(&pool("230101")));
    assert!(tambon.sees_pool(&pool("230101-CUR")));
    assert!(!tambon.sees_pool(&pool("23")));
    assert!(!tambon.sees_pool(&pool("230102")));
    let province = Audience::Within("23".into());
    assert!(province.sees_pool(&pool("23")) && province.sees_pool(&pool("230102")));
    let group = Audience::Within("230101-007".into());
    assert!(!group.sees_pool(&pool("230101")));
    assert!(Audience::Everything.sees_pool(&pool("24")));
}
