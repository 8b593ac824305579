//! The reader's language and dates as Thai people read them, for every app:
//! Thai is the default; English is a switch (a cookie), never a different page.

use sajja_common::date::{Date, Month, THAI_MONTHS_SHORT};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Th,
    En,
}

const ENGLISH_MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A moment as a clock in Thailand reads it (UTC+7 all year, no daylight
/// saving): the date and the minutes since midnight. The one conversion
/// behind every time a treasurer or coordinator reads.
pub fn thai_clock(unix_seconds: i64) -> (Date, i64) {
    const THAI_OFFSET_SECONDS: i64 = 7 * 3600;
    // Bounded so that a wild stored value cannot overflow the offset.
    const YEAR_9999: i64 = 253_402_300_799;
    let unix_seconds = unix_seconds.clamp(0, YEAR_9999);
    let minutes = (unix_seconds + THAI_OFFSET_SECONDS).rem_euclid(86_400) / 60;
    (Date::thai_date_at(unix_seconds), minutes)
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Th => "th",
            Lang::En => "en",
        }
    }

    pub fn from_code(code: &str) -> Lang {
        if code == "en" { Lang::En } else { Lang::Th }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Th => Lang::En,
            Lang::En => Lang::Th,
        }
    }

    /// A date as the reader writes it: `7 ธ.ค. 2569` (Buddhist era) or `7 Dec 2026`.
    pub fn date(self, date: Date) -> String {
        let (year, month, day) = date.ymd();
        match self {
            Lang::Th => date.thai_display(),
            Lang::En => format!("{day} {} {year}", ENGLISH_MONTHS[month as usize - 1]),
        }
    }

    /// A unix time as Thai wall-clock time: `7 ธ.ค. 2569 17:42`.
    pub fn time(self, unix: i64) -> String {
        let (date, minutes) = thai_clock(unix);
        format!(
            "{} {:02}:{:02}",
            self.date(date),
            minutes / 60,
            minutes % 60
        )
    }

    /// A month: `ธ.ค. 2569` or `Dec 2026`.
    pub fn month(self, month: Month) -> String {
        let index = month.month_of_year() as usize - 1;
        match self {
            Lang::Th => format!("{} {}", THAI_MONTHS_SHORT[index], month.year() + 543),
            Lang::En => format!("{} {}", ENGLISH_MONTHS[index], month.year()),
        }
    }

    /// A month in a chart's axis: `ธ.ค.` or `Dec`, the year only in January.
    pub fn month_tick(self, month: Month) -> String {
        let index = month.month_of_year() as usize - 1;
        let name = match self {
            Lang::Th => THAI_MONTHS_SHORT[index],
            Lang::En => ENGLISH_MONTHS[index],
        };
        if index == 0 {
            let year = match self {
                Lang::Th => month.year() + 543,
                Lang::En => month.year(),
            };
            format!("{name} {}", year % 100)
        } else {
            name.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_in_the_buddhist_era_in_thai() {
        let date: Date = "2026-12-07".parse().expect("date");
        assert_eq!(Lang::Th.date(date), "7 ธ.ค. 2569");
        assert_eq!(Lang::En.date(date), "7 Dec 2026");
        assert_eq!(Lang::Th.month(date.month()), "ธ.ค. 2569");
        assert_eq!(Lang::Th.month_tick(date.month()), "ธ.ค.");
        let january: Date = "2027-01-31".parse().expect("date");
        assert_eq!(Lang::Th.month_tick(january.month()), "ม.ค. 70");
        assert_eq!(Lang::En.month_tick(january.month()), "Jan 27");
        // 2026-12-07 10:42 UTC is 17:42 in Thailand.
        assert_eq!(Lang::Th.time(1_796_640_120), "7 ธ.ค. 2569 17:42");
    }
}
