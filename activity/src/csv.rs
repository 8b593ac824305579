//! A generated log as the CSV that `sajja-node import` reads (the columns of
//! `node/README.md`), so the demo and the end-to-end tests feed real nodes
//! through the treasurer's own import. The node writes the opening events
//! itself at `init`, so they have no rows; `sajja-node import` re-validates
//! every row, so a row written wrongly here is refused there, not misread.

use std::fmt::Write;

use sajja_common::event::{Channel, LoanPlan, Sex};
use sajja_common::words::IMPORT_COLUMNS;
use sajja_common::{Body, Event, Money};
use thiserror::Error;

use crate::log::GroupLog;
use crate::spec::GroupSpec;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum CsvError {
    #[error(
        "event {seq} of group {group} ({kind}) has no import row: the node writes it itself or not at all"
    )]
    NoRow {
        group: String,
        seq: u64,
        kind: &'static str,
    },
}

/// The log's rows after its opening events, with the header. Members are
/// named "สมาชิก N" (the log holds no names; the node's register does).
pub fn import_rows(log: &GroupLog) -> Result<String, CsvError> {
    // Date and kind first, then the other columns in the importer's order.
    let columns: Vec<&str> = IMPORT_COLUMNS
        .iter()
        .copied()
        .filter(|c| !matches!(*c, "date" | "kind"))
        .collect();
    let mut out = String::from("date,kind");
    for column in &columns {
        out.push(',');
        out.push_str(column);
    }
    out.push('\n');
    for event in log.decoded() {
        if matches!(event.body, Body::GroupOpened { .. } | Body::RulesChanged(_)) && event.seq <= 2
        {
            continue;
        }
        let (kind, cells) = row(&event)?;
        let _ = write!(out, "{},{kind}", event.date);
        for column in &columns {
            let value = cells
                .iter()
                .find(|(c, _)| c == column)
                .map_or("", |(_, v)| v.as_str());
            out.push(',');
            out.push_str(&quoted(value));
        }
        out.push('\n');
    }
    Ok(out)
}

/// RFC 4180: a cell with a comma, quote or line break is quoted.
fn quoted(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\"")).into()
    } else {
        cell.into()
    }
}

