//! City codes: the 6-digit administrative division code of GB/T 2260 (110000 Beijing, 440300
//! Shenzhen). Codes identify the authority a decision belongs to and the ledger account it is owed.

use std::fmt;

/// A 6-digit administrative division code; the first digit is 1–9.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CityCode(String);

/// Why a city code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CityCodeError {
    /// Not exactly 6 characters.
    #[error("a city code has 6 digits (e.g. 110000 for Beijing); this one has {len} characters")]
    BadLength {
        /// Characters given.
        len: usize,
    },
    /// A character other than an ASCII digit.
    #[error("a city code has only digits (e.g. 110000 for Beijing)")]
    NotDigits,
    /// Starts with 0: no GB/T 2260 code does.
    #[error("a city code does not start with 0 (e.g. 110000 for Beijing)")]
    LeadingZero,
}

impl CityCode {
    /// Exactly 6 ASCII digits, the first 1–9. No trimming: codes come from configuration and URLs.
    pub fn parse(input: &str) -> Result<CityCode, CityCodeError> {
        let len = input.chars().count();
        if len != 6 {
            return Err(CityCodeError::BadLength { len });
        }
        if !input.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CityCodeError::NotDigits);
        }
        if input.starts_with('0') {
            return Err(CityCodeError::LeadingZero);
        }
        Ok(CityCode(input.to_owned()))
    }

    /// The six digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for CityCode {
    type Err = CityCodeError;

    /// Same as [`CityCode::parse`], so `"…".parse::<CityCode>()` and CLI argument parsers work.
    fn from_str(s: &str) -> Result<CityCode, CityCodeError> {
        CityCode::parse(s)
    }
}

impl fmt::Display for CityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A city whose authority the platform reaches, as the endpoints file names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct City {
    pub code: CityCode,
    pub name: String,
    pub name_zh: String,
    /// Plates starting with one of these are registered by this city's authority (京, 粤B, …).
    pub plate_prefixes: Vec<String>,
    /// The authority that receives the fines, in Chinese: the receipts' payee.
    pub payee: String,
    /// The same in English.
    pub payee_en: String,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed test
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_sandbox_cities_are_valid_codes() {
        for code in ["110000", "310000", "440100", "440300", "330100", "510100"] {
            assert_eq!(CityCode::parse(code).unwrap().as_str(), code);
        }
    }

    #[test]
    fn each_broken_rule_is_reported() {
        assert_eq!(
            CityCode::parse(""),
            Err(CityCodeError::BadLength { len: 0 })
        );
        assert_eq!(
            CityCode::parse("11000"),
            Err(CityCodeError::BadLength { len: 5 })
        );
        assert_eq!(CityCode::parse("11000a"), Err(CityCodeError::NotDigits));
        assert_eq!(
            CityCode::parse("北京00000"),
            Err(CityCodeError::BadLength { len: 7 })
        );
        assert_eq!(CityCode::parse("北京0000"), Err(CityCodeError::NotDigits));
        assert_eq!(CityCode::parse("010000"), Err(CityCodeError::LeadingZero));
        assert_eq!(
            CityCode::parse(" 110000"),
            Err(CityCodeError::BadLength { len: 7 })
        );
    }

    proptest! {
        #[test]
        fn parsing_arbitrary_text_never_panics(s in "\\PC*") {
            let _ = CityCode::parse(&s);
        }

        #[test]
        fn generated_codes_parse_and_display_unchanged(s in "[1-9][0-9]{5}") {
            let code = CityCode::parse(&s).unwrap();
            prop_assert_eq!(code.to_string(), s.clone());
            prop_assert_eq!(CityCode::parse(code.as_str()), Ok(code));
        }
    }
}
