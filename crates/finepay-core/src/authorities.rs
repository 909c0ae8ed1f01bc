//! Routing a decision number to its city's authority: the longest configured prefix wins, then that
//! authority's own number format applies.

use crate::CoreError;
use finepay_authority::Authority;
use finepay_domain::{CityCode, DecisionNumber};
use std::sync::Arc;

/// An authority's own rule for its decision numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumberRule {
    /// 16 digits whose last is a Luhn check digit (the sandbox authorities).
    SixteenDigitsLuhn,
    /// 15 or 16 digits, no published check (an authority that publishes no rule).
    FifteenOrSixteenDigits,
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
        let number = DecisionNumber::parse(raw)
            .map_err(|e| CoreError::InvalidDecisionNumber(e.to_string()))?;
        let route = self
            .routes
            .iter()
            .find(|r| number.starts_with(&r.prefix))
            .ok_or_else(|| {
                CoreError::InvalidDecisionNumber(
                    "no traffic authority on finepay issues decision numbers starting with these digits; check the number on your ticket".into(),
                )
            })?;
        match route.rule {
            NumberRule::SixteenDigitsLuhn if number.as_str().len() != 16 => {
                Err(CoreError::InvalidDecisionNumber(format!(
                    "decision numbers of {} have 16 digits; this one has {}",
                    route.city,
                    number.as_str().len()
                )))
            }
            NumberRule::SixteenDigitsLuhn if !number.has_valid_luhn() => {
                Err(CoreError::InvalidDecisionNumber(
                    "the check digit does not match: a digit is probably mistyped; compare the number with your ticket".into(),
                ))
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
