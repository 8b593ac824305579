//! Amounts as a treasurer types them: exact satang, never rounded, never guessed.

use sajja_common::Money;

/// Parses `text` and compares with `expected`: the satang, or a fragment the
/// one-line refusal must contain.
fn check(text: &str, expected: Result<i64, &str>) {
    let got = Money::parse_baht(text).map(Money::satang);
    match (&got, expected) {
        (Ok(satang), Ok(want)) => assert_eq!(*satang, want, "{text:?}"),
        (Err(error), Err(fragment)) => {
            let message = error.to_string();
            assert!(
                message.contains(fragment),
                "{text:?}: {message:?} lacks {fragment:?}"
            );
            assert!(!message.contains('\n'), "{text:?}: {message:?}");
        }
        _ => panic!("{text:?}: got {got:?}, expected {expected:?}"),
    }
}

const NOT_AN_AMOUNT: &str = "is not an amount in baht: write it like 30 or 30.50 (a comma only between thousands, like 1,250.50)";

#[test]
fn amounts_parse_to_exact_satang() {
    // Proves what a treasurer types becomes exactly that many satang.
    check("30", Ok(3_000));
    check("30.5", Ok(3_050));
    check("30.50", Ok(3_050));
    check("1,250.75", Ok(125_075));
    check("1,250", Ok(125_000));
    check("1,000,000", Ok(100_000_000));
    check("0.01", Ok(1));
    check("1.500", Ok(150));
    check(" 30 ", Ok(3_000));
    check("007", Ok(700));
    check("10000000000", Ok(1_000_000_000_000));
    check("10,000,000,000.00", Ok(1_000_000_000_000));
}

#[test]
fn thai_digits_mean_the_same_as_arabic_digits() {
    // Proves ๓๐ is 30 baht and ๑,๒๕๐.๕๐ is 1,250.50, the same as in arabic digits.
    check("๓๐", Ok(3_000));
    check("๑,๒๕๐.๕๐", Ok(125_050));
    check("๐.๐๑", Ok(1));
    check("๓๐,๕", Err("write 30.50"));
}

#[test]
fn misread_forms_are_refused_with_the_expected_form() {
    // Proves the forms issue 15 found misread (30,5 recorded as 305.00 …) are refused, saying how to write them.
    check(
        "30,5",
        Err(
            "'30,5' is not an amount in baht: write 30.50 (a comma only between thousands, like 1,250.50)",
        ),
    );
    check("1,05", Err("write 1.05 (a comma only between thousands"));
    check("1,5", Err("write 1.50"));
    check("-30,5", Err("write -30.50"));
    check("1e3", Err(NOT_AN_AMOUNT));
    check("0.5e1", Err(NOT_AN_AMOUNT));
    check("1E3", Err(NOT_AN_AMOUNT));
    check(",,30", Err(NOT_AN_AMOUNT));
    check("3,0,0", Err(NOT_AN_AMOUNT));
    check(",300", Err(NOT_AN_AMOUNT));
    check("300,", Err(NOT_AN_AMOUNT));
    check("1,2500", Err(NOT_AN_AMOUNT));
    check("12,50.00", Err(NOT_AN_AMOUNT));
    check("1,250,5", Err(NOT_AN_AMOUNT));
    check("0,300", Err(NOT_AN_AMOUNT));
    check("1.250,50", Err(NOT_AN_AMOUNT));
    check("1.2.3", Err(NOT_AN_AMOUNT));
    check("30.", Err(NOT_AN_AMOUNT));
    check(".5", Err(NOT_AN_AMOUNT));
    check("1 250", Err(NOT_AN_AMOUNT));
    check("1_000", Err(NOT_AN_AMOUNT));
    check("+30", Err(NOT_AN_AMOUNT));
    check("--30", Err(NOT_AN_AMOUNT));
    check("30฿", Err(NOT_AN_AMOUNT));
    check("NaN", Err(NOT_AN_AMOUNT));
    check("inf", Err(NOT_AN_AMOUNT));
}

#[test]
fn a_negative_amount_is_left_to_the_ledger() {
    // Proves a minus sign parses, so the ledger's rule (not the parser) refuses a negative amount.
    check("-2.10", Ok(-210));
    check("-5", Ok(-500));
}

#[test]
fn more_than_two_decimals_is_refused_never_rounded() {
    // Proves a fraction of a satang is refused, however many digits it takes.
    check("1.005", Err("more than 2 decimal places"));
    check(
        "0.000000000000000000000000000001",
        Err("more than 2 decimal places"),
    );
    check(
        "1.0000000000000000000000000000009",
        Err("more than 2 decimal places"),
    );
    check("2.10000000000000000000000000000000", Ok(210));
}

#[test]
fn nonsense_and_huge_amounts_are_refused() {
    // Proves text that is not an amount, or is above the per-event limit, is refused.
    check("abc", Err(NOT_AN_AMOUNT));
    check("", Err(NOT_AN_AMOUNT));
    check("-", Err(NOT_AN_AMOUNT));
    check("10000000000.01", Err("too large"));
    check("99999999999999", Err("too large"));
    check("99999999999999999999999999999999", Err("too large"));
    check("0000000000000000000000000030", Ok(3_000));
}
