//! The demo's community exchange: tambon 230101's network office runs one
//! (`sajja-node exchange`, a real node process) with forty accounts and a
//! month of transfers, guaranteed by the reserve that tambon's groups pledge
//! to its pool. Its log is pushed to the tambon hub and relayed to the
//! province like every group's.

use std::path::Path;
use std::process::Command;

use anyhow::Context;
use sajja_common::exchange::ExchangeTerms;
use sajja_common::{Date, GroupId, Money, PoolId};
use sajja_edge::clock::today;

use super::steps::run_checked;

/// The programs the demo runs and the directory it runs them in.
pub(super) struct Programs<'a> {
    pub node: &'a Path,
    pub hub: &'a Path,
    pub root: &'a Path,
}

/// The tambon hub the exchange pushes to.
pub(super) struct Site<'a> {
    pub config: &'a Path,
    pub addr: &'a str,
    pub id: &'a str,
}

pub(super) const EXCHANGE: &str = "230101-X01";
/// The pool the tambon's groups pledge the exchange's reserve to.
pub(super) const RESERVE_POOL: &str = "230101-XCH";
/// What each of the tambon's groups pledges, in baht.
pub(super) const PLEDGE_BAHT: &str = "2000";

/// The exchange opened on the first of last month: a month of trade lies
/// before today whatever day the demo runs.
pub(super) fn opened_on() -> Date {
    today().month().minus(1).first_day()
}

fn terms() -> anyhow::Result<ExchangeTerms> {
    Ok(ExchangeTerms {
        name: "ตลาดบุญตำบลในเมือง".into(),
        unit_name: "บุญ".into(),
        rate_per_credit: Money::from_baht(1),
        reserve_pool: PoolId::parse(RESERVE_POOL)?,
        policy_min_coverage_basis_points: 5_000,
        concentration_limit_basis_points: 2_500,
    })
}

impl Programs<'_> {
    fn exchange_node(&self, args: &[&str]) -> Command {
        let mut command = Command::new(self.node);
        command
            .arg("--data-dir")
            .arg(self.root.join("exchange-230101-X01"))
            .arg("exchange")
            .args(args);
        command
    }

    fn hub(&self, args: &[&str]) -> Command {
        let mut command = Command::new(self.hub);
        command.args(args);
        command
    }
}

/// Opens the exchange, enrols it at `hub`, imports a generated month
/// (`sajja_activity::exchange`) and pushes it once. Returns its log id and
/// head.
pub(super) fn start(
    run: &Programs<'_>,
    hub: &Site<'_>,
    groups: &[GroupId],
) -> anyhow::Result<(GroupId, u64)> {
    let log = GroupId::parse(EXCHANGE)?;
    let terms = terms()?;
    let opened = opened_on();
    let opened_text = opened.to_string();
    let rate = terms.rate_per_credit.to_plain();
    run_checked(
        &mut run.exchange_node(&[
            "init",
            "--log",
            EXCHANGE,
            "--name",
            &terms.name,
            "--unit",
            &terms.unit_name,
            "--rate",
            &rate,
            "--reserve-pool",
            RESERVE_POOL,
            "--opened-on",
            &opened_text,
        ]),
        "sajja-node exchange init",
    )?;
    let status = run_checked(
        &mut run.exchange_node(&["status"]),
        "sajja-node exchange status",
    )?;
    let key = status
        .lines()
        .find_map(|l| l.strip_prefix("public key"))
        .map(str::trim)
        .context("`exchange status` prints the public key")?
        .to_string();
    let data = run.root.join("exchange-230101-X01");
    let bundle = data.join("enrolment.bundle").display().to_string();
    run_checked(
        &mut run.hub(&[
            "enrol",
            "group",
            EXCHANGE,
            "--key",
            &key,
            "--config",
            &hub.config.display().to_string(),
            "--url",
            &format!("https://{}", hub.addr),
            "--out",
            &bundle,
        ]),
        "sajja-hub enrol group (the exchange)",
    )?;
    run_checked(
        &mut run.exchange_node(&["init", "--bundle", &bundle]),
        "sajja-node exchange init --bundle",
    )?;
    let spec = sajja_activity::exchange::ExchangeSpec {
        log: log.clone(),
        terms,
        opened_on: opened,
        groups: groups.to_vec(),
        transfers: 120,
        limit: 300,
        seed: 2000,
    };
    let csv = data.join("month.csv");
    std::fs::write(&csv, sajja_activity::exchange::month_csv(&spec))?;
    run_checked(
        &mut run.exchange_node(&["import", &csv.display().to_string()]),
        "sajja-node exchange import",
    )?;
    run_checked(
        &mut run.exchange_node(&["sync"]),
        "sajja-node exchange sync",
    )?;
    let status = run_checked(
        &mut run.exchange_node(&["status"]),
        "sajja-node exchange status",
    )?;
    let head = status
        .lines()
        .find_map(|l| l.strip_prefix("head        seq "))
        .and_then(|s| s.trim().parse().ok())
        .context("`exchange status` prints the head")?;
    println!(
        "  community exchange {EXCHANGE} ({} accounts, {head} events from {opened}) pushed to tambon hub {}; credits are not money",
        groups.len() * 10 + 10,
        hub.id
    );
    Ok((log, head))
}
