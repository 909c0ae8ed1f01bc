//! Money as a whole number of fen (1 yuan = 100 fen), currency CNY.
//!
//! Why a newtype over `i64` and not a float or a decimal: every amount the platform handles is an
//! exact count of fen, and every sum must balance to the fen. `Fen` has no `Default` (a forgotten
//! amount must not silently become zero) and only checked arithmetic (an overflow is an error, never a
//! wrap). Any `i64` is a valid `Fen`: ledger postings are signed. Where an amount must be positive (a
//! fine, a payment, a top-up), parse it with [`Fen::positive`].

use std::fmt;
use std::str::FromStr;

/// An exact amount of money in fen. Signed: negative amounts appear in ledger postings.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fen(i64);

/// Why an amount was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The amount must be greater than zero (fines, payments, top-ups).
    #[error("the amount must be greater than zero")]
    NotPositive,
    /// The result does not fit in an `i64` count of fen.
    #[error("the amount is too large")]
    Overflow,
    /// More than one request may move ([`Fen::MAX_PAYABLE`]).
    #[error("one payment, top-up or repayment may move at most 1,000,000.00 yuan")]
    AboveLimit,
}

/// Why a text could not be read as an amount in yuan (see [`Fen`]'s `FromStr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseFenError {
    /// Not of the form `[-]<digits>.<two digits>`.
    #[error("an amount is written in yuan with two decimals, e.g. 200.00 or 0.05")]
    Malformed,
    /// The amount does not fit in an `i64` count of fen.
    #[error("the amount is too large")]
    Overflow,
}

impl Fen {
    /// Zero fen.
    pub const ZERO: Fen = Fen(0);

    /// An amount given in fen. Total: every `i64` is a valid count of fen.
    pub const fn from_fen(v: i64) -> Fen {
        Fen(v)
    }

    /// An amount given in whole yuan; `None` if `yuan × 100` overflows.
    pub fn from_yuan(yuan: i64) -> Option<Fen> {
        yuan.checked_mul(100).map(Fen)
    }

    /// The amount as a count of fen.
    pub const fn fen(self) -> i64 {
        self.0
    }

    /// `self + o`, or `None` on overflow.
    pub fn checked_add(self, o: Fen) -> Option<Fen> {
        self.0.checked_add(o.0).map(Fen)
    }

    /// `self − o`, or `None` on overflow.
    pub fn checked_sub(self, o: Fen) -> Option<Fen> {
        self.0.checked_sub(o.0).map(Fen)
    }

    /// `−self`, or `None` for `i64::MIN` fen.
    pub fn checked_neg(self) -> Option<Fen> {
        self.0.checked_neg().map(Fen)
    }

    /// Whether the amount is greater than zero.
    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// Parse a count of fen that must be greater than zero (a fine, a payment, a top-up).
    pub fn positive(v: i64) -> Result<Fen, MoneyError> {
        if v > 0 {
            Ok(Fen(v))
        } else {
            Err(MoneyError::NotPositive)
        }
    }

    /// The most one request may move: 1,000,000.00 yuan. Far above any fine, and far below where
    /// sums of amounts could approach `i64`'s range.
    pub const MAX_PAYABLE: Fen = Fen(100_000_000);

    /// An amount a person asks to move (pay, top up, repay): positive and at most
    /// [`Fen::MAX_PAYABLE`].
    pub fn payable(v: i64) -> Result<Fen, MoneyError> {
        let amount = Fen::positive(v)?;
        if amount > Fen::MAX_PAYABLE {
            return Err(MoneyError::AboveLimit);
        }
        Ok(amount)
    }
}

/// Yuan with exactly two decimals: 20000 fen → `200.00`, 5 → `0.05`, −150 → `-1.50`.
impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // unsigned_abs so that i64::MIN does not overflow on negation.
        let abs = self.0.unsigned_abs();
        let sign = if self.0 < 0 { "-" } else { "" };
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

/// The inverse of `Display`: `[-]<digits>.<two digits>` in yuan, e.g. `200.00`, `0.05`, `-1.50`.
///
/// Strict on purpose: exactly two decimals, so `1.5` (1.50 or a typo for 15?) is refused.
impl FromStr for Fen {
    type Err = ParseFenError;

