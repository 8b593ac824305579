//! The English word for each value of the small vocabularies, spelled once:
//! the node's `log` and CSV print these, the hubs' tables, JSON and CSV print
//! them, and the node's import and the rules file read them (with Thai words
//! and older spellings beside them, in `sajja-node`'s vocabulary).

use crate::event::{
    BenefitKind, Channel, ContributionPeriod, ExpenseKind, IncomeKind, LeaveReason, Source,
};

impl Channel {
    pub const ALL: [Channel; 2] = [Channel::Cash, Channel::Bank];

    pub const fn word(self) -> &'static str {
        match self {
            Channel::Cash => "cash",
            Channel::Bank => "bank",
        }
    }
}

impl Source {
    pub const ALL: [Source; 4] = [
        Source::Member,
        Source::LocalGovernment,
        Source::NationalGovernment,
        Source::Donation,
    ];

    pub const fn word(self) -> &'static str {
        match self {
            Source::Member => "member",
            Source::LocalGovernment => "local",
            Source::NationalGovernment => "national",
            Source::Donation => "donation",
        }
    }
}

impl BenefitKind {
    pub const ALL: [BenefitKind; 7] = [
        BenefitKind::Childbirth,
        BenefitKind::Sickness,
        BenefitKind::OldAge,
        BenefitKind::Death,
        BenefitKind::Education,
        BenefitKind::Disaster,
        BenefitKind::Other,
    ];

    pub const fn word(self) -> &'static str {
        match self {
            BenefitKind::Childbirth => "childbirth",
            BenefitKind::Sickness => "sickness",
            BenefitKind::OldAge => "old_age",
            BenefitKind::Death => "death",
            BenefitKind::Education => "education",
            BenefitKind::Disaster => "disaster",
            BenefitKind::Other => "other",
        }
    }
}

impl IncomeKind {
    pub const ALL: [IncomeKind; 4] = [
        IncomeKind::BankInterest,
        IncomeKind::Donation,
        IncomeKind::Fundraising,
        IncomeKind::Fee,
    ];

    pub const fn word(self) -> &'static str {
        match self {
            IncomeKind::BankInterest => "bank-interest",
            IncomeKind::Donation => "donation",
            IncomeKind::Fundraising => "fundraising",
            IncomeKind::Fee => "fee",
        }
    }
}

impl ExpenseKind {
    pub const ALL: [ExpenseKind; 4] = [
        ExpenseKind::Administration,
        ExpenseKind::Meeting,
        ExpenseKind::BankFee,
        ExpenseKind::Other,
    ];

    pub const fn word(self) -> &'static str {
        match self {
            ExpenseKind::Administration => "administration",
            ExpenseKind::Meeting => "meeting",
            ExpenseKind::BankFee => "bank-fee",
            ExpenseKind::Other => "other",
        }
    }
}

impl LeaveReason {
    pub const ALL: [LeaveReason; 3] =
        [LeaveReason::Resigned, LeaveReason::Moved, LeaveReason::Died];

    pub const fn word(self) -> &'static str {
        match self {
            LeaveReason::Resigned => "resigned",
            LeaveReason::Moved => "moved",
            LeaveReason::Died => "died",
        }
    }
}

impl ContributionPeriod {
    pub const ALL: [ContributionPeriod; 4] = [
        ContributionPeriod::Daily,
        ContributionPeriod::Weekly,
        ContributionPeriod::Monthly,
        ContributionPeriod::Yearly,
    ];

    pub const fn word(self) -> &'static str {
        match self {
            ContributionPeriod::Daily => "daily",
            ContributionPeriod::Weekly => "weekly",
            ContributionPeriod::Monthly => "monthly",
            ContributionPeriod::Yearly => "yearly",
        }
    }
}

/// The columns of `sajja-node import`'s CSV (described in `node/README.md`),
/// the one list the importer reads and the activity generator writes. A file
/// uses only those its kinds need, in any order.
pub const IMPORT_COLUMNS: &[&str] = &[
    "date",
    "kind",
    "member",
    "amount",
    "interest",
    "period",
    "source",
    "channel",
    "category",
    "nights",
    "override",
    "pool",
    "loan",
    "rate",
    "term",
    "guarantors",
    "plan",
    "due",
    "extra",
    "reason",
    "seq",
    "month",
    "name",
    "birth_year",
    "sex",
    "phone",
    "id_number",
    "note",
];

/// Display width of text in a terminal: Thai combining vowels and tone marks
/// take no column of their own.
pub fn display_width(text: &str) -> usize {
    text.chars()
        .filter(|c| {
            let c = *c as u32;
            // Thai above/below vowels and tone marks (combining, zero width).
            !(c == 0x0E31 || (0x0E34..=0x0E3A).contains(&c) || (0x0E47..=0x0E4E).contains(&c))
        })
        .count()
}

/// `text` padded with spaces to `width` columns of display width.
pub fn pad(text: &str, width: usize) -> String {
    let mut out = text.to_string();
    for _ in display_width(text)..width {
        out.push(' ');
    }
    out
}
