//! The hub's metrics, rendered in the Prometheus text exposition format
//! (version 0.0.4) by the operations endpoint (`http`).
//!
//! Counters and the latency histogram are atomics bumped where things
//! happen; the gauges that describe stored state (groups by status, relay
//! lag) are computed from the store at scrape time, so they can never drift
//! from what the hub holds. Nothing here does I/O.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sajja_common::GroupId;

use crate::store::GroupSummary;
use crate::values::lines;
use crate::values::status::GroupStatus;

/// Upper bounds of the batch latency buckets, in nanoseconds (1 ms .. 10 s).
pub const INGEST_BATCH_BUCKETS_NANOS: [u64; 13] = [
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
];

/// How many distinct refusal checks get their own label; any beyond share
/// `check="other"`. Checks are the hub's own fixed names, so this is a
/// guard against a label explosion, not a limit expected to be reached.
pub const MAX_REFUSAL_CHECKS: usize = 64;

/// A latency histogram with fixed buckets; the last slot is `+Inf`.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; INGEST_BATCH_BUCKETS_NANOS.len() + 1],
    sum_nanos: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, elapsed: Duration) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let slot = INGEST_BATCH_BUCKETS_NANOS
            .iter()
            .position(|&bound| nanos <= bound)
            .unwrap_or(INGEST_BATCH_BUCKETS_NANOS.len());
        self.buckets[slot].fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str) {
        // The count is the sum of the buckets read here, so `+Inf` and
        // `_count` always agree even while batches are being observed.
        let mut cumulative = 0;
        for (slot, bucket) in self.buckets.iter().enumerate() {
            cumulative += bucket.load(Ordering::Relaxed);
            let le = match INGEST_BATCH_BUCKETS_NANOS.get(slot) {
                Some(&bound) => seconds(bound),
                None => "+Inf".to_string(),
            };
            let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
        }
        let sum = seconds(self.sum_nanos.load(Ordering::Relaxed));
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {cumulative}");
    }
}

/// Nanoseconds as decimal seconds. A measurement, not money: f64 is fine.
fn seconds(nanos: u64) -> String {
    format!("{}", nanos as f64 / 1e9)
}

/// What the relay knows about the parent, for a tambon hub with a parent.
#[derive(Debug, Default)]
struct RelayState {
    enabled: bool,
    /// The seq the parent acknowledged (or reported holding), per log.
    parent_acked: BTreeMap<GroupId, u64>,
    /// Unix seconds of the last relay round that finished without error.
    last_success: Option<i64>,
}

/// Every counter the hub keeps; one per process, shared by `Arc`.
#[derive(Debug, Default)]
pub struct Metrics {
    events_ingested: AtomicU64,
    batches_acked: AtomicU64,
    batches_refused: Mutex<BTreeMap<String, u64>>,
    ingest_batch: Histogram,
    relay: Mutex<RelayState>,
}

