//! `loan disburse`, `repay`, `write-off` and `list`.

use std::path::Path;

use sajja_common::date::Date;
use sajja_node::compose::{self, LoanRequest};
use sajja_node::report;
use sajja_node::store::Store;
use sajja_node::vocab;

use super::args::{LoanCommand, LoanDisburseArgs};
use super::shared::{append, append_composed, open, usage};

pub fn loan(data_dir: &Path, command: LoanCommand) -> anyhow::Result<()> {
    let mut store = open(data_dir)?;
    match command {
        LoanCommand::Disburse(args) => disburse(&mut store, args),
        LoanCommand::Repay(args) => append(
            &mut store,
            args.posting.date(),
            compose::loan_repayment(
                args.loan,
                args.principal,
                args.interest,
                args.posting.channel(),
            ),
        ),
        LoanCommand::WriteOff { loan, dated } => append_composed(
            &mut store,
            dated.date.unwrap_or_else(sajja_edge::clock::today),
            |books| compose::loan_write_off(books, loan),
        ),
        LoanCommand::List { date } => list(&store, date),
    }
}

fn disburse(store: &mut Store, args: LoanDisburseArgs) -> anyhow::Result<()> {
    let request = LoanRequest {
        loan: args.loan,
        member: args.member,
        principal: args.principal,
        monthly_interest_basis_points: args.rate,
        term_months: args.term,
        guarantors: args.guarantors,
        channel: args.posting.channel(),
        plan: vocab::loan_plan(args.plan, args.due).map_err(usage)?,
    };
    append_composed(store, args.posting.date(), |books| {
        Ok(compose::loan_disbursal(books, &request))
    })
}

fn list(store: &Store, date: Option<Date>) -> anyhow::Result<()> {
    // A date in the past shows the books as they stood at its end:
    // outstanding then, and no loan disbursed after it.
    let as_of_books;
    let books = match date {
        Some(date) => {
            as_of_books = store.books_as_of(date)?;
            &as_of_books
        }
        None => store.books(),
    };
    let date = date.unwrap_or_else(sajja_edge::clock::today);
    println!(
        "{:>4}  {:>6}  {:<10}  {:>14}  {:>14}  {:>6}  {:>5}  {:>14}  {:>5}",
        "loan",
        "member",
        "disbursed",
        "principal",
        "outstanding",
        "%/mo",
        "term",
        "overdue",
        "days"
    );
    for (number, l) in &books.loans {
        let arrears = l.arrears_on(date);
        println!(
            "{:>4}  {:>6}  {}  {:>14}  {:>14}  {:>6}  {:>5}  {:>14}  {:>5}",
            number.0,
            l.member.0,
            l.disbursed_on,
            l.principal.to_string(),
            l.outstanding().to_string(),
            report::percent(l.monthly_interest_basis_points),
            l.term_months,
            arrears.overdue.to_string(),
            arrears.days_past_due
        );
    }
    Ok(())
}
