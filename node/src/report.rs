//! What the treasurer reads: one-line event summaries, the fund summary and a
//! member's passbook. Everything here names members by number only; names are
//! joined in by the CLI from the local register, and only where it prints to
//! the treasurer's own screen.

use std::collections::BTreeMap;

use sajja_common::date::Date;
use sajja_common::event::{Body, Event, LoanPlan, Rules, Sex};
use sajja_common::ids::{LoanNo, MemberNo};
use sajja_common::ledger::Books;
use sajja_common::money::Money;

use crate::vocab::{
    benefit_word, channel_word, expense_word, income_word, leave_word, period_word, source_word,
};

/// One line describing an event, without the seq and date.
pub fn summary(event: &Event) -> String {
    match &event.body {
        Body::GroupOpened {
            name,
            tambon,
            province,
        } => format!("opened \"{name}\" tambon {tambon} province {province}"),
        Body::RulesChanged(r) => format!(
            "contribution {} {}, waiting {} days",
            r.contribution_amount,
            period_word(r.contribution_period),
            r.waiting_days
        ),
        Body::MemberJoined {
            member,
            birth_year,
            sex,
        } => {
            let sex = match sex {
                Sex::Female => " female",
                Sex::Male => " male",
                Sex::Unstated => "",
            };
            format!("member {member} born {birth_year}{sex}")
        }
        Body::MemberLeft {
            member,
            reason,
            savings_refund,
            channel,
        } => format!(
            "member {member} {}, savings refund {savings_refund} {}",
            leave_word(*reason),
            channel_word(*channel)
        ),
        Body::ContributionReceived {
            member,
            amount,
            period,
            source,
            channel,
            extra,
        } => {
            let who = member.map_or("matching".to_string(), |m| format!("member {m}"));
            format!(
                "{who} {amount} for {period} ({}) {}{}",
                source_word(*source),
                channel_word(*channel),
                if *extra { ", extra payment" } else { "" }
            )
        }
        Body::SavingsDeposited {
            member,
            amount,
            channel,
        }
        | Body::SavingsWithdrawn {
            member,
            amount,
            channel,
        } => format!("member {member} {amount} {}", channel_word(*channel)),
        Body::IncomeReceived {
            kind,
            amount,
            channel,
        } => format!("{} {amount} {}", income_word(*kind), channel_word(*channel)),
        Body::ExpensePaid {
            kind,
            amount,
            channel,
        } => format!(
            "{} {amount} {}",
            expense_word(*kind),
            channel_word(*channel)
        ),
        Body::DividendPaid { year, lines } => {
            let total: i64 = lines.iter().map(|(_, a)| a.satang()).sum();
            format!(
                "year {year}: {} members, {}",
                lines.len(),
                Money::from_satang(total)
            )
        }
        Body::BenefitPaid {
            member,
            kind,
            amount,
            nights,
            committee_override,
            override_reason,
            channel,
        } => {
            let mut line = format!(
                "member {member} {} {amount} {}",
                benefit_word(*kind),
                channel_word(*channel)
            );
            if *nights > 0 {
                line.push_str(&format!(", {nights} nights"));
            }
            if *committee_override {
                line.push_str(&format!(", committee override: {override_reason}"));
            }
            line
        }
        Body::LoanDisbursed {
            loan,
            member,
            principal,
            monthly_interest_basis_points,
            term_months,
            guarantors,
            channel,
            plan,
        } => {
            let guarantors: Vec<String> = guarantors.iter().map(|g| g.to_string()).collect();
            format!(
                "loan {loan} to member {member} {principal} at {}%/month for {term_months} months{}, guarantors [{}] {}",
                percent(*monthly_interest_basis_points),
                plan_words(*plan),
                guarantors.join(" "),
                channel_word(*channel)
            )
        }
        Body::LoanRepaid {
            loan,
            principal,
            interest,
            channel,
        } => format!(
            "loan {loan} principal {principal} interest {interest} {}",
            channel_word(*channel)
        ),
        Body::LoanWrittenOff { loan, principal } => format!("loan {loan} {principal}"),
        Body::CashBanked { amount } | Body::CashDrawn { amount } => amount.to_string(),
        Body::PoolDeposited {
            pool,
            amount,
            channel,
        }
        | Body::PoolWithdrawn {
            pool,
            amount,
            channel,
        }
        | Body::PoolLoanReceived {
            pool,
            amount,
            channel,
        } => format!("pool {pool} {amount} {}", channel_word(*channel)),
        Body::ReservePledged { pool, amount } | Body::ReserveReleased { pool, amount } => {
            format!("pool {pool} {amount}")
        }
        Body::ReserveDrawn {
            pool,
            amount,
            channel,
            exchange,
            exchange_seq,
        } => format!(
            "pool {pool} {amount} {} settles exchange {exchange} seq {exchange_seq}",
            channel_word(*channel)
        ),
        Body::PoolLoanRepaid {
            pool,
            principal,
            interest,
            channel,
        } => format!(
            "pool {pool} principal {principal} interest {interest} {}",
            channel_word(*channel)
        ),
        Body::Reversal {
            reversed_seq,
            reason,
        } => format!("seq {reversed_seq}: {reason}"),
        Body::PeriodClosed {
            month,
            trial_balance_digest,
        } => format!("{month} digest {}", &trial_balance_digest.to_hex()[..16]),
        Body::KeyRotated {
            new_key, old_key, ..
        } => format!(
            "key {} replaced by {}",
            &old_key.to_hex()[..16],
            &new_key.to_hex()[..16]
        ),
    }
}

