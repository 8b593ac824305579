//! A group's last contact, against a real hub SQLite file: what "stale" is
//! measured from in positions, alerts and metrics, how a hello records it,
//! and the column's arrival in an older database.

use sajja_common::{Date, GroupId};
use sajja_edge::clock::unix_now;
use sajja_hub::net::metrics::Metrics;
use sajja_hub::read::positions;
use sajja_hub::store::{CONTACT_RESOLUTION_S, Store};
use sajja_hub::values::alert::Alert;
use sajja_hub::values::lines::Health;

use crate::support::{GROUP, Hub, opened};
const DAY: i64 = 86_400;

impl Hub {
    /// Sets the group's two times directly, as weeks of silence would.
    fn set_times(&self, last_sync_at: Option<i64>, last_contact_at: Option<i64>) {
        let conn = rusqlite::Connection::open(self.path()).unwrap();
        conn.execute(
            "UPDATE groups SET last_sync_at = ?2, last_contact_at = ?3 WHERE group_id = ?1",
            rusqlite::params![GROUP, last_sync_at, last_contact_at],
        )
        .unwrap();
    }

    fn contact(&self) -> Option<i64> {
        let group = GroupId::parse(GROUP).unwrap();
        let row = self.ingest.store().group(&group).unwrap().unwrap();
        row.last_contact_at
    }

    /// How the hub reports the group now: its line's health and contact,
    /// whether it raises a stale alert, and the metrics' ok/stale counts.
    fn report(&self, now: i64) -> (Health, Option<i64>, bool, String) {
        let store = &sajja_hub::read::cache::Reader::open(&self.path()).unwrap();
        let today = Date::thai_date_at(now);
        let lines = positions::group_lines(store, "230101", today).unwrap();
        assert_eq!(lines.len(), 1);
        let line = &lines[0];
        let freshness = sajja_hub::values::lines::Freshness {
            now,
            stale_after_days: 7,
            attention: sajja_hub::values::lines::Attention::default(),
        };
        assert_eq!(
            sajja_hub::values::lines::is_stale(line, now, 7),
            line.health(freshness) == Health::Stale
        );
        let scope = sajja_hub::values::scope_position::scope_position(&lines, "230101", freshness);
        assert_eq!(scope.oldest_contact, line.last_contact_at);
        let stale_alert = positions::alerts(store, "230101", today, freshness)
            .unwrap()
            .iter()
            .any(|a| matches!(a, Alert::Stale { .. }));
        let summaries = store.group_summaries().unwrap();
        let metrics = Metrics::default().render(Some(&summaries), &Default::default(), now, 7);
        let groups: Vec<&str> = metrics
            .lines()
            .filter(|l| l.starts_with("sajja_groups{"))
            .collect();
        (
            line.health(freshness),
            line.last_contact_at,
            stale_alert,
            groups.join(" "),
        )
    }
}

/// A group whose last batch arrived a month ago but whose node said hello an
/// hour ago is ok everywhere; one that keeps sending nothing and saying
/// nothing is stale everywhere, however recent its last batch.
#[test]
fn stale_is_measured_from_the_last_contact_not_the_last_batch() {
    let log = opened(1);
    let hub = Hub::holding(&log);
    let now = unix_now();

    hub.set_times(Some(now - 30 * DAY), Some(now - 3_600));
    let (health, contact, alert, metrics) = hub.report(now);
    assert_eq!(health, Health::Ok);
    assert_eq!(contact, Some(now - 3_600), "the line reports the contact");
    assert!(!alert, "an idle group in contact raises no alert");
    assert!(
        metrics.contains("sajja_groups{status=\"ok\"} 1")
            && metrics.contains("sajja_groups{status=\"stale\"} 0"),
        "{metrics}"
    );

    hub.set_times(Some(now - 3_600), Some(now - 8 * DAY));
    let (health, contact, alert, metrics) = hub.report(now);
    assert_eq!(health, Health::Stale);
    assert_eq!(contact, Some(now - 8 * DAY));
    assert!(alert);
    assert!(
        metrics.contains("sajja_groups{status=\"stale\"} 1"),
        "{metrics}"
    );

    hub.set_times(Some(now), None);
    let (health, _, alert, _) = hub.report(now);
    assert_eq!(health, Health::Stale, "no contact yet");
    assert!(alert);
    let alerts = positions::alerts(
        &sajja_hub::read::cache::Reader::open(&hub.path()).unwrap(),
        "230101",
        Date::thai_date_at(now),
        sajja_hub::values::lines::Freshness {
            now,
            stale_after_days: 7,
            attention: sajja_hub::values::lines::Attention::default(),
        },
    )
    .unwrap();
    assert_eq!(
        alerts[0].to_string(),
        "group 230101-007: stale, no contact yet"
    );
}

