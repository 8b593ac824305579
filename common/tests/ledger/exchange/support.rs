//! Builders for exchange tests: an exchange that folds as it grows, the
//! standard terms and accounts, and the one refusal check.

use std::collections::BTreeMap;

use sajja_common::exchange::{
    AccountNo, Category, Credits, ExchangeBody, ExchangeBooks, ExchangeEvent, ExchangePosition,
    ExchangeRefusal, ExchangeTerms, HolderKind,
};
use sajja_common::{Date, GroupId, MemberNo, Money, PoolId};

pub const LOG: &str = "230101-X01";
pub const OPENED_ON: &str = "2026-11-01";
pub const RESERVE_POOL: &str = "230101-RES";

pub fn log() -> GroupId {
    GroupId::parse(LOG).unwrap()
}

pub fn d(text: &str) -> Date {
    text.parse().unwrap()
}

/// Whole credits.
pub fn cr(credits: i64) -> Credits {
    Credits::from_whole(credits)
}

pub fn baht(amount: i64) -> Money {
    Money::from_baht(amount)
}

pub fn a(number: u32) -> AccountNo {
    AccountNo(number)
}

pub fn group(text: &str) -> GroupId {
    GroupId::parse(text).unwrap()
}

/// The standard exchange: บุญ at 1 baht a credit, guaranteed by the tambon's
/// reserve pool, a policy of 50% coverage and a 25% concentration limit.
pub fn terms() -> ExchangeTerms {
    ExchangeTerms {
        name: "ตลาดบุญตำบลในเมือง".into(),
        unit_name: "บุญ".into(),
        rate_per_credit: baht(1),
        reserve_pool: PoolId::parse(RESERVE_POOL).unwrap(),
        policy_min_coverage_basis_points: 5_000,
        concentration_limit_basis_points: 2_500,
    }
}

pub fn opens(account: u32, holder: HolderKind, limit: i64) -> ExchangeBody {
    ExchangeBody::AccountOpened {
        account: a(account),
        holder,
        credit_limit: cr(limit),
    }
}

pub fn member(group_id: &str, number: u32) -> HolderKind {
    HolderKind::Member {
        group: group(group_id),
        member: MemberNo(number),
    }
}

pub fn pays(from: u32, to: u32, amount: Credits, category: Category, memo: &str) -> ExchangeBody {
    ExchangeBody::Transfer {
        from: a(from),
        to: a(to),
        amount,
        category,
        memo: memo.into(),
    }
}

pub fn limit(account: u32, new_limit: i64, committee: bool) -> ExchangeBody {
    ExchangeBody::CreditLimitChanged {
        account: a(account),
        new_limit: cr(new_limit),
        approved_by_committee: committee,
        reason: "ที่ประชุมคณะกรรมการ".into(),
    }
}

pub fn issues(account: u32, first: u32, last: u32, denomination: i64) -> ExchangeBody {
    ExchangeBody::VouchersIssued {
        account: a(account),
        first_serial: first,
        last_serial: last,
        denomination: cr(denomination),
    }
}

pub fn returns(first: u32, last: u32, to: u32) -> ExchangeBody {
    ExchangeBody::VouchersReturned {
        first_serial: first,
        last_serial: last,
        to_account: a(to),
    }
}

pub fn event(seq: u64, date: Date, body: ExchangeBody) -> ExchangeEvent {
    ExchangeEvent {
        log: log(),
        seq,
        date,
        recorded_at: 1_796_601_600 + i64::try_from(seq).unwrap(),
        body,
    }
}

/// An exchange log that folds as it grows. Every event it records is also
/// encoded and decoded back, and must come back the same.
pub struct Exchange {
    pub books: ExchangeBooks,
    pub events: Vec<ExchangeEvent>,
}

impl Exchange {
    pub fn new() -> Exchange {
        Exchange {
            books: ExchangeBooks::new(log()),
            events: Vec::new(),
        }
    }

    /// The standard exchange, opened on `OPENED_ON`.
    pub fn opened() -> Exchange {
        let mut exchange = Exchange::new();
        exchange.ok(OPENED_ON, ExchangeBody::ExchangeOpened(terms()));
        exchange
    }

    /// Records `body` on `date` as the next event; a refusal must change
    /// nothing.
    pub fn record(&mut self, date: &str, body: ExchangeBody) -> Result<(), ExchangeRefusal> {
        let event = event(self.books.last_seq + 1, d(date), body);
        assert_eq!(ExchangeEvent::decode(&event.encode()).unwrap(), event);
        let before = self.books.clone();
        match self.books.apply(&event) {
            Ok(()) => {
                self.events.push(event);
                Ok(())
            }
            Err(refusal) => {
                assert_eq!(self.books, before, "a refusal changed the books");
                Err(refusal)
            }
        }
    }

    pub fn ok(&mut self, date: &str, body: ExchangeBody) {
        if let Err(refusal) = self.record(date, body) {
            panic!("refused: {refusal}");
        }
    }

    /// The one refusal check: `body` on `date` is refused, and the refusal
    /// names the log, the seq and every one of `says`.
    pub fn refused(&mut self, date: &str, body: ExchangeBody, says: &[&str]) -> ExchangeRefusal {
        let seq = self.books.last_seq + 1;
        let refusal = match self.record(date, body) {
            Ok(()) => panic!("accepted, expected a refusal saying {says:?}"),
            Err(refusal) => refusal,
        };
        let text = refusal.to_string();
        assert!(
            text.starts_with(&format!("exchange {LOG} seq {seq}: ")),
            "{text}"
        );
        for word in says {
            assert!(text.contains(word), "{text:?} does not say {word:?}");
        }
        refusal
    }

    pub fn balance(&self, account: u32) -> Credits {
        self.books.accounts[&a(account)].balance
    }

    pub fn position(&self, date: &str, reserve: &BTreeMap<GroupId, Money>) -> ExchangePosition {
        ExchangePosition::of(&self.books, d(date), reserve).unwrap()
    }
}

/// Reserve pledged by groups of the tambon, in baht.
pub fn reserve(pledges: &[(&str, i64)]) -> BTreeMap<GroupId, Money> {
    pledges
        .iter()
        .map(|(g, amount)| (group(g), baht(*amount)))
        .collect()
}
