//! `balance`, `statement`, `log` and `verify`: reading the ledger.

use std::io::Write;
use std::path::Path;

use sajja_common::date::Date;
use sajja_common::ids::MemberNo;
use sajja_common::money::Money;
use sajja_node::report::{self, Passbook};
use sajja_node::store::{self};

use super::shared::{database, log_line, open, refuse};

pub fn balance(data_dir: &Path, as_of: Option<Date>, csv: bool) -> anyhow::Result<()> {
    let store = open(data_dir)?;
    let as_of_books;
    let books = match as_of {
        Some(date) => {
            as_of_books = store.books_as_of(date)?;
            &as_of_books
        }
        None => store.books(),
    };
    let lines = books.trial_balance();
    let mut out = std::io::stdout().lock();
    if csv {
        // The current books hold nothing dated after today (future dates are
        // refused), so they are the books as of today.
        let as_of = as_of.unwrap_or_else(|| {
            let today = sajja_edge::clock::today();
            books.last_date.map_or(today, |last| last.max(today))
        });
        report::balance_csv(books, as_of, out)?;
        return Ok(());
    }
    let when = as_of.map_or_else(
        || format!("at seq {}", store.head().0),
        |d| format!("as of {d}"),
    );
    writeln!(out, "Trial balance of group {} {when}", store.group())?;
    writeln!(out, "{:<36}  {:>16}  {:>16}", "account", "debit", "credit")?;
    let (mut debits, mut credits) = (0i64, 0i64);
    let blank_zero = |m: Money| {
        if m == Money::ZERO {
            String::new()
        } else {
            m.to_string()
        }
    };
    for line in &lines {
        debits += line.debit.satang();
        credits += line.credit.satang();
        writeln!(
            out,
            "{:<36}  {:>16}  {:>16}",
            line.account,
            blank_zero(line.debit),
            blank_zero(line.credit)
        )?;
    }
    writeln!(
        out,
        "{:<36}  {:>16}  {:>16}",
        "total",
        Money::from_satang(debits).to_string(),
        Money::from_satang(credits).to_string()
    )?;
    writeln!(out)?;
    writeln!(out, "Fund summary")?;
    for (item, value) in report::fund_summary(books) {
        writeln!(out, "{item:<36}  {value:>16}")?;
    }
    Ok(())
}

pub fn statement(data_dir: &Path, member: MemberNo, csv: bool) -> anyhow::Result<()> {
    let store = open(data_dir)?;
    if !store.books().members.contains_key(&member) {
        return Err(refuse(
            &store,
            sajja_common::ledger::Rule::UnknownMember(member),
        ));
    }
    let mut passbook = Passbook::new(member);
    store.scan(1, |event| {
        passbook.visit(event);
        true
    })?;
    let out = std::io::stdout().lock();
    if csv {
        let mut writer = csv::Writer::from_writer(out);
        writer.write_record([
            "seq",
            "date",
            "kind",
            "amount",
            "savings_change",
            "savings_balance",
            "note",
        ])?;
        for line in &passbook.lines {
            writer.write_record([
                line.seq.to_string(),
                line.date.to_string(),
                line.kind.to_string(),
                line.amount.to_plain(),
                line.savings_change.to_plain(),
                line.savings_balance.to_plain(),
                line.note.clone(),
            ])?;
        }
        writer.flush()?;
        return Ok(());
    }
    let mut out = out;
    let register = store.register()?;
    let name = register
        .get(&member)
        .map_or(String::new(), |r| format!(" {}", r.name));
    writeln!(
        out,
        "Passbook of member {member}{name}, group {}",
        store.group()
    )?;
    writeln!(
        out,
        "{:>6}  {:<10}  {:<20}  {:>14}  {:>14}  {:>14}  note",
        "seq", "date", "kind", "amount", "savings +/-", "savings"
    )?;
    for line in &passbook.lines {
        writeln!(
            out,
            "{:>6}  {}  {:<20}  {:>14}  {:>14}  {:>14}  {}",
            line.seq,
            line.date,
            line.kind,
            line.amount.to_string(),
            line.savings_change.to_string(),
            line.savings_balance.to_string(),
            line.note
        )?;
    }
    if let Some(m) = store.books().members.get(&member) {
        writeln!(
            out,
            "savings {}, own contributions {}",
            m.savings, m.contributed
        )?;
    }
    Ok(())
}

pub fn log(data_dir: &Path, from: Option<u64>, limit: u64) -> anyhow::Result<()> {
    let store = open(data_dir)?;
    let head = store.head().0;
    let from = from.unwrap_or_else(|| head.saturating_sub(limit.saturating_sub(1)).max(1));
    let reversed = &store.books().reversed;
    let mut shown = 0;
    let mut out = std::io::stdout().lock();
    let mut result = Ok(());
    store.scan(from, |event| {
        if shown >= limit {
            return false;
        }
        shown += 1;
        result = writeln!(out, "{}", log_line(event, reversed.contains(&event.seq)));
        result.is_ok()
    })?;
    Ok(result?)
}

pub fn verify(data_dir: &Path) -> anyhow::Result<()> {
    let report = store::verify(&database(data_dir))?;
    println!(
        "ok: group {} has {} events; chain head {}; derived books equal a re-fold",
        report.group, report.events, report.head
    );
    for seq in report.mismatched_closes {
        println!("warning: the digest of the month closed at seq {seq} differs from the fold");
    }
    Ok(())
}
