//! A group's signed log as its node writes it, shared by the hub's tests
//! that drive a real store through the accept rule.

use sajja_common::event::{Body, Rules};
use sajja_common::{Checkpoint, Date, Event, GroupId, Hash, SignedCheckpoint, SigningKey, chain};

pub const GROUP: &str = "230101-007";

/// A group's opening events as its node writes them, and its key.
pub struct Log {
    pub group: GroupId,
    pub key: SigningKey,
    pub events: Vec<Vec<u8>>,
    pub hashes: Vec<Hash>,
}

impl Log {
    /// Group `GROUP` opened, then `rule_changes` RulesChanged events.
    pub fn opened(rule_changes: usize) -> Log {
        let group = GroupId::parse(GROUP).unwrap();
        let mut log = Log {
            key: SigningKey::from_seed(&[7; 32]).unwrap(),
            group: group.clone(),
            events: Vec::new(),
            hashes: Vec::new(),
        };
        let date = Date::from_ymd(2025, 1, 1).unwrap();
        for body in [Body::GroupOpened {
            name: "กลุ่มสัจจะ".into(),
            tambon: group.tambon().into(),
            province: group.province().into(),
        }]
        .into_iter()
        .chain(std::iter::repeat_n(
            Body::RulesChanged(Rules::default()),
            rule_changes,
        )) {
            let bytes = Event {
                group: group.clone(),
                seq: log.events.len() as u64 + 1,
                date,
                recorded_at: 0,
                body,
            }
            .encode();
            let previous = log
                .hashes
                .last()
                .copied()
                .unwrap_or_else(|| chain::genesis(&group));
            log.hashes.push(chain::next(&previous, &bytes));
            log.events.push(bytes);
        }
        log
    }

    pub fn checkpoint_at(&self, seq: u64) -> SignedCheckpoint {
        Checkpoint {
            group: self.group.clone(),
            seq,
            head: self.hashes[seq as usize - 1],
            fork_epoch: 0,
        }
        .sign(&self.key)
    }
}
