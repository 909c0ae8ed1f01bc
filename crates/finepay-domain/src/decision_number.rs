//! Penalty decision numbers (处罚决定书编号), SPEC §2, and the Luhn check they may carry.
//!
//! Real numbers have 16 digits (15 on old tickets printed without the last digit) and no national
//! check-digit rule is published, so [`DecisionNumber::parse`] checks only the shape. Each authority
//! then applies its own rule; the sandbox authorities append a Luhn digit, checked by
//! [`DecisionNumber::has_valid_luhn`] or [`DecisionNumber::require_luhn`], so a typo is caught before
//! any lookup. The same [`luhn_valid`] checks bank card numbers.

use std::fmt;

/// A penalty decision number: 15 or 16 ASCII digits, spaces removed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DecisionNumber(String);

/// Why a decision number was refused; each message says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecisionNumberError {
    /// Nothing left after removing spaces.
    #[error("enter the penalty decision number printed on the decision (15 or 16 digits)")]
    Empty,
    /// A character other than a digit or a space.
    #[error("a penalty decision number has only digits (spaces are ignored)")]
    NotDigits,
    /// Not 15 or 16 digits.
    #[error("a penalty decision number has 15 or 16 digits; you entered {len}")]
    BadLength {
        /// Digits entered, after removing spaces.
        len: usize,
    },
    /// The authority's check digit (Luhn) does not match: most likely a mistyped digit.
    #[error("the penalty decision number's check digit does not match; check each digit against the decision")]
    CheckDigit,
}

impl DecisionNumber {
    /// Remove ASCII spaces, then require 15 or 16 ASCII digits.
    pub fn parse(input: &str) -> Result<DecisionNumber, DecisionNumberError> {
        let digits: String = input.chars().filter(|&c| c != ' ').collect();
        if digits.is_empty() {
            return Err(DecisionNumberError::Empty);
        }
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DecisionNumberError::NotDigits);
        }
        if digits.len() != 15 && digits.len() != 16 {
            return Err(DecisionNumberError::BadLength { len: digits.len() });
        }
        Ok(DecisionNumber(digits))
    }

    /// The digits, e.g. `1100000000000015`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Number of digits: 15 or 16.
    #[allow(clippy::len_without_is_empty)] // never empty by construction
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether all the digits pass the Luhn check (the sandbox authorities' rule).
    pub fn has_valid_luhn(&self) -> bool {
        luhn_valid(&self.0)
    }

    /// For an authority whose rule is Luhn: the number itself, or [`DecisionNumberError::CheckDigit`].
    pub fn require_luhn(self) -> Result<DecisionNumber, DecisionNumberError> {
        if self.has_valid_luhn() {
            Ok(self)
        } else {
            Err(DecisionNumberError::CheckDigit)
        }
    }

    /// Whether the number starts with `prefix` (routing to an authority by longest prefix).
    pub fn starts_with(&self, prefix: &str) -> bool {
        self.0.starts_with(prefix)
    }
}

impl std::str::FromStr for DecisionNumber {
    type Err = DecisionNumberError;

    /// Same as [`DecisionNumber::parse`], so `"…".parse::<DecisionNumber>()` and CLI argument parsers work.
    fn from_str(s: &str) -> Result<DecisionNumber, DecisionNumberError> {
        DecisionNumber::parse(s)
    }
}

impl fmt::Display for DecisionNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Luhn sum of `digits` where the rightmost digit is doubled when `double_rightmost`; `None` on a
/// non-digit.
fn luhn_sum(digits: &str, double_rightmost: bool) -> Option<u32> {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        if !b.is_ascii_digit() {
            return None;
        }
        let d = u32::from(b - b'0');
        let doubled = (i % 2 == 0) == double_rightmost;
        sum += if doubled && d * 2 > 9 {
            d * 2 - 9
        } else if doubled {
            d * 2
        } else {
            d
        };
    }
    Some(sum)
}

/// The digit to append to `payload_digits` so that the whole passes Luhn; `None` on a non-digit.
pub fn luhn_check_digit(payload_digits: &str) -> Option<u8> {
    let sum = luhn_sum(payload_digits, true)?;
    // sum % 10 < 10, so the result fits in u8.
    Some(((10 - sum % 10) % 10) as u8)
}

