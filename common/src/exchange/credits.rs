//! Exchange credits: integer hundredths of a credit ("centi-credits"). A
//! type of its own, distinct from [`Money`], so credits can never be added
//! to baht by accident; the only bridge is [`Credits::valued_at`], which the
//! coverage ratio and a default's settlement use, and nothing else.

use std::fmt;

use crate::money::Money;

/// The largest credit amount one event may carry (a transfer, a limit, a
/// voucher range's value): 10 billion credits, the same bound as
/// [`crate::money::MAX_AMOUNT_SATANG`] and for the same reason: far above any
/// community exchange, far below where sums of many events overflow an i64.
pub const MAX_CREDITS_CENTI: i64 = 1_000_000_000_000;

/// An amount of exchange credits, in hundredths of a credit. Negative for a
/// balance in debit.
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
pub struct Credits(i64);

impl Credits {
    pub const ZERO: Credits = Credits(0);

    pub const fn from_centi(centi: i64) -> Credits {
        Credits(centi)
    }

    /// Whole credits: `Credits::from_whole(120)` is 120.00 credits.
    pub const fn from_whole(credits: i64) -> Credits {
        Credits(credits * 100)
    }

    pub const fn centi(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Credits) -> Option<Credits> {
        self.0.checked_add(other.0).map(Credits)
    }

    pub fn checked_sub(self, other: Credits) -> Option<Credits> {
        self.0.checked_sub(other.0).map(Credits)
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// Whether the amount is one an event may carry: above zero and at most
    /// [`MAX_CREDITS_CENTI`].
    pub fn is_event_amount(self) -> bool {
        self.0 > 0 && self.0 <= MAX_CREDITS_CENTI
    }

    /// What these credits are worth in baht at the exchange's stated rate
    /// (satang per whole credit), **rounded up** to the next satang: the
    /// reserve guarantees the whole debit, so a fraction of a satang is never
    /// left uncovered, and the coverage ratio is never overstated by
    /// rounding. Only for amounts of at least zero (debit is valued as a
    /// positive amount); `None` for a negative amount or beyond i64.
    pub fn valued_at(self, rate_per_credit: Money) -> Option<Money> {
        if self.0 < 0 || rate_per_credit.satang() < 0 {
            return None;
        }
        let product = i128::from(self.0) * i128::from(rate_per_credit.satang());
        let satang = (product + 99) / 100;
        i64::try_from(satang).ok().map(Money::from_satang)
    }

    /// Credits with two decimals and no grouping, for CSV.
    pub fn to_plain(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl fmt::Display for Credits {
    /// Credits with thousands separators and two decimals, no unit (the
    /// exchange names its own unit): `1,250.50`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&crate::money::hundredths_text(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credits_are_valued_in_baht_rounding_up_to_the_satang() {
        // 1 credit = 1 baht: 120 credits are 120 baht.
        let rate = Money::from_baht(1);
        assert_eq!(
            Credits::from_whole(120).valued_at(rate),
            Some(Money::from_baht(120))
        );
        // 0.01 credit at 0.50 baht a credit is half a satang: one satang.
        assert_eq!(
            Credits::from_centi(1).valued_at(Money::from_satang(50)),
            Some(Money::from_satang(1))
        );
        assert_eq!(Credits::ZERO.valued_at(rate), Some(Money::ZERO));
        assert_eq!(Credits::from_centi(-1).valued_at(rate), None);
        assert_eq!(
            Credits::from_centi(i64::MAX).valued_at(Money::from_satang(1_000)),
            None
        );
    }

    #[test]
    fn credits_display_like_amounts_without_a_unit() {
        assert_eq!(Credits::from_centi(125_050).to_string(), "1,250.50");
        assert_eq!(Credits::from_centi(-62_000).to_string(), "-620.00");
        assert_eq!(Credits::from_centi(-5).to_plain(), "-0.05");
    }
}
