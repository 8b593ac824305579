//! The meeting-day collection sheet: what each member owes on a date, and a
//! submitted sheet turned into ledger events — all of them or none.
//!
//! The sheet is read from the books and the log as they stand; the ledger's
//! own rules (`Books::apply`, through the store's batch) decide every entry.
//! What the sheet adds is the treasurer's view: the contribution due under the
//! rules, whether the member already paid this period, each loan's instalment.

use std::collections::{BTreeMap, BTreeSet};

use sajja_common::Event;
use sajja_common::date::{Date, Month};
use sajja_common::event::{Body, Channel, Source};
use sajja_common::ids::{LoanNo, MemberNo};
use sajja_common::ledger::Books;
use sajja_common::money::Money;

use crate::compose;
use crate::store::{RegisterEntry, Store, StoreError};
use crate::vocab;

/// The most rows one sheet may carry: a group of 5,000 members is the largest
/// the brief names.
pub const SHEET_ROWS_MAX: usize = 5_000;

#[derive(Clone, Debug)]
pub struct LoanLine {
    pub loan: LoanNo,
    pub outstanding: Money,
    /// The instalment due on the sheet's date: principal overdue or this
    /// month's share, plus a month's interest on what is outstanding.
    pub due: Money,
    pub interest_due: Money,
    pub days_past_due: u32,
    /// What the treasurer typed (kept when a sheet comes back refused).
    pub entered: String,
}

#[derive(Clone, Debug, Default)]
pub struct Row {
    pub member: u32,
    pub name: String,
    pub due: Money,
    /// Contributions from the member already recorded for this period.
    pub paid_already: Money,
    pub pay: bool,
    pub extra: bool,
    pub amount: String,
    pub savings: String,
    pub loans: Vec<LoanLine>,
    pub error: String,
}

#[derive(Clone, Debug)]
pub struct Sheet {
    pub date: Date,
    pub period: Month,
    pub rows: Vec<Row>,
    pub matching_local: String,
    pub matching_national: String,
    pub error: String,
}

impl Sheet {
    pub fn not_paid(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.paid_already == Money::ZERO)
    }
}

/// Member contributions per (member, period), kept up to date from the log
/// as it grows: a sheet view reads only the events appended since the last
/// one, not the whole log. Reversed contributions do not count.
#[derive(Default)]
pub struct PaidPeriods {
    /// The log position (seq and chain head) this covers; a log that no
    /// longer has that head (restored, or a fork resolved) is read afresh.
    seq: u64,
    head: Option<sajja_common::Hash>,
    paid: BTreeMap<(MemberNo, Month), Money>,
}

fn member_contribution(event: &Event) -> Option<(MemberNo, Month, Money)> {
    match &event.body {
        Body::ContributionReceived {
            member: Some(member),
            amount,
            period,
            source: Source::Member,
            ..
        } => Some((*member, *period, *amount)),
        _ => None,
    }
}

impl PaidPeriods {
    pub fn update(&mut self, store: &Store) -> Result<(), StoreError> {
        if self.seq > 0 && store.hash_at(self.seq)? != self.head {
            *self = PaidPeriods::default();
        }
        let mut reversed = Vec::new();
        let paid = &mut self.paid;
        let mut add = |member, period, satang: i64| {
            let entry = paid.entry((member, period)).or_insert(Money::ZERO);
            *entry = Money::from_satang(entry.satang() + satang);
        };
        store.scan(self.seq + 1, |event: &Event| {
            if let Some((member, period, amount)) = member_contribution(event) {
                add(member, period, amount.satang());
            } else if let Body::Reversal { reversed_seq, .. } = &event.body {
                reversed.push(*reversed_seq);
            }
            true
        })?;
        for seq in reversed {
            if let Some((member, period, amount)) =
                store.event(seq)?.as_ref().and_then(member_contribution)
            {
                add(member, period, -amount.satang());
            }
        }
        let (seq, head) = store.head();
        self.seq = seq;
        self.head = Some(head);
        Ok(())
    }

    pub fn paid(&self, member: MemberNo, period: Month) -> Money {
        self.paid
            .get(&(member, period))
            .copied()
            .unwrap_or(Money::ZERO)
    }
}

fn interest_for_a_month(outstanding: Money, basis_points: u32) -> Money {
    // Half-up to the satang.
    let satang = i128::from(outstanding.satang()) * i128::from(basis_points);
    Money::from_satang(((satang + 5_000) / 10_000) as i64)
}

