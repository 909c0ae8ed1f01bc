//! The Luhn check digit (ISO/IEC 7812-1), used by the sandbox to catch mistyped card numbers.
//!
//! Kept private and tiny on purpose: this crate depends on no other finepay crate.

/// True when `digits` is non-empty, all ASCII digits, and passes the Luhn check.
pub(crate) fn is_valid(digits: &str) -> bool {
    if digits.is_empty() {
        return false;
    }
    let mut sum = 0u32;
    for (position_from_right, byte) in digits.bytes().rev().enumerate() {
        if !byte.is_ascii_digit() {
            return false;
        }
        let digit = u32::from(byte - b'0');
        sum += if position_from_right % 2 == 1 {
            let doubled = digit * 2;
            if doubled > 9 {
                doubled - 9
            } else {
                doubled
            }
        } else {
            digit
        };
    }
    sum.is_multiple_of(10)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap (house rule)
mod tests {
    use super::is_valid;

    #[test]
    fn every_sandbox_test_card_passes_the_check() {
        for card in [
            "6222020000000000018",
            "6222020000000000026",
            "6222020000000000034",
            "6222020000000000042",
            "6222020000000000059",
            "6222020000000000067",
        ] {
            assert!(is_valid(card), "{card}");
        }
    }

    #[test]
    fn a_changed_digit_fails_the_check() {
        assert!(!is_valid("6222020000000000019"));
        assert!(!is_valid("6222020000000000081"));
    }

    #[test]
    fn empty_and_non_digit_input_fails_the_check() {
        assert!(!is_valid(""));
        assert!(!is_valid("62220200000000000a8"));
        assert!(!is_valid("6222 0200 0000 0000 018"));
    }

    #[test]
    fn well_known_numbers_pass_the_check() {
        assert!(is_valid("4111111111111111"));
        assert!(is_valid("79927398713"));
        assert!(is_valid("0"));
    }
}
