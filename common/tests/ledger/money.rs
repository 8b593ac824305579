//! Amounts as a treasurer types them: exact satang, never rounded.

use sajja_common::Money;
use sajja_common::money::MoneyError;

fn check(text: &str, expected: Result<i64, &str>) {
    let got = Money::parse_baht(text)
        .map(Money::satang)
        .map_err(|e| match e {
            MoneyError::NotANumber(_) => "not_a_number",
            MoneyError::TooManyDecimals(_) => "too_many_decimals",
            MoneyError::TooLarge(_) => "too_large",
        });
    assert_eq!(got, expected, "{text:?}");
}

#[test]
fn amounts_parse_to_exact_satang() {
    // Proves what a treasurer types becomes exactly that many satang.
    check("30", Ok(3_000));
    check("30.5", Ok(3_050));
    check("1,250.75", Ok(125_075));
    check("0.01", Ok(1));
    check("1.500", Ok(150));
    check("10000000000", Ok(1_000_000_000_000));
}

#[test]
fn more_than_two_decimals_is_refused_never_rounded() {
    // Proves a fraction of a satang is refused, even beyond rust_decimal's 28-digit precision.
    check("1.005", Err("too_many_decimals"));
    check("0.000000000000000000000000000001", Err("too_many_decimals"));
    check(
        "1.0000000000000000000000000000009",
        Err("too_many_decimals"),
    );
    check("2.10000000000000000000000000000000", Ok(210));
}

#[test]
fn nonsense_and_huge_amounts_are_refused() {
    // Proves text that is not an amount, or is above the per-event limit, is refused.
    check("abc", Err("not_a_number"));
    check("", Err("not_a_number"));
    check("10000000000.01", Err("too_large"));
    check("99999999999999", Err("too_large"));
}
