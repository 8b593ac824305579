use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::Node;

/// Rounds of spawn-append-kill; enough to land kills inside commits often.
const KILLS: usize = 20;
/// At most this many committed rounds are awaited before a kill.
const ROUNDS_BEFORE_KILL_MAX: u64 = 25;

/// A small xorshift generator; the seed is printed so a failure can be replayed.
struct Random(u64);

impl Random {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn killing_an_appending_process_never_breaks_the_ledger() {
    // Proves SIGKILL at random moments during appends leaves a valid chain whose
    // derived books equal a re-fold, and that no reported commit is lost.
    let seed = std::env::var("SAJJA_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("crash test seed {seed} (set SAJJA_CRASH_SEED to replay)");
    let mut random = Random(seed);
    let node = Node::opened();
    let mut last_reported = 0u64;
    for round in 0..KILLS {
        let mut child = node
            .command(&["debug", "append-loop"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let wait_for = 1 + random.below(ROUNDS_BEFORE_KILL_MAX);
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        for _ in 0..wait_for {
            let line = lines.next().expect("the append loop ended early").unwrap();
            last_reported = line.trim_start_matches("appended ").parse().unwrap();
        }
        child.kill().unwrap();
        child.wait().unwrap();

        let verified = node.ok(&["verify"]);
        assert!(verified.starts_with("ok:"), "round {round}: {verified}");
        let head = node.event_count() as u64;
        assert!(
            head >= last_reported,
            "round {round}: seq {last_reported} was reported committed but the head is {head}"
        );
    }
    assert!(last_reported > 2);
}
