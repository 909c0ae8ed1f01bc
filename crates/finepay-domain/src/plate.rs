//! Licence plates (号牌号码), SPEC §2.
//!
//! A plate is stored normalised, so that `京a·123 45` typed on a phone and `京A12345` printed on a
//! decision are the same plate: ASCII letters upper-cased; whitespace, `·` (U+00B7), `•` and `-`
//! removed. The normalised text must then be a province character, an issuer letter (A–Z without I
//! and O, which read like 1 and 0) and either 5 ordinary characters or a 6-character new-energy serial.

use std::fmt;

/// The province characters that appear first on a civil plate.
pub const PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";

/// What every plate error ends with, so the user sees a valid example.
const EXAMPLE: &str =
    "a plate looks like 京A12345, or 沪AD12345 / 粤B12345F for new-energy vehicles";

/// A valid, normalised licence plate.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Plate {
    normalised: String,
    province: char,
    issuer: char,
    kind: PlateKind,
}

/// Which plate format a plate follows.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PlateKind {
    /// Province + letter + 5 characters, e.g. 京A12345.
    Ordinary,
    /// New-energy small car: province + letter + `[DF][A-HJ-NP-Z0-9][0-9]{4}`, e.g. 沪AD12345.
    NewEnergySmall,
    /// New-energy large vehicle: province + letter + `[0-9]{5}[DF]`, e.g. 粤B12345F.
    NewEnergyLarge,
}

impl PlateKind {
    /// A stable snake_case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            PlateKind::Ordinary => "ordinary",
            PlateKind::NewEnergySmall => "new_energy_small",
            PlateKind::NewEnergyLarge => "new_energy_large",
        }
    }
}

/// Which plate rule an input broke. Each message says what a valid plate looks like.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlateError {
    /// Nothing left after removing spaces and separators.
    #[error("the plate is empty; {EXAMPLE}")]
    Empty,
    /// The first character is not one of the 31 province characters.
    #[error("'{0}' is not a province character (京, 沪, 粤, ...); {EXAMPLE}")]
    UnknownProvince(char),
    /// The second character is not a letter A–Z other than I and O.
    #[error("the second character must be a letter A-Z other than I and O; {EXAMPLE}")]
    BadIssuerLetter,
    /// Not 7 (ordinary) or 8 (new-energy) characters.
    #[error("a plate has 7 characters (8 for new-energy vehicles), this one has {len}; {EXAMPLE}")]
    BadLength {
        /// Characters after normalisation.
        len: usize,
    },
    /// An ordinary plate whose last 5 are not digits or letters other than I and O.
    #[error("the last 5 characters must be digits or letters other than I and O; {EXAMPLE}")]
    BadCharacters,
    /// An 8-character plate that is neither new-energy pattern.
    #[error("a new-energy plate ends in D or F plus 5 characters (沪AD12345) or 5 digits plus D or F (粤B12345F)")]
    BadNewEnergyPattern,
}

impl Plate {
    /// Normalise and validate a plate as typed by a user or sent by an authority.
    pub fn parse(input: &str) -> Result<Plate, PlateError> {
        let normalised = normalise(input);
        let chars: Vec<char> = normalised.chars().collect();
        let (&province, rest) = chars.split_first().ok_or(PlateError::Empty)?;
        if !PROVINCES.contains(province) {
            return Err(PlateError::UnknownProvince(province));
        }
        if chars.len() != 7 && chars.len() != 8 {
            return Err(PlateError::BadLength { len: chars.len() });
        }
        let (&issuer, serial) = rest.split_first().ok_or(PlateError::Empty)?;
        if !(issuer.is_ascii_uppercase() && is_serial_char(issuer)) {
            return Err(PlateError::BadIssuerLetter);
        }
        let kind = serial_kind(serial)?;
        Ok(Plate {
            normalised,
            province,
            issuer,
            kind,
        })
    }

    /// The normalised plate, e.g. `京A12345`.
    pub fn as_str(&self) -> &str {
        &self.normalised
    }

    /// The province character, e.g. `京`.
    pub fn province(&self) -> char {
        self.province
    }

    /// Which format the plate follows.
    pub fn kind(&self) -> PlateKind {
        self.kind
    }

