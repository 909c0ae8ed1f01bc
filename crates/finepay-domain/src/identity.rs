//! Personal identifiers for real-name registration, and how they are masked for display.
//!
//! Why masking lives here: the payer of a fine is often not its owner (SPEC §2), so screens and
//! receipts show identities only masked. Doing it in one place keeps every screen equally discreet.

use chrono::NaiveDate;
use std::fmt;

/// Weights of GB 11643 (ISO 7064 MOD 11-2) for the first 17 digits.
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// The check character for each value of `sum mod 11`.
const ID_CHECK_CHARS: &[u8; 11] = b"10X98765432";

/// A resident identity card number (居民身份证号码): 18 characters, check character upper-case.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IdNumber(String);

/// Why an ID number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    /// Nothing entered.
    #[error("enter the 18-character resident ID number")]
    Empty,
    /// Not 18 characters.
    #[error("a resident ID number has 18 characters; you entered {len}")]
    BadLength {
        /// Characters entered.
        len: usize,
    },
    /// The first 17 are not all digits, or the last is neither a digit nor X.
    #[error("a resident ID number is 17 digits followed by a digit or X")]
    BadCharacters,
    /// Characters 7–14 are not a real date (YYYYMMDD).
    #[error("characters 7 to 14 of a resident ID number are the date of birth (YYYYMMDD), and this is not a real date")]
    BadBirthDate,
    /// The last character does not match GB 11643: most likely a mistyped digit.
    #[error("the ID number's last character does not match the others; check each digit")]
    CheckDigit,
}

impl IdNumber {
    /// Trim surrounding whitespace, accept a lower-case `x`, then check length, characters, the
    /// date of birth and the GB 11643 check character.
    pub fn parse(input: &str) -> Result<IdNumber, IdNumberError> {
        let id = input.trim().to_ascii_uppercase();
        if id.is_empty() {
            return Err(IdNumberError::Empty);
        }
        let len = id.chars().count();
        if len != 18 {
            return Err(IdNumberError::BadLength { len });
        }
        let bytes = id.as_bytes();
        let (body, last) = (&bytes[..17], bytes[17]);
        if !body.iter().all(u8::is_ascii_digit) || !(last.is_ascii_digit() || last == b'X') {
            return Err(IdNumberError::BadCharacters);
        }
        if birth_date(body).is_none() {
            return Err(IdNumberError::BadBirthDate);
        }
        if id_check_char(body) != last {
            return Err(IdNumberError::CheckDigit);
        }
        Ok(IdNumber(id))
    }

    /// The 18 characters, check character upper-case.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The date of birth encoded in characters 7–14.
    pub fn birth_date(&self) -> NaiveDate {
        birth_date(&self.0.as_bytes()[..17]).unwrap_or(NaiveDate::MIN)
    }

    /// The first and last character with 16 `*` between (`1****************X`): an owner can
    /// recognise their number; nothing about birth date, region or sex is revealed.
    pub fn masked(&self) -> String {
        mask_middle(&self.0, 1, 1)
    }
}

impl std::str::FromStr for IdNumber {
    type Err = IdNumberError;

    /// Same as [`IdNumber::parse`].
    fn from_str(s: &str) -> Result<IdNumber, IdNumberError> {
        IdNumber::parse(s)
    }
}

impl fmt::Display for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// GB 11643 check character for 17 ASCII digits (the caller has checked them).
fn id_check_char(body: &[u8]) -> u8 {
    let sum: u32 = body
        .iter()
        .zip(ID_WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    // sum % 11 < 11, always in bounds.
    ID_CHECK_CHARS[(sum % 11) as usize]
}

/// The YYYYMMDD in positions 6..14 of 17 ASCII digits, if it is a real date.
fn birth_date(body: &[u8]) -> Option<NaiveDate> {
    let number = |range: std::ops::Range<usize>| {
        body.get(range)?.iter().try_fold(0u32, |acc, b| {
            Some(acc * 10 + u32::from(b.checked_sub(b'0')?))
        })
    };
    let year = i32::try_from(number(6..10)?).ok()?;
    NaiveDate::from_ymd_opt(year, number(10..12)?, number(12..14)?)
}

/// A mainland mobile number: 11 digits, `1[3-9]\d{9}`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Phone(String);

/// Why a mobile number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Nothing entered.
    #[error("enter an 11-digit mainland mobile number, e.g. 13800138000")]
    Empty,
    /// A character other than a digit, space or dash.
    #[error("a mobile number has only digits, e.g. 13800138000")]
    NotDigits,
    /// Not 11 digits.
    #[error("a mainland mobile number has 11 digits; you entered {len}")]
    BadLength {
        /// Digits entered.
        len: usize,
    },
    /// Does not start with 13–19.
    #[error("a mainland mobile number starts with 13 to 19, e.g. 13800138000")]
    BadPrefix,
}