/// Basis points as a percentage: 150 -> "1.5", 200 -> "2".
pub fn percent(basis_points: u32) -> String {
    let (whole, fraction) = (basis_points / 100, basis_points % 100);
    match fraction {
        0 => whole.to_string(),
        f if f % 10 == 0 => format!("{whole}.{}", f / 10),
        f => format!("{whole}.{f:02}"),
    }
}

/// The fund summary printed under the trial balance, in a fixed order.
pub fn fund_summary(books: &Books) -> Vec<(&'static str, String)> {
    let a = &books.accounts;
    vec![
        ("cash", a.cash.to_string()),
        ("bank", a.bank.to_string()),
        ("welfare_fund", a.welfare_fund.to_string()),
        ("member_savings", a.member_savings.to_string()),
        ("loans_outstanding", a.loans_receivable.to_string()),
        ("pool_deposits", a.pool_deposits().to_string()),
        ("pool_loans", a.pool_loans_payable().to_string()),
        ("reserve_pledged", a.reserve_pledged().to_string()),
        ("income", a.total_income().to_string()),
        ("expenses", a.total_expenses().to_string()),
        ("surplus", a.surplus().to_string()),
        ("active_members", books.active_members().to_string()),
    ]
}

/// The trial balance and the fund summary as CSV (plain amounts), for
/// `balance --csv` and the app's download: the group and the as-of date in
/// every row, so a sheet says whose books it is and when, even once rows of
/// several groups or dates are pasted together.
pub fn balance_csv(
    books: &Books,
    as_of: sajja_common::date::Date,
    out: impl std::io::Write,
) -> Result<(), csv::Error> {
    let mut writer = csv::Writer::from_writer(out);
    let lead = [books.group.to_string(), as_of.to_string()];
    let lead = || lead.iter().map(String::as_str);
    writer.write_record([
        "group", "as_of", "section", "item", "debit", "credit", "amount",
    ])?;
    for line in books.trial_balance() {
        writer.write_record(lead().chain([
            "trial_balance",
            &line.account,
            &line.debit.to_plain(),
            &line.credit.to_plain(),
            "",
        ]))?;
    }
    for (item, value) in fund_summary_plain(books) {
        writer.write_record(lead().chain(["summary", item, "", "", &value]))?;
    }
    writer.flush()?;
    Ok(())
}

/// The columns of the contribution sheet: a subset of what `import` reads,
/// so the filled-in sheet imports as it is.
pub const SHEET_COLUMNS: [&str; 6] = ["date", "kind", "member", "amount", "period", "note"];