/// A counter map stays usable after a panic elsewhere: its values are plain
/// counts, never half-updated.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Metrics {
    /// A batch was acknowledged; `stored` of its events were new to the hub.
    pub fn batch_acked(&self, stored: u64) {
        self.batches_acked.fetch_add(1, Ordering::Relaxed);
        self.events_ingested.fetch_add(stored, Ordering::Relaxed);
    }

    /// A batch was refused by the named check.
    pub fn batch_refused(&self, check: &str) {
        let mut refused = lock(&self.batches_refused);
        let key = if refused.contains_key(check) || refused.len() < MAX_REFUSAL_CHECKS {
            check
        } else {
            "other"
        };
        match refused.get_mut(key) {
            Some(count) => *count += 1,
            None => {
                refused.insert(key.to_string(), 1);
            }
        }
    }

    /// How long one batch took, from arrival to answer.
    pub fn batch_latency(&self, elapsed: Duration) {
        self.ingest_batch.observe(elapsed);
    }

    /// This hub relays to a parent: the relay metrics are exported.
    pub fn relay_enabled(&self) {
        lock(&self.relay).enabled = true;
    }

    /// The parent holds `log` up to `seq`.
    pub fn relay_acked(&self, log: &GroupId, seq: u64) {
        lock(&self.relay).parent_acked.insert(log.clone(), seq);
    }

    /// A relay round over every log finished without error at `now`.
    pub fn relay_succeeded(&self, now: i64) {
        lock(&self.relay).last_success = Some(now);
    }

    /// The exposition text. `logs` is every log the store holds (groups and
    /// hub logs); groups count as stale with no verified contact (a hello
    /// from their node, here or, relayed, at the child hub) for
    /// `stale_after_days`. Without `logs` (the store did not answer), the
    /// store-derived gauges are left out and the counters still reported.
    /// Groups in `at_risk` that would count ok count as at risk instead.
    pub fn render(
        &self,
        logs: Option<&[GroupSummary]>,
        at_risk: &std::collections::BTreeSet<sajja_common::GroupId>,
        now: i64,
        stale_after_days: u32,
    ) -> String {
        let mut out = String::new();

        header(
            &mut out,
            "sajja_events_ingested_total",
            "counter",
            "Events newly stored from pushes (nodes and relaying hubs).",
        );
        let events = self.events_ingested.load(Ordering::Relaxed);
        let _ = writeln!(out, "sajja_events_ingested_total {events}");

        header(
            &mut out,
            "sajja_batches_acked_total",
            "counter",
            "Pushed batches acknowledged, re-sends included.",
        );
        let acked = self.batches_acked.load(Ordering::Relaxed);
        let _ = writeln!(out, "sajja_batches_acked_total {acked}");

        header(
            &mut out,
            "sajja_batches_refused_total",
            "counter",
            "Pushed batches refused, by the check that failed.",
        );
        for (check, count) in lock(&self.batches_refused).iter() {
            let _ = writeln!(
                out,
                "sajja_batches_refused_total{{check=\"{}\"}} {count}",
                escape(check)
            );
        }

        header(
            &mut out,
            "sajja_ingest_batch_seconds",
            "histogram",
            "Time from a batch's arrival to the hub's answer, acked or refused.",
        );
        self.ingest_batch
            .render(&mut out, "sajja_ingest_batch_seconds");

        if let Some(logs) = logs {
            let (mut ok, mut forked, mut stale, mut damaged, mut risky) =
                (0u64, 0u64, 0u64, 0u64, 0u64);
            for log in logs.iter().filter(|l| l.group.is_group()) {
                if log.status == GroupStatus::Damaged {
                    damaged += 1;
                } else if log.status == GroupStatus::Forked {
                    forked += 1;
                } else if lines::stale(log.last_contact_at, now, stale_after_days) {
                    stale += 1;
                } else if at_risk.contains(&log.group) {
                    risky += 1;
                } else {
                    ok += 1;
                }
            }
            header(
                &mut out,
                "sajja_groups",
                "gauge",
                "Enrolled groups by status; stale means no verified contact within the threshold; damaged means this hub's copy no longer verifies; at_risk, past an [attention] line.",
            );
            for (status, count) in [
                ("ok", ok),
                ("forked", forked),
                ("stale", stale),
                ("damaged", damaged),
                ("at_risk", risky),
            ] {
                let _ = writeln!(out, "sajja_groups{{status=\"{status}\"}} {count}");
            }
        }

        let relay = lock(&self.relay);
        if relay.enabled {
            if let Some(logs) = logs {
                header(
                    &mut out,
                    "sajja_relay_lag_events",
                    "gauge",
                    "Events this hub holds that the parent has not acknowledged, per log (every log: one the parent has acknowledged nothing of lags by all its events).",
                );
                for log in logs {
                    let acked = relay.parent_acked.get(&log.group).copied().unwrap_or(0);
                    let lag = log.seq.saturating_sub(acked);
                    let _ = writeln!(
                        out,
                        "sajja_relay_lag_events{{log=\"{}\"}} {lag}",
                        escape(log.group.as_str())
                    );
                }
            }
            header(
                &mut out,
                "sajja_relay_last_success_timestamp_seconds",
                "gauge",
                "Unix time of the last relay round that reached the parent without error (0: never).",
            );
            let at = relay.last_success.unwrap_or(0);
            let _ = writeln!(out, "sajja_relay_last_success_timestamp_seconds {at}");
        }
        out
    }
}

