//! Benchmark 6, Queries: the `sajja-hub query groups` path
//! (`sajja_hub::read::positions::group_lines`: the position inputs maintained at
//! commit, a month-end cut, or a fold of the log) on a province store of
//! simulated groups with a year of history each: the whole province's current
//! positions, one tambon's group list, and the province as of a past date
//! (targets: current < 5 ms, as-of-date < 200 ms).
//!
//! Current positions are timed twice: through a connection that has answered
//! before (the `Query` service keeps one for its life, with its
//! `PositionCache` of decoded bases), and through a new connection each time
//! (`sajja-hub query --config`, one process per query: nothing cached).

use crate::generate::Batches;
use std::time::Instant;

use anyhow::ensure;
use sajja_common::Date;
use sajja_common::position::GroupPosition;
use sajja_hub::ingest::accept::{BatchOutcome, Ingest};
use sajja_hub::read::cache::Reader;
use sajja_hub::read::positions::group_lines;
use sajja_proto::convert;

use crate::generate::{self, Stop};
use crate::rig::{self, median};
use crate::{Options, Scale};

pub const CURRENT_TARGET_MS: f64 = 5.0;
pub const AS_OF_TARGET_MS: f64 = 200.0;
/// Stop repeating a query once this much time was spent on it.
const QUERY_BUDGET_SECONDS: f64 = 30.0;

#[derive(Clone, Debug)]
pub struct QueryCase {
    pub name: String,
    pub lines: usize,
    pub milliseconds: Vec<f64>,
    pub target_ms: f64,
}

#[derive(Clone, Debug)]
pub struct ProvinceQueries {
    pub groups: usize,
    pub events: u64,
    pub build_seconds: f64,
    pub cases: Vec<QueryCase>,
}

#[derive(Clone, Debug)]
pub struct QueriesReport {
    pub provinces: Vec<ProvinceQueries>,
}

impl QueriesReport {
    pub fn print(&self) {
        println!("== 6. queries (positions::group_lines) ==");
        for p in &self.provinces {
            println!(
                "  province of {} groups, {} events (a year each; store built by direct ingest in {:.1} s)",
                p.groups, p.events, p.build_seconds
            );
            for c in &p.cases {
                let ms = median(&c.milliseconds);
                let raw: Vec<String> = c.milliseconds.iter().map(|m| format!("{m:.1}")).collect();
                println!(
                    "    {}: {} lines in {:.1} ms (median of {}: {}); target < {} ms: {} (ratio {:.2})",
                    c.name,
                    c.lines,
                    ms,
                    c.milliseconds.len(),
                    raw.join(", "),
                    c.target_ms,
                    if ms < c.target_ms { "met" } else { "MISSED" },
                    ms / c.target_ms
                );
            }
        }
    }
}