/// A sheet to fill in at the next meeting: one `contribute` row per active
/// member dated `date`, amount blank (blank rows import as "not paid"), the
/// note saying the last month the member paid, and their name if `register`
/// is given. The importer ignores the note.
pub fn contribution_sheet(
    books: &Books,
    date: sajja_common::date::Date,
    register: Option<
        &std::collections::BTreeMap<sajja_common::ids::MemberNo, crate::store::RegisterEntry>,
    >,
    out: impl std::io::Write,
) -> Result<(), csv::Error> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(SHEET_COLUMNS)?;
    let date = date.to_string();
    for (number, member) in books.members.iter().filter(|(_, m)| m.is_active()) {
        let last_paid = member
            .paid_periods
            .iter()
            .filter(|((_, source), count)| {
                *source == sajja_common::event::Source::Member && **count > 0
            })
            .map(|((month, _), _)| *month)
            .max();
        let mut note = match last_paid {
            Some(month) => format!("last paid {month}"),
            None => "never paid".to_string(),
        };
        if let Some(entry) = register.and_then(|r| r.get(number)) {
            note = format!("{}; {note}", entry.name);
        }
        writer.write_record([
            date.as_str(),
            "contribute",
            &number.to_string(),
            "",
            "",
            &note,
        ])?;
    }
    writer.flush()?;
    Ok(())
}

/// The same figures in plain form (no grouping), for CSV.
pub fn fund_summary_plain(books: &Books) -> Vec<(&'static str, String)> {
    let a = &books.accounts;
    vec![
        ("cash", a.cash.to_plain()),
        ("bank", a.bank.to_plain()),
        ("welfare_fund", a.welfare_fund.to_plain()),
        ("member_savings", a.member_savings.to_plain()),
        ("loans_outstanding", a.loans_receivable.to_plain()),
        ("pool_deposits", a.pool_deposits().to_plain()),
        ("pool_loans", a.pool_loans_payable().to_plain()),
        ("reserve_pledged", a.reserve_pledged().to_plain()),
        ("income", a.total_income().to_plain()),
        ("expenses", a.total_expenses().to_plain()),
        ("surplus", a.surplus().to_plain()),
        ("active_members", books.active_members().to_string()),
    ]
}

/// One line of a member's passbook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementLine {
    pub seq: u64,
    pub date: Date,
    pub kind: &'static str,
    /// The money the event moved for this member (contribution, benefit, loan …).
    pub amount: Money,
    /// The change to the member's own savings.
    pub savings_change: Money,
    pub savings_balance: Money,
    pub note: String,
}

/// Builds a member's passbook as events stream past, in log order.
#[derive(Default)]
pub struct Passbook {
    member: Option<MemberNo>,
    loans: BTreeMap<LoanNo, MemberNo>,
    /// Seq of each of this member's events with its (amount, savings change),
    /// so a reversal can show the negation.
    mine: BTreeMap<u64, (Money, i64)>,
    savings: i64,
    pub lines: Vec<StatementLine>,
}

impl Passbook {
    pub fn new(member: MemberNo) -> Passbook {
        Passbook {
            member: Some(member),
            ..Passbook::default()
        }
    }