/// The `# HELP` and `# TYPE` lines that open a metric family.
fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A label value as the exposition format quotes it.
/// When the hub's certificates expire: `(which, unix seconds)`, `server`
/// and `ca` (an alert rule warns ahead of it).
pub fn render_certificates(out: &mut String, expiries: &[(&str, i64)]) {
    if expiries.is_empty() {
        return;
    }
    header(
        out,
        "sajja_tls_certificate_expiry_timestamp_seconds",
        "gauge",
        "Unix time at which the hub's server certificate (certificate=\"server\") and its CA (certificate=\"ca\") expire.",
    );
    for (which, at) in expiries {
        let _ = writeln!(
            out,
            "sajja_tls_certificate_expiry_timestamp_seconds{{certificate=\"{}\"}} {at}",
            escape(which)
        );
    }
}

/// One community exchange's guarantee, as the metrics show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExchangeGauge {
    pub exchange: GroupId,
    /// `None` when nothing is outstanding (coverage unbounded).
    pub coverage_basis_points: Option<i64>,
    pub policy_basis_points: u32,
    /// How many of its alerts are open (coverage, concentration, settlement).
    pub alerts: usize,
}

/// The exchanges' gauges: coverage against policy and open alerts, per
/// exchange (an alert rule compares the first two).
pub fn render_exchanges(out: &mut String, exchanges: &[ExchangeGauge]) {
    if exchanges.is_empty() {
        return;
    }
    header(
        out,
        "sajja_exchange_coverage_basis_points",
        "gauge",
        "Reserve pledged to a community exchange's pool over its debit and vouchers outstanding at the stated rate, basis points (absent while nothing is outstanding).",
    );
    for x in exchanges {
        if let Some(coverage) = x.coverage_basis_points {
            let _ = writeln!(
                out,
                "sajja_exchange_coverage_basis_points{{exchange=\"{}\"}} {coverage}",
                escape(x.exchange.as_str())
            );
        }
    }
    header(
        out,
        "sajja_exchange_policy_basis_points",
        "gauge",
        "The least coverage a community exchange's terms ask for, basis points.",
    );
    for x in exchanges {
        let _ = writeln!(
            out,
            "sajja_exchange_policy_basis_points{{exchange=\"{}\"}} {}",
            escape(x.exchange.as_str()),
            x.policy_basis_points
        );
    }
    header(
        out,
        "sajja_exchange_alerts",
        "gauge",
        "Open alerts of a community exchange (coverage below policy, debit concentrated, a settlement its and the groups' logs disagree on).",
    );
    for x in exchanges {
        let _ = writeln!(
            out,
            "sajja_exchange_alerts{{exchange=\"{}\"}} {}",
            escape(x.exchange.as_str()),
            x.alerts
        );
    }
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A log last in contact `at`, whose last batch arrived a year earlier:
    /// only the contact decides staleness.
    fn summary(group: &str, status: GroupStatus, seq: u64, at: Option<i64>) -> GroupSummary {
        GroupSummary {
            group: GroupId::parse(group).expect("group id"),
            status,
            seq,
            last_sync_at: at.map(|at| at - 365 * 86_400),
            last_contact_at: at,
        }
    }

    /// The text carries each counter, cumulative buckets that agree with the
    /// count, groups by status with forked before stale, and relay lag.
    #[test]
    fn an_exchanges_coverage_policy_and_alerts_are_gauges() {
        let exchange = |id: &str, coverage, alerts| ExchangeGauge {
            exchange: GroupId::parse(id).unwrap(),
            coverage_basis_points: coverage,
            policy_basis_points: 5_000,
            alerts,
        };
        let mut text = String::new();
        render_exchanges(
            &mut text,
            &[
                exchange("230101-X01", Some(646), 1),
                exchange("230102-X01", None, 0),
            ],
        );
        for line in [
            "sajja_exchange_coverage_basis_points{exchange=\"230101-X01\"} 646",
            "sajja_exchange_policy_basis_points{exchange=\"230102-X01\"} 5000",
            "sajja_exchange_alerts{exchange=\"230101-X01\"} 1",
            "sajja_exchange_alerts{exchange=\"230102-X01\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in {text}");
        }
        // Nothing outstanding: no coverage figure rather than a made-up one.
        assert!(!text.contains("sajja_exchange_coverage_basis_points{exchange=\"230102-X01\"}"));
        let mut none = String::new();
        render_exchanges(&mut none, &[]);
        assert!(none.is_empty());
    }

    #[test]
    fn renders_counters_histogram_groups_and_lag() {
        let metrics = Metrics::default();
        metrics.batch_acked(10);
        metrics.batch_acked(0);
        metrics.batch_refused("hash_mismatch");
        metrics.batch_refused("hash_mismatch");
        metrics.batch_latency(Duration::from_millis(3));
        metrics.batch_latency(Duration::from_secs(60));
        metrics.relay_enabled();
        let group = GroupId::parse("230101-001").expect("group id");
        metrics.relay_acked(&group, 4);
        metrics.relay_succeeded(1_700_000_000);
        let now = 1_700_000_000;
        let logs = [
            summary("230101-001", GroupStatus::Ok, 10, Some(now)),
            summary("230101-002", GroupStatus::Forked, 3, None),
            summary("230101-003", GroupStatus::Ok, 3, Some(now - 8 * 86_400)),
        ];
        // 230101-001 is past an [attention] line: at risk, not ok; a stale
        // group stays stale whatever its figures.
        let at_risk = [
            GroupId::parse("230101-001").expect("group id"),
            GroupId::parse("230101-003").expect("group id"),
        ]
        .into();
        let text = metrics.render(Some(&logs), &at_risk, now, 7);
        assert!(text.contains("sajja_groups{status=\"ok\"} 0"), "{text}");
        assert!(
            text.contains("sajja_groups{status=\"at_risk\"} 1"),
            "{text}"
        );
        let text = metrics.render(Some(&logs), &Default::default(), now, 7);
        for line in [
            "sajja_events_ingested_total 10",
            "sajja_batches_acked_total 2",
            "sajja_batches_refused_total{check=\"hash_mismatch\"} 2",
            "sajja_ingest_batch_seconds_bucket{le=\"0.0025\"} 0",
            "sajja_ingest_batch_seconds_bucket{le=\"0.005\"} 1",
            "sajja_ingest_batch_seconds_bucket{le=\"10\"} 1",
            "sajja_ingest_batch_seconds_bucket{le=\"+Inf\"} 2",
            "sajja_ingest_batch_seconds_sum 60.003",
            "sajja_ingest_batch_seconds_count 2",
            "sajja_groups{status=\"ok\"} 1",
            "sajja_groups{status=\"forked\"} 1",
            "sajja_groups{status=\"stale\"} 1",
            "sajja_relay_lag_events{log=\"230101-001\"} 6",
            // Never acknowledged by the parent: all of it lags.
            "sajja_relay_lag_events{log=\"230101-002\"} 3",
            "sajja_relay_last_success_timestamp_seconds 1700000000",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
        }
    }

    /// A hub without a parent exports no relay metrics; a store that did not
    /// answer leaves out the gauges derived from it.
    #[test]
    fn leaves_out_what_does_not_apply() {
        let text = Metrics::default().render(None, &Default::default(), 0, 7);
        assert!(text.contains("sajja_events_ingested_total 0"), "{text}");
        assert!(!text.contains("sajja_groups"), "{text}");
        assert!(!text.contains("sajja_relay"), "{text}");
    }

    /// Refusal labels are bounded: checks beyond the limit share `other`.
    #[test]
    fn refusal_labels_are_bounded() {
        let metrics = Metrics::default();
        for i in 0..MAX_REFUSAL_CHECKS + 3 {
            metrics.batch_refused(&format!("check_{i}"));
        }
        let text = metrics.render(None, &Default::default(), 0, 7);
        let labelled = text
            .lines()
            .filter(|l| l.starts_with("sajja_batches_refused_total{"))
            .count();
        assert_eq!(labelled, MAX_REFUSAL_CHECKS + 1, "{text}");
        assert!(text.contains("sajja_batches_refused_total{check=\"other\"} 3"));
    }
}
