//! The scrub against a real hub SQLite file: a byte changed at rest is
//! found, named by group and seq, reported, held, and repaired only by the
//! group's own bytes; a damaged page fails the integrity check.

use sajja_common::{Date, GroupId};
use sajja_hub::ingest::accept::{BatchOutcome, Greeting, IngestError};
use sajja_hub::net::metrics::Metrics;
use sajja_hub::read::positions;
use sajja_hub::store::Store;
use sajja_hub::values::alert::Alert;
use sajja_hub::values::lines::Health;
use sajja_hub::values::status::GroupStatus;

use crate::support::{GROUP, Hub, opened};

impl Hub {
    /// Flips one bit of a stored event's bytes, as a failing disk would,
    /// behind the hub's back.
    fn flip_event_byte(&self, seq: u64) {
        let conn = rusqlite::Connection::open(self.path()).unwrap();
        let mut bytes: Vec<u8> = conn
            .query_row(
                "SELECT e.bytes FROM events e JOIN groups g ON g.gid = e.gid
                 WHERE g.group_id = ?1 AND e.seq = ?2",
                rusqlite::params![GROUP, seq],
                |r| r.get(0),
            )
            .unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
        conn.execute(
            "UPDATE events SET bytes = ?3 WHERE seq = ?2
             AND gid = (SELECT gid FROM groups WHERE group_id = ?1)",
            rusqlite::params![GROUP, seq, bytes],
        )
        .unwrap();
    }

    fn stored(&self) -> Vec<Vec<u8>> {
        let row = self.ingest.store().group(&group()).unwrap().unwrap();
        self.ingest
            .store()
            .events_range(row.gid, 1, row.seq)
            .unwrap()
    }

    fn status(&self) -> GroupStatus {
        self.ingest.store().group(&group()).unwrap().unwrap().status
    }

    /// Whether every report names the log damaged: its line, an alert, the
    /// metrics gauge.
    fn reported_damaged(&self) -> bool {
        let store = &sajja_hub::read::cache::Reader::open(&self.path()).unwrap();
        let now = sajja_edge::clock::unix_now();
        let today = Date::thai_date_at(now);
        let lines = positions::group_lines(store, "230101", today).unwrap();
        let freshness = sajja_hub::values::lines::Freshness {
            now,
            stale_after_days: 7,
            attention: sajja_hub::values::lines::Attention::default(),
        };
        let line_damaged = lines[0].health(freshness) == Health::Damaged;
        let alert = positions::alerts(store, "230101", today, freshness)
            .unwrap()
            .into_iter()
            .any(|a| matches!(a, Alert::Damaged { seq: 2, .. }));
        let metrics = Metrics::default().render(
            Some(&store.group_summaries().unwrap()),
            &Default::default(),
            now,
            7,
        );
        let gauge = metrics.contains("sajja_groups{status=\"damaged\"} 1");
        assert_eq!(line_damaged, alert, "line and alert disagree");
        assert_eq!(line_damaged, gauge, "line and gauge disagree");
        line_damaged
    }
}

fn group() -> GroupId {
    GroupId::parse(GROUP).unwrap()
}

