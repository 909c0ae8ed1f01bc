//! The sandbox's card numbers and the test cards of SPEC §6.
//!
//! Which card does what is decided here and nowhere else, so the README's card table has one place
//! to be checked against.

use std::ops::RangeInclusive;

/// Lengths of a payment card number (ISO/IEC 7812 allows 8–19; the cards we take are 16–19).
const LENGTHS: RangeInclusive<usize> = 16..=19;
/// The issuer prefix of the SPEC test cards: Industrial and Commercial Bank of China.
const ICBC_PREFIX: &str = "622202";

/// Test card: approves.
pub(crate) const APPROVES: &str = "6222020000000000018";
/// Test card: links, but every charge declines for insufficient funds.
pub(crate) const INSUFFICIENT_FUNDS: &str = "6222020000000000026";
/// Test card: declines as lost, at linking and at charging.
pub(crate) const REPORTED_LOST: &str = "6222020000000000034";
/// Test card: the first charge takes the money, then answers too late for the client.
pub(crate) const TIMES_OUT_AFTER_FIRST_CHARGE: &str = "6222020000000000042";
/// Test card: the first charge attempt "cannot connect" and records nothing.
pub(crate) const CONNECT_FAILS_FIRST: &str = "6222020000000000059";
/// Test card: approves after the configured slow delay (2 s by default).
pub(crate) const SLOW: &str = "6222020000000000067";

/// A card number that has the right length and check digit. Private field: only `parse` makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CardNumber(String);

/// The number is not a card number: wrong length, a non-digit, or a failed check digit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("card number is not valid")]
pub(crate) struct InvalidCardNumber;

impl CardNumber {
    /// Accepts 16–19 digits that pass the Luhn check; spaces (as printed on cards) are ignored.
    pub(crate) fn parse(input: &str) -> Result<Self, InvalidCardNumber> {
        let digits: String = input.chars().filter(|c| *c != ' ').collect();
        if !LENGTHS.contains(&digits.len()) || !finepay_domain::luhn_valid(&digits) {
            return Err(InvalidCardNumber);
        }
        Ok(Self(digits))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The last four digits; the only part of the number that leaves the sandbox.
    pub(crate) fn last4(&self) -> &str {
        // Safe to slice: parse guarantees at least 16 ASCII digits.
        &self.0[self.0.len() - 4..]
    }

    /// The issuing bank's display name.
    pub(crate) fn bank_name(&self) -> &'static str {
        if self.0.starts_with(ICBC_PREFIX) {
            "ICBC"
        } else {
            "Sandbox Bank"
        }
    }

    /// Why the bank refuses to link this card, if it does.
    pub(crate) fn refused_at_linking(&self) -> Option<&'static str> {
        (self.0 == REPORTED_LOST).then_some("card reported lost")
    }
}

/// What the sandbox does with a new charge on a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChargeBehaviour {
    Approve,
    Decline {
        reason: &'static str,
    },
    /// The first charge ever on the card is taken, then the answer is held back past the timeout.
    TimeOutAfterFirstCharge,
    /// The first charge attempt on the card is answered as a refused connection; nothing recorded.
    ConnectFailsFirst,
    /// Approves after the slow delay.
    Slow,
}

/// The behaviour of a (stored, already valid) card number; every other valid number approves.
pub(crate) fn charge_behaviour(number: &str) -> ChargeBehaviour {
    match number {
        APPROVES => ChargeBehaviour::Approve,
        INSUFFICIENT_FUNDS => ChargeBehaviour::Decline {
            reason: "insufficient funds",
        },
        REPORTED_LOST => ChargeBehaviour::Decline {
            reason: "card reported lost",
        },
        TIMES_OUT_AFTER_FIRST_CHARGE => ChargeBehaviour::TimeOutAfterFirstCharge,
        CONNECT_FAILS_FIRST => ChargeBehaviour::ConnectFailsFirst,
        SLOW => ChargeBehaviour::Slow,
        _ => ChargeBehaviour::Approve,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap (house rule)
mod tests {
    use super::*;

    #[test]
    fn every_test_card_of_spec_6_passes_the_luhn_check() {
        for card in [
            "6222020000000000018",
            "6222020000000000026",
            "6222020000000000034",
            "6222020000000000042",
            "6222020000000000059",
            "6222020000000000067",
        ] {
            assert!(CardNumber::parse(card).is_ok(), "{card}");
        }
        assert!(CardNumber::parse("6222020000000000019").is_err());
    }

    #[test]
    fn a_printed_number_with_spaces_parses() {
        let number = CardNumber::parse("6222 0200 0000 0000 018").unwrap();
        assert_eq!(number.as_str(), APPROVES);
        assert_eq!(number.last4(), "0018");
        assert_eq!(number.bank_name(), "ICBC");
    }

    #[test]
    fn wrong_lengths_and_check_digits_are_refused() {
        for input in [
            "",
            "4111111111111",
            "62220200000000000180",
            "6222020000000000019",
        ] {
            assert_eq!(CardNumber::parse(input), Err(InvalidCardNumber), "{input}");
        }
    }

    #[test]
    fn other_valid_numbers_belong_to_the_sandbox_bank_and_approve() {
        let number = CardNumber::parse("4111111111111111").unwrap();
        assert_eq!(number.bank_name(), "Sandbox Bank");
        assert_eq!(number.refused_at_linking(), None);
        assert_eq!(charge_behaviour(number.as_str()), ChargeBehaviour::Approve);
    }

    #[test]
    fn only_the_lost_card_is_refused_at_linking() {
        for card in [
            APPROVES,
            INSUFFICIENT_FUNDS,
            TIMES_OUT_AFTER_FIRST_CHARGE,
            CONNECT_FAILS_FIRST,
            SLOW,
        ] {
            assert_eq!(CardNumber::parse(card).unwrap().refused_at_linking(), None);
        }
        let lost = CardNumber::parse(REPORTED_LOST).unwrap();
        assert_eq!(lost.refused_at_linking(), Some("card reported lost"));
    }
}
