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
    #[error(
        "'{0}' is not a date: write 2026-12-07, 2569-12-07 (B.E.) or 7/12/2569 (day/month/year, either era)"
    )]
    Format(String),
    /// A two-digit year could be either era (69: 2569 B.E. or 1969?), so it is
    /// refused rather than guessed.
    #[error("'{0}' is ambiguous: write the year in full, like 7/12/2569 or 7/12/2026")]
    AmbiguousYear(String),
    #[error("'{0}' is not a month: write 2026-12 or 2569-12 (B.E.)")]
    MonthFormat(String),
    #[error("year {0} is outside 1900..=2999")]
    YearRange(i64),
    #[error("day {0} is outside the supported range")]
    DayRange(u32),
    #[error("month {0} is not a YYYYMM month")]
    BadMonth(u32),
}

const YEAR_MIN: i64 = 1900;
/// A written year from here on is a Buddhist-era year (B.E. = C.E. + 543):
/// no Sajja group will keep books in 2400 C.E., and B.E. 2400 was 1857 C.E.
const BUDDHIST_ERA_FROM: i64 = 2400;
const BUDDHIST_ERA_OFFSET: i64 = 543;

/// Thai month abbreviations, January first, as printed on Thai documents.
pub const THAI_MONTHS_SHORT: [&str; 12] = [
    "ม.ค.",
    "ก.พ.",
    "มี.ค.",
    "เม.ย.",
    "พ.ค.",
    "มิ.ย.",
    "ก.ค.",
    "ส.ค.",
    "ก.ย.",
    "ต.ค.",
    "พ.ย.",
    "ธ.ค.",
];
const THAI_MONTHS_LONG: [&str; 12] = [
    "มกราคม",
    "กุมภาพันธ์",
    "มีนาคม",
    "เมษายน",
    "พฤษภาคม",
    "มิถุนายน",
    "กรกฎาคม",
    "สิงหาคม",
    "กันยายน",
    "ตุลาคม",
    "พฤศจิกายน",
    "ธันวาคม",
];

/// A written four-digit year in either era, as a C.E. year.
fn common_era(year: i64) -> i64 {
    if year >= BUDDHIST_ERA_FROM {
        year - BUDDHIST_ERA_OFFSET
    } else {
        year
    }
}

fn all_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}
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

impl Date {
    /// A date as Thai people write it: ISO `2026-12-07`, Buddhist-era
    /// `2569-12-07`, day/month/year `7/12/2569` or `07/12/2026`, or the way
    /// [`Date::thai_display`] prints it (`7 ธ.ค. 2569`); Thai digits too. A
    /// four-digit year of 2400 or more is B.E. A two-digit year is refused
    /// as ambiguous; so is month/day order, which only `/` with the day first
    /// is read as (the Thai order, never the American one).
    pub fn parse_either_era(text: &str) -> Result<Date, DateError> {
        let bad = || DateError::Format(text.to_string());
        let written = crate::money::arabic_digits(text.trim());
        let (y, m, d) = if written.contains('-') {
            let mut parts = written.splitn(3, '-');
            let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
                return Err(bad());
            };
            if y.len() != 4 || m.len() != 2 || d.len() != 2 {
                return Err(bad());
            }
            (y, m.to_string(), d)
        } else if written.contains('/') {
            let mut parts = written.splitn(3, '/');
            let (Some(d), Some(m), Some(y)) = (parts.next(), parts.next(), parts.next()) else {
                return Err(bad());
            };
            if !(1..=2).contains(&d.len()) || !(1..=2).contains(&m.len()) {
                return Err(bad());
            }
            if y.len() == 2 && all_digits(y) {
                return Err(DateError::AmbiguousYear(text.to_string()));
            }
            if y.len() != 4 {
                return Err(bad());
            }
            (y, m.to_string(), d)
        } else {
            let mut parts = written.split_whitespace();
            let (Some(d), Some(name), Some(y), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(bad());
            };
            let month = THAI_MONTHS_SHORT
                .iter()
                .chain(THAI_MONTHS_LONG.iter())
                .position(|n| *n == name)
                .ok_or_else(bad)?
                % 12;
            if y.len() == 2 && all_digits(y) {
                return Err(DateError::AmbiguousYear(text.to_string()));
            }
            if !(1..=2).contains(&d.len()) || y.len() != 4 {
                return Err(bad());
            }
            (y, (month + 1).to_string(), d)
        };
        if !all_digits(y) || !all_digits(&m) || !all_digits(d) {
            return Err(bad());
        }
        let year: i64 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        let day: u32 = d.parse().map_err(|_| bad())?;
        Date::from_ymd(common_era(year), month, day).map_err(|e| match e {
            DateError::Format(_) => bad(),
            other => other,
        })
    }

    /// The date for Thai readers: day, abbreviated Thai month, Buddhist-era
    /// year (`7 ธ.ค. 2569`). For screens and printouts; files machines read
    /// keep ISO (`Display`).
    pub fn thai_display(self) -> String {
        let (y, m, d) = self.ymd();
        format!(
            "{d} {} {}",
            THAI_MONTHS_SHORT[(m - 1) as usize],
            y + BUDDHIST_ERA_OFFSET
        )
    }

    /// ISO order with the Buddhist-era year (`2569-12-07`).
    pub fn buddhist_iso(self) -> String {
        let (y, m, d) = self.ymd();
        format!("{:04}-{m:02}-{d:02}", y + BUDDHIST_ERA_OFFSET)
    }
}

