//! A group's rules written as TOML by the committee. Every key is optional:
//! what the file leaves out keeps its current value. Amounts are baht, written
//! as an integer (`30`) or a string (`"30.50"`); TOML floats are refused,
//! because money is never a float.

use serde::Deserialize;
use thiserror::Error;

use sajja_common::event::{Rules, Tier};
use sajja_common::money::Money;

use crate::vocab::{parse_percent_basis_points, parse_period};

#[derive(Debug, Error)]
pub enum RulesFileError {
    #[error("rules file: {0}")]
    Toml(String),
    #[error("rules file: {key}: {reason}")]
    Value { key: String, reason: String },
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Amount {
    Baht(i64),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TierFile {
    min_years: u32,
    amount: Amount,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    contribution_amount: Option<Amount>,
    contribution_period: Option<String>,
    waiting_days: Option<u32>,
    childbirth_amount: Option<Amount>,
    sickness_per_night: Option<Amount>,
    sickness_max_nights_per_year: Option<u32>,
    sickness_max_amount_per_year: Option<Amount>,
    death_by_membership_years: Option<Vec<TierFile>>,
    pension_min_age: Option<u32>,
    pension_by_contribution_years: Option<Vec<TierFile>>,
    education_max: Option<Amount>,
    disaster_max: Option<Amount>,
    admin_cap_percent: Option<Amount>,
}

fn money(key: &str, amount: &Amount) -> Result<Money, RulesFileError> {
    let value = |reason: String| RulesFileError::Value {
        key: key.to_string(),
        reason,
    };
    match amount {
        Amount::Baht(baht) => baht
            .checked_mul(100)
            .map(Money::from_satang)
            .ok_or_else(|| value("too large".into())),
        Amount::Text(text) => Money::parse_baht(text).map_err(|e| value(e.to_string())),
    }
}

fn tiers(key: &str, tiers: &[TierFile]) -> Result<Vec<Tier>, RulesFileError> {
    tiers
        .iter()
        .map(|t| {
            Ok(Tier {
                min_years: t.min_years,
                amount: money(key, &t.amount)?,
            })
        })
        .collect()
}

/// Applies a rules file over `current`.
pub fn parse(text: &str, current: &Rules) -> Result<Rules, RulesFileError> {
    let file: RulesFile = toml::from_str(text).map_err(|e| RulesFileError::Toml(e.to_string()))?;
    let mut rules = current.clone();
    let set_money = |target: &mut Money, key: &str, value: &Option<Amount>| {
        if let Some(v) = value {
            *target = money(key, v)?;
        }
        Ok::<(), RulesFileError>(())
    };
    set_money(
        &mut rules.contribution_amount,
        "contribution_amount",
        &file.contribution_amount,
    )?;
    set_money(
        &mut rules.childbirth_amount,
        "childbirth_amount",
        &file.childbirth_amount,
    )?;
    set_money(
        &mut rules.sickness_per_night,
        "sickness_per_night",
        &file.sickness_per_night,
    )?;
    set_money(
        &mut rules.sickness_max_amount_per_year,
        "sickness_max_amount_per_year",
        &file.sickness_max_amount_per_year,
    )?;
    set_money(
        &mut rules.education_max,
        "education_max",
        &file.education_max,
    )?;
    set_money(&mut rules.disaster_max, "disaster_max", &file.disaster_max)?;
    if let Some(period) = &file.contribution_period {
        rules.contribution_period =
            parse_period(period).map_err(|reason| RulesFileError::Value {
                key: "contribution_period".into(),
                reason,
            })?;
    }
    if let Some(v) = file.waiting_days {
        rules.waiting_days = v;
    }
    if let Some(v) = file.sickness_max_nights_per_year {
        rules.sickness_max_nights_per_year = v;
    }
    if let Some(v) = file.pension_min_age {
        rules.pension_min_age = v;
    }
    if let Some(t) = &file.death_by_membership_years {
        rules.death_by_membership_years = tiers("death_by_membership_years", t)?;
    }
    if let Some(t) = &file.pension_by_contribution_years {
        rules.pension_by_contribution_years = tiers("pension_by_contribution_years", t)?;
    }
    if let Some(cap) = &file.admin_cap_percent {
        let text = match cap {
            Amount::Baht(n) => n.to_string(),
            Amount::Text(t) => t.clone(),
        };
        rules.admin_cap_basis_points =
            parse_percent_basis_points(&text).map_err(|reason| RulesFileError::Value {
                key: "admin_cap_percent".into(),
                reason,
            })?;
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rules_file_overrides_only_what_it_names() {
        let rules = parse(
            "contribution_amount = 365\ncontribution_period = \"yearly\"\nsickness_per_night = \"150.50\"\n\
             death_by_membership_years = [{ min_years = 0, amount = 3000 }]\n",
            &Rules::default(),
        )
        .unwrap();
        assert_eq!(rules.contribution_amount, Money::from_baht(365));
        assert_eq!(rules.sickness_per_night, Money::from_satang(15_050));
        assert_eq!(rules.death_by_membership_years.len(), 1);
        assert_eq!(rules.waiting_days, Rules::default().waiting_days);
    }

    #[test]
    fn floats_and_unknown_keys_are_refused() {
        assert!(parse("contribution_amount = 30.5", &Rules::default()).is_err());
        assert!(parse("contributions = 30", &Rules::default()).is_err());
        assert!(parse("childbirth_amount = \"1.005\"", &Rules::default()).is_err());
    }
}
