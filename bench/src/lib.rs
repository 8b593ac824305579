//! Sajja's benchmark harness (issue 7): an event-level simulator of a
//! province's groups and one function per benchmark. The `sajja-bench`
//! binary prints the figures; `tests/smoke.rs` runs every benchmark at smoke
//! scale and asserts only that the work was done correctly.
//!
//! Every benchmark checks its own result (the hub stored every event, the
//! node's log reached the hub, the import holds every row, the query saw
//! every group) and returns the figures with the ceiling measured in the
//! same run, so a slow machine shows as a slow ceiling, not a false alarm.

pub mod catchup;
pub mod footprint;
pub mod generate;
pub mod hub_rss;
pub mod import;
pub mod ingest;
pub mod queries;
pub mod relay;
pub mod rig;
pub mod scrub;
pub mod small_batches;
pub mod web_node;
pub mod wire;

use std::path::PathBuf;

/// How big a run is: `Full` is what BENCHMARKS.md records; `Smoke` runs in
/// seconds and is what the test suite runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    Full,
    Smoke,
}

/// Everything a benchmark may be told from the command line.
#[derive(Clone, Debug)]
pub struct Options {
    pub scale: Scale,
    /// Where the benchmark's files go (a fresh temporary directory under it).
    pub dir: PathBuf,
    /// Hub ingest: groups and events per group (default 2,000 × 5,000).
    pub groups: Option<usize>,
    pub events: Option<usize>,
    /// Hub ingest: how many nodes push at once.
    pub clients: usize,
    /// Queries: the province sizes to measure.
    pub query_groups: Vec<usize>,
    /// Footprint: seconds of idle over which wake-ups are counted.
    pub idle_seconds: u64,
    /// Hub RSS: groups in the province (default 2,000 at full scale).
    pub rss_groups: Option<usize>,
}

impl Options {
    pub fn new(scale: Scale) -> Options {
        Options {
            scale,
            dir: std::env::temp_dir(),
            groups: None,
            events: None,
            clients: 64,
            query_groups: match scale {
                Scale::Full => vec![200, 2_000],
                Scale::Smoke => vec![3],
            },
            idle_seconds: match scale {
                Scale::Full => 10,
                Scale::Smoke => 1,
            },
            rss_groups: None,
        }
    }

    /// A fresh directory for one benchmark's files, removed when dropped.
    pub fn workdir(&self, name: &str) -> anyhow::Result<tempfile::TempDir> {
        std::fs::create_dir_all(&self.dir)?;
        Ok(tempfile::Builder::new()
            .prefix(&format!("sajja-bench-{name}-"))
            .tempdir_in(&self.dir)?)
    }
}

/// How many repetitions a measurement gets: several when one run is short.
pub fn repetitions(scale: Scale, one_run_seconds: f64) -> usize {
    match scale {
        Scale::Smoke => 1,
        Scale::Full if one_run_seconds < 20.0 => 5,
        Scale::Full if one_run_seconds < 120.0 => 3,
        Scale::Full => 1,
    }
}

/// The benchmarks, in the order `all` runs them.
pub const NAMES: &[&str] = &[
    "ingest",
    "wire",
    "catchup",
    "footprint",
    "import",
    "queries",
    "relay",
    "hub-rss",
    "small-batches",
    "scrub",
    "web-node",
];

/// Runs one benchmark by name and prints its figures.
pub fn run(name: &str, options: &Options) -> anyhow::Result<()> {
    match name {
        "ingest" => ingest::run(options)?.print(),
        "wire" => wire::run(options)?.print(),
        "catchup" => catchup::run(options)?.print(),
        "footprint" => footprint::run(options)?.print(),
        "import" => import::run(options)?.print(),
        "queries" => queries::run(options)?.print(),
        "relay" => relay::run(options)?.print(),
        "hub-rss" => hub_rss::run(options)?.print(),
        "small-batches" => small_batches::run(options)?.print(),
        "scrub" => scrub::run(options)?.print(),
        "web-node" => web_node::run(options)?.print(),
        other => anyhow::bail!("no benchmark named {other}; expected all or one of {NAMES:?}"),
    }
    Ok(())
}