/// Whether `digits` (at least one ASCII digit, nothing else) passes the Luhn check.
pub fn luhn_valid(digits: &str) -> bool {
    !digits.is_empty() && luhn_sum(digits, false).is_some_and(|s| s % 10 == 0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed test
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_sandbox_example_is_a_luhn_valid_decision_number() {
        let n = DecisionNumber::parse("1100000000000015").unwrap();
        assert!(n.has_valid_luhn());
        assert_eq!(n.len(), 16);
        assert!(n.starts_with("110000"));
        assert!(!n.starts_with("310000"));
    }

    #[test]
    fn spaces_are_ignored() {
        let n = DecisionNumber::parse(" 1100 0000 0000 0015 ").unwrap();
        assert_eq!(n.as_str(), "1100000000000015");
        assert_eq!(n.to_string(), "1100000000000015");
    }

    #[test]
    fn fifteen_digits_are_accepted_for_old_tickets() {
        assert_eq!(DecisionNumber::parse("110000000000001").unwrap().len(), 15);
    }

    #[test]
    fn a_wrong_length_says_how_many_digits_were_entered() {
        let err = DecisionNumber::parse("11000000000000").unwrap_err();
        assert_eq!(err, DecisionNumberError::BadLength { len: 14 });
        assert_eq!(
            err.to_string(),
            "a penalty decision number has 15 or 16 digits; you entered 14"
        );
        assert_eq!(
            DecisionNumber::parse("11000000000000150"),
            Err(DecisionNumberError::BadLength { len: 17 })
        );
    }

    #[test]
    fn letters_dashes_and_full_width_digits_are_not_digits() {
        for bad in [
            "110000000000001A",
            "1100-0000-0000-0015",
            "１１００００００００００００１５",
        ] {
            assert_eq!(
                DecisionNumber::parse(bad),
                Err(DecisionNumberError::NotDigits),
                "{bad}"
            );
        }
    }

    #[test]
    fn blank_input_is_empty() {
        assert_eq!(DecisionNumber::parse(""), Err(DecisionNumberError::Empty));
        assert_eq!(
            DecisionNumber::parse("   "),
            Err(DecisionNumberError::Empty)
        );
    }

    #[test]
    fn require_luhn_refuses_a_mistyped_number() {
        let typo = DecisionNumber::parse("1100000000000016").unwrap();
        assert!(!typo.has_valid_luhn());
        assert_eq!(typo.require_luhn(), Err(DecisionNumberError::CheckDigit));
    }

    #[test]
    fn luhn_check_digit_completes_the_sandbox_example() {
        assert_eq!(luhn_check_digit("110000000000001"), Some(5));
        assert_eq!(luhn_check_digit("7992739871"), Some(3));
        assert_eq!(luhn_check_digit("12a"), None);
    }

    #[test]
    fn the_sandbox_bank_test_cards_pass_luhn() {
        for card in [
            "6222020000000000018",
            "6222020000000000026",
            "6222020000000000034",
            "6222020000000000042",
            "6222020000000000059",
            "6222020000000000067",
        ] {
            assert!(luhn_valid(card), "{card}");
        }
        assert!(!luhn_valid("6222020000000000019"));
        assert!(!luhn_valid(""));
        assert!(!luhn_valid("6222 0200 0000 0000 018"));
    }

    fn with_check_digit(payload: &str) -> String {
        format!("{payload}{}", luhn_check_digit(payload).unwrap())
    }

    proptest! {
        #[test]
        fn parsing_arbitrary_text_never_panics(s in "\\PC*") {
            let _ = DecisionNumber::parse(&s);
            let _ = luhn_valid(&s);
            let _ = luhn_check_digit(&s);
        }

        #[test]
        fn generated_decision_numbers_parse_and_reparse_to_themselves(s in "[0-9]{15,16}") {
            let n = DecisionNumber::parse(&s).unwrap();
            prop_assert_eq!(n.as_str(), s.as_str());
            prop_assert_eq!(DecisionNumber::parse(n.as_str()), Ok(n));
        }

        #[test]
        fn appending_the_check_digit_makes_a_luhn_valid_number(payload in "[0-9]{0,30}") {
            prop_assert!(luhn_valid(&with_check_digit(&payload)));
        }

        #[test]
        fn a_single_changed_digit_fails_luhn(
            payload in "[0-9]{15}",
            position in 0usize..16,
            delta in 1u8..10,
        ) {
            let mut bytes = with_check_digit(&payload).into_bytes();
            bytes[position] = b'0' + (bytes[position] - b'0' + delta) % 10;
            let changed = String::from_utf8(bytes).unwrap();
            prop_assert!(!luhn_valid(&changed));
            prop_assert!(!DecisionNumber::parse(&changed).unwrap().has_valid_luhn());
        }
    }
}
