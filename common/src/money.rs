//! Exact money: integer satang (1 baht = 100 satang). Never a float.

use std::fmt;

use rust_decimal::Decimal;
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

#[derive(Debug, Error, PartialEq, Eq)]
pub enum MoneyError {
    #[error("'{0}' is not an amount of baht")]
    NotANumber(String),
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

    /// Parses baht as written by a person: `30`, `30.5`, `1,250.75`. More than two
    /// decimal places is refused rather than rounded: money is never silently changed.
    pub fn parse_baht(text: &str) -> Result<Money, MoneyError> {
        let cleaned: String = text.trim().chars().filter(|c| *c != ',').collect();
        let decimal: Decimal = cleaned
            .parse()
            .map_err(|_| MoneyError::NotANumber(text.to_string()))?;
        // rust_decimal rounds digits beyond its 28-place precision instead of
        // refusing them, so count the written fraction digits too.
        let written_fraction = cleaned.split_once('.').map_or("", |(_, f)| f);
        let significant_digits = written_fraction
            .trim_end_matches(['0', '_'])
            .bytes()
            .filter(u8::is_ascii_digit)
            .count();
        let normalized = decimal.normalize();
        if normalized.scale() > 2 || significant_digits > 2 {
            return Err(MoneyError::TooManyDecimals(text.to_string()));
        }
        let too_large = || MoneyError::TooLarge(text.to_string());
        let scaled = normalized
            .checked_mul(Decimal::ONE_HUNDRED)
            .ok_or_else(too_large)?;
        let satang = i64::try_from(scaled).map_err(|_| too_large())?;
        if satang.abs() > MAX_AMOUNT_SATANG {
            return Err(MoneyError::TooLarge(text.to_string()));
        }
        Ok(Money(satang))
    }

    /// Baht with two decimals and no grouping, for CSV.
    pub fn to_plain(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl fmt::Display for Money {
    /// Baht with thousands separators and two decimals: `1,250.75`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let whole = (abs / 100).to_string();
        let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        f.pad(&format!("{sign}{grouped}.{:02}", abs % 100))
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