    /// Province + letter + `***` + last two characters (京A12345 → 京A***45): enough for an owner to
    /// recognise their car, not enough for a stranger to learn the plate.
    pub fn masked(&self) -> String {
        let mut tail: Vec<char> = self.normalised.chars().rev().take(2).collect();
        tail.reverse();
        let mut out = String::new();
        out.push(self.province);
        out.push(self.issuer);
        out.push_str("***");
        out.extend(tail);
        out
    }
}

impl std::str::FromStr for Plate {
    type Err = PlateError;

    /// Same as [`Plate::parse`], so `"…".parse::<Plate>()` and CLI argument parsers work.
    fn from_str(s: &str) -> Result<Plate, PlateError> {
        Plate::parse(s)
    }
}

impl fmt::Display for Plate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.normalised)
    }
}

/// Upper-case ASCII letters; drop whitespace and the separators people type between the parts.
fn normalise(input: &str) -> String {
    input
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '·' | '•' | '-'))
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// `[A-HJ-NP-Z0-9]`: digits and upper-case letters except I and O.
fn is_serial_char(c: char) -> bool {
    (c.is_ascii_uppercase() || c.is_ascii_digit()) && c != 'I' && c != 'O'
}

fn is_d_or_f(c: char) -> bool {
    c == 'D' || c == 'F'
}

