//! Benchmark 5, Bulk import: a 100,000-row CSV (the demo's simulator, `sajja-node
//! import`'s format) into a new node ledger through `import_csv` — parse,
//! validate every row against the books, encode, chain, one transaction —
//! against the raw ceiling of inserting the same event bytes into a bare
//! SQLite table with synchronous=FULL in one transaction.

use std::time::Instant;

use anyhow::ensure;
use sajja_common::event::Rules;
use sajja_common::{Date, GroupId};
use sajja_node::Store;
use sajja_node::store::GroupInit;

use crate::rig::{self, median};
use crate::{Options, Scale};

#[derive(Clone, Debug)]
pub struct ImportReport {
    pub rows: usize,
    pub csv_bytes: usize,
    pub seconds: Vec<f64>,
    pub raw_seconds: Vec<f64>,
}

impl ImportReport {
    pub fn print(&self) {
        let rate = self.rows as f64 / median(&self.seconds);
        let raw = self.rows as f64 / median(&self.raw_seconds);
        println!("== 5. bulk import (CSV into a node ledger) ==");
        println!(
            "  {} rows ({} CSV bytes): {:.0} events/s (median of {}: {:?} s)",
            self.rows,
            self.csv_bytes,
            rate,
            self.seconds.len(),
            self.seconds
                .iter()
                .map(|s| (s * 100.0).round() / 100.0)
                .collect::<Vec<_>>()
        );
        println!(
            "  raw ceiling (same event bytes, bare SQLite, synchronous=FULL, one tx): {:.0} events/s; ratio {:.3}",
            raw,
            rate / raw
        );
    }
}

/// The simulator's CSV for a group large enough to give `rows` rows, cut to exactly `rows`.
pub fn csv(group: &GroupId, rows: usize) -> String {
    let members = (rows / 18).max(20) as u32;
    let spec = sajja_activity::GroupSpec {
        group: group.clone(),
        members,
        seed: 42,
    };
    let year = sajja_activity::csv::year(&spec).expect("the generator's rows are all importable");
    let mut out = String::new();
    for (i, line) in year.lines().enumerate() {
        if i > rows {
            break;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

pub fn run(options: &Options) -> anyhow::Result<ImportReport> {
    let rows = match options.scale {
        Scale::Full => 100_000,
        Scale::Smoke => 2_000,
    };
    let group = GroupId::parse("230101-001")?;
    let text = csv(&group, rows);
    ensure!(
        text.lines().count() == rows + 1,
        "the simulator gave fewer than {rows} rows"
    );
    let opened: Date = sajja_activity::day_of(sajja_activity::OPENED_ON);
    let dir = options.workdir("import")?;
    let reps = match options.scale {
        Scale::Full => 5,
        Scale::Smoke => 1,
    };
    let mut seconds = Vec::new();
    let mut raw_seconds = Vec::new();
    for rep in 0..reps {
        let path = dir.path().join(format!("ledger-{rep}.sqlite"));
        let init = GroupInit {
            group: group.clone(),
            name: "กลุ่มสัจจะบ้านหนองบัว".into(),
            tambon: group.tambon().to_string(),
            province: group.province().to_string(),
            opened_on: opened,
            rules: Rules::default(),
        };
        let mut store = Store::create(&path, init, sajja_common::SigningKey::generate()?)?;
        let started = Instant::now();
        let summary =
            sajja_node::import::import_csv(&mut store, text.as_bytes(), "bench.csv", false)?;
        seconds.push(started.elapsed().as_secs_f64());
        ensure!(
            summary.rows == rows && store.head().0 == rows as u64 + 2,
            "imported {} rows, head {}",
            summary.rows,
            store.head().0
        );
        // The ceiling: the exact bytes the import stored.
        let mut events = Vec::with_capacity(rows);
        let mut next = summary.first_seq;
        while next <= summary.last_seq {
            let chunk = store.events_from(next, usize::MAX)?;
            let Some(&(last, _)) = chunk.last() else {
                break;
            };
            events.extend(chunk);
            next = last + 1;
        }
        let hashes: Vec<_> = events
            .iter()
            .map(|(seq, _)| {
                store
                    .hash_at(*seq)
                    .map(|h| h.unwrap_or_else(|| sajja_common::chain::genesis(&group)))
            })
            .collect::<Result<_, _>>()?;
        drop(store);
        let mut conn = rig::raw_sqlite(&dir.path().join(format!("raw-{rep}.sqlite")))?;
        let started = Instant::now();
        rig::raw_insert(
            &mut conn,
            events
                .iter()
                .zip(&hashes)
                .map(|((seq, bytes), hash)| (0i64, *seq, bytes, hash.as_bytes())),
        )?;
        raw_seconds.push(started.elapsed().as_secs_f64());
    }
    Ok(ImportReport {
        rows,
        csv_bytes: text.len(),
        seconds,
        raw_seconds,
    })
}
