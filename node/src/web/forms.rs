//! What a form's fields become: the entry (date and event body) a benefit
//! or reversal form asks for, shared by the page that checks it and the
//! approvals queue that writes it once a second committee member agrees.

use sajja_common::date::Date;
use sajja_common::event::Body;

use super::pages::{business_today, field, parse_sheet_date};
use crate::compose;
use crate::vocab;

/// The longest reason a proposal keeps (it travels in the event: an
/// override's reason, a reversal's own).
pub const REASON_CHARS_MAX: usize = 200;

/// Checks a proposal's reason: present and within the bound.
pub fn check_reason(reason: &str) -> Result<(), String> {
    if reason.trim().is_empty() {
        return Err("a reason is needed".into());
    }
    if reason.chars().count() > REASON_CHARS_MAX {
        return Err(format!(
            "the reason is longer than {REASON_CHARS_MAX} characters"
        ));
    }
    Ok(())
}

/// The form's values, kept to show the form back as it was typed.
#[derive(Default)]
pub struct BenefitForm {
    pub member: String,
    pub kind: String,
    pub amount: String,
    pub nights: String,
    pub date: String,
    pub channel: String,
    pub reason: String,
}

impl BenefitForm {
    pub fn of(fields: &[(String, String)]) -> BenefitForm {
        BenefitForm {
            member: field(fields, "member").trim().to_string(),
            kind: field(fields, "kind").trim().to_string(),
            amount: field(fields, "amount").trim().to_string(),
            nights: field(fields, "nights").trim().to_string(),
            date: field(fields, "date").trim().to_string(),
            channel: field(fields, "channel").trim().to_string(),
            reason: field(fields, "reason").trim().to_string(),
        }
    }
}

/// The entry a benefit form asks for: `override_reason` set for a committee
/// override. An error names the field in the message.
pub fn benefit_entry(
    fields: &[(String, String)],
    override_reason: Option<&str>,
) -> Result<(Date, Body), String> {
    let form = BenefitForm::of(fields);
    let member = vocab::parse_member(&form.member)?;
    let kind = vocab::parse_benefit_kind(&form.kind)?;
    let amount = vocab::parse_money(&form.amount)?;
    let nights = if form.nights.is_empty() {
        0
    } else {
        vocab::whole_number(&form.nights)
            .ok_or_else(|| format!("'{}' is not a number of nights", form.nights))?
    };
    let date = parse_sheet_date(&form.date)?;
    let channel = if form.channel.is_empty() {
        sajja_common::event::Channel::Cash
    } else {
        vocab::parse_channel(&form.channel)?
    };
    if let Some(reason) = override_reason {
        check_reason(reason)?;
    }
    Ok((
        date,
        compose::benefit(
            member,
            kind,
            amount,
            nights,
            override_reason.map(str::to_string),
            channel,
        ),
    ))
}

/// What an approved override writes (see [`approvals::entry_of`]).
pub fn override_entry(fields: &[(String, String)], reason: &str) -> Result<(Date, Body), String> {
    benefit_entry(fields, Some(reason))
}

/// What a reversal form asks for (see [`approvals::entry_of`]).
pub fn reversal_entry(fields: &[(String, String)], reason: &str) -> Result<(Date, Body), String> {
    let seq = crate::vocab::whole_number(field(fields, "seq"))
        .filter(|seq| *seq >= 1)
        .ok_or_else(|| {
            format!(
                "'{}' is not an entry's sequence number",
                field(fields, "seq")
            )
        })?;
    check_reason(reason)?;
    Ok((
        business_today(),
        compose::reversal(u64::from(seq), reason.trim().to_string()),
    ))
}
