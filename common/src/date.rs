//! Calendar dates as whole days, and months as `YYYYMM`.
//!
//! Business dates travel as days since 1970-01-01 so that they are small on the
//! wire and trivially ordered; the civil conversions are Howard Hinnant's
//! exact algorithms for the proleptic Gregorian calendar.

use std::fmt;

use thiserror::Error;

/// A calendar day, counted from 1970-01-01 (day 0).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Date(u32);

/// A calendar month, stored as `year * 100 + month` (e.g. 202610).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Month(u32);

#[derive(Debug, Error, PartialEq, Eq)]
pub enum DateError {
    #[error("'{0}' is not a date: expected YYYY-MM-DD")]
    Format(String),
    #[error("'{0}' is not a month: expected YYYY-MM")]
    MonthFormat(String),
    #[error("year {0} is outside 1900..=2999")]
    YearRange(i64),
    #[error("day {0} is outside the supported range")]
    DayRange(u32),
    #[error("month {0} is not a YYYYMM month")]
    BadMonth(u32),
}

const YEAR_MIN: i64 = 1900;
const YEAR_MAX: i64 = 2999;
/// The last day whose civil year is within `YEAR_MAX` (2999-12-31).
const DAY_MAX: u32 = 376_199;

fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

impl Date {
    /// The first day representable: 1970-01-01. Earlier dates are refused
    /// because no Sajja group kept books before then.
    pub const EPOCH: Date = Date(0);

    pub fn from_days(days: u32) -> Result<Date, DateError> {
        if days > DAY_MAX {
            return Err(DateError::DayRange(days));
        }
        Ok(Date(days))
    }

    pub fn from_ymd(year: i64, month: u32, day: u32) -> Result<Date, DateError> {
        let text = || format!("{year:04}-{month:02}-{day:02}");
        if !(YEAR_MIN..=YEAR_MAX).contains(&year) {
            return Err(DateError::YearRange(year));
        }
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(DateError::Format(text()));
        }
        let days = days_from_civil(year, month, day);
        u32::try_from(days)
            .map(Date)
            .map_err(|_| DateError::Format(text()))
    }

    pub fn days(self) -> u32 {
        self.0
    }

    pub fn ymd(self) -> (i64, u32, u32) {
        civil_from_days(i64::from(self.0))
    }

    pub fn year(self) -> u32 {
        self.ymd().0 as u32
    }

    pub fn month(self) -> Month {
        let (y, m, _) = self.ymd();
        Month(y as u32 * 100 + m)
    }

    /// The same day `months` later, clamped to the end of a shorter month.
    pub fn add_months(self, months: u32) -> Date {
        let (y, m, d) = self.ymd();
        let zero_based = y * 12 + i64::from(m - 1) + i64::from(months);
        let (year, month) = (zero_based / 12, (zero_based % 12) as u32 + 1);
        let day = d.min(days_in_month(year, month));
        Date(days_from_civil(year, month, day).clamp(0, i64::from(DAY_MAX)) as u32)
    }

    pub fn add_days(self, days: u32) -> Date {
        Date(self.0.saturating_add(days).min(DAY_MAX))
    }

    /// The date in Thailand (UTC+7 all year) at `unix_seconds`: a treasurer's
    /// and a hub operator's "today". The caller reads the clock.
    pub fn thai_date_at(unix_seconds: i64) -> Date {
        const THAI_OFFSET_SECONDS: i64 = 7 * 3600;
        let days = (unix_seconds + THAI_OFFSET_SECONDS).div_euclid(86_400);
        Date::from_days(days.clamp(0, i64::from(DAY_MAX)) as u32).unwrap_or(Date::EPOCH)
    }

    /// Whole days from `earlier` to `self`; negative when `self` is earlier.
    pub fn days_since(self, earlier: Date) -> i64 {
        i64::from(self.0) - i64::from(earlier.0)
    }

    /// Whole years completed from `earlier` to `self` (birthday arithmetic).
    pub fn whole_years_since(self, earlier: Date) -> u32 {
        let (y1, m1, d1) = earlier.ymd();
        let (y2, m2, d2) = self.ymd();
        let mut years = y2 - y1;
        if (m2, d2) < (m1, d1) {
            years -= 1;
        }
        years.max(0) as u32
    }
}

