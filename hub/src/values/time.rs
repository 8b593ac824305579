//! Times as every table and page prints them.

/// A unix time as `2026-11-27 04:35 UTC`.
pub fn timestamp(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    use sajja_common::Date;
    let seconds = unix.rem_euclid(86_400);
    let date = u32::try_from(days)
        .ok()
        .and_then(|d| Date::from_days(d).ok())
        .unwrap_or(Date::EPOCH);
    format!(
        "{date} {:02}:{:02} UTC",
        seconds / 3600,
        seconds % 3600 / 60
    )
}