/// A flipped byte in event 2: the scrub names seq 2, every report says
/// damaged, a push beyond it is held, the node is asked to send from seq 2,
/// and its bytes, which hash to the stored chain, repair the log exactly.
#[test]
fn a_flipped_byte_is_found_reported_held_and_repaired_by_the_groups_own_bytes() {
    let log = opened(2);
    let mut hub = Hub::holding(&log);
    let good = hub.stored();
    assert_eq!(hub.ingest.store().scrub_log(&group()).unwrap().damage, None);
    assert!(!hub.reported_damaged());

    hub.flip_event_byte(2);
    let report = hub
        .ingest
        .store()
        .scrub_and_mark(&group(), 1, 1_000)
        .unwrap();
    assert_eq!(report.events, 2, "stops at the first bad event");
    let (seq, reason) = report.damage.unwrap();
    assert_eq!(seq, 2);
    assert!(reason.contains("do not hash"), "{reason}");
    assert_eq!(hub.status(), GroupStatus::Damaged);
    assert!(hub.reported_damaged());

    // A push that does not carry seq 2 is held, naming group and seq.
    let held = hub
        .ingest
        .batch(3, &log.range(3, 3), &log.checkpoint_at(3))
        .unwrap_err();
    assert!(
        matches!(held, IngestError::Damaged { seq: 2, .. }),
        "{held}"
    );
    assert_eq!(held.check(), "damaged");
    assert!(held.to_string().contains("group 230101-007"), "{held}");
    assert!(held.to_string().contains("from seq 2"), "{held}");

    // The node's hello is answered with the verified part and "send from 2".
    let (position, greeting) = hub.ingest.greet(&log.checkpoint_at(3)).unwrap();
    assert_eq!(position.seq, 1);
    assert_eq!(position.head, log.hashes[0]);
    assert!(matches!(greeting, Greeting::SendFrom(2)), "{greeting:?}");

    let outcome = hub
        .ingest
        .batch(2, &log.range(2, 3), &log.checkpoint_at(3))
        .unwrap();
    assert!(matches!(
        outcome,
        BatchOutcome::Acked { from: 2, to: 3, .. }
    ));
    assert_eq!(hub.stored(), good, "byte-identical to the group's log");
    assert_eq!(hub.status(), GroupStatus::Ok);
    assert!(!hub.reported_damaged());
    assert!(hub.ingest.store().forks(None, false).unwrap().is_empty());
    let conn = rusqlite::Connection::open(hub.path()).unwrap();
    let repairs: (u64, u64, String) = conn
        .query_row("SELECT from_seq, to_seq, source FROM repairs", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!((repairs.0, repairs.1), (2, 3), "{repairs:?}");
}

/// A node re-pushing over a row that changed at rest, before any scrub saw
/// it, is not a fork: the push finds the damage and repairs it.
#[test]
fn a_push_over_an_unnoticed_damaged_row_repairs_it_instead_of_calling_a_fork() {
    let log = opened(2);
    let mut hub = Hub::holding(&log);
    let good = hub.stored();
    hub.flip_event_byte(2);

    let outcome = hub
        .ingest
        .batch(1, &log.range(1, 3), &log.checkpoint_at(3))
        .unwrap();
    assert!(
        matches!(outcome, BatchOutcome::Acked { to: 3, .. }),
        "{outcome:?}"
    );
    assert!(hub.ingest.store().forks(None, false).unwrap().is_empty());
    assert_eq!(hub.status(), GroupStatus::Ok);
    assert_eq!(hub.stored(), good);
}

/// Bytes that do not hash to the stored chain never overwrite it.
#[test]
fn a_push_that_does_not_hash_to_the_stored_chain_repairs_nothing() {
    let log = opened(2);
    let mut hub = Hub::holding(&log);
    hub.flip_event_byte(2);
    hub.ingest
        .store()
        .scrub_and_mark(&group(), 1, 1_000)
        .unwrap();
    let before = hub.stored();
    // The group's own bytes, but the damaged row's copy offered back.
    let mut offered = log.range(2, 3);
    offered[0] = before[1].clone();
    let refused = hub
        .ingest
        .batch(2, &offered, &log.checkpoint_at(3))
        .unwrap_err();
    assert!(
        !matches!(refused, IngestError::Store(_)),
        "refused by a check, not storage: {refused}"
    );
    assert_eq!(hub.stored(), before, "nothing changed");
    assert_eq!(hub.status(), GroupStatus::Damaged);
}

/// A page overwritten on disk fails SQLite's quick check.
#[test]
fn a_damaged_page_fails_the_integrity_check() {
    let log = opened(2);
    let hub = Hub::holding(&log);
    assert_eq!(hub.ingest.store().integrity_check(false).unwrap(), None);
    assert_eq!(hub.ingest.store().integrity_check(true).unwrap(), None);
    let path = hub.path();
    drop(hub.ingest);
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
    }
    let mut file = std::fs::read(&path).unwrap();
    let page = 4096;
    assert!(file.len() > 3 * page, "a file of several pages");
    // Page 2's b-tree header: its page type and cell count.
    for byte in &mut file[page..page + 8] {
        *byte = 0x7f;
    }
    std::fs::write(&path, &file).unwrap();
    let store = Store::open(&path);
    let problem = match store {
        Ok(store) => store.integrity_check(false),
        // A damage this deep may already stop the open; that is loud too.
        Err(e) => Ok(Some(e.to_string())),
    };
    let problem = problem.unwrap_or_else(|e| Some(e.to_string()));
    assert!(problem.is_some(), "quick_check passed a damaged page");
}
