//! Routing a decision number to its city's authority: the longest configured prefix wins, then that
//! authority's own number format applies.

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

#[derive(Clone, Default)]
pub struct Authorities {
    routes: Vec<AuthorityRoute>,
}

impl Authorities {
    pub fn new(mut routes: Vec<AuthorityRoute>) -> Authorities {
        routes.sort_by_key(|r| std::cmp::Reverse(r.prefix.len()));
        Authorities { routes }
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
            _ => Ok((number, route)),
        }
    }

    pub fn all(&self) -> &[AuthorityRoute] {
        &self.routes
    }

    pub fn for_city(&self, city: &str) -> Option<&AuthorityRoute> {
        self.routes.iter().find(|r| r.city.as_str() == city)
    }
}
