//! The cities this deployment reaches and their authorities: routing a decision number to its
//! city's authority (the longest configured prefix wins, then that authority's own number format
//! applies), a plate to the city that registers it, and each city's names and payee.
//!
//! Everything here is configuration (SPEC §10, the endpoints file; for the embedded sandboxes, the
//! built-in city list): nothing in the core names a city.

use crate::views::CityView;
use crate::CoreError;
use finepay_authority::Authority;
use finepay_domain::{CityCode, DecisionNumber, DecisionNumberError};
use std::sync::Arc;

/// An authority's own rule for its decision numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumberRule {
    /// 16 digits whose last is a Luhn check digit (the sandbox authorities).
    SixteenDigitsLuhn,
    /// 15 or 16 digits, no published check (an authority that publishes no rule).
    FifteenOrSixteenDigits,
}

/// Why a typed decision number cannot be looked up; the message says what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NumberProblem {
    /// Empty, not digits, wrong length for any authority, or a failed check digit.
    #[error(transparent)]
    Shape(DecisionNumberError),
    /// No authority on finepay issues numbers with this prefix.
    #[error("no traffic authority on finepay issues decision numbers starting with these digits; check the number on your ticket")]
    NoAuthority,
    /// The city's authority issues 16 digits and this number has `len`.
    #[error("decision numbers of {city} have 16 digits; this one has {len}")]
    CityLength { city: String, len: usize },
}

#[derive(Clone)]
pub struct AuthorityRoute {
    pub prefix: String,
    pub city: CityCode,
    pub rule: NumberRule,
    pub client: Arc<dyn Authority>,
}

pub use finepay_domain::City;

#[derive(Clone, Default)]
pub struct Authorities {
    routes: Vec<AuthorityRoute>,
    cities: Vec<City>,
}

impl Authorities {
    pub fn new(mut routes: Vec<AuthorityRoute>, cities: Vec<City>) -> Authorities {
        routes.sort_by_key(|r| std::cmp::Reverse(r.prefix.len()));
        Authorities { routes, cities }
    }

    /// Every city of this deployment, in the order configured.
    pub fn cities(&self) -> &[City] {
        &self.cities
    }

    /// A city of this deployment by its code.
    pub fn city(&self, code: &str) -> Option<&City> {
        self.cities.iter().find(|c| c.code.as_str() == code)
    }

    /// The city whose authority registers this (normalised) plate: the longest prefix wins.
    pub fn city_of_plate(&self, plate: &str) -> Option<&City> {
        self.cities
            .iter()
            .flat_map(|c| c.plate_prefixes.iter().map(move |p| (p, c)))
            .filter(|(p, _)| plate.starts_with(p.as_str()))
            .max_by_key(|(p, _)| p.len())
            .map(|(_, c)| c)
    }

    /// A city's code and names for a view (the code alone when the city is not configured, as
    /// for a payment made before its city left).
    pub fn city_view(&self, code: &str) -> CityView {
        let city = self.city(code);
        CityView {
            code: code.to_string(),
            name: city.map_or_else(|| code.to_string(), |c| c.name.clone()),
            name_zh: city.map_or_else(|| code.to_string(), |c| c.name_zh.clone()),
        }
    }

    /// Parses a number as typed by a person and finds its authority, or says what is wrong.
    pub fn route(&self, raw: &str) -> Result<(DecisionNumber, &AuthorityRoute), CoreError> {
        self.check(raw)
            .map_err(|p| CoreError::InvalidDecisionNumber(p.to_string()))
    }

    /// [`Authorities::route`] with the problem as a value, for pages that say it in the
    /// reader's language.
    pub fn check(&self, raw: &str) -> Result<(DecisionNumber, &AuthorityRoute), NumberProblem> {
        let number = DecisionNumber::parse(raw).map_err(NumberProblem::Shape)?;
        let route = self.check_parsed(&number)?;
        Ok((number, route))
    }

    /// The authority of a number already in shape, by [`Authorities::check`]'s rules.
    pub fn route_parsed(&self, number: &DecisionNumber) -> Result<&AuthorityRoute, CoreError> {
        self.check_parsed(number)
            .map_err(|p| CoreError::InvalidDecisionNumber(p.to_string()))
    }

    fn check_parsed(&self, number: &DecisionNumber) -> Result<&AuthorityRoute, NumberProblem> {
        let route = self
            .routes
            .iter()
            .find(|r| number.starts_with(&r.prefix))
            .ok_or(NumberProblem::NoAuthority)?;
        match route.rule {
            NumberRule::SixteenDigitsLuhn if number.as_str().len() != 16 => {
                Err(NumberProblem::CityLength {
                    city: route.city.as_str().to_string(),
                    len: number.as_str().len(),
                })
            }
            NumberRule::SixteenDigitsLuhn if !number.has_valid_luhn() => {
                Err(NumberProblem::Shape(DecisionNumberError::CheckDigit))
            }
            _ => Ok(route),
        }
    }

    pub fn all(&self) -> &[AuthorityRoute] {
        &self.routes
    }

    pub fn for_city(&self, city: &str) -> Option<&AuthorityRoute> {
        self.routes.iter().find(|r| r.city.as_str() == city)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn city(code: &str, name: &str, prefixes: &[&str]) -> City {
        City {
            code: CityCode::parse(code).unwrap(),
            name: name.into(),
            name_zh: name.into(),
            plate_prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
            payee: String::new(),
            payee_en: String::new(),
        }
    }

    #[test]
    fn a_plate_goes_to_the_city_with_the_longest_matching_prefix() {
        let a = Authorities::new(
            Vec::new(),
            vec![
                city("440100", "Guangzhou", &["粤A"]),
                city("440000", "Guangdong", &["粤"]),
                city("440300", "Shenzhen", &["粤B"]),
            ],
        );
        let name = |plate: &str| a.city_of_plate(plate).map(|c| c.name.clone());
        assert_eq!(name("粤B12345").as_deref(), Some("Shenzhen"));
        assert_eq!(name("粤C12345").as_deref(), Some("Guangdong"));
        assert_eq!(name("京A12345"), None);
        assert_eq!(a.city_view("440300").name, "Shenzhen");
        assert_eq!(
            a.city_view("120000").name,
            "120000",
            "an unknown code shows as itself"
        );
    }
}
