//! The treasurer's words: the small vocabularies (channels, sources, benefit
//! kinds …) read and printed, numbers, money and dates as typed, and times
//! as a clock in Thailand shows them. Pure: no ledger, no file, no clock.

use sajja_common::date::Date;
use sajja_common::event::{
    BenefitKind, Channel, ContributionPeriod, ExpenseKind, IncomeKind, LeaveReason, LoanPlan, Sex,
    Source,
};
use sajja_common::ids::{LoanNo, MemberNo};
use sajja_common::money::{Money, arabic_digits};

/// Whether the treasurer asked for Thai display (`SAJJA_LANG=th`): times and
/// dates are then shown in the Buddhist era.
pub fn thai_display() -> bool {
    std::env::var("SAJJA_LANG").is_ok_and(|lang| lang.trim().to_ascii_lowercase().starts_with("th"))
}

/// A date as the treasurer reads it: ISO, or Buddhist era in Thai display.
pub fn shown_date(date: Date) -> String {
    if thai_display() {
        date.buddhist_iso()
    } else {
        date.to_string()
    }
}

/// A moment as the treasurer reads a clock in Thailand (UTC+7 all year, no
/// daylight saving): `2026-12-07 17:42`, or `2569-12-07 17:42` in Thai display.
pub fn local_date_time(unix_seconds: i64) -> String {
    date_time_at(unix_seconds, thai_display())
}

/// [`local_date_time`] with the era chosen by the caller.
pub fn date_time_at(unix_seconds: i64, buddhist_era: bool) -> String {
    let (date, minutes) = sajja_edge::web::lang::thai_clock(unix_seconds);
    let day = if buddhist_era {
        date.buddhist_iso()
    } else {
        date.to_string()
    };
    format!("{day} {:02}:{:02}", minutes / 60, minutes % 60)
}