    pub fn visit(&mut self, event: &Event) {
        let Some(me) = self.member else { return };
        let zero = Money::ZERO;
        let (amount, savings_change, note): (Money, i64, String) = match &event.body {
            Body::MemberJoined { member, .. } if *member == me => (zero, 0, "joined".into()),
            Body::MemberLeft {
                member,
                reason,
                savings_refund,
                ..
            } if *member == me => (
                *savings_refund,
                -savings_refund.satang(),
                format!("left: {}", leave_word(*reason)),
            ),
            Body::ContributionReceived {
                member: Some(member),
                amount,
                period,
                source,
                ..
            } if *member == me => (
                *amount,
                0,
                format!("contribution {period} ({})", source_word(*source)),
            ),
            Body::SavingsDeposited { member, amount, .. } if *member == me => {
                (*amount, amount.satang(), "savings deposit".into())
            }
            Body::SavingsWithdrawn { member, amount, .. } if *member == me => {
                (*amount, -amount.satang(), "savings withdrawal".into())
            }
            Body::DividendPaid { year, lines } => {
                match lines.iter().find(|(member, _)| *member == me) {
                    Some((_, amount)) => (*amount, amount.satang(), format!("dividend {year}")),
                    None => return,
                }
            }
            Body::BenefitPaid {
                member,
                kind,
                amount,
                ..
            } if *member == me => (*amount, 0, format!("benefit: {}", benefit_word(*kind))),
            Body::LoanDisbursed {
                loan,
                member,
                principal,
                ..
            } => {
                self.loans.insert(*loan, *member);
                if *member != me {
                    return;
                }
                (*principal, 0, format!("loan {loan} disbursed"))
            }
            Body::LoanRepaid {
                loan,
                principal,
                interest,
                ..
            } if self.loans.get(loan) == Some(&me) => (
                Money::from_satang(principal.satang() + interest.satang()),
                0,
                format!("loan {loan} repaid: principal {principal}, interest {interest}"),
            ),
            Body::LoanWrittenOff { loan, principal } if self.loans.get(loan) == Some(&me) => {
                (*principal, 0, format!("loan {loan} written off"))
            }
            Body::Reversal {
                reversed_seq,
                reason,
            } => match self.mine.get(reversed_seq) {
                Some((amount, change)) => (
                    Money::from_satang(-amount.satang()),
                    -change,
                    format!("reverses seq {reversed_seq}: {reason}"),
                ),
                None => return,
            },
            _ => return,
        };
        self.savings += savings_change;
        self.mine.insert(event.seq, (amount, savings_change));
        self.lines.push(StatementLine {
            seq: event.seq,
            date: event.date,
            kind: event.body.kind(),
            amount,
            savings_change: Money::from_satang(savings_change),
            savings_balance: Money::from_satang(self.savings),
            note,
        });
    }
}

/// The rules as the treasurer reads them, one `key = value` per line (the same
/// keys a rules file uses).
pub fn rules_lines(rules: &Rules) -> Vec<(String, String)> {
    let tiers = |tiers: &[sajja_common::event::Tier]| {
        let parts: Vec<String> = tiers
            .iter()
            .map(|t| format!("{}y: {}", t.min_years, t.amount))
            .collect();
        parts.join(", ")
    };
    vec![
        (
            "contribution_amount".into(),
            rules.contribution_amount.to_string(),
        ),
        (
            "contribution_period".into(),
            period_word(rules.contribution_period).into(),
        ),
        ("waiting_days".into(), rules.waiting_days.to_string()),
        (
            "childbirth_amount".into(),
            rules.childbirth_amount.to_string(),
        ),
        (
            "sickness_per_night".into(),
            rules.sickness_per_night.to_string(),
        ),
        (
            "sickness_max_nights_per_year".into(),
            rules.sickness_max_nights_per_year.to_string(),
        ),
        (
            "sickness_max_amount_per_year".into(),
            rules.sickness_max_amount_per_year.to_string(),
        ),
        (
            "death_by_membership_years".into(),
            tiers(&rules.death_by_membership_years),
        ),
        ("pension_min_age".into(), rules.pension_min_age.to_string()),
        (
            "pension_by_contribution_years".into(),
            tiers(&rules.pension_by_contribution_years),
        ),
        ("education_max".into(), rules.education_max.to_string()),
        ("disaster_max".into(), rules.disaster_max.to_string()),
        (
            "admin_cap_percent".into(),
            percent(rules.admin_cap_basis_points),
        ),
    ]
}

/// How `log` names a loan's plan; the equal-instalment plan (the default, and
/// every loan before plans existed) is not named.
pub fn plan_words(plan: LoanPlan) -> String {
    match plan {
        LoanPlan::EqualInstalments => String::new(),
        LoanPlan::PrincipalAtMaturity => ", principal at maturity".to_string(),
        LoanPlan::Flexible { final_due } => format!(", flexible, all due by {final_due}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_print_without_trailing_zeros() {
        assert_eq!(percent(150), "1.5");
        assert_eq!(percent(200), "2");
        assert_eq!(percent(125), "1.25");
        assert_eq!(percent(5), "0.05");
    }
}