fn loan_lines(books: &Books, member: MemberNo, date: Date) -> Vec<LoanLine> {
    books
        .loans
        .iter()
        .filter(|(_, loan)| loan.member == member && loan.outstanding().is_positive())
        .map(|(number, loan)| {
            let outstanding = loan.outstanding();
            let arrears = loan.arrears_on(date);
            let share = loan.principal.satang() / i64::from(loan.term_months.max(1));
            let principal_due = arrears
                .overdue
                .satang()
                .max(share)
                .min(outstanding.satang());
            let interest_due =
                interest_for_a_month(outstanding, loan.monthly_interest_basis_points);
            LoanLine {
                loan: *number,
                outstanding,
                due: Money::from_satang(principal_due + interest_due.satang()),
                interest_due,
                days_past_due: arrears.days_past_due,
                entered: String::new(),
            }
        })
        .collect()
}

/// The sheet for `date`: every member active on it, with what is due.
pub fn sheet_for(
    store: &Store,
    paid: &PaidPeriods,
    register: &BTreeMap<MemberNo, RegisterEntry>,
    date: Date,
) -> Result<Sheet, StoreError> {
    let books = store.books();
    let period = date.month();
    let due = books.rules.contribution_amount;
    let rows = books
        .members
        .iter()
        .filter(|(_, m)| m.joined_on <= date && m.left.is_none())
        .take(SHEET_ROWS_MAX)
        .map(|(number, _)| {
            let paid_already = paid.paid(*number, period);
            Row {
                member: number.0,
                name: register
                    .get(number)
                    .map(|r| r.name.clone())
                    .unwrap_or_default(),
                due,
                paid_already,
                pay: false,
                extra: false,
                amount: due.to_plain(),
                savings: String::new(),
                loans: loan_lines(books, *number, date),
                error: String::new(),
            }
        })
        .collect();
    Ok(Sheet {
        date,
        period,
        rows,
        matching_local: String::new(),
        matching_national: String::new(),
        error: String::new(),
    })
}

/// Puts what the treasurer submitted back on the sheet (so a refused sheet
/// comes back as typed). Unknown fields are ignored; the caller bounds the count.
pub fn fill(sheet: &mut Sheet, fields: &[(String, String)]) {
    let mut ticked = BTreeSet::new();
    let mut extra = BTreeSet::new();
    let mut amounts = BTreeMap::new();
    let mut savings = BTreeMap::new();
    let mut loans = BTreeMap::new();
    for (key, value) in fields {
        let number = |prefix: &str| key.strip_prefix(prefix).and_then(|n| n.parse::<u32>().ok());
        if let Some(n) = number("p") {
            ticked.insert(n);
        } else if let Some(n) = number("x") {
            extra.insert(n);
        } else if let Some(n) = number("c") {
            amounts.insert(n, value.clone());
        } else if let Some(n) = number("s") {
            savings.insert(n, value.clone());
        } else if let Some(n) = number("l") {
            loans.insert(n, value.clone());
        } else if key == "ml" {
            sheet.matching_local = value.clone();
        } else if key == "mn" {
            sheet.matching_national = value.clone();
        }
    }
    for row in &mut sheet.rows {
        row.pay = ticked.contains(&row.member);
        row.extra = extra.contains(&row.member);
        if let Some(amount) = amounts.remove(&row.member) {
            row.amount = amount;
        }
        row.savings = savings.remove(&row.member).unwrap_or_default();
        for line in &mut row.loans {
            line.entered = loans.remove(&line.loan.0).unwrap_or_default();
        }
    }
}

fn amount_of(text: &str) -> Result<Option<Money>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    vocab::parse_money(text).map(Some)
}

/// One event the sheet will write, and the row it belongs to (for messages).
pub struct Entry {
    pub row: Option<usize>,
    pub body: Body,
}