/// A whole number as written, Thai digits too; `None` for anything else
/// (signs, separators, spaces inside).
pub fn whole_number(text: &str) -> Option<u32> {
    let digits = arabic_digits(text.trim());
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

pub fn parse_member(text: &str) -> Result<MemberNo, String> {
    match whole_number(text) {
        Some(n) if n >= 1 => Ok(MemberNo(n)),
        _ => Err(format!("'{text}' is not a member number (1 and up)")),
    }
}

pub fn parse_loan(text: &str) -> Result<LoanNo, String> {
    match whole_number(text) {
        Some(n) if n >= 1 => Ok(LoanNo(n)),
        _ => Err(format!("'{text}' is not a loan number (1 and up)")),
    }
}

pub fn parse_money(text: &str) -> Result<Money, String> {
    Money::parse_baht(text).map_err(|e| e.to_string())
}

/// An exchange's account holder: `member:GROUP:N` (a member of a Sajja
/// group, by the group's member number), `group:GROUP`, `producer`,
/// `enterprise` or `shop`.
pub fn parse_holder(text: &str) -> Result<sajja_common::exchange::HolderKind, String> {
    use sajja_common::exchange::HolderKind;
    let group = |g: &str| sajja_common::ids::GroupId::parse(g).map_err(|e| e.to_string());
    let parts: Vec<&str> = text.split(':').collect();
    match parts.as_slice() {
        ["member", g, n] => Ok(HolderKind::Member {
            group: group(g)?,
            member: parse_member(n)?,
        }),
        ["group", g] => Ok(HolderKind::Group(group(g)?)),
        ["producer"] => Ok(HolderKind::Producer),
        ["enterprise"] => Ok(HolderKind::Enterprise),
        ["shop"] => Ok(HolderKind::Shop),
        _ => Err(format!(
            "'{text}' is not a holder: give member:GROUP:N (e.g. member:230101-001:7), group:GROUP, producer, enterprise or shop"
        )),
    }
}

/// Credits as typed: like an amount (two decimals at most, Thai digits
/// accepted), in the exchange's own unit.
pub fn parse_credits(text: &str) -> Result<sajja_common::exchange::Credits, String> {
    parse_money(text)
        .map(|m| sajja_common::exchange::Credits::from_centi(m.satang()))
        .map_err(|e| format!("{e} (credits are written like amounts: 150 or 12.50)"))
}

/// What a transfer paid for, in English or Thai.
pub fn parse_category(text: &str) -> Result<sajja_common::exchange::Category, String> {
    use sajja_common::exchange::Category;
    match text.trim() {
        "goods" | "สินค้า" => Ok(Category::Goods),
        "produce" | "ผลผลิต" => Ok(Category::Produce),
        "services" | "บริการ" => Ok(Category::Services),
        "labour" | "labor" | "แรงงาน" => Ok(Category::Labour),
        other => Err(format!(
            "'{other}' is not a category: goods (สินค้า), produce (ผลผลิต), services (บริการ) or labour (แรงงาน)"
        )),
    }
}

/// An exchange's account number (1 and up; Thai digits accepted).
pub fn parse_account(text: &str) -> Result<sajja_common::exchange::AccountNo, String> {
    parse_member(text.trim())
        .map(|m| sajja_common::exchange::AccountNo(m.0))
        .map_err(|_| format!("'{text}' is not an account number (1 and up)"))
}

/// Either era, ISO or day/month/year, Thai digits too (`Date::parse_either_era`).
pub fn parse_date(text: &str) -> Result<Date, String> {
    Date::parse_either_era(text).map_err(|e| e.to_string())
}

/// A monthly interest rate in percent with at most two decimals (`1.5` is
/// 1.5% a month), as basis points. Parsed by hand: rates are exact, never floats.
pub fn parse_percent_basis_points(text: &str) -> Result<u32, String> {
    let bad = || format!("'{text}' is not a percentage with at most 2 decimals, e.g. 1.5");
    let trimmed = text.trim().trim_end_matches('%');
    let (whole, fraction) = trimmed.split_once('.').unwrap_or((trimmed, ""));
    if whole.is_empty() || fraction.len() > 2 {
        return Err(bad());
    }
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || !all_digits(fraction) || whole.len() > 5 {
        return Err(bad());
    }
    let whole: u32 = whole.parse().map_err(|_| bad())?;
    let fraction: u32 = format!("{fraction:0<2}").parse().map_err(|_| bad())?;
    Ok(whole * 100 + fraction)
}

/// The table's value for `text`. A table may list several words for one
/// value (English, Thai, a spelling variant); the first is the word printed.
fn one_of<T: Copy + PartialEq>(
    text: &str,
    table: &[(&'static str, T)],
    what: &str,
) -> Result<T, String> {
    let wanted = text.trim().to_ascii_lowercase();
    table
        .iter()
        .find(|(word, _)| *word == wanted)
        .map(|(_, value)| *value)
        .ok_or_else(|| {
            let mut words: Vec<&str> = Vec::new();
            for (word, value) in table {
                // One word per value keeps the message one readable line.
                if word_of(*value, table) == *word {
                    words.push(word);
                }
            }
            format!("'{text}' is not a {what}: expected {}", words.join(", "))
        })
}

/// Thai words treasurers use and the node's earlier spelling (`old-age`),
/// read beside the English words `sajja_common::words` spells (`old_age`,
/// as `log`, CSV and the hubs print it).
const BENEFIT_SYNONYMS: &[(&str, BenefitKind)] = &[
    ("old-age", BenefitKind::OldAge),
    ("คลอดบุตร", BenefitKind::Childbirth),
    ("ป่วย", BenefitKind::Sickness),
    ("ชราภาพ", BenefitKind::OldAge),
    ("ตาย", BenefitKind::Death),
    ("เสียชีวิต", BenefitKind::Death),
    ("การศึกษา", BenefitKind::Education),
    ("ทุนการศึกษา", BenefitKind::Education),
    ("ภัยพิบัติ", BenefitKind::Disaster),
    ("อื่นๆ", BenefitKind::Other),
];

/// A table of the English words of `values` first (the printed ones), then
/// `synonyms`.
fn table_of<T: Copy>(
    values: &[T],
    word: fn(T) -> &'static str,
    synonyms: &[(&'static str, T)],
) -> Vec<(&'static str, T)> {
    values
        .iter()
        .map(|v| (word(*v), *v))
        .chain(synonyms.iter().copied())
        .collect()
}

const SEXES: &[(&str, Sex)] = &[
    ("f", Sex::Female),
    ("m", Sex::Male),
    ("female", Sex::Female),
    ("male", Sex::Male),
];

/// A loan's plan as the treasurer names it (`--plan`, the `plan` column).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanWord {
    Equal,
    Maturity,
    Flexible,
}
const PLANS: &[(&str, PlanWord)] = &[
    ("equal", PlanWord::Equal),
    ("maturity", PlanWord::Maturity),
    ("flexible", PlanWord::Flexible),
    ("งวดเท่ากัน", PlanWord::Equal),
    ("ครบกำหนด", PlanWord::Maturity),
    ("ยืดหยุ่น", PlanWord::Flexible),
];

pub fn parse_plan(text: &str) -> Result<PlanWord, String> {
    one_of(text, PLANS, "loan plan")
}

/// The plan with its final due date: a flexible loan needs one, the others
/// take none (their due dates follow from the term).
pub fn loan_plan(word: PlanWord, due: Option<Date>) -> Result<LoanPlan, String> {
    match (word, due) {
        (PlanWord::Flexible, Some(final_due)) => Ok(LoanPlan::Flexible { final_due }),
        (PlanWord::Flexible, None) => {
            Err("a flexible loan needs its final due date (--due, or the due column)".to_string())
        }
        (_, Some(_)) => Err(
            "only a flexible loan takes a due date; the others fall due by their term".to_string(),
        ),
        (PlanWord::Equal, None) => Ok(LoanPlan::EqualInstalments),
        (PlanWord::Maturity, None) => Ok(LoanPlan::PrincipalAtMaturity),
    }
}

const YES_NO: &[(&str, bool)] = &[
    ("yes", true),
    ("no", false),
    ("y", true),
    ("n", false),
    ("1", true),
    ("0", false),
    ("true", true),
    ("false", false),
    ("ใช่", true),
    ("ไม่", false),
];

/// A yes/no cell (`extra`): an empty cell is no; anything unrecognised is
/// refused rather than guessed.
pub fn parse_yes_no(text: &str) -> Result<bool, String> {
    one_of(text, YES_NO, "yes or no")
}

pub fn parse_channel(text: &str) -> Result<Channel, String> {
    one_of(
        text,
        &table_of(&Channel::ALL, Channel::word, &[]),
        "channel",
    )
}
pub fn parse_source(text: &str) -> Result<Source, String> {
    one_of(
        text,
        &table_of(&Source::ALL, Source::word, &[]),
        "contribution source",
    )
}
pub fn parse_benefit_kind(text: &str) -> Result<BenefitKind, String> {
    one_of(
        text,
        &table_of(&BenefitKind::ALL, BenefitKind::word, BENEFIT_SYNONYMS),
        "benefit kind",
    )
}
pub fn parse_income_kind(text: &str) -> Result<IncomeKind, String> {
    one_of(
        text,
        &table_of(&IncomeKind::ALL, IncomeKind::word, &[]),
        "income kind",
    )
}
pub fn parse_expense_kind(text: &str) -> Result<ExpenseKind, String> {
    one_of(
        text,
        &table_of(&ExpenseKind::ALL, ExpenseKind::word, &[]),
        "expense kind",
    )
}
pub fn parse_leave_reason(text: &str) -> Result<LeaveReason, String> {
    one_of(
        text,
        &table_of(&LeaveReason::ALL, LeaveReason::word, &[]),
        "leave reason",
    )
}
pub fn parse_sex(text: &str) -> Result<Sex, String> {
    one_of(text, SEXES, "sex (f or m)")
}
pub fn parse_period(text: &str) -> Result<ContributionPeriod, String> {
    one_of(
        text,
        &table_of(&ContributionPeriod::ALL, ContributionPeriod::word, &[]),
        "contribution period",
    )
}

fn word_of<T: PartialEq + Copy>(value: T, table: &[(&'static str, T)]) -> &'static str {
    table
        .iter()
        .find(|(_, v)| *v == value)
        .map_or("?", |(w, _)| w)
}

pub fn channel_word(c: Channel) -> &'static str {
    c.word()
}
pub fn source_word(s: Source) -> &'static str {
    s.word()
}
pub fn benefit_word(k: BenefitKind) -> &'static str {
    k.word()
}
pub fn income_word(k: IncomeKind) -> &'static str {
    k.word()
}
pub fn expense_word(k: ExpenseKind) -> &'static str {
    k.word()
}
pub fn leave_word(r: LeaveReason) -> &'static str {
    r.word()
}
pub fn period_word(p: ContributionPeriod) -> &'static str {
    p.word()
}

