//! A generated log and the writer that builds it: each event validated by
//! the books, encoded once and chained, as a node writes its own.

use sajja_common::chain;
use sajja_common::ledger::reversal_target;
use sajja_common::{Body, Books, Checkpoint, Date, Event, GroupId, Hash, Money, SignedCheckpoint};
use sajja_common::{SigningKey, chain::genesis};

use crate::spec::GroupSpec;

/// When a generated log ends.
#[derive(Clone, Copy, Debug)]
pub enum Stop {
    /// After this many whole months of activity (and their closes).
    Months(u32),
    /// At exactly this many events (a prefix of a longer history).
    Events(usize),
}

/// A group's generated log: exact event bytes and chain hashes.
pub struct GroupLog {
    pub spec: GroupSpec,
    pub events: Vec<Vec<u8>>,
    pub hashes: Vec<Hash>,
    /// Events the ledger refused while generating (dropped; must be zero).
    pub refused: u64,
    /// Seq of the first event of each month's contribution day, for wire tests.
    pub month_starts: Vec<u64>,
    pub books: Books,
}

impl GroupLog {
    pub fn bytes(&self) -> usize {
        self.events.iter().map(Vec::len).sum()
    }

    pub fn head(&self) -> Hash {
        self.hashes
            .last()
            .copied()
            .unwrap_or_else(|| genesis(&self.spec.group))
    }

    /// A checkpoint after `seq` events, signed with `key`.
    pub fn checkpoint_at(&self, key: &SigningKey, seq: u64) -> SignedCheckpoint {
        let head = if seq == 0 {
            genesis(&self.spec.group)
        } else {
            self.hashes[seq as usize - 1]
        };
        Checkpoint {
            group: self.spec.group.clone(),
            seq,
            head,
            fork_epoch: 0,
        }
        .sign(key)
    }

    /// The events as values, in seq order.
    pub fn decoded(&self) -> impl Iterator<Item = Event> + '_ {
        self.events
            .iter()
            .map(|bytes| Event::decode(bytes).expect("the generator's own events decode"))
    }
}

pub(crate) struct Writer {
    group: GroupId,
    pub(crate) books: Books,
    pub(crate) events: Vec<Vec<u8>>,
    hashes: Vec<Hash>,
    head: Hash,
    refused: u64,
    limit: usize,
    last: Option<Event>,
}

impl Writer {
    pub(crate) fn new(group: GroupId, limit: usize) -> Writer {
        Writer {
            books: Books::new(group.clone()),
            head: genesis(&group),
            group,
            events: Vec::new(),
            hashes: Vec::new(),
            refused: 0,
            limit,
            last: None,
        }
    }

    pub(crate) fn full(&self) -> bool {
        self.events.len() >= self.limit
    }

    /// The seq the next event takes.
    pub(crate) fn next_seq(&self) -> u64 {
        self.events.len() as u64 + 1
    }

    /// Validates, encodes and chains one event; false if the ledger refused it
    /// or the log is full.
    pub(crate) fn emit(&mut self, date: Date, body: Body) -> bool {
        if self.full() {
            return false;
        }
        let seq = self.next_seq();
        let event = Event {
            group: self.group.clone(),
            seq,
            date,
            // A node's clock: the business day at 09:00 Bangkok, plus a minute per event.
            recorded_at: i64::from(date.days()) * 86_400 + 7_200 + (seq as i64 % 600) * 60,
            body,
        };
        let original = match reversal_target(&event) {
            Some(target) => self.last.as_ref().filter(|e| e.seq == target).cloned(),
            None => None,
        };
        if self.books.apply(&event, original.as_ref()).is_err() {
            self.refused += 1;
            return false;
        }
        let bytes = event.encode();
        self.head = chain::next(&self.head, &bytes);
        self.events.push(bytes);
        self.hashes.push(self.head);
        self.last = Some(event);
        true
    }

    /// Whole baht in the cash box, the bank and the welfare fund.
    pub(crate) fn cash(&self) -> i64 {
        self.books.accounts.cash.satang() / 100
    }

    pub(crate) fn bank(&self) -> i64 {
        self.books.accounts.bank.satang() / 100
    }

    pub(crate) fn fund(&self) -> i64 {
        self.books.accounts.welfare_fund.satang() / 100
    }

    /// Moves bank money to the cash box when a payment needs it.
    pub(crate) fn ensure_cash(&mut self, date: Date, need: i64) -> bool {
        let (cash, bank) = (self.cash(), self.bank());
        if cash < need && bank > 0 {
            let amount = (need - cash).min(bank);
            self.emit(
                date,
                Body::CashDrawn {
                    amount: Money::from_baht(amount),
                },
            );
        }
        self.cash() >= need
    }

    pub(crate) fn finish(self, spec: &GroupSpec, month_starts: Vec<u64>) -> GroupLog {
        GroupLog {
            spec: spec.clone(),
            events: self.events,
            hashes: self.hashes,
            refused: self.refused,
            month_starts,
            books: self.books,
        }
    }
}
