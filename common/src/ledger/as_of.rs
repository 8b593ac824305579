//! The books as of a date, folded one stored event at a time: the one place
//! that says which events count on a date. The node's ledger and the hubs'
//! stores stream their events through it from SQLite (looking a reversed
//! event up by its seq), and `Books::fold_as_of` feeds it a slice.

use crate::date::Date;
use crate::event::Event;
use crate::ids::GroupId;

use super::Books;

/// Books being folded as of the end of a date (or with every event, given
/// no date).
pub struct AsOf {
    books: Books,
    date: Option<Date>,
}

impl AsOf {
    pub fn new(group: GroupId, date: Option<Date>) -> AsOf {
        AsOf {
            books: Books::new(group),
            date,
        }
    }

    /// Whether `event` counts on the date: it is dated on or before it. Events
    /// dated later are skipped, but the log order of those that count is kept.
    pub fn counts(&self, event: &Event) -> bool {
        self.date.is_none_or(|date| event.date <= date)
    }

    /// The books so far (a caller cutting positions by date reads them
    /// between events).
    pub fn books(&self) -> &Books {
        &self.books
    }

    /// Applies `event` if it counts. Stored events were validated when they
    /// were accepted, so none is refused here. `original` is the event a
    /// `Reversal` reverses (`reversal_target`); `None` otherwise.
    pub fn push(&mut self, event: &Event, original: Option<&Event>) {
        if self.counts(event) {
            self.books.apply_unchecked(event, original);
        }
    }

    pub fn finish(self) -> Books {
        self.books
    }
}

#[cfg(test)]
mod tests {
    use super::AsOf;
    use crate::event::{Body, Channel, Event, Rules};
    use crate::{Date, GroupId, Money};

    fn event(seq: u64, date: Date, body: Body) -> Event {
        Event {
            group: GroupId::parse("230101-001").expect("id"),
            seq,
            date,
            recorded_at: 0,
            body,
        }
    }

    #[test]
    fn a_later_dated_entry_is_left_out_but_the_log_order_is_kept() {
        // Proves the rule on a date is "dated on or before it", not "up to the
        // first entry dated after it": seq 4 is back-dated behind seq 3.
        let day = |d| Date::from_ymd(2025, 3, d).expect("date");
        let income = |baht| Body::IncomeReceived {
            kind: crate::event::IncomeKind::Donation,
            amount: Money::from_baht(baht),
            channel: Channel::Cash,
        };
        let log = [
            event(
                1,
                day(1),
                Body::GroupOpened {
                    name: "g".into(),
                    tambon: "230101".into(),
                    province: "23".into(),
                },
            ),
            event(2, day(1), Body::RulesChanged(Rules::default())),
            event(3, day(20), income(500)),
            event(4, day(5), income(70)),
        ];
        let mut as_of = AsOf::new(log[0].group.clone(), Some(day(10)));
        for e in &log {
            as_of.push(e, None);
        }
        assert_eq!(as_of.finish().accounts.cash, Money::from_baht(70));
        let mut everything = AsOf::new(log[0].group.clone(), None);
        for e in &log {
            everything.push(e, None);
        }
        assert_eq!(everything.books().accounts.cash, Money::from_baht(570));
    }
}
