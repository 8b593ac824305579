//! Tables a person can read: Thai text aligned by display width.

use std::fmt::Write;

use sajja_common::{Date, Money};

use crate::positions::GroupLine;

/// Display width of text in a terminal: Thai combining vowels and tone marks
/// take no column of their own.
pub fn display_width(text: &str) -> usize {
    text.chars()
        .filter(|c| {
            let c = *c as u32;
            // Thai above/below vowels and tone marks (combining, zero width).
            !(c == 0x0E31 || (0x0E34..=0x0E3A).contains(&c) || (0x0E47..=0x0E4E).contains(&c))
        })
        .count()
}

fn pad(text: &str, width: usize) -> String {
    let mut out = text.to_string();
    for _ in display_width(text)..width {
        out.push(' ');
    }
    out
}

fn truncate(text: &str, width: usize) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if display_width(&out) >= width {
            break;
        }
        out.push(c);
    }
    out
}

fn baht(m: Money) -> String {
    // Whole baht keep wide tables readable; satang stay in the CSV and JSON.
    let whole = Money::from_satang(m.satang() / 100 * 100).to_string();
    whole.trim_end_matches(".00").to_string()
}

const NAME_WIDTH: usize = 24;

pub fn group_table(lines: &[GroupLine], as_of: Date) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Groups as of {as_of} (amounts in baht)");
    let _ = writeln!(
        out,
        "{} {} {:>7} {:>11} {:>11} {:>11} {:>11} {:>11} {:>6} {:>6}  status",
        pad("group", 10),
        pad("name", NAME_WIDTH),
        "members",
        "welfare",
        "savings",
        "loans",
        "pool dep.",
        "reserve",
        "PAR30%",
        "events"
    );
    for line in lines {
        let p = &line.position;
        let status = if line.forked { "FORKED" } else { "ok" };
        let par = p.par30_basis_points();
        let _ = writeln!(
            out,
            "{} {} {:>7} {:>11} {:>11} {:>11} {:>11} {:>11} {:>3}.{:02} {:>6}  {status}",
            pad(line.group.as_str(), 10),
            pad(&truncate(&line.name, NAME_WIDTH), NAME_WIDTH),
            p.active_members,
            baht(p.welfare_fund),
            baht(p.member_savings),
            baht(p.loans_outstanding),
            baht(p.pool_deposits),
            baht(p.reserve_pledged),
            par / 100,
            par % 100,
            line.seq,
        );
    }
    out
}

fn percent(basis_points: Option<i64>) -> String {
    match basis_points {
        Some(bp) => format!("{}.{:02}%", bp / 100, (bp % 100).abs()),
        None => "-".into(),
    }
}

pub fn pool_table(pools: &[sajja_common::position::PoolPosition], as_of: Date) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Pooled funds as of {as_of} (amounts in baht)");
    let _ = writeln!(
        out,
        "{:<12} {:>11} {:>11} {:>11} {:>11} {:>9} {:>8} {:>11} {:>9} {:>9}  alert",
        "pool",
        "deposits",
        "loans",
        "reserve",
        "obligation",
        "ratio",
        "policy",
        "headroom",
        "w/o top1",
        "w/o top3"
    );
    for p in pools {
        let policy = p.min_reserve_ratio_basis_points.map(i64::from);
        let alert = if p.below_policy() {
            "RESERVE BELOW POLICY"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "{:<12} {:>11} {:>11} {:>11} {:>11} {:>9} {:>8} {:>11} {:>9} {:>9}  {alert}",
            p.pool.as_str(),
            baht(p.deposits),
            baht(p.loans_to_groups),
            baht(p.reserve),
            baht(p.obligations()),
            percent(p.reserve_ratio_basis_points()),
            percent(policy),
            p.headroom().map_or("-".into(), baht),
            percent(p.ratio_without_largest(1)),
            percent(p.ratio_without_largest(3)),
        );
    }
    out
}