type Cells = Vec<(&'static str, String)>;

fn amount(m: Money) -> String {
    m.to_plain()
}

fn channel(c: Channel) -> (&'static str, String) {
    ("channel", c.word().to_string())
}

/// One event's kind word and cells.
fn row(event: &Event) -> Result<(&'static str, Cells), CsvError> {
    let n = |v: u32| v.to_string();
    let row = match &event.body {
        Body::MemberJoined {
            member,
            birth_year,
            sex,
        } => {
            let sex = match sex {
                Sex::Female => "f",
                Sex::Male => "m",
                Sex::Unstated => "",
            };
            (
                "member-join",
                vec![
                    ("member", n(member.0)),
                    ("name", format!("สมาชิก {}", member.0)),
                    ("birth_year", n(*birth_year)),
                    ("sex", sex.to_string()),
                ],
            )
        }
        Body::MemberLeft {
            member,
            reason,
            channel: c,
            ..
        } => (
            "member-leave",
            vec![
                ("member", n(member.0)),
                ("reason", reason.word().into()),
                channel(*c),
            ],
        ),
        Body::ContributionReceived {
            member,
            amount: a,
            period,
            source,
            channel: c,
            extra,
        } => (
            "contribute",
            vec![
                ("member", member.map_or("-".into(), |m| n(m.0))),
                ("amount", amount(*a)),
                ("period", period.to_string()),
                ("source", source.word().into()),
                channel(*c),
                ("extra", if *extra { "yes" } else { "no" }.into()),
            ],
        ),
        Body::SavingsDeposited {
            member,
            amount: a,
            channel: c,
        } => (
            "save",
            vec![("member", n(member.0)), ("amount", amount(*a)), channel(*c)],
        ),
        Body::SavingsWithdrawn {
            member,
            amount: a,
            channel: c,
        } => (
            "withdraw",
            vec![("member", n(member.0)), ("amount", amount(*a)), channel(*c)],
        ),
        Body::IncomeReceived {
            kind,
            amount: a,
            channel: c,
        } => (
            "income",
            vec![
                ("category", kind.word().into()),
                ("amount", amount(*a)),
                channel(*c),
            ],
        ),
        Body::ExpensePaid {
            kind,
            amount: a,
            channel: c,
        } => (
            "expense",
            vec![
                ("category", kind.word().into()),
                ("amount", amount(*a)),
                channel(*c),
            ],
        ),
        Body::BenefitPaid {
            member,
            kind,
            amount: a,
            nights,
            committee_override,
            override_reason,
            channel: c,
        } => {
            let mut cells = vec![
                ("member", n(member.0)),
                ("category", kind.word().into()),
                ("amount", amount(*a)),
                ("nights", n(*nights)),
                channel(*c),
            ];
            if *committee_override {
                cells.push(("override", override_reason.clone()));
            }
            ("benefit", cells)
        }
        Body::LoanDisbursed {
            loan,
            member,
            principal,
            monthly_interest_basis_points: rate,
            term_months,
            guarantors,
            channel: c,
            plan,
        } => {
            let guarantors: Vec<String> = guarantors.iter().map(|g| n(g.0)).collect();
            let (plan, due) = match plan {
                LoanPlan::EqualInstalments => ("equal", String::new()),
                LoanPlan::PrincipalAtMaturity => ("maturity", String::new()),
                LoanPlan::Flexible { final_due } => ("flexible", final_due.to_string()),
            };
            (
                "loan-disburse",
                vec![
                    ("loan", n(loan.0)),
                    ("member", n(member.0)),
                    ("amount", amount(*principal)),
                    ("rate", format!("{}.{:02}", rate / 100, rate % 100)),
                    ("term", n(*term_months)),
                    ("guarantors", guarantors.join(" ")),
                    ("plan", plan.into()),
                    ("due", due),
                    channel(*c),
                ],
            )
        }
        Body::LoanRepaid {
            loan,
            principal,
            interest,
            channel: c,
        } => (
            "loan-repay",
            vec![
                ("loan", n(loan.0)),
                ("amount", amount(*principal)),
                ("interest", amount(*interest)),
                channel(*c),
            ],
        ),
        Body::LoanWrittenOff { loan, .. } => ("loan-write-off", vec![("loan", n(loan.0))]),
        Body::CashBanked { amount: a } => ("bank", vec![("amount", amount(*a))]),
        Body::CashDrawn { amount: a } => ("draw", vec![("amount", amount(*a))]),
        Body::PoolDeposited {
            pool,
            amount: a,
            channel: c,
        } => ("pool-deposit", pool_cells(pool, *a, Some(*c))),
        Body::PoolWithdrawn {
            pool,
            amount: a,
            channel: c,
        } => ("pool-withdraw", pool_cells(pool, *a, Some(*c))),
        Body::ReservePledged { pool, amount: a } => ("pool-pledge", pool_cells(pool, *a, None)),
        Body::ReserveReleased { pool, amount: a } => ("pool-release", pool_cells(pool, *a, None)),
        Body::PoolLoanReceived {
            pool,
            amount: a,
            channel: c,
        } => ("pool-borrow", pool_cells(pool, *a, Some(*c))),
        Body::PoolLoanRepaid {
            pool,
            principal,
            interest,
            channel: c,
        } => {
            let mut cells = pool_cells(pool, *principal, Some(*c));
            cells.push(("interest", amount(*interest)));
            ("pool-repay", cells)
        }
        Body::Reversal {
            reversed_seq,
            reason,
        } => (
            "reverse",
            vec![
                ("seq", reversed_seq.to_string()),
                ("reason", reason.clone()),
            ],
        ),
        Body::PeriodClosed { month, .. } => ("close-month", vec![("month", month.to_string())]),
        other => {
            return Err(CsvError::NoRow {
                group: event.group.to_string(),
                seq: event.seq,
                kind: other.kind(),
            });
        }
    };
    Ok(row)
}

fn pool_cells(pool: &sajja_common::PoolId, a: Money, c: Option<Channel>) -> Cells {
    let mut cells = vec![("pool", pool.to_string()), ("amount", amount(a))];
    cells.extend(c.map(channel));
    cells
}

/// A year of `spec`'s group from [`OPENED_ON`](crate::OPENED_ON), as import
/// rows: what the demo and the end-to-end tests give each node.
pub fn year(spec: &GroupSpec) -> Result<String, CsvError> {
    import_rows(&crate::group_log(spec, crate::Stop::Months(12)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Stop, group_log, province};

    #[test]
    fn every_generated_event_after_the_opening_has_one_row() {
        // Proves the demo's nodes get the whole year: a row per event, each
        // with as many cells as the header.
        for spec in province(6, 3) {
            let log = group_log(&spec, Stop::Months(13));
            assert_eq!(log.refused, 0, "{}", spec.group);
            let text = import_rows(&log).expect("rows");
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines.len() - 1, log.events.len() - 2, "{}", spec.group);
            let width = lines[0].split(',').count();
            assert!(lines.iter().all(|l| l.split(',').count() == width));
            for kind in [
                "member-join",
                "contribute",
                "loan-repay",
                "close-month",
                "pool-pledge",
            ] {
                assert!(
                    text.contains(&format!(",{kind},")),
                    "{kind} in {}",
                    spec.group
                );
            }
        }
    }

    #[test]
    fn a_row_is_written_with_the_words_the_import_reads() {
        let spec = &province(1, 5)[0];
        let text = year(spec).expect("rows");
        let repay = text
            .lines()
            .find(|l| l.contains(",pool-repay,"))
            .unwrap_or_default();
        let join = text
            .lines()
            .find(|l| l.contains(",member-join,"))
            .expect("a join");
        // Member 1 joins first, named as the node's register names members.
        assert!(
            join.contains(",member-join,1,") && join.contains(",สมาชิก 1,"),
            "{join}"
        );
        assert!(
            text.contains(",national,bank,"),
            "government matching by bank"
        );
        if spec.seed.is_multiple_of(2) {
            assert!(repay.contains("10000.00"), "{repay}");
        }
    }
}
