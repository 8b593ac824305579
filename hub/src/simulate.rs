//! A deterministic year of a group's activity, written as the CSV that
//! `sajja-node import` reads: contributions with local and national matching,
//! savings, benefits under the default rules, loans with some arrears, pool
//! deposits, a reserve pledge, month closes. The demo feeds it to real nodes.
//!
//! The generator tracks the group's cash and fund itself, so every row is one
//! the ledger accepts.

use std::collections::BTreeMap;
use std::fmt::Write;

use sajja_common::{Date, GroupId, Month};

/// The day groups open and members join; activity runs for 12 months after.
pub const OPENED_ON: &str = "2025-10-01";

/// splitmix64: small, fast, and the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

struct Loan {
    number: u32,
    borrower: u32,
    principal: i64,
    repaid: i64,
    defaults_after: Option<u32>,
    month_disbursed: u32,
}

/// The CSV rows, and the group's size.
pub struct Activity {
    pub members: u32,
    pub csv: String,
}

/// A year of activity for one group; `seed` makes each group different and
/// each run the same. Amounts are in baht.
pub fn group_year(group: &GroupId, seed: u64, members: u32) -> Activity {
    let mut rng = Rng(seed ^ 0x5A11A);
    let mut csv = String::from(
        "date,kind,member,name,birth_year,amount,source,category,nights,rate,term,guarantors,loan,interest,pool,month,reason\n",
    );
    let pool = group.tambon().to_string();
    let opened: Date = OPENED_ON.parse().unwrap_or(Date::EPOCH);
    let row = |csv: &mut String, date: Date, kind: &str, fields: &[(&str, String)]| {
        let columns = [
            "member",
            "name",
            "birth_year",
            "amount",
            "source",
            "category",
            "nights",
            "rate",
            "term",
            "guarantors",
            "loan",
            "interest",
            "pool",
            "month",
            "reason",
        ];
        let _ = write!(csv, "{date},{kind}");
        for column in columns {
            let value = fields
                .iter()
                .find(|(c, _)| *c == column)
                .map_or("", |(_, v)| v.as_str());
            let _ = write!(csv, ",{value}");
        }
        csv.push('\n');
    };
    let mut cash: i64 = 0;
    let mut bank: i64 = 0;
    let mut fund: i64 = 0;
    let mut savings: BTreeMap<u32, i64> = BTreeMap::new();
    let mut active: Vec<u32> = Vec::new();
    let mut sick_nights: BTreeMap<u32, u32> = BTreeMap::new();
    for m in 1..=members {
        let birth_year = 1945 + rng.below(50) as u32;
        row(
            &mut csv,
            opened.add_days(rng.below(14) as u32),
            "member-join",
            &[
                ("member", m.to_string()),
                ("name", format!("สมาชิก {m}")),
                ("birth_year", birth_year.to_string()),
            ],
        );
        active.push(m);
        savings.insert(m, 0);
    }
    let mut loans: Vec<Loan> = Vec::new();
    let mut next_loan = 1;
    let mut pool_debt = 0;
    // Moves bank money back to cash when a payment needs it.
    let ensure_cash = |csv: &mut String, date: Date, cash: &mut i64, bank: &mut i64, need: i64| {
        if *cash < need && *bank > 0 {
            let amount = (need - *cash).min(*bank);
            row(csv, date, "draw", &[("amount", amount.to_string())]);
            *cash += amount;
            *bank -= amount;
        }
        *cash >= need
    };
    for month_index in 0..12u32 {
        let first = opened.add_months(month_index + 1);
        let day = |d: u32| first.add_days(d - 1);
        let n = active.len() as i64;
        // Contributions: 30 baht a member, matched 1:1:1 by local and national government.
        for m in &active {
            row(
                &mut csv,
                day(5),
                "contribute",
                &[("member", m.to_string()), ("amount", "30".into())],
            );
        }
        row(
            &mut csv,
            day(5),
            "contribute",
            &[
                ("member", "-".into()),
                ("amount", (30 * n).to_string()),
                ("source", "local".into()),
            ],
        );
        row(
            &mut csv,
            day(5),
            "contribute",
            &[
                ("member", "-".into()),
                ("amount", (30 * n).to_string()),
                ("source", "national".into()),
            ],
        );
        cash += 90 * n;
        fund += 90 * n;
        // Savings (เงินสัจจะ of the savings group): half the members, 100 baht.
        for m in active.iter().filter(|m| m.is_multiple_of(2)) {
            row(
                &mut csv,
                day(6),
                "save",
                &[("member", m.to_string()), ("amount", "100".into())],
            );
            cash += 100;
            *savings.entry(*m).or_default() += 100;
        }
        // Repayments: 10 equal instalments plus 1% a month; some borrowers stop.
        for loan in loans.iter_mut() {
            let left = loan.principal - loan.repaid;
            let months = month_index - loan.month_disbursed;
            if left <= 0 || months == 0 || loan.defaults_after.is_some_and(|d| months > d) {
                continue;
            }
            let principal = (loan.principal / 10).min(left);
            let interest = left / 100;
            row(
                &mut csv,
                day(10),
                "loan-repay",
                &[
                    ("loan", loan.number.to_string()),
                    ("amount", principal.to_string()),
                    ("interest", interest.to_string()),
                ],
            );
            loan.repaid += principal;
            cash += principal + interest;
        }
        // New loans when the cash box allows.
        for _ in 0..2 {
            let principal = 5_000 + 1_000 * rng.below(16) as i64;
            if active.len() < 3
                || !ensure_cash(&mut csv, day(12), &mut cash, &mut bank, principal + 20_000)
            {
                break;
            }
            let borrower = active[rng.below(active.len() as u64) as usize];
            let guarantors: Vec<String> = active
                .iter()
                .filter(|m| **m != borrower)
                .take(2)
                .map(|m| m.to_string())
                .collect();
            row(
                &mut csv,
                day(12),
                "loan-disburse",
                &[
                    ("member", borrower.to_string()),
                    ("amount", principal.to_string()),
                    ("rate", "1".into()),
                    ("term", "10".into()),
                    ("guarantors", guarantors.join(" ")),
                    ("loan", next_loan.to_string()),
                ],
            );
            cash -= principal;
            let defaults_after = (rng.below(8) == 0).then(|| 2 + rng.below(3) as u32);
            loans.push(Loan {
                number: next_loan,
                borrower,
                principal,
                repaid: 0,
                defaults_after,
                month_disbursed: month_index,
            });
            next_loan += 1;
        }
        // Benefits after the 180-day wait: sickness nights, a birth, and in the
        // ninth month a death followed by the member leaving.
        if month_index >= 6 {
            let year_start = first.month().year();
            if first.month() == Month::new(year_start, 1).unwrap_or(first.month()) {
                sick_nights.clear();
            }
            for _ in 0..(1 + active.len() / 40) {
                let m = active[rng.below(active.len() as u64) as usize];
                let nights = 1 + rng.below(3) as u32;
                let used = sick_nights.entry(m).or_default();
                let amount = 100 * i64::from(nights);
                if *used + nights > 10
                    || fund < amount
                    || !ensure_cash(&mut csv, day(15), &mut cash, &mut bank, amount)
                {
                    continue;
                }
                *used += nights;
                row(
                    &mut csv,
                    day(15),
                    "benefit",
                    &[
                        ("member", m.to_string()),
                        ("category", "sickness".into()),
                        ("amount", amount.to_string()),
                        ("nights", nights.to_string()),
                    ],
                );
                cash -= amount;
                fund -= amount;
            }
            if rng.below(3) == 0
                && fund >= 500
                && ensure_cash(&mut csv, day(16), &mut cash, &mut bank, 500)
            {
                let m = active[rng.below(active.len() as u64) as usize];
                row(
                    &mut csv,
                    day(16),
                    "benefit",
                    &[
                        ("member", m.to_string()),
                        ("category", "childbirth".into()),
                        ("amount", "500".into()),
                    ],
                );
                cash -= 500;
                fund -= 500;
            }
            if month_index == 9 && active.len() > 10 && fund >= 2_000 {
                // A member with no loan and no guarantee dies; the fund pays the funeral.
                let owes = |m: u32| {
                    loans
                        .iter()
                        .any(|l| l.borrower == m && l.principal > l.repaid)
                };
                if let Some(pos) = active.iter().rposition(|m| !owes(*m)) {
                    let m = active[pos];
                    let refund = savings.get(&m).copied().unwrap_or(0);
                    if ensure_cash(&mut csv, day(18), &mut cash, &mut bank, 2_000 + refund) {
                        row(
                            &mut csv,
                            day(18),
                            "benefit",
                            &[
                                ("member", m.to_string()),
                                ("category", "death".into()),
                                ("amount", "2000".into()),
                            ],
                        );
                        row(
                            &mut csv,
                            day(18),
                            "member-leave",
                            &[("member", m.to_string()), ("reason", "died".into())],
                        );
                        cash -= 2_000 + refund;
                        fund -= 2_000;
                        savings.insert(m, 0);
                        active.remove(pos);
                    }
                }
            }
        }
        // The tambon network's pooled fund: a deposit, a reserve pledge, a loan.
        if month_index == 2 && ensure_cash(&mut csv, day(20), &mut cash, &mut bank, 5_000) {
            row(
                &mut csv,
                day(20),
                "pool-deposit",
                &[("pool", pool.clone()), ("amount", "5000".into())],
            );
            cash -= 5_000;
        }
        if month_index == 5 && fund > 0 {
            let pledged = fund / 10;
            row(
                &mut csv,
                day(20),
                "pool-pledge",
                &[("pool", pool.clone()), ("amount", pledged.to_string())],
            );
            fund -= pledged;
        }
        if month_index == 7 && seed.is_multiple_of(2) {
            pool_debt = 10_000;
            row(
                &mut csv,
                day(20),
                "pool-borrow",
                &[("pool", pool.clone()), ("amount", "10000".into())],
            );
            cash += 10_000;
        }
        if month_index == 11
            && pool_debt > 0
            && ensure_cash(&mut csv, day(20), &mut cash, &mut bank, 5_100)
        {
            row(
                &mut csv,
                day(20),
                "pool-repay",
                &[
                    ("pool", pool.clone()),
                    ("amount", "5000".into()),
                    ("interest", "100".into()),
                ],
            );
            cash -= 5_100;
        }
        if ensure_cash(&mut csv, day(25), &mut cash, &mut bank, 200) {
            row(
                &mut csv,
                day(25),
                "expense",
                &[("category", "meeting".into()), ("amount", "200".into())],
            );
            cash -= 200;
        }
        if cash > 40_000 {
            let amount = cash - 20_000;
            row(&mut csv, day(28), "bank", &[("amount", amount.to_string())]);
            cash -= amount;
            bank += amount;
        }
        row(
            &mut csv,
            first.add_months(1),
            "close-month",
            &[("month", first.month().to_string())],
        );
    }
    Activity { members, csv }
}