impl std::str::FromStr for Date {
    type Err = DateError;

    /// Every date a person or a file gives is read the same way, so a B.E.
    /// year is never taken as a C.E. one: see [`Date::parse_either_era`].
    fn from_str(text: &str) -> Result<Date, DateError> {
        Date::parse_either_era(text)
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
        let written = crate::money::arabic_digits(text.trim());
        let (y, m) = written.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 || !all_digits(y) || !all_digits(m) {
            return Err(bad());
        }
        let year: i64 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        let year = u32::try_from(common_era(year)).map_err(|_| bad())?;
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

    /// Parses `text` as a person's date and compares with `expected`: the ISO
    /// date, or a fragment the one-line refusal must contain.
    fn check(text: &str, expected: Result<&str, &str>) {
        let got = Date::parse_either_era(text);
        match (&got, expected) {
            (Ok(date), Ok(iso)) => assert_eq!(date.to_string(), iso, "{text:?}"),
            (Err(error), Err(fragment)) => {
                let message = error.to_string();
                assert!(message.contains(fragment), "{text:?}: {message:?}");
                assert!(!message.contains('\n'), "{text:?}");
            }
            _ => panic!("{text:?}: got {got:?}, expected {expected:?}"),
        }
        // `FromStr` reads every date the same way.
        assert_eq!(text.parse::<Date>(), got, "{text:?}");
    }

    const FORMS: &str =
        "write 2026-12-07, 2569-12-07 (B.E.) or 7/12/2569 (day/month/year, either era)";

    #[test]
    fn dates_as_thai_people_write_them() {
        // Proves ISO, Buddhist-era, day/month/year in either era and Thai digits all name 7 December 2026.
        check("2026-12-07", Ok("2026-12-07"));
        check("2569-12-07", Ok("2026-12-07"));
        check("7/12/2569", Ok("2026-12-07"));
        check("07/12/2026", Ok("2026-12-07"));
        check("7/12/2026", Ok("2026-12-07"));
        check("๗/๑๒/๒๕๖๙", Ok("2026-12-07"));
        check("๒๕๖๙-๑๒-๐๗", Ok("2026-12-07"));
        check("7 ธ.ค. 2569", Ok("2026-12-07"));
        check("7 ธันวาคม 2569", Ok("2026-12-07"));
        check(" 29/2/2567 ", Ok("2024-02-29"));
        check("2399-01-01", Ok("2399-01-01"));
        // B.E. 2400 is 1857 C.E., before any group's books.
        check("2400-01-01", Err("outside"));
    }

    #[test]
    fn ambiguous_and_invalid_dates_are_refused_with_the_accepted_forms() {
        // Proves a date that is wrong, or could mean two days, is refused and the message shows what to write.
        check("7/12/69", Err("ambiguous: write the year in full"));
        check("7 ธ.ค. 69", Err("ambiguous"));
        check("29/2/2569", Err(FORMS));
        check("31/4/2026", Err(FORMS));
        check("2026/12/07", Err(FORMS));
        check("12-07-2026", Err(FORMS));
        check("7/12", Err(FORMS));
        check("7/12/2569/1", Err(FORMS));
        check("7.12.2569", Err(FORMS));
        check("+7/12/2569", Err(FORMS));
        check("7/-1/2569", Err(FORMS));
        check("007/12/2569", Err(FORMS));
        check("7 Dec 2569", Err(FORMS));
        check("", Err(FORMS));
    }

    #[test]
    fn thai_display_and_buddhist_iso() {
        // Proves a date prints for Thai readers as 7 ธ.ค. 2569 and 2569-12-07, and reads back.
        let date: Date = "2026-12-07".parse().unwrap();
        assert_eq!(date.thai_display(), "7 ธ.ค. 2569");
        assert_eq!(date.buddhist_iso(), "2569-12-07");
        assert_eq!(date.to_string(), "2026-12-07");
        let new_year: Date = "2025-01-01".parse().unwrap();
        assert_eq!(new_year.thai_display(), "1 ม.ค. 2568");
        for day in [0, 59, 20_000, 20_794] {
            let date = Date::from_days(day).unwrap();
            assert_eq!(Date::parse_either_era(&date.thai_display()), Ok(date));
            assert_eq!(Date::parse_either_era(&date.buddhist_iso()), Ok(date));
        }
    }

    #[test]
    fn months_in_either_era() {
        // Proves a period can be written 2569-12 (B.E.) or in Thai digits, and means 2026-12.
        assert_eq!("2569-12".parse::<Month>().unwrap().to_string(), "2026-12");
        assert_eq!("๒๐๒๖-๐๑".parse::<Month>().unwrap().to_string(), "2026-01");
        assert!("2026-1".parse::<Month>().is_err());
        assert!("2026-+1".parse::<Month>().is_err());
    }
}
