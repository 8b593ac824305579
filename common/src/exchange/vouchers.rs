//! Paper vouchers by serial range: which serials were ever issued (a serial
//! is issued once, ever), which are outstanding, and the value outstanding
//! by business date. Ranges, not single serials, so a printed book of a
//! thousand vouchers is one entry.

use std::collections::BTreeMap;

use super::credits::Credits;
use super::refusal::ExchangeRule;
use crate::date::Date;

/// The most vouchers one event may issue or return.
pub const MAX_VOUCHERS_PER_EVENT: u32 = 10_000;

/// A run of consecutive serials `first..=last` (the map key is `first`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VoucherRun {
    pub last: u32,
    pub denomination: Credits,
    pub issued_on: Date,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Vouchers {
    /// Every range ever issued, by first serial; disjoint.
    pub issued: BTreeMap<u32, VoucherRun>,
    /// The serials outstanding, by first serial; disjoint runs (a return
    /// from the middle of an issued range splits it).
    pub outstanding: BTreeMap<u32, VoucherRun>,
    /// Value issued (+) and returned (−) on each business date, sorted by
    /// date (log order within a date): the value outstanding as of a date is
    /// the sum of the changes dated on or before it.
    pub dated: Vec<(Date, i64)>,
    /// The value outstanding now.
    pub value_outstanding: Credits,
}

/// Checks a range's shape: serials from 1, first ≤ last, at most
/// [`MAX_VOUCHERS_PER_EVENT`] of them. Returns how many.
pub fn count(first: u32, last: u32) -> Result<u32, ExchangeRule> {
    let bad = ExchangeRule::BadSerials {
        first,
        last,
        max: MAX_VOUCHERS_PER_EVENT,
    };
    if first == 0 || last < first || last - first >= MAX_VOUCHERS_PER_EVENT {
        return Err(bad);
    }
    Ok(last - first + 1)
}

/// The run of disjoint `runs` that holds `serial`, if any: the one with the
/// largest first serial at or below it, if it reaches that far.
fn run_holding(runs: &BTreeMap<u32, VoucherRun>, serial: u32) -> Option<(u32, &VoucherRun)> {
    runs.range(..=serial)
        .next_back()
        .filter(|(_, run)| run.last >= serial)
        .map(|(first, run)| (*first, run))
}

impl Vouchers {
    /// The first serial of `first..=last` that was ever issued, if any. The
    /// runs are disjoint, so the one starting last at or before `last` ends
    /// furthest: it overlaps the range iff any run does.
    pub fn first_issued_in(&self, first: u32, last: u32) -> Option<u32> {
        let mut overlaps: Option<u32> = None;
        for (start, run) in self.issued.range(..=last).rev() {
            if run.last < first {
                break;
            }
            overlaps = Some((*start).max(first));
        }
        overlaps
    }

    /// The value of returning `first..=last` on `date`: every serial must be
    /// outstanding and issued on or before `date`. At most
    /// [`MAX_VOUCHERS_PER_EVENT`] steps: each run visited covers at least
    /// one serial of the range.
    pub fn value_of_return(&self, first: u32, last: u32, date: Date) -> Result<i64, ExchangeRule> {
        let mut value: i64 = 0;
        let mut cursor = first;
        loop {
            let Some((_, run)) = run_holding(&self.outstanding, cursor) else {
                return Err(ExchangeRule::VoucherNotOutstanding(cursor));
            };
            if date < run.issued_on {
                return Err(ExchangeRule::ReturnBeforeIssue {
                    serial: cursor,
                    date,
                    issued: run.issued_on,
                });
            }
            let end = run.last.min(last);
            let vouchers = i64::from(end - cursor + 1);
            value = vouchers
                .checked_mul(run.denomination.centi())
                .and_then(|v| value.checked_add(v))
                .ok_or(ExchangeRule::Overflow)?;
            if end == last {
                return Ok(value);
            }
            cursor = end + 1;
        }
    }

    /// Records an issue already checked. (Arithmetic saturates and a
    /// backwards range is ignored, so not even an unchecked hostile event
    /// can panic the fold.)
    pub fn issue(&mut self, first: u32, last: u32, denomination: Credits, date: Date) {
        if last < first {
            return;
        }
        let run = VoucherRun {
            last,
            denomination,
            issued_on: date,
        };
        self.issued.insert(first, run.clone());
        self.outstanding.insert(first, run);
        let value = i64::from(last - first + 1).saturating_mul(denomination.centi());
        self.record(date, value);
    }

    /// Records a return already checked: the runs it covers are cut out of
    /// the outstanding set. Returns the value returned.
    pub fn give_back(&mut self, first: u32, last: u32, date: Date) -> i64 {
        if last < first {
            return 0;
        }
        let touched: Vec<u32> = self
            .outstanding
            .range(..=last)
            .rev()
            .take_while(|(_, run)| run.last >= first)
            .map(|(start, _)| *start)
            .collect();
        let mut value: i64 = 0;
        for start in touched {
            let Some(run) = self.outstanding.remove(&start) else {
                continue;
            };
            if start < first {
                self.outstanding.insert(
                    start,
                    VoucherRun {
                        last: first - 1,
                        ..run.clone()
                    },
                );
            }
            if run.last > last {
                self.outstanding.insert(last + 1, run.clone());
            }
            let covered = i64::from(run.last.min(last) - start.max(first) + 1);
            value = value.saturating_add(covered.saturating_mul(run.denomination.centi()));
        }
        self.record(date, value.saturating_neg());
        value
    }

    fn record(&mut self, date: Date, change: i64) {
        self.value_outstanding =
            Credits::from_centi(self.value_outstanding.centi().saturating_add(change));
        insert_dated(&mut self.dated, date, change);
    }

    /// The value outstanding at the end of `date`.
    pub fn outstanding_as_of(&self, date: Date) -> Credits {
        let sum: i128 = self
            .dated
            .iter()
            .take_while(|(d, _)| *d <= date)
            .map(|(_, change)| i128::from(*change))
            .sum();
        Credits::from_centi(i64::try_from(sum).unwrap_or(i64::MAX))
    }
}

/// Inserts a change on `date` after every change already on or before it,
/// keeping the list sorted by date and in log order within a date. In order
/// (the common case) this is a push.
pub fn insert_dated(dated: &mut Vec<(Date, i64)>, date: Date, change: i64) {
    let at = if dated.last().is_none_or(|(last, _)| *last <= date) {
        dated.len()
    } else {
        dated.partition_point(|(d, _)| *d <= date)
    };
    dated.insert(at, (date, change));
}