pub fn channel(bank: bool) -> Channel {
    if bank { Channel::Bank } else { Channel::Cash }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_exact_basis_points() {
        assert_eq!(parse_percent_basis_points("1.5"), Ok(150));
        assert_eq!(parse_percent_basis_points("2"), Ok(200));
        assert_eq!(parse_percent_basis_points("0.25%"), Ok(25));
        for bad in ["1.555", "", "a", "-1", ".5", "1.x"] {
            assert!(parse_percent_basis_points(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn vocabularies_round_trip() {
        // Proves every word is read back, and each kind prints its English word.
        let table = table_of(&BenefitKind::ALL, BenefitKind::word, BENEFIT_SYNONYMS);
        for (word, kind) in &table {
            assert_eq!(parse_benefit_kind(word), Ok(*kind));
            assert!(benefit_word(*kind).is_ascii(), "{word}");
        }
        for (i, (word, kind)) in table.iter().take(7).enumerate() {
            assert_eq!(benefit_word(*kind), *word, "entry {i}");
        }
        assert!(parse_source("government").is_err());
        assert_eq!(parse_channel("BANK"), Ok(Channel::Bank));
    }

    #[test]
    fn benefit_kinds_in_thai_and_both_spellings_of_old_age() {
        // Proves a treasurer can type the benefit kind in Thai, and old-age (the node's earlier spelling) as well as old_age.
        for (word, kind) in [
            ("ป่วย", BenefitKind::Sickness),
            ("คลอดบุตร", BenefitKind::Childbirth),
            ("ตาย", BenefitKind::Death),
            ("เสียชีวิต", BenefitKind::Death),
            ("ชราภาพ", BenefitKind::OldAge),
            ("การศึกษา", BenefitKind::Education),
            ("ทุนการศึกษา", BenefitKind::Education),
            ("ภัยพิบัติ", BenefitKind::Disaster),
            ("อื่นๆ", BenefitKind::Other),
            ("old-age", BenefitKind::OldAge),
            ("old_age", BenefitKind::OldAge),
            (" Old_Age ", BenefitKind::OldAge),
        ] {
            assert_eq!(parse_benefit_kind(word), Ok(kind), "{word}");
        }
        let refused = parse_benefit_kind("holiday").unwrap_err();
        // The refusal names each kind once, in the spelling printed (the hub's).
        assert!(refused.contains("old_age"), "{refused}");
        assert!(!refused.contains("old-age"), "{refused}");
    }

    #[test]
    fn times_are_thai_clock_time_in_either_era() {
        // Proves the offset is +7 all year (no daylight saving) and the day
        // rolls over at Thai midnight, not UTC midnight.
        // 2026-12-07 10:42 UTC is 17:42 in Thailand.
        let afternoon = 1_796_640_120;
        assert_eq!(date_time_at(afternoon, false), "2026-12-07 17:42");
        assert_eq!(date_time_at(afternoon, true), "2569-12-07 17:42");
        // 2026-06-30 17:30 UTC is already 1 July, 00:30, in Thailand.
        assert_eq!(date_time_at(1_782_840_600, false), "2026-07-01 00:30");
    }

    #[test]
    fn member_and_loan_numbers_in_thai_digits() {
        // Proves ๑๒ is member 12 and loan 12, and signs or separators are still refused.
        assert_eq!(parse_member("๑๒"), Ok(MemberNo(12)));
        assert_eq!(parse_loan(" ๓ "), Ok(LoanNo(3)));
        for bad in ["0", "-1", "+1", "1,000", "1 2", "", "๐"] {
            assert!(parse_member(bad).is_err(), "{bad}");
        }
    }
}
