//! A group's (or an exchange's) log as its node writes it, built in a test: exact event bytes,
//! their chain hashes and the key that signs its checkpoints. The bytes are
//! not validated by the ledger here (a test may want a log the ledger would
//! refuse); `Books` checks them where a test wants that.

use sajja_common::event::{Body, Rules};
use sajja_common::exchange::{ExchangeBody, ExchangeEvent};
use sajja_common::{Checkpoint, Date, Event, GroupId, Hash, SignedCheckpoint, SigningKey, chain};

pub struct SignedLog {
    pub group: GroupId,
    pub key: SigningKey,
    pub events: Vec<Vec<u8>>,
    pub hashes: Vec<Hash>,
    /// The fork epoch its checkpoints carry.
    pub epoch: u32,
}

impl SignedLog {
    /// An empty log of `group`, signed by the key of `[seed; 32]`.
    pub fn new(group: &str, seed: u8) -> SignedLog {
        SignedLog {
            group: GroupId::parse(group).expect("a test's group id"),
            key: SigningKey::from_seed(&[seed; 32]).expect("a 32-byte seed"),
            events: Vec::new(),
            hashes: Vec::new(),
            epoch: 0,
        }
    }

    /// The group opened on `date` under the default rules (seqs 1 and 2).
    pub fn opened_on(group: &str, seed: u8, date: Date) -> SignedLog {
        let mut log = SignedLog::new(group, seed);
        let g = log.group.clone();
        log.append(
            date,
            Body::GroupOpened {
                name: "กลุ่มสัจจะ".into(),
                tambon: g.tambon().into(),
                province: g.province().into(),
            },
        );
        log.append(date, Body::RulesChanged(Rules::default()));
        log
    }

    /// The next event's seq.
    pub fn next_seq(&self) -> u64 {
        self.events.len() as u64 + 1
    }

    /// Encodes `body` as the next event on `date` (a `Date` or a day number)
    /// and chains it; returns the event as appended.
    pub fn append(&mut self, date: impl OnDay, body: Body) -> Event {
        let event = Event {
            group: self.group.clone(),
            seq: self.next_seq(),
            date: date.day(),
            recorded_at: 0,
            body,
        };
        self.chain(event.encode());
        event
    }

    /// Encodes `body` as the next event of an exchange's log (the log's id
    /// is `TTTTTT-XNN`) on `date`, and chains it.
    pub fn append_exchange(&mut self, date: impl OnDay, body: ExchangeBody) -> ExchangeEvent {
        let event = ExchangeEvent {
            log: self.group.clone(),
            seq: self.next_seq(),
            date: date.day(),
            recorded_at: 0,
            body,
        };
        self.chain(event.encode());
        event
    }

    fn chain(&mut self, bytes: Vec<u8>) {
        self.hashes.push(chain::next(&self.head(), &bytes));
        self.events.push(bytes);
    }

    /// The chain head after the last event (the genesis of an empty log).
    pub fn head(&self) -> Hash {
        self.hashes
            .last()
            .copied()
            .unwrap_or_else(|| chain::genesis(&self.group))
    }

    /// A checkpoint after `seq` events, signed with the log's key.
    pub fn checkpoint_at(&self, seq: u64) -> SignedCheckpoint {
        let head = if seq == 0 {
            chain::genesis(&self.group)
        } else {
            self.hashes[seq as usize - 1]
        };
        Checkpoint {
            group: self.group.clone(),
            seq,
            head,
            fork_epoch: self.epoch,
        }
        .sign(&self.key)
    }

    /// A checkpoint of the whole log.
    pub fn checkpoint(&self) -> SignedCheckpoint {
        self.checkpoint_at(self.events.len() as u64)
    }

    /// Events `from..=to`, as bytes.
    pub fn range(&self, from: u64, to: u64) -> Vec<Vec<u8>> {
        self.events[from as usize - 1..to as usize].to_vec()
    }
}

impl Clone for SignedLog {
    /// Another copy of the log under the same key: a test grows it apart
    /// from the original (an offered continuation, a fork).
    fn clone(&self) -> SignedLog {
        SignedLog {
            group: self.group.clone(),
            key: SigningKey::from_seed(self.key.seed()).expect("a 32-byte seed"),
            events: self.events.clone(),
            hashes: self.hashes.clone(),
            epoch: self.epoch,
        }
    }
}

/// A business date as a test writes it: a `Date`, or a day number.
pub trait OnDay {
    fn day(self) -> Date;
}

impl OnDay for Date {
    fn day(self) -> Date {
        self
    }
}

impl OnDay for u32 {
    fn day(self) -> Date {
        Date::from_days(self).expect("a test's day number is a date")
    }
}
