//! The welfare fund's benefit rules: waiting period, amounts, caps and tiers.
//! A committee override (with a reason) pays what these rules would refuse; it
//! never pays beyond the fund or to someone who is not a member.

use crate::date::Date;
use crate::event::{BenefitKind, Body, Event, LeaveReason, Rules, Tier};
use crate::ids::MemberNo;
use crate::ledger::{Books, Member, Rule, dated_rules_apply, positive};
use crate::money::Money;

pub(crate) fn check(books: &Books, event: &Event) -> Result<(), Rule> {
    let Body::BenefitPaid {
        member,
        kind,
        amount,
        nights,
        committee_override,
        override_reason,
        ..
    } = &event.body
    else {
        return Ok(());
    };
    positive(*amount)?;
    let m = books.member(*member)?;
    if let Some((_, reason)) = m.left
        && !(*kind == BenefitKind::Death && reason == LeaveReason::Died)
    {
        return Err(if *kind == BenefitKind::Death {
            Rule::BenefitAfterLeaving(*member)
        } else {
            Rule::MemberHasLeft(*member)
        });
    }
    // Once per member, override or not: a second death benefit is a
    // duplicate entry (from the business-date rules on, so old logs fold).
    if *kind == BenefitKind::Death && m.death_benefits > 0 && dated_rules_apply(event) {
        return Err(Rule::DeathBenefitAlreadyPaid(*member));
    }
    let fund = books.accounts.welfare_fund;
    if *amount > fund {
        return Err(Rule::BenefitBeyondFund {
            fund,
            asked: *amount,
        });
    }
    if *committee_override {
        if override_reason.trim().is_empty() {
            return Err(Rule::OverrideWithoutReason);
        }
        return Ok(());
    }

    let rules = &books.rules;
    let date = event.date;
    if date.days_since(m.joined_on) < i64::from(rules.waiting_days) {
        return Err(Rule::WaitingPeriod {
            kind: *kind,
            joined: m.joined_on,
            waiting_days: rules.waiting_days,
        });
    }
    let at_most = |max: Money| {
        if *amount > max {
            Err(Rule::AboveRuleAmount {
                kind: *kind,
                max,
                asked: *amount,
            })
        } else {
            Ok(())
        }
    };
    match kind {
        BenefitKind::Childbirth => at_most(rules.childbirth_amount),
        BenefitKind::Sickness => sickness(m, rules, date, *amount, *nights),
        BenefitKind::OldAge => at_most(pension_max(m, *member, rules, date)?),
        BenefitKind::Death => {
            let years = date.whole_years_since(m.joined_on);
            at_most(
                tier_for(&rules.death_by_membership_years, years)
                    .ok_or(Rule::NoTier { kind: *kind, years })?,
            )
        }
        BenefitKind::Education | BenefitKind::Disaster => {
            let max = if *kind == BenefitKind::Education {
                rules.education_max
            } else {
                rules.disaster_max
            };
            if max == Money::ZERO {
                return Err(Rule::NotOffered(*kind));
            }
            at_most(max)
        }
        BenefitKind::Other => Err(Rule::NeedsCommittee(*kind)),
    }
}

/// A sickness benefit: nights stated, at most the nightly rate, within the
/// yearly caps on nights and amount.
fn sickness(m: &Member, rules: &Rules, date: Date, amount: Money, nights: u32) -> Result<(), Rule> {
    if nights == 0 {
        return Err(Rule::NightsRequired);
    }
    let per_night = rules.sickness_per_night;
    if amount.satang() > per_night.satang().saturating_mul(i64::from(nights)) {
        return Err(Rule::AboveNightlyRate {
            nights,
            per_night,
            asked: amount,
        });
    }
    let (nights_so_far, amount_so_far) = m.sickness.get(&date.year()).copied().unwrap_or_default();
    let nights_would_be = nights_so_far.saturating_add(nights);
    if nights_would_be > rules.sickness_max_nights_per_year {
        return Err(Rule::YearlyNightsCap {
            cap: rules.sickness_max_nights_per_year,
            would_be: nights_would_be,
        });
    }
    let amount_would_be = Money::from_satang(amount_so_far.satang() + amount.satang());
    if amount_would_be > rules.sickness_max_amount_per_year {
        return Err(Rule::YearlyAmountCap {
            cap: rules.sickness_max_amount_per_year,
            would_be: amount_would_be,
        });
    }
    Ok(())
}

/// The most an old-age benefit may pay: from the pension age, by whole
/// years of contributions.
fn pension_max(m: &Member, member: MemberNo, rules: &Rules, date: Date) -> Result<Money, Rule> {
    let age = date.year().saturating_sub(m.birth_year);
    if age < rules.pension_min_age {
        return Err(Rule::BelowPensionAge {
            member,
            age,
            year: date.year(),
            min_age: rules.pension_min_age,
        });
    }
    let annual = rules.contribution_amount.satang() * rules.contribution_period.periods_per_year();
    let years = if annual > 0 {
        (m.contributed.satang() / annual) as u32
    } else {
        0
    };
    tier_for(&rules.pension_by_contribution_years, years).ok_or(Rule::NoTier {
        kind: BenefitKind::OldAge,
        years,
    })
}

/// The amount of the highest tier whose threshold `years` reaches.
fn tier_for(tiers: &[Tier], years: u32) -> Option<Money> {
    tiers
        .iter()
        .rev()
        .find(|t| years >= t.min_years)
        .map(|t| t.amount)
}