impl std::str::FromStr for Date {
    type Err = DateError;

    fn from_str(text: &str) -> Result<Date, DateError> {
        let bad = || DateError::Format(text.to_string());
        let mut parts = text.trim().splitn(3, '-');
        let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return Err(bad());
        }
        let year: i64 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        let day: u32 = d.parse().map_err(|_| bad())?;
        Date::from_ymd(year, month, day)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl Month {
    pub fn new(year: u32, month: u32) -> Result<Month, DateError> {
        Month::from_yyyymm(year * 100 + month)
    }

    pub fn from_yyyymm(value: u32) -> Result<Month, DateError> {
        let (y, m) = (value / 100, value % 100);
        if !(YEAR_MIN as u32..=YEAR_MAX as u32).contains(&y) || !(1..=12).contains(&m) {
            return Err(DateError::BadMonth(value));
        }
        Ok(Month(value))
    }

    pub fn yyyymm(self) -> u32 {
        self.0
    }

    pub fn year(self) -> u32 {
        self.0 / 100
    }

    pub fn month_of_year(self) -> u32 {
        self.0 % 100
    }

    pub fn first_day(self) -> Date {
        Date(days_from_civil(i64::from(self.year()), self.month_of_year(), 1) as u32)
    }

    pub fn last_day(self) -> Date {
        let (y, m) = (i64::from(self.year()), self.month_of_year());
        Date(days_from_civil(y, m, days_in_month(y, m)) as u32)
    }

    /// The month `n` months before this one.
    pub fn minus(self, n: u32) -> Month {
        let zero_based =
            i64::from(self.year()) * 12 + i64::from(self.month_of_year() - 1) - i64::from(n);
        let zero_based = zero_based.max(YEAR_MIN * 12);
        Month((zero_based / 12) as u32 * 100 + (zero_based % 12) as u32 + 1)
    }
}

impl std::str::FromStr for Month {
    type Err = DateError;

    fn from_str(text: &str) -> Result<Month, DateError> {
        let bad = || DateError::MonthFormat(text.to_string());
        let (y, m) = text.trim().split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: u32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        Month::new(year, month).map_err(|_| bad())
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year(), self.month_of_year())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_covers_leap_years_and_month_ends() {
        for text in [
            "1970-01-01",
            "2000-02-29",
            "2024-02-29",
            "2026-12-31",
            "2100-03-01",
        ] {
            let date: Date = text.parse().unwrap();
            assert_eq!(date.to_string(), text);
        }
        assert_eq!("1970-01-02".parse::<Date>().unwrap().days(), 1);
    }

    #[test]
    fn impossible_dates_are_refused() {
        for text in [
            "2023-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-1-1",
            "garbage",
            "1969-12-31",
        ] {
            assert!(text.parse::<Date>().is_err(), "{text} should be refused");
        }
    }

    #[test]
    fn add_months_clamps_to_month_end() {
        let jan31: Date = "2026-01-31".parse().unwrap();
        assert_eq!(jan31.add_months(1).to_string(), "2026-02-28");
        assert_eq!(jan31.add_months(13).to_string(), "2027-02-28");
    }

    #[test]
    fn whole_years_count_birthdays() {
        let joined: Date = "2020-06-15".parse().unwrap();
        assert_eq!(
            "2025-06-14"
                .parse::<Date>()
                .unwrap()
                .whole_years_since(joined),
            4
        );
        assert_eq!(
            "2025-06-15"
                .parse::<Date>()
                .unwrap()
                .whole_years_since(joined),
            5
        );
    }

    #[test]
    fn months_step_back_across_years() {
        let m = Month::new(2026, 2).unwrap();
        assert_eq!(m.minus(2).to_string(), "2025-12");
        assert_eq!(m.last_day().to_string(), "2026-02-28");
    }
}
