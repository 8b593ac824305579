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