/// A hello records the contact only when its checkpoint verifies with the
/// group's key; a head beyond the hub's waits for its batch; the time never
/// moves backwards and moves by a minute or more.
#[test]
fn a_verified_hello_records_the_contact_and_nothing_else_does() {
    let log = opened(1);
    let mut hub = Hub::holding(&log);
    hub.set_times(Some(1_000), None);
    let group = log.group.clone();
    let now = unix_now();

    let mut forged = log.checkpoint_at(2);
    forged.signature[0] ^= 1;
    assert!(hub.ingest.greet_contact(&forged, Some(now)).is_err());
    assert_eq!(hub.contact(), None, "a bad signature proves no contact");

    let mut ahead = log.checkpoint_at(2);
    ahead.checkpoint.seq = 3;
    let (_, _, verified) = hub.ingest.greet_contact(&ahead, Some(now)).unwrap();
    assert!(!verified, "a head beyond the hub's cannot be checked yet");
    assert_eq!(hub.contact(), None);

    let (_, _, verified) = hub
        .ingest
        .greet_contact(&log.checkpoint_at(2), Some(now))
        .unwrap();
    assert!(verified);
    assert_eq!(hub.contact(), Some(now));
    // A restored node behind the hub is in contact too.
    let (_, _, verified) = hub
        .ingest
        .greet_contact(&log.checkpoint_at(1), Some(now + CONTACT_RESOLUTION_S))
        .unwrap();
    assert!(verified);
    assert_eq!(hub.contact(), Some(now + CONTACT_RESOLUTION_S));

    let later = now + CONTACT_RESOLUTION_S;
    assert!(!hub.ingest.record_contact(&group, later - DAY).unwrap());
    assert!(
        !hub.ingest
            .record_contact(&group, later + CONTACT_RESOLUTION_S - 1)
            .unwrap(),
        "kept to the minute"
    );
    assert_eq!(hub.contact(), Some(later));
    assert!(
        hub.ingest
            .record_contact(&group, later + CONTACT_RESOLUTION_S)
            .unwrap()
    );
    assert_eq!(hub.contact(), Some(later + CONTACT_RESOLUTION_S));
    let row = hub.ingest.store().group(&group).unwrap().unwrap();
    assert_eq!(row.last_sync_at, Some(1_000), "contact is not a batch");
}

/// A database from before `last_contact_at` gains the column when the hub
/// opens it, filled from `last_sync_at`; opening it again changes nothing.
#[test]
fn an_older_database_gains_the_contact_column_from_its_last_sync() {
    let log = opened(1);
    let hub = Hub::holding(&log);
    let path = hub.path();
    let Hub { dir, ingest } = hub;
    drop(ingest);
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "UPDATE groups SET last_sync_at = 1700000000;
             ALTER TABLE groups DROP COLUMN last_contact_at;",
        )
        .unwrap();
    }
    let group = GroupId::parse(GROUP).unwrap();
    for _ in 0..2 {
        let store = Store::open(&path).unwrap();
        let row = store.group(&group).unwrap().unwrap();
        assert_eq!(row.last_contact_at, Some(1_700_000_000));
        assert_eq!(row.seq, 2);
    }
    drop(dir);
}
