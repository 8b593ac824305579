//! `sajja-bench <name|all> [--scale full|smoke]`: runs Sajja's benchmarks and
//! prints each figure with its ratio to the ceiling measured in the same run.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use sajja_bench::{NAMES, Options, Scale};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ScaleArg {
    Full,
    Smoke,
}

#[derive(Parser, Debug)]
#[command(about = "Sajja's benchmarks (issue 7); see BENCHMARKS.md")]
struct Cli {
    /// A benchmark (ingest, wire, catchup, footprint, import, queries, relay,
    /// hub-rss, small-batches, scrub, web-node) or `all`.
    name: String,
    #[arg(long, value_enum, default_value = "full")]
    scale: ScaleArg,
    /// Hub ingest: number of groups (full scale: 2000; scrub: 200).
    #[arg(long)]
    groups: Option<usize>,
    /// Hub ingest and scrub: events per group (full scale: 5000).
    #[arg(long)]
    events: Option<usize>,
    /// Hub ingest: nodes pushing at once.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Queries: province sizes in groups, comma-separated (full scale: 200,2000).
    #[arg(long, value_delimiter = ',')]
    query_groups: Option<Vec<usize>>,
    /// Hub RSS: groups in the province (full scale: 2000).
    #[arg(long)]
    rss_groups: Option<usize>,
    /// Where the benchmarks' temporary files go (default: the system temp dir).
    #[arg(long)]
    dir: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let scale = match cli.scale {
        ScaleArg::Full => Scale::Full,
        ScaleArg::Smoke => Scale::Smoke,
    };
    let mut options = Options::new(scale);
    options.groups = cli.groups;
    options.events = cli.events;
    options.clients = cli.clients;
    options.rss_groups = cli.rss_groups;
    if let Some(sizes) = cli.query_groups {
        options.query_groups = sizes;
    }
    if let Some(dir) = cli.dir {
        options.dir = dir;
    }
    println!("sajja-bench: {} at {:?} scale", cli.name, scale);
    let names: Vec<&str> = if cli.name == "all" {
        NAMES.to_vec()
    } else {
        vec![cli.name.as_str()]
    };
    for name in names {
        let started = std::time::Instant::now();
        sajja_bench::run(name, &options)?;
        println!("  ({name} took {:.1} s)\n", started.elapsed().as_secs_f64());
    }
    Ok(())
}
