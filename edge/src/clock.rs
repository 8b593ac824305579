//! The one wall clock. Node and hub read the time only through here, so
//! "now" means the same thing in every module and a clock check has one
//! place to look.

use std::time::{SystemTime, UNIX_EPOCH};

use sajja_common::Date;

/// Seconds since the Unix epoch; 0 on a clock set before 1970.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Today's date in Thailand (UTC+7): the default business date of entries,
/// reports and hub facts.
pub fn today() -> Date {
    Date::thai_date_at(unix_now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_is_the_thai_date_of_now() {
        // Proves the two readings agree: today is the Thai date of the same
        // clock's seconds, and it is after the project began.
        let before = Date::thai_date_at(unix_now());
        let today = today();
        assert!(today >= before);
        assert!(today > Date::from_ymd(2025, 1, 1).expect("a real date"));
    }
}
