//! Every benchmark at smoke scale (seconds): each asserts only that its work
//! was done correctly — the hub stored every event, the node's log reached
//! the hub, the import holds every row, the query saw every group — never how
//! long it took.

use sajja_bench::generate::{self, Stop};
use sajja_bench::{Options, Scale};

fn options() -> Options {
    Options::new(Scale::Smoke)
}

/// The generator's logs pass the ledger rules for every size and seed tried.
#[test]
fn generator_never_writes_a_refused_event() {
    let mut specs = generate::province(6, 99);
    specs[0].members = generate::MIN_MEMBERS;
    specs[1].members = generate::MAX_MEMBERS;
    for spec in &specs {
        let year = generate::group_log(spec, Stop::Months(14));
        assert_eq!(
            year.refused, 0,
            "group {} ({} members)",
            spec.group, spec.members
        );
        let prefix = generate::group_log(spec, Stop::Events(700));
        assert_eq!(prefix.events.len(), 700);
        assert_eq!(
            prefix.events[..],
            year.events[..700],
            "a prefix is the same history"
        );
    }
    // Long histories of small groups (multi-year) stay valid too.
    let long = generate::group_log(&specs[0], Stop::Events(5_000));
    assert_eq!((long.refused, long.events.len()), (0, 5_000));
}

/// Hub ingest pushes every event through gRPC + TLS and the hub holds them all.
#[test]
fn ingest_smoke() {
    let report = sajja_bench::ingest::run(&options()).expect("ingest benchmark");
    assert_eq!(report.events, 4 * 400);
    assert_eq!(report.refused_while_generating, 0);
    assert_eq!(report.direct_events, report.events);
}

/// The scrub reads every stored event, finds nothing wrong in a sound
/// store, and finds a zeroed event at its seq.
#[test]
fn scrub_smoke() {
    let report = sajja_bench::scrub::run(&options()).expect("scrub benchmark");
    assert_eq!((report.groups, report.events), (3, 3 * 300));
}

/// Wire cost measures a contribution batch and a year, through the proxy.
#[test]
fn wire_smoke() {
    let report = sajja_bench::wire::run(&options()).expect("wire benchmark");
    assert_eq!(report.cases.len(), 2);
    for case in &report.cases {
        assert!(case.batches_bytes.up > 0 && case.session_bytes.up > case.batches_bytes.up);
    }
}

/// Catch-up brings a hub level with a node that was offline.
#[test]
fn catchup_smoke() {
    let report = sajja_bench::catchup::run(&options()).expect("catch-up benchmark");
    assert_eq!(report.events, 500);
    assert!(report.bytes.up > 0);
}

/// The real `sajja-node run` daemon pushes its backlog and its /proc figures are read.
#[test]
fn footprint_smoke() {
    let report = sajja_bench::footprint::run(&options()).expect("footprint benchmark");
    assert!(report.binary_bytes > 0);
    assert!(report.backlog.peak_rss_kb > 0 && report.backlog.idle_rss_kb > 0);
}

/// Bulk import stores every CSV row as an event.
#[test]
fn import_smoke() {
    let report = sajja_bench::import::run(&options()).expect("import benchmark");
    assert_eq!(report.rows, 2_000);
}

/// The re-fold query lists every group and agrees with the generator's books.
#[test]
fn queries_smoke() {
    let report = sajja_bench::queries::run(&options()).expect("queries benchmark");
    assert_eq!(report.provinces[0].cases[0].lines, 3);
}

/// A node's appends reach the province through a real tambon hub's relay.
#[test]
fn relay_carries_appends_from_a_node_to_the_province() {
    let report = sajja_bench::relay::run(&options()).expect("relay benchmark");
    assert_eq!(report.seconds.len(), 3);
}

/// A real `sajja-hub run` process takes a province pushed over mutual TLS,
/// answers every query for every group, and its memory and tables are read.
#[test]
fn hub_rss_holds_the_province_and_reports_its_tables() {
    let report = sajja_bench::hub_rss::run(&options()).expect("hub RSS benchmark");
    assert_eq!(report.groups, 3);
    assert!(report.started.rss_kb > 0 && report.idle_after_ingest.rss_kb > 0);
    assert!(report.ingest_hwm_kb >= report.started.rss_kb);
    // Ingest, Gate, Query service and metrics each hold a connection.
    assert!(
        report.connections >= 3,
        "{} connections",
        report.connections
    );
    let books = report.table("group_books").expect("group_books");
    let positions = report.table("group_positions").expect("group_positions");
    let events = report.table("events").expect("events");
    assert_eq!((books.rows, positions.rows), (3, 3));
    assert!(events.rows >= report.events && events.page_bytes > 0);
    assert!(report.table("position_cuts").expect("position_cuts").rows > 0);
}

/// One-event batches, 256 KiB batches, the direct path and one session per
/// event all bring a hub holding the history to the same head.
#[test]
fn small_batches_reach_the_same_head_every_way() {
    let report = sajja_bench::small_batches::run(&options()).expect("small-batches benchmark");
    assert!(report.events > 1 && report.history_events > 0);
    assert_eq!(report.single.batches as u64, report.events);
    assert_eq!(report.single.latencies.len() as u64, report.events);
    assert_eq!(report.direct_single.latencies.len() as u64, report.events);
    assert!(report.bulk.batches >= 1 && (report.bulk.batches as u64) < report.events);
    assert_eq!(report.sessions.latencies.len(), 3);
    assert_eq!(report.phases.events, report.events);
    assert!(report.phases.books_bytes > 0 && report.phases.basis_bytes > 0);
}

/// The treasurer's screen serves the today page and the whole meeting sheet,
/// and one submit writes an entry for every row.
#[test]
fn web_node_smoke() {
    let report = sajja_bench::web_node::run(&options()).expect("web benchmark");
    assert_eq!(report.sheet_rows, 40);
    assert_eq!(report.entries_written, 40, "one contribution a row");
    assert!(
        report.first_page_gzip_bytes > 0 && report.first_page_gzip_bytes < report.first_page_bytes
    );
}
