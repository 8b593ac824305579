//! `debug append-loop`: appends until killed, for the crash tests.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use sajja_common::event::Source;
use sajja_common::ids::MemberNo;
use sajja_common::money::Money;
use sajja_node::compose;
use sajja_node::store::RegisterEntry;
use sajja_node::vocab;

use super::shared::open;

/// Appends forever (or `count` rounds) so a test can kill the process at any
/// moment. Each round is one transaction of one to three events.
pub fn append_loop(data_dir: &Path, count: u64) -> anyhow::Result<()> {
    let mut store = open(data_dir)?;
    let date = store
        .books()
        .last_date
        .context("the ledger has no events")?;
    let mut out = std::io::stdout().lock();
    for round in 0..count {
        let mut batch = store.begin()?;
        if batch.books().members.len() < 3 || round % 50 == 0 {
            let member = compose::next_member(batch.books());
            batch.push_with_register(
                date,
                compose::joining(member, 1970, None),
                Some(RegisterEntry {
                    member,
                    name: format!("loop {member}"),
                    phone: None,
                    national_id: None,
                }),
            )?;
        }
        let members = batch.books().members.len() as u64;
        let member = MemberNo((round % members) as u32 + 1);
        batch.push(
            date,
            compose::saving(member, Money::from_baht(10), vocab::channel(false)),
        )?;
        if round % 2 == 0 {
            batch.push(
                date,
                // `extra`: the loop pays the same members many times a month.
                compose::contribution(
                    Some(member),
                    Money::from_baht(30),
                    date.month(),
                    Source::Member,
                    vocab::channel(round % 4 == 0),
                    true,
                ),
            )?;
        }
        if round % 3 == 0 {
            batch.push(
                date,
                compose::withdrawal(member, Money::from_baht(5), vocab::channel(false)),
            )?;
        }
        let committed = batch.commit()?;
        if let Some((_, last)) = committed {
            writeln!(out, "appended {last}")?;
            out.flush()?;
        }
    }
    Ok(())
}
