//! The login throttle: after a few wrong passwords for one name, each
//! further try must wait, doubling up to a minute. Bounded in names.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed logins for one name before each further try must wait.
const FREE_FAILURES: u32 = 3;
const WAIT_MAX: Duration = Duration::from_secs(60);
/// Names tracked; beyond it the oldest entry goes.
const NAMES_MAX: usize = 1_000;

#[derive(Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Throttle {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u32, Instant)>> {
        // A counter map is sound whatever a panicking holder was doing.
        self.failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How long `name` must still wait before another try, if at all.
    pub fn wait(&self, name: &str) -> Option<Duration> {
        let failures = self.lock();
        let (count, last) = failures.get(name)?;
        if *count < FREE_FAILURES {
            return None;
        }
        let wait = Duration::from_secs(1 << (count - FREE_FAILURES).min(6)).min(WAIT_MAX);
        wait.checked_sub(last.elapsed())
    }

    pub fn failed(&self, name: &str) {
        let mut failures = self.lock();
        if failures.len() >= NAMES_MAX && !failures.contains_key(name) {
            let oldest = failures
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(n, _)| n.clone());
            if let Some(oldest) = oldest {
                failures.remove(&oldest);
            }
        }
        let entry = failures
            .entry(name.to_string())
            .or_insert((0, Instant::now()));
        entry.0 = entry.0.saturating_add(1);
        entry.1 = Instant::now();
    }

    pub fn succeeded(&self, name: &str) {
        self.lock().remove(name);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn three_wrong_passwords_are_free_and_the_fourth_waits() {
        let throttle = super::Throttle::default();
        for _ in 0..3 {
            assert_eq!(throttle.wait("somchai"), None);
            throttle.failed("somchai");
        }
        assert!(throttle.wait("somchai").is_some());
        assert_eq!(throttle.wait("other"), None);
        throttle.succeeded("somchai");
        assert_eq!(throttle.wait("somchai"), None);
    }
}
