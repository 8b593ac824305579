//! `member add`, `leave`, `edit` and `list`.

use std::path::Path;

use sajja_node::compose;
use sajja_node::report;
use sajja_node::store::{self, RegisterEntry, Store, StoreError};
use sajja_node::vocab;

use super::args::{MemberAddArgs, MemberCommand, MemberEditArgs, MemberListArgs};
use super::shared::{append_composed, open, print_committed, usage};

pub fn member(data_dir: &Path, command: MemberCommand) -> anyhow::Result<()> {
    let mut store = open(data_dir)?;
    match command {
        MemberCommand::Add(args) => add(&mut store, args),
        MemberCommand::Leave(args) => append_composed(&mut store, args.posting.date(), |books| {
            compose::member_leaves(books, args.member, args.reason, args.posting.channel())
        }),
        MemberCommand::Edit(args) => edit(&mut store, args),
        MemberCommand::List(args) if args.csv => sheet(&store, args),
        MemberCommand::List(_) => list(&store),
    }
}

fn add(store: &mut Store, args: MemberAddArgs) -> anyhow::Result<()> {
    let MemberAddArgs {
        name,
        birth_year,
        sex,
        phone,
        id_number,
        joined_on,
    } = args;
    if name.trim().is_empty() {
        return Err(usage("--name must not be empty"));
    }
    let joined_on = joined_on.unwrap_or_else(sajja_edge::clock::today);
    // The number is taken from the books the batch is validated
    // against, so a retry after another process's append takes the next.
    let ((seq, number), _) = store.write(|batch| {
        let number = compose::next_member(batch.books());
        let seq = batch.push_with_register(
            joined_on,
            compose::joining(number, birth_year, sex),
            Some(RegisterEntry {
                member: number,
                name: name.trim().to_string(),
                phone: phone.clone(),
                national_id: id_number.clone(),
            }),
        )?;
        Ok::<_, StoreError>((seq, number))
    })?;
    print_committed(store, seq)?;
    println!("member {number} added");
    Ok(())
}

fn edit(store: &mut Store, args: MemberEditArgs) -> anyhow::Result<()> {
    let MemberEditArgs {
        member,
        name,
        phone,
        id_number,
    } = args;
    if name.is_none() && phone.is_none() && id_number.is_none() {
        return Err(usage(
            "member edit needs --name, --phone or --id-number (the values to correct)",
        ));
    }
    if name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        return Err(usage("--name must not be empty"));
    }
    let entry = store.edit_register(
        member,
        &store::RegisterEdit {
            name,
            phone,
            national_id: id_number,
        },
    )?;
    println!(
        "member {} in this node's register: {}, phone {}, ID number {} (not in the log; nothing to sync)",
        entry.member,
        entry.name,
        entry.phone.as_deref().unwrap_or("-"),
        entry.national_id.as_deref().unwrap_or("-")
    );
    Ok(())
}

/// `member list --csv`: the contribution sheet for the next meeting.
fn sheet(store: &Store, args: MemberListArgs) -> anyhow::Result<()> {
    let MemberListArgs {
        date, with_names, ..
    } = args;
    let register = with_names.then(|| store.register()).transpose()?;
    let date = date.unwrap_or_else(sajja_edge::clock::today);
    report::contribution_sheet(
        store.books(),
        date,
        register.as_ref(),
        std::io::stdout().lock(),
    )?;
    Ok(())
}

fn list(store: &Store) -> anyhow::Result<()> {
    let register = store.register()?;
    let books = store.books();
    println!(
        "{:>6}  {:<10}  {:>5}  {:<8}  {:>14}  {:>14}  name",
        "member", "joined", "born", "status", "savings", "contributed"
    );
    for (number, m) in &books.members {
        let status = match m.left {
            None => "active".to_string(),
            Some((_, reason)) => vocab::leave_word(reason).to_string(),
        };
        let name = register.get(number).map_or("", |r| r.name.as_str());
        println!(
            "{:>6}  {}  {:>5}  {:<8}  {:>14}  {:>14}  {name}",
            number.0,
            m.joined_on,
            m.birth_year,
            status,
            m.savings.to_string(),
            m.contributed.to_string()
        );
    }
    println!("{} active members", books.active_members());
    let unnamed: Vec<String> = books
        .members
        .keys()
        .filter(|n| !register.contains_key(n))
        .map(|n| n.to_string())
        .collect();
    if !unnamed.is_empty() {
        // After a restore: the hub never had the names.
        println!(
            "{} members have no name in this node's register ({}): enter each with `sajja-node member edit N --name NAME`",
            unnamed.len(),
            unnamed.join(", ")
        );
    }
    Ok(())
}