fn timed(
    name: &str,
    target_ms: f64,
    mut query: impl FnMut() -> anyhow::Result<usize>,
) -> anyhow::Result<QueryCase> {
    let mut milliseconds = Vec::new();
    let mut lines = 0;
    let started = Instant::now();
    while milliseconds.len() < 5
        && (milliseconds.is_empty() || started.elapsed().as_secs_f64() < QUERY_BUDGET_SECONDS)
    {
        let t = Instant::now();
        lines = query()?;
        milliseconds.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(QueryCase {
        name: name.to_string(),
        lines,
        milliseconds,
        target_ms,
    })
}

pub fn province(options: &Options, groups: usize) -> anyhow::Result<ProvinceQueries> {
    let months = match options.scale {
        Scale::Full => 12,
        Scale::Smoke => 3,
    };
    let specs = generate::province(groups, 23);
    let logs = generate::province_logs(&specs, Stop::Months(months));
    ensure!(
        logs.iter().all(|l| l.refused == 0),
        "generator refused events"
    );
    let events: u64 = logs.iter().map(|l| l.events.len() as u64).sum();
    let dir = options.workdir("queries")?;
    let config = rig::hub_config(dir.path())?;
    let enrol: Vec<_> = specs
        .iter()
        .map(|s| (s.group.clone(), s.key().public()))
        .collect();
    let mut ingest = Ingest::new(rig::hub_store(&config, &enrol)?);
    let started = Instant::now();
    for log in &logs {
        for batch in log.batches(1, log.events.len() as u64) {
            let checkpoint = convert::checkpoint(batch.checkpoint.as_ref(), "checkpoint")?;
            match ingest.batch(batch.from_seq, &batch.events, &checkpoint)? {
                BatchOutcome::Acked { .. } => {}
                other => anyhow::bail!("ingest answered {other:?}"),
            }
        }
    }
    let build_seconds = started.elapsed().as_secs_f64();
    // The Query service's way: a connection of its own that keeps its cache.
    let reader = Reader::open(&config.database_path())?;
    let store = &reader;
    // "Now" is after the last event; the past date is the end of the fourth month.
    let now = Date::from_ymd(2030, 12, 31)?;
    let past = Date::from_ymd(2026, 1, 31)?;
    // The check: the hub's position equals the generator's own books for a group.
    let lines = group_lines(store, "23", now)?;
    ensure!(
        lines.len() == groups,
        "{} lines for {groups} groups",
        lines.len()
    );
    let first = lines
        .iter()
        .find(|l| l.group == logs[0].spec.group)
        .ok_or_else(|| anyhow::anyhow!("first group missing"))?;
    ensure!(
        *first.position == GroupPosition::of(&logs[0].books, now)
            && first.seq == logs[0].events.len() as u64,
        "the hub's position differs from the generator's books"
    );
    // And as of the past date (a month-end cut), the fold of the events up to it.
    let decoded = logs[0]
        .events
        .iter()
        .map(|b| sajja_common::Event::decode(b))
        .collect::<Result<Vec<_>, _>>()?;
    let past_books = sajja_common::Books::fold_as_of(logs[0].spec.group.clone(), &decoded, past);
    let past_lines = group_lines(store, logs[0].spec.group.tambon(), past)?;
    ensure!(
        past_lines
            .iter()
            .find(|l| l.group == logs[0].spec.group)
            .is_some_and(|l| *l.position == GroupPosition::of(&past_books, past)),
        "the hub's past position differs from the fold of the generator's events"
    );
    // A new connection (nothing cached) answers exactly the same.
    let fresh = group_lines(&Reader::open(&config.database_path())?, "23", now)?;
    ensure!(
        fresh.len() == lines.len()
            && fresh
                .iter()
                .zip(&lines)
                .all(|(a, b)| a.group == b.group && a.position == b.position),
        "a new connection's positions differ from the cached ones"
    );
    let tambon = logs[0].spec.group.tambon().to_string();
    let cases = vec![
        timed(
            "province, current positions (the Query service's connection)",
            CURRENT_TARGET_MS,
            || Ok(group_lines(store, "23", now)?.len()),
        )?,
        timed(
            "province, current positions, new connection (open + query, as the CLI)",
            CURRENT_TARGET_MS,
            || Ok(group_lines(&Reader::open(&config.database_path())?, "23", now)?.len()),
        )?,
        timed(
            &format!("tambon {tambon} group list, current"),
            CURRENT_TARGET_MS,
            || Ok(group_lines(store, &tambon, now)?.len()),
        )?,
        timed("province as of 2026-01-31", AS_OF_TARGET_MS, || {
            Ok(group_lines(store, "23", past)?.len())
        })?,
    ];
    Ok(ProvinceQueries {
        groups,
        events,
        build_seconds,
        cases,
    })
}

pub fn run(options: &Options) -> anyhow::Result<QueriesReport> {
    let mut provinces = Vec::new();
    for &groups in &options.query_groups {
        provinces.push(province(options, groups)?);
    }
    Ok(QueriesReport { provinces })
}
