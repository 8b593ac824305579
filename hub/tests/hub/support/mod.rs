//! A group's signed log as its node writes it, shared by the hub's tests
//! that drive a real store through the accept rule.

use sajja_common::Date;
use sajja_common::event::{Body, Rules};
use sajja_hub::ingest::accept::{BatchOutcome, Ingest};
use sajja_hub::store::Store;
use sajja_testkit::SignedLog;

pub const GROUP: &str = "230101-007";

/// A group's opening events as its node writes them, and its key.
pub type Log = SignedLog;

/// Group `GROUP` opened, then `rule_changes` RulesChanged events.
pub fn opened(rule_changes: usize) -> Log {
    let mut log = Log::new(GROUP, 7);
    let group = log.group.clone();
    let date = Date::from_ymd(2025, 1, 1).unwrap();
    log.append(
        date,
        Body::GroupOpened {
            name: "กลุ่มสัจจะ".into(),
            tambon: group.tambon().into(),
            province: group.province().into(),
        },
    );
    for _ in 0..rule_changes {
        log.append(date, Body::RulesChanged(Rules::default()));
    }
    log
}

/// A hub store in a temporary directory holding a whole log, committed
/// through the accept rule.
pub struct Hub {
    pub dir: tempfile::TempDir,
    pub ingest: Ingest,
}

impl Hub {
    pub fn holding(log: &Log) -> Hub {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("hub.sqlite")).unwrap();
        store.enrol(&log.group, &log.key.public(), 0).unwrap();
        let mut ingest = Ingest::new(store);
        let outcome = ingest.batch(1, &log.events, &log.checkpoint()).unwrap();
        let to = log.events.len() as u64;
        assert!(matches!(outcome, BatchOutcome::Acked { to: t, .. } if t == to));
        Hub { dir, ingest }
    }

    pub fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("hub.sqlite")
    }
}