impl Phone {
    /// Remove ASCII spaces and dashes (`138 0013 8000`, `138-0013-8000`), then require `1[3-9]\d{9}`.
    pub fn parse(input: &str) -> Result<Phone, PhoneError> {
        let digits: String = input.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if digits.is_empty() {
            return Err(PhoneError::Empty);
        }
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PhoneError::NotDigits);
        }
        if digits.len() != 11 {
            return Err(PhoneError::BadLength { len: digits.len() });
        }
        if !(digits.starts_with('1') && matches!(digits.as_bytes()[1], b'3'..=b'9')) {
            return Err(PhoneError::BadPrefix);
        }
        Ok(Phone(digits))
    }

    /// The 11 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// First 3 and last 4 digits, `138****8000`: the usual Chinese display of a number.
    pub fn masked(&self) -> String {
        mask_middle(&self.0, 3, 4)
    }
}

impl std::str::FromStr for Phone {
    type Err = PhoneError;

    /// Same as [`Phone::parse`].
    fn from_str(s: &str) -> Result<Phone, PhoneError> {
        Phone::parse(s)
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Keep `head` chars and `tail` chars, replace each char between with `*`.
fn mask_middle(s: &str, head: usize, tail: usize) -> String {
    let n = s.chars().count();
    s.chars()
        .enumerate()
        .map(|(i, c)| if i < head || i + tail >= n { c } else { '*' })
        .collect()
}

/// Every character of the (trimmed) name but the last becomes `*`: 张三丰 → `**丰`, 李四 → `*四`;
/// a one-character name stays as it is. Works on characters, not bytes.
pub fn mask_name(name: &str) -> String {
    let name = name.trim();
    let n = name.chars().count();
    name.chars()
        .enumerate()
        .map(|(i, c)| if i + 1 == n { c } else { '*' })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed test
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SAMPLE_ID: &str = "11010519491231002X";

    #[test]
    fn the_standard_sample_id_number_is_valid() {
        let id = IdNumber::parse(SAMPLE_ID).unwrap();
        assert_eq!(id.as_str(), SAMPLE_ID);
        assert_eq!(
            id.birth_date(),
            NaiveDate::from_ymd_opt(1949, 12, 31).unwrap()
        );
    }

    #[test]
    fn a_lower_case_x_is_stored_upper_case() {
        assert_eq!(
            IdNumber::parse("11010519491231002x").unwrap().as_str(),
            SAMPLE_ID
        );
    }

    #[test]
    fn id_masking_keeps_only_the_first_and_last_character() {
        assert_eq!(
            IdNumber::parse(SAMPLE_ID).unwrap().masked(),
            "1****************X"
        );
    }

    #[test]
    fn each_broken_id_rule_is_reported() {
        assert_eq!(IdNumber::parse(" "), Err(IdNumberError::Empty));
        assert_eq!(
            IdNumber::parse("1101051949123100"),
            Err(IdNumberError::BadLength { len: 16 })
        );
        assert_eq!(
            IdNumber::parse("1101051949123100X2"),
            Err(IdNumberError::BadCharacters)
        );
        assert_eq!(
            IdNumber::parse("11010519491231002Y"),
            Err(IdNumberError::BadCharacters)
        );
        assert_eq!(
            IdNumber::parse("110105194912310021"),
            Err(IdNumberError::CheckDigit)
        );
        assert_eq!(
            IdNumber::parse("110105194902300020"),
            Err(IdNumberError::BadBirthDate)
        );
    }

    #[test]
    fn phone_numbers_follow_the_mainland_pattern() {
        assert_eq!(Phone::parse("13800138000").unwrap().as_str(), "13800138000");
        assert_eq!(
            Phone::parse("138 0013-8000").unwrap().to_string(),
            "13800138000"
        );
        assert_eq!(Phone::parse(""), Err(PhoneError::Empty));
        assert_eq!(
            Phone::parse("1380013800"),
            Err(PhoneError::BadLength { len: 10 })
        );
        assert_eq!(Phone::parse("12800138000"), Err(PhoneError::BadPrefix));
        assert_eq!(Phone::parse("23800138000"), Err(PhoneError::BadPrefix));
        assert_eq!(Phone::parse("+8613800138000"), Err(PhoneError::NotDigits));
    }

    #[test]
    fn phone_masking_keeps_three_and_four_digits() {
        assert_eq!(Phone::parse("13800138000").unwrap().masked(), "138****8000");
    }

    #[test]
    fn names_are_masked_by_character_not_byte() {
        assert_eq!(mask_name("张三丰"), "**丰");
        assert_eq!(mask_name("李四"), "*四");
        assert_eq!(mask_name("王"), "王");
        assert_eq!(mask_name(""), "");
        assert_eq!(mask_name("Ann Lee"), "******e");
    }

    /// A valid ID number from a region, a real birth date and a sequence number.
    fn valid_id() -> impl Strategy<Value = String> {
        let date = (1900i32..2024, 1u32..13, 1u32..29);
        ("[1-9][0-9]{5}", date, "[0-9]{3}").prop_map(|(region, (y, m, d), seq)| {
            let body = format!("{region}{y:04}{m:02}{d:02}{seq}");
            let check = char::from(id_check_char(body.as_bytes()));
            format!("{body}{check}")
        })
    }

    proptest! {
        #[test]
        fn parsing_arbitrary_text_never_panics(s in "\\PC*") {
            let _ = IdNumber::parse(&s);
            let _ = Phone::parse(&s);
            let _ = mask_name(&s);
        }

        #[test]
        fn parsing_id_like_text_never_panics(s in "[0-9xX]{16,19}") {
            let _ = IdNumber::parse(&s);
        }

        #[test]
        fn generated_id_numbers_parse_and_reparse_to_themselves(s in valid_id()) {
            let id = IdNumber::parse(&s).unwrap();
            prop_assert_eq!(id.as_str(), s.as_str());
            prop_assert_eq!(IdNumber::parse(&id.as_str().to_ascii_lowercase()), Ok(id.clone()));
            prop_assert_eq!(id.masked().chars().count(), 18);
        }

        #[test]
        fn a_single_changed_digit_fails_the_id_check(
            s in valid_id(),
            position in 0usize..17,
            delta in 1u8..10,
        ) {
            let mut bytes = s.into_bytes();
            bytes[position] = b'0' + (bytes[position] - b'0' + delta) % 10;
            let changed = String::from_utf8(bytes).unwrap();
            // A changed date digit may break the date first; either way it must not parse.
            prop_assert!(IdNumber::parse(&changed).is_err());
        }

        #[test]
        fn generated_phones_parse_and_mask(s in "1[3-9][0-9]{9}") {
            let phone = Phone::parse(&s).unwrap();
            prop_assert_eq!(Phone::parse(phone.as_str()), Ok(phone.clone()));
            let masked = phone.masked();
            prop_assert_eq!(&masked[..3], &s[..3]);
            prop_assert_eq!(&masked[7..], &s[7..]);
            prop_assert_eq!(&masked[3..7], "****");
        }

        #[test]
        fn a_masked_name_shows_only_its_last_character(name in "\\PC{1,12}") {
            let masked = mask_name(&name);
            let trimmed = name.trim();
            prop_assert_eq!(masked.chars().count(), trimmed.chars().count());
            prop_assert_eq!(masked.chars().last(), trimmed.chars().last());
            prop_assert!(masked.chars().rev().skip(1).all(|c| c == '*'));
        }
    }
}
