//! The benchmarks' side of the one activity generator (`sajja_activity`):
//! its logs cut into Sync batches as a node cuts them, and the check that a
//! log ends before the hubs' today.

pub use sajja_activity::{
    GroupLog, GroupSpec, LONG_HISTORY_OPENED_ON, MAX_MEMBERS, MAX_MONTHS, MIN_MEMBERS, OPENED_ON,
    Stop, day_of, group_log, group_log_opened, province, province_logs, province_logs_opened,
};
use sajja_proto::{MAX_BATCH_BYTES, v1};

/// The most events one batch carries (the node's own chunk limit).
pub const MAX_BATCH_EVENTS: usize = sajja_node::store::MAX_CHUNK_EVENTS;

/// Fails when any of `logs` holds an event dated after the hubs' today
/// (plus their one day of tolerance): a hub would refuse it.
pub fn ensure_past(logs: &[GroupLog]) -> anyhow::Result<()> {
    let latest = sajja_edge::clock::today().add_days(sajja_common::ledger::FUTURE_TOLERANCE_DAYS);
    for log in logs {
        if let Some(last) = log.books.last_date {
            anyhow::ensure!(
                last <= latest,
                "group {}'s generated log runs to {last}, after today: open it earlier",
                log.spec.group
            );
        }
    }
    Ok(())
}

/// A generated log as a node pushes it.
pub trait Batches {
    /// The log `from..=to` cut into Sync batches as a node cuts them (at most
    /// `MAX_BATCH_BYTES` of events and `MAX_BATCH_EVENTS` events), each ending
    /// in a checkpoint signed with the group's key.
    fn batches(&self, from: u64, to: u64) -> Vec<v1::Batch>;
}

impl Batches for GroupLog {
    fn batches(&self, from: u64, to: u64) -> Vec<v1::Batch> {
        let key = self.spec.key();
        let mut out = Vec::new();
        let mut next = from;
        while next <= to {
            let mut bytes = 0;
            let mut events = Vec::new();
            let mut seq = next;
            while seq <= to {
                let event = &self.events[seq as usize - 1];
                if !events.is_empty()
                    && (bytes + event.len() > MAX_BATCH_BYTES || events.len() >= MAX_BATCH_EVENTS)
                {
                    break;
                }
                bytes += event.len();
                events.push(event.clone());
                seq += 1;
            }
            let last = seq - 1;
            out.push(v1::Batch {
                from_seq: next,
                events,
                checkpoint: Some((&self.checkpoint_at(&key, last)).into()),
            });
            next = last + 1;
        }
        out
    }
}