/// Turns a filled sheet into events, or marks the rows that cannot be
/// written. Nothing is validated here that the ledger validates; this is the
/// reading of the form (amounts, duplicates of a period already paid).
pub fn entries(sheet: &mut Sheet, duplicate_message: impl Fn(&Row) -> String) -> Vec<Entry> {
    let mut out = Vec::new();
    let period = sheet.period;
    for (index, row) in sheet.rows.iter_mut().enumerate() {
        let member = MemberNo(row.member);
        let mut problems = Vec::new();
        if row.pay {
            match amount_of(&row.amount) {
                Err(e) => problems.push(e),
                Ok(None) => {}
                Ok(Some(_)) if row.paid_already.is_positive() && !row.extra => {
                    problems.push(duplicate_message(row));
                }
                Ok(Some(amount)) => out.push(Entry {
                    row: Some(index),
                    // `extra`: the ledger refuses a paid period without it;
                    // the check above says so first, in the row's words.
                    body: compose::contribution(
                        Some(member),
                        amount,
                        period,
                        Source::Member,
                        Channel::Cash,
                        row.extra,
                    ),
                }),
            }
        }
        match amount_of(&row.savings) {
            Err(e) => problems.push(e),
            Ok(None) => {}
            Ok(Some(amount)) => out.push(Entry {
                row: Some(index),
                body: compose::saving(member, amount, Channel::Cash),
            }),
        }
        for line in &row.loans {
            match amount_of(&line.entered) {
                Err(e) => problems.push(e),
                Ok(None) => {}
                Ok(Some(amount)) => {
                    // Interest first, the rest to principal: how the paper
                    // register splits one payment.
                    let interest = amount.satang().min(line.interest_due.satang());
                    out.push(Entry {
                        row: Some(index),
                        body: compose::loan_repayment(
                            line.loan,
                            Money::from_satang(amount.satang() - interest),
                            Some(Money::from_satang(interest)),
                            Channel::Cash,
                        ),
                    });
                }
            }
        }
        row.error = problems.join("; ");
    }
    for (text, source) in [
        (sheet.matching_local.clone(), Source::LocalGovernment),
        (sheet.matching_national.clone(), Source::NationalGovernment),
    ] {
        match amount_of(&text) {
            Err(e) => sheet.error = e,
            Ok(None) => {}
            Ok(Some(amount)) => out.push(Entry {
                row: None,
                body: compose::contribution(None, amount, period, source, Channel::Cash, false),
            }),
        }
    }
    out
}

/// Whether any row or the sheet itself carries a problem.
pub fn has_errors(sheet: &Sheet) -> bool {
    !sheet.error.is_empty() || sheet.rows.iter().any(|r| !r.error.is_empty())
}

#[cfg(test)]
mod tests {
    use sajja_common::SigningKey;
    use sajja_common::event::{Rules, Sex};
    use sajja_common::ids::GroupId;

    use super::*;
    use crate::store::GroupInit;

    fn date(text: &str) -> Date {
        text.parse().expect("date")
    }

    fn contribution(member: u32, baht: i64, period: &str) -> Body {
        Body::ContributionReceived {
            member: Some(MemberNo(member)),
            amount: Money::from_baht(baht),
            period: date(period).month(),
            source: Source::Member,
            channel: Channel::Cash,
            extra: false,
        }
    }

    /// What the sheet marks as paid follows the log as it grows: a payment
    /// counts once, a reversed one stops counting, a later one counts again.
    #[test]
    fn paid_periods_follow_payments_and_reversals() {
        let dir = tempfile::tempdir().expect("dir");
        let init = GroupInit {
            group: GroupId::parse("230101-007").expect("group"),
            name: "กลุ่มสัจจะบ้านหนองบัว".into(),
            tambon: "230101".into(),
            province: "23".into(),
            opened_on: date("2026-01-01"),
            rules: Rules::default(),
        };
        let key = SigningKey::from_seed(&[7; 32]).expect("key");
        let mut store = Store::create(&dir.path().join("ledger.sqlite"), init, key).expect("store");
        let joined = Body::MemberJoined {
            member: MemberNo(1),
            birth_year: 1970,
            sex: Sex::Female,
        };
        store.append(date("2026-01-02"), joined).expect("join");
        let december = date("2026-12-01").month();
        let mut paid = PaidPeriods::default();
        let first = store
            .append(date("2026-12-01"), contribution(1, 30, "2026-12-01"))
            .expect("pay");
        paid.update(&store).expect("update");
        assert_eq!(paid.paid(MemberNo(1), december), Money::from_baht(30));
        let reversal = Body::Reversal {
            reversed_seq: first,
            reason: "typed for the wrong member".into(),
        };
        store.append(date("2026-12-01"), reversal).expect("reverse");
        paid.update(&store).expect("update");
        assert_eq!(paid.paid(MemberNo(1), december), Money::ZERO);
        store
            .append(date("2026-12-02"), contribution(1, 30, "2026-12-01"))
            .expect("pay again");
        paid.update(&store).expect("update");
        assert_eq!(paid.paid(MemberNo(1), december), Money::from_baht(30));
        // A fresh reader of the same log agrees with the incremental one.
        let mut fresh = PaidPeriods::default();
        fresh.update(&store).expect("update");
        assert_eq!(fresh.paid(MemberNo(1), december), Money::from_baht(30));
    }
}
