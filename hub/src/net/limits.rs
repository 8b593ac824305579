//! Per-client limits that slow or refuse one client without costing the
//! others: concurrent calls per certificate, events per group per minute,
//! and a growing pause after each refused batch on a push stream.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sajja_common::GroupId;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;

use crate::config::Limits;
use crate::net::gate::Caller;

/// The longest a push stream is paused after refusals in a row.
const MAX_REFUSAL_PAUSE: Duration = Duration::from_secs(2);

/// Entries kept before idle ones are dropped (bounds the maps' memory).
const MAX_TRACKED: usize = 100_000;

pub struct Guard {
    streams_per_client: u32,
    events_per_minute: u32,
    streams: Mutex<HashMap<String, Arc<Semaphore>>>,
    buckets: Mutex<HashMap<GroupId, Bucket>>,
}

impl Guard {
    pub fn new(limits: &Limits) -> Guard {
        Guard {
            streams_per_client: limits.max_streams_per_client,
            events_per_minute: limits.events_per_group_per_minute,
            streams: Mutex::default(),
            buckets: Mutex::default(),
        }
    }

    /// A place for one call of `caller`; refused when the client already
    /// has `max_streams_per_client` calls open. Held until the call ends.
    pub fn open_stream(&self, caller: &Caller) -> Result<OwnedSemaphorePermit, Status> {
        let semaphore = {
            let mut streams = self
                .streams
                .lock()
                .map_err(|_| Status::internal("limits poisoned"))?;
            if streams.len() >= MAX_TRACKED {
                // Forget clients with no open call.
                let full = self.streams_per_client as usize;
                streams.retain(|_, s| s.available_permits() < full);
            }
            streams
                .entry(caller.serial.clone())
                .or_insert_with(|| Arc::new(Semaphore::new(self.streams_per_client as usize)))
                .clone()
        };
        semaphore.try_acquire_owned().map_err(|_| {
            tracing::warn!(caller = %caller.principal, limit = self.streams_per_client, "too many concurrent calls");
            Status::resource_exhausted(format!(
                "{} already has {} calls open (limits.max_streams_per_client)",
                caller.principal, self.streams_per_client
            ))
        })
    }

    /// Charges `events` to `group`'s budget and says how long the pusher
    /// must wait first: nothing while under `events_per_group_per_minute`.
    pub fn charge(&self, group: &GroupId, events: u64) -> Duration {
        let Ok(mut buckets) = self.buckets.lock() else {
            return Duration::ZERO;
        };
        let now = Instant::now();
        if buckets.len() >= MAX_TRACKED {
            buckets.retain(|_, b| now.duration_since(b.updated) < Duration::from_secs(60));
        }
        buckets
            .entry(group.clone())
            .or_insert_with(|| Bucket::full(self.events_per_minute, now))
            .take(events, self.events_per_minute, now)
    }
}

/// A token bucket holding up to a minute's budget of events.
#[derive(Debug)]
struct Bucket {
    /// Events that may be taken now; negative is a debt being waited out.
    available: i64,
    updated: Instant,
}

impl Bucket {
    fn full(per_minute: u32, now: Instant) -> Bucket {
        Bucket {
            available: i64::from(per_minute),
            updated: now,
        }
    }

    fn take(&mut self, events: u64, per_minute: u32, now: Instant) -> Duration {
        let per_minute = i64::from(per_minute.max(1));
        let elapsed_ms = now.duration_since(self.updated).as_millis().min(60_000) as i64;
        let refill = elapsed_ms * per_minute / 60_000;
        if refill > 0 {
            self.available = (self.available + refill).min(per_minute);
            self.updated = now;
        }
        self.available -= i64::try_from(events)
            .unwrap_or(i64::MAX / 2)
            .min(i64::MAX / 2);
        if self.available >= 0 {
            Duration::ZERO
        } else {
            Duration::from_millis((-self.available * 60_000 / per_minute) as u64)
        }
    }
}

/// The pause before reading the next message of a push stream that has
/// had `refusals` refused messages in a row: 10 ms, doubling, up to 2 s.
pub fn refusal_pause(refusals: u32) -> Duration {
    if refusals == 0 {
        return Duration::ZERO;
    }
    Duration::from_millis(10u64 << refusals.min(16).saturating_sub(1)).min(MAX_REFUSAL_PAUSE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_within_its_budget_is_never_slowed() {
        let start = Instant::now();
        let mut bucket = Bucket::full(60_000, start);
        assert_eq!(bucket.take(30_000, 60_000, start), Duration::ZERO);
        assert_eq!(bucket.take(30_000, 60_000, start), Duration::ZERO);
        // A second later a thousand more events are due.
        let later = start + Duration::from_secs(1);
        assert_eq!(bucket.take(1_000, 60_000, later), Duration::ZERO);
    }

    #[test]
    fn a_group_over_its_budget_waits_in_proportion() {
        let start = Instant::now();
        let mut bucket = Bucket::full(60_000, start);
        assert_eq!(bucket.take(60_000, 60_000, start), Duration::ZERO);
        assert_eq!(
            bucket.take(2_000, 60_000, start),
            Duration::from_secs(2),
            "2,000 events over a 1,000-a-second budget wait two seconds"
        );
    }

    #[test]
    fn refusals_in_a_row_pause_longer_up_to_a_bound() {
        assert_eq!(refusal_pause(0), Duration::ZERO);
        assert_eq!(refusal_pause(1), Duration::from_millis(10));
        assert_eq!(refusal_pause(3), Duration::from_millis(40));
        assert_eq!(refusal_pause(40), MAX_REFUSAL_PAUSE);
    }

    #[test]
    fn a_client_gets_only_its_share_of_streams() {
        let limits = Limits {
            max_streams_per_client: 2,
            ..Limits::default()
        };
        let guard = Guard::new(&limits);
        let caller = Caller {
            principal: crate::values::principal::Principal::Operator("ann".into()),
            serial: "01".into(),
        };
        let other = Caller {
            serial: "02".into(),
            ..caller.clone()
        };
        let first = guard.open_stream(&caller).unwrap();
        let _second = guard.open_stream(&caller).unwrap();
        let refused = guard.open_stream(&caller).unwrap_err();
        assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
        assert!(
            guard.open_stream(&other).is_ok(),
            "another client is not affected"
        );
        drop(first);
        assert!(
            guard.open_stream(&caller).is_ok(),
            "a closed call frees its place"
        );
    }
}
