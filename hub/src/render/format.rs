//! The small formats every report shares: display width of Thai text,
//! padding, percents, amounts, pretty JSON and CSV.

use sajja_common::Money;
use serde_json::Value;

pub use sajja_common::words::{display_width, pad};

pub(crate) fn percent(basis_points: Option<i64>) -> String {
    basis_points.map_or("-".into(), |bp| {
        format!("{}%", sajja_common::position::basis_points_text(bp))
    })
}

/// Baht with two decimals and no grouping: the JSON and CSV form of money.
pub(crate) fn amount(m: Money) -> String {
    m.to_plain()
}

pub(crate) fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into());
    text.push('\n');
    text
}

/// CSV (RFC 4180): a field with a comma, quote or line break is quoted.
pub(crate) fn csv_text(rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    for row in rows {
        let fields: Vec<String> = row
            .iter()
            .map(|f| {
                if f.contains([',', '"', '\n', '\r']) {
                    format!("\"{}\"", f.replace('"', "\"\""))
                } else {
                    f.clone()
                }
            })
            .collect();
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

pub(crate) fn optional(value: Option<i64>) -> Value {
    value.map_or(Value::Null, Value::from)
}