    fn from_str(s: &str) -> Result<Fen, ParseFenError> {
        let (negative, unsigned) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (yuan, cents) = unsigned.split_once('.').ok_or(ParseFenError::Malformed)?;
        let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(yuan) || cents.len() != 2 || !all_digits(cents) {
            return Err(ParseFenError::Malformed);
        }
        let yuan: i128 = yuan.parse().map_err(|_| ParseFenError::Overflow)?;
        let cents: i128 = cents.parse().map_err(|_| ParseFenError::Malformed)?;
        let magnitude = yuan
            .checked_mul(100)
            .and_then(|v| v.checked_add(cents))
            .ok_or(ParseFenError::Overflow)?;
        let signed = if negative { -magnitude } else { magnitude };
        i64::try_from(signed)
            .map(Fen)
            .map_err(|_| ParseFenError::Overflow)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed test
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn display_shows_yuan_with_two_decimals() {
        assert_eq!(Fen::from_fen(20_000).to_string(), "200.00");
        assert_eq!(Fen::from_fen(5).to_string(), "0.05");
        assert_eq!(Fen::from_fen(-150).to_string(), "-1.50");
        assert_eq!(Fen::from_fen(-5).to_string(), "-0.05");
        assert_eq!(Fen::ZERO.to_string(), "0.00");
    }

    #[test]
    fn display_handles_the_most_negative_amount_without_overflow() {
        assert_eq!(Fen::from_fen(i64::MIN).to_string(), "-92233720368547758.08");
        assert_eq!(Fen::from_fen(i64::MAX).to_string(), "92233720368547758.07");
    }

    #[test]
    fn from_yuan_multiplies_by_a_hundred_and_refuses_overflow() {
        assert_eq!(Fen::from_yuan(200), Some(Fen::from_fen(20_000)));
        assert_eq!(Fen::from_yuan(i64::MAX / 100 + 1), None);
    }

    #[test]
    fn positive_refuses_zero_and_negative_amounts() {
        assert_eq!(Fen::positive(0), Err(MoneyError::NotPositive));
        assert_eq!(Fen::positive(-1), Err(MoneyError::NotPositive));
        assert_eq!(Fen::positive(1), Ok(Fen::from_fen(1)));
        assert_eq!(Fen::payable(0), Err(MoneyError::NotPositive));
        assert_eq!(Fen::payable(100_000_000), Ok(Fen::MAX_PAYABLE));
        assert_eq!(Fen::payable(100_000_001), Err(MoneyError::AboveLimit));
    }

    #[test]
    fn checked_arithmetic_reports_overflow_instead_of_wrapping() {
        assert_eq!(Fen::from_fen(i64::MAX).checked_add(Fen::from_fen(1)), None);
        assert_eq!(Fen::from_fen(i64::MIN).checked_sub(Fen::from_fen(1)), None);
        assert_eq!(Fen::from_fen(i64::MIN).checked_neg(), None);
        assert_eq!(
            Fen::from_fen(5).checked_sub(Fen::from_fen(7)),
            Some(Fen::from_fen(-2))
        );
    }

    #[test]
    fn parsing_refuses_amounts_without_exactly_two_decimals() {
        for bad in [
            "", "1", "1.5", "1.500", ".50", "-", "1,50", "+1.00", "1.-5", "--1.00",
        ] {
            assert_eq!(bad.parse::<Fen>(), Err(ParseFenError::Malformed), "{bad}");
        }
        assert_eq!(
            "92233720368547758.08".parse::<Fen>(),
            Err(ParseFenError::Overflow)
        );
    }

    proptest! {
        #[test]
        fn display_round_trips_through_parse(v in any::<i64>()) {
            let fen = Fen::from_fen(v);
            prop_assert_eq!(fen.to_string().parse::<Fen>(), Ok(fen));
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(s in "\\PC*") {
            let _ = s.parse::<Fen>();
        }

        #[test]
        fn checked_add_agrees_with_wide_arithmetic(a in any::<i64>(), b in any::<i64>()) {
            let wide = i128::from(a) + i128::from(b);
            let got = Fen::from_fen(a).checked_add(Fen::from_fen(b)).map(Fen::fen);
            prop_assert_eq!(got, i64::try_from(wide).ok());
        }
    }
}