/// Classify the characters after the issuer letter (5 or 6 of them, checked by the caller).
fn serial_kind(serial: &[char]) -> Result<PlateKind, PlateError> {
    match serial {
        [_, _, _, _, _] if serial.iter().all(|&c| is_serial_char(c)) => Ok(PlateKind::Ordinary),
        [_, _, _, _, _] => Err(PlateError::BadCharacters),
        [first, second, digits @ ..]
            if is_d_or_f(*first)
                && is_serial_char(*second)
                && digits.iter().all(char::is_ascii_digit) =>
        {
            Ok(PlateKind::NewEnergySmall)
        }
        [digits @ .., last] if is_d_or_f(*last) && digits.iter().all(char::is_ascii_digit) => {
            Ok(PlateKind::NewEnergyLarge)
        }
        _ => Err(PlateError::BadNewEnergyPattern),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed test
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(s: &str) -> Result<Plate, PlateError> {
        Plate::parse(s)
    }

    #[test]
    fn the_spec_examples_are_valid_plates_of_their_kind() {
        assert_eq!(parse("京A12345").unwrap().kind(), PlateKind::Ordinary);
        assert_eq!(
            parse("沪AD12345").unwrap().kind(),
            PlateKind::NewEnergySmall
        );
        assert_eq!(
            parse("粤B12345F").unwrap().kind(),
            PlateKind::NewEnergyLarge
        );
    }

    #[test]
    fn lower_case_letters_are_upper_cased() {
        assert_eq!(parse("京a12345").unwrap().as_str(), "京A12345");
        assert_eq!(parse("沪ad12345").unwrap().as_str(), "沪AD12345");
    }

    #[test]
    fn spaces_dots_and_dashes_are_removed() {
        assert_eq!(parse("京A·123 45").unwrap().as_str(), "京A12345");
        assert_eq!(parse(" 京A-12345 ").unwrap().to_string(), "京A12345");
        assert_eq!(parse("京A•12\u{3000}345").unwrap().as_str(), "京A12345");
    }

    #[test]
    fn i_and_o_are_not_issuer_letters() {
        assert_eq!(parse("京I12345"), Err(PlateError::BadIssuerLetter));
        assert_eq!(parse("京O12345"), Err(PlateError::BadIssuerLetter));
        assert_eq!(parse("京112345"), Err(PlateError::BadIssuerLetter));
    }

    #[test]
    fn a_short_plate_reports_its_length() {
        assert_eq!(parse("京A1234"), Err(PlateError::BadLength { len: 6 }));
        assert_eq!(parse("京A1234567"), Err(PlateError::BadLength { len: 9 }));
        assert_eq!(parse("京"), Err(PlateError::BadLength { len: 1 }));
    }

    #[test]
    fn an_unknown_province_is_named_in_the_error() {
        assert_eq!(parse("A12345X"), Err(PlateError::UnknownProvince('A')));
        assert_eq!(parse("港A12345"), Err(PlateError::UnknownProvince('港')));
        let message = parse("港A12345").unwrap_err().to_string();
        assert!(
            message.contains('港') && message.contains("京A12345"),
            "{message}"
        );
    }

    #[test]
    fn empty_input_and_separators_alone_are_empty() {
        assert_eq!(parse(""), Err(PlateError::Empty));
        assert_eq!(parse(" · - "), Err(PlateError::Empty));
    }

    #[test]
    fn ordinary_plates_refuse_i_o_and_other_characters() {
        assert_eq!(parse("京A1234I"), Err(PlateError::BadCharacters));
        assert_eq!(parse("京A1O345"), Err(PlateError::BadCharacters));
        assert_eq!(parse("京A1234京"), Err(PlateError::BadCharacters));
    }

    #[test]
    fn eight_characters_must_follow_a_new_energy_pattern() {
        assert_eq!(parse("京A123456"), Err(PlateError::BadNewEnergyPattern));
        assert_eq!(parse("京AD1234X"), Err(PlateError::BadNewEnergyPattern));
        assert_eq!(parse("京AE12345"), Err(PlateError::BadNewEnergyPattern));
        assert_eq!(parse("京A1234FD"), Err(PlateError::BadNewEnergyPattern));
        assert_eq!(parse("京ADI1234"), Err(PlateError::BadNewEnergyPattern));
        assert!(parse("京AFZ1234").is_ok());
        assert!(parse("京A12345D").is_ok());
    }

    #[test]
    fn masking_keeps_province_letter_and_last_two() {
        assert_eq!(parse("京A12345").unwrap().masked(), "京A***45");
        assert_eq!(parse("沪AD12345").unwrap().masked(), "沪A***45");
        assert_eq!(parse("粤B12345F").unwrap().masked(), "粤B***5F");
    }

    #[test]
    fn province_is_the_first_character() {
        assert_eq!(parse("粤B12345").unwrap().province(), '粤');
    }

    const SERIAL: &str = "[A-HJ-NP-Z0-9]";

    fn province() -> impl Strategy<Value = char> {
        proptest::sample::select(PROVINCES.chars().collect::<Vec<_>>())
    }

    fn valid_plate() -> impl Strategy<Value = String> {
        let issuer = "[A-HJ-NP-Z]";
        let serial = prop_oneof![
            proptest::string::string_regex(&format!("{SERIAL}{{5}}")).unwrap(),
            proptest::string::string_regex(&format!("[DF]{SERIAL}[0-9]{{4}}")).unwrap(),
            proptest::string::string_regex("[0-9]{5}[DF]").unwrap(),
        ];
        (province(), issuer, serial).prop_map(|(p, i, s)| format!("{p}{i}{s}"))
    }

    proptest! {
        #[test]
        fn parsing_arbitrary_text_never_panics(s in "\\PC*") {
            let _ = Plate::parse(&s);
        }

        #[test]
        fn parsing_plate_like_text_never_panics(s in "[京沪粤A-Za-z0-9 ·•-]{0,12}") {
            let _ = Plate::parse(&s);
        }

        #[test]
        fn generated_valid_plates_parse_unchanged(s in valid_plate()) {
            let plate = Plate::parse(&s).unwrap();
            prop_assert_eq!(plate.as_str(), s.as_str());
        }

        #[test]
        fn a_normalised_plate_reparses_to_itself(s in "\\PC*") {
            if let Ok(plate) = Plate::parse(&s) {
                prop_assert_eq!(Plate::parse(plate.as_str()), Ok(plate.clone()));
                prop_assert_eq!(Plate::parse(&plate.to_string()), Ok(plate));
            }
        }

        #[test]
        fn separators_and_lower_case_do_not_change_a_plate(
            s in valid_plate(),
            seps in proptest::collection::vec(prop_oneof![Just(" "), Just("·"), Just("•"), Just("-"), Just("")], 8),
        ) {
            let typed: String = s
                .chars()
                .zip(seps.iter().cycle())
                .map(|(c, sep)| format!("{sep}{}", c.to_ascii_lowercase()))
                .collect();
            let plate = Plate::parse(&typed).unwrap();
            prop_assert_eq!(plate.as_str(), s.as_str());
        }

        #[test]
        fn a_masked_plate_has_seven_characters(s in valid_plate()) {
            let masked = Plate::parse(&s).unwrap().masked();
            prop_assert_eq!(masked.chars().count(), 7);
            prop_assert!(masked.contains("***"));
        }
    }
}
