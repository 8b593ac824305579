//! Exact money: integer satang (1 baht = 100 satang). Never a float.

use std::fmt;

use thiserror::Error;

/// An amount in satang. Arithmetic is checked: an overflow is an error, not a wrap.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Money(i64);

/// Why a written amount was refused. Each message is one line and shows the
/// form that would have been accepted, so the treasurer can retype it.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum MoneyError {
    #[error(
        "'{0}' is not an amount in baht: write it like 30 or 30.50 (a comma only between thousands, like 1,250.50)"
    )]
    NotANumber(String),
    /// A comma where a decimal point was probably meant (`30,5`): reading it
    /// as a thousands separator would record ten or a hundred times the money.
    #[error(
        "'{text}' is not an amount in baht: write {suggestion} (a comma only between thousands, like 1,250.50)"
    )]
    DecimalComma { text: String, suggestion: String },
    #[error("'{0}' has more than 2 decimal places (satang)")]
    TooManyDecimals(String),
    #[error("'{0}' is too large")]
    TooLarge(String),
}

/// The largest amount any single event may carry: 10 billion baht. Far above any
/// community fund, far below where sums of many events could overflow an i64.
pub const MAX_AMOUNT_SATANG: i64 = 1_000_000_000_000;

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_satang(satang: i64) -> Money {
        Money(satang)
    }

    pub const fn from_baht(baht: i64) -> Money {
        Money(baht * 100)
    }

    pub const fn satang(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// Parses baht as written by a person: `30`, `30.5`, `1,250.75`, Thai
    /// digits (`๓๐`) too. A comma is accepted only between groups of three
    /// digits; exponents, stray separators and spaces are refused, never
    /// guessed at: `30,5` is refused rather than read as 305. More than two
    /// decimal places is refused rather than rounded. A leading `-` is kept
    /// so the ledger refuses a negative amount with its own rule.
    pub fn parse_baht(text: &str) -> Result<Money, MoneyError> {
        let not_a_number = || MoneyError::NotANumber(text.to_string());
        let written = arabic_digits(text.trim());
        let (negative, unsigned) = match written.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, written.as_str()),
        };
        let (whole, fraction) = match unsigned.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (unsigned, None),
        };
        if let Some(suggestion) = decimal_comma_meant(whole, fraction) {
            return Err(MoneyError::DecimalComma {
                text: text.to_string(),
                suggestion: format!("{}{suggestion}", if negative { "-" } else { "" }),
            });
        }
        let digits = whole_digits(whole).ok_or_else(not_a_number)?;
        let fraction = fraction.unwrap_or("");
        if fraction.contains('.') || !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return Err(not_a_number());
        }
        // `30.` and `.5` are stray separators: refused, the form is 30 or 0.50.
        if unsigned.ends_with('.') || digits.is_empty() {
            return Err(not_a_number());
        }
        // Zeros beyond the satang are harmless (`1.500`); any other digit there
        // would be a fraction of a satang.
        let (satang_digits, beyond) = fraction.split_at(fraction.len().min(2));
        if beyond.bytes().any(|b| b != b'0') {
            return Err(MoneyError::TooManyDecimals(text.to_string()));
        }
        let too_large = || MoneyError::TooLarge(text.to_string());
        // Leading zeros carry no value; only the significant digits can overflow.
        let significant = digits.trim_start_matches('0');
        if significant.len() > 15 {
            return Err(too_large());
        }
        let baht: i64 = if significant.is_empty() {
            0
        } else {
            significant.parse().map_err(|_| too_large())?
        };
        let satang: i64 = format!("{satang_digits:0<2}")
            .parse()
            .map_err(|_| not_a_number())?;
        let total = baht
            .checked_mul(100)
            .and_then(|b| b.checked_add(satang))
            .ok_or_else(too_large)?;
        if total > MAX_AMOUNT_SATANG {
            return Err(too_large());
        }
        Ok(Money(if negative { -total } else { total }))
    }

    /// Baht with two decimals and no grouping, for CSV.
    pub fn to_plain(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

/// Thai digits (๐–๙) as ASCII digits; everything else unchanged. Thai
/// treasurers write either, and both mean the same number.
pub fn arabic_digits(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{0E50}'..='\u{0E59}' => char::from(b'0' + (u32::from(c) - 0x0E50) as u8),
            other => other,
        })
        .collect()
}

/// The whole-baht digits of `whole`, without its thousands separators, if it
/// is plain digits (`1250`) or digits grouped by commas in threes (`1,250`).
/// A grouped number starts with a non-zero digit: `0,300` may mean 0.30.
fn whole_digits(whole: &str) -> Option<String> {
    let is_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !whole.contains(',') {
        return (whole.is_empty() || is_digits(whole)).then(|| whole.to_string());
    }
    let mut groups = whole.split(',');
    let first = groups.next()?;
    if !is_digits(first) || first.len() > 3 || first.starts_with('0') {
        return None;
    }
    let mut digits = first.to_string();
    for group in groups {
        if group.len() != 3 || !is_digits(group) {
            return None;
        }
        digits.push_str(group);
    }
    Some(digits)
}

/// `30,5` or `1,05`: digits, one comma and one or two digits, no point. Such
/// text is a decimal comma, the way many spreadsheets write it; the answer
/// is the amount written with a point, to show in the refusal.
fn decimal_comma_meant(whole: &str, fraction: Option<&str>) -> Option<String> {
    if fraction.is_some() {
        return None;
    }
    let (baht, satang) = whole.split_once(',')?;
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if baht.is_empty() || !digits(baht) || !(1..=2).contains(&satang.len()) || !digits(satang) {
        return None;
    }
    Some(format!("{baht}.{satang:0<2}"))
}

/// An amount in hundredths (satang, or hundredths of an exchange credit)
/// with thousands separators and two decimals: `1,250.75`.
pub fn hundredths_text(hundredths: i64) -> String {
    let sign = if hundredths < 0 { "-" } else { "" };
    let abs = hundredths.unsigned_abs();
    let whole = (abs / 100).to_string();
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}.{:02}", abs % 100)
}

impl fmt::Display for Money {
    /// Baht with thousands separators and two decimals: `1,250.75`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&hundredths_text(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_a_treasurer_types() {
        assert_eq!(Money::parse_baht("30").unwrap().satang(), 3000);
        assert_eq!(Money::parse_baht("30.5").unwrap().satang(), 3050);
        assert_eq!(Money::parse_baht("1,250.75").unwrap().satang(), 125_075);
        assert_eq!(Money::parse_baht("-2.10").unwrap().satang(), -210);
        assert_eq!(Money::parse_baht("1.500").unwrap().satang(), 150);
    }

    #[test]
    fn refuses_fractions_of_a_satang_and_nonsense() {
        assert!(matches!(
            Money::parse_baht("1.005"),
            Err(MoneyError::TooManyDecimals(_))
        ));
        assert!(matches!(
            Money::parse_baht("0.000000000000000000000000000001"),
            Err(MoneyError::TooManyDecimals(_))
        ));
        assert!(matches!(
            Money::parse_baht("abc"),
            Err(MoneyError::NotANumber(_))
        ));
        assert!(matches!(
            Money::parse_baht("99999999999999"),
            Err(MoneyError::TooLarge(_))
        ));
    }

    #[test]
    fn displays_grouped_baht() {
        assert_eq!(Money::from_satang(123_456_789).to_string(), "1,234,567.89");
        assert_eq!(Money::from_satang(-5).to_string(), "-0.05");
        assert_eq!(Money::from_satang(100_000).to_plain(), "1000.00");
    }
}
