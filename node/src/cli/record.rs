//! The commands that write one event from what was typed: contributions,
//! savings, benefits, bank moves, income and expenses, reversals, month
//! closes and rules. Each body is built by `compose`.

use std::fs;
use std::path::{Path, PathBuf};

use sajja_node::compose;
use sajja_node::{report, rules_file};

use super::args::{
    BankArgs, BenefitArgs, ContributeArgs, Dated, ExpenseArgs, IncomeArgs, ReverseArgs, SaveArgs,
    WithdrawArgs,
};
use super::shared::{append, append_composed, open, usage};
use sajja_common::date::Month;
use sajja_node::vocab::parse_member;

pub fn contribute(data_dir: &Path, args: ContributeArgs) -> anyhow::Result<()> {
    let member = match args.member.trim() {
        "-" => None,
        text => Some(parse_member(text).map_err(usage)?),
    };
    let date = args.posting.date();
    let mut store = open(data_dir)?;
    append(
        &mut store,
        date,
        compose::contribution(
            member,
            args.amount,
            args.period.unwrap_or_else(|| date.month()),
            args.source,
            args.posting.channel(),
            args.extra,
        ),
    )
}

pub fn save(data_dir: &Path, args: SaveArgs) -> anyhow::Result<()> {
    let body = compose::saving(args.member, args.amount, args.posting.channel());
    append(&mut open(data_dir)?, args.posting.date(), body)
}

pub fn withdraw(data_dir: &Path, args: WithdrawArgs) -> anyhow::Result<()> {
    let body = compose::withdrawal(args.member, args.amount, args.posting.channel());
    append(&mut open(data_dir)?, args.posting.date(), body)
}

pub fn benefit(data_dir: &Path, args: BenefitArgs) -> anyhow::Result<()> {
    let body = compose::benefit(
        args.member,
        args.kind,
        args.amount,
        args.nights,
        args.override_reason,
        args.posting.channel(),
    );
    append(&mut open(data_dir)?, args.posting.date(), body)
}

pub fn bank(data_dir: &Path, args: BankArgs) -> anyhow::Result<()> {
    append(
        &mut open(data_dir)?,
        args.dated.date.unwrap_or_else(sajja_edge::clock::today),
        compose::bank_move(args.amount, args.draw),
    )
}

pub fn income(data_dir: &Path, args: IncomeArgs) -> anyhow::Result<()> {
    let body = compose::income(args.kind, args.amount, args.posting.channel());
    append(&mut open(data_dir)?, args.posting.date(), body)
}

pub fn expense(data_dir: &Path, args: ExpenseArgs) -> anyhow::Result<()> {
    let body = compose::expense(args.kind, args.amount, args.posting.channel());
    append(&mut open(data_dir)?, args.posting.date(), body)
}

pub fn reverse(data_dir: &Path, args: ReverseArgs) -> anyhow::Result<()> {
    append(
        &mut open(data_dir)?,
        args.dated.date.unwrap_or_else(sajja_edge::clock::today),
        compose::reversal(args.seq, args.reason),
    )
}

pub fn close_month(data_dir: &Path, month: Month, dated: Dated) -> anyhow::Result<()> {
    let mut store = open(data_dir)?;
    append_composed(
        &mut store,
        dated.date.unwrap_or_else(sajja_edge::clock::today),
        |books| Ok(compose::month_close(books, month)),
    )
}

pub fn rules(data_dir: &Path, set: Option<PathBuf>, dated: Dated) -> anyhow::Result<()> {
    let mut store = open(data_dir)?;
    if let Some(path) = set {
        let text =
            fs::read_to_string(&path).map_err(|e| usage(format!("{}: {e}", path.display())))?;
        let rules =
            rules_file::parse(&text, &store.books().rules).map_err(|e| usage(e.to_string()))?;
        append(
            &mut store,
            dated.date.unwrap_or_else(sajja_edge::clock::today),
            compose::rules_change(rules),
        )?;
    }
    for (key, value) in report::rules_lines(&store.books().rules) {
        println!("{key:<30} {value}");
    }
    Ok(())
}
