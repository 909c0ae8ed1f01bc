//! What a failed use case means to the person in front of the page: every error code of the
//! journey as a sentence in their language that says what to do next, and the field it is about.

use super::i18n::{yuan, Tr};
use finepay_core::{CoreError, ErrorCode, NumberProblem};
use finepay_domain::DecisionNumberError;

/// A message about a form, tied to one of its fields when there is one.
#[derive(Clone, Debug)]
pub struct Problem {
    /// The id of the input it is about (the error summary links to it).
    pub field: Option<&'static str>,
    pub text: String,
}

impl Problem {
    pub fn at(field: &'static str, text: String) -> Problem {
        Problem {
            field: Some(field),
            text,
        }
    }

    pub fn general(text: String) -> Problem {
        Problem { field: None, text }
    }

    pub fn href(&self) -> String {
        format!("#{}", self.field.unwrap_or("main"))
    }

    pub fn is_at(&self, field: &str) -> bool {
        self.field == Some(field)
    }
}

/// The form field a use case's `field` names.
fn input_of(field: &str) -> &'static str {
    match field {
        "phone" => "phone",
        "password" => "password",
        "name" => "name",
        "id_number" => "id_number",
        "number" => "number",
        "holder_name" => "holder_name",
        "vin_last6" => "vin_last6",
        "amount" => "amount",
        "card_id" => "card_id",
        _ => "main",
    }
}

pub fn of_error(t: Tr, e: &CoreError) -> Problem {
    use CoreError::*;
    match e {
        InvalidRequest { field, .. } => {
            let field = field.as_deref().unwrap_or("");
            let id = format!("err-field-{field}");
            let text = if t.has(&id) {
                t.msg(&id)
            } else {
                t.msg("err-invalid_request")
            };
            Problem::at(input_of(field), text)
        }
        InvalidPlate(_) => Problem::at("plate", t.msg("err-invalid_plate")),
        InsufficientFunds { balance, .. } => Problem::at(
            "method",
            t.msg_with("err-insufficient_funds", &[("balance", yuan(*balance))]),
        ),
        InsufficientCredit { available, .. } => Problem::at(
            "method",
            t.msg_with(
                "err-insufficient_credit",
                &[("available", yuan(*available))],
            ),
        ),
        AmountChanged { now_due, .. } => {
            Problem::general(t.msg_with("err-amount_changed", &[("amount", yuan(*now_due))]))
        }
        CardDeclined(reason) => Problem::at(
            "method",
            t.msg_with("err-card_declined", &[("reason", reason.clone())]),
        ),
        PlateMismatch => Problem::at("confirm_plate", t.msg("err-plate_mismatch")),
        RateLimited { retry_after_s } => Problem::general(t.msg_with(
            "err-rate_limited",
            &[("seconds", retry_after_s.to_string())],
        )),
        VehicleVerificationFailed(_) => {
            Problem::at("vin_last6", t.msg("err-vehicle_verification_failed"))
        }
        OnlineHandlingNotAllowed { reason, .. } => {
            let id = format!("err-handling-{reason}");
            Problem::general(if t.has(&id) {
                t.msg(&id)
            } else {
                t.msg("err-online_handling_not_allowed")
            })
        }
        other => Problem::general(of_code(t, other.code())),
    }
}

/// A stored answer's error code (an idempotent replay carries only the code).
pub fn of_code(t: Tr, code: ErrorCode) -> String {
    let code = code.as_str();
    let plain = format!("err-{code}-plain");
    let id = format!("err-{code}");
    if t.has(&plain) {
        t.msg(&plain)
    } else if t.has(&id) {
        t.msg(&id)
    } else {
        t.msg("err-internal_error")
    }
}

/// What is wrong with a typed decision number.
pub fn of_number(t: Tr, p: &NumberProblem) -> String {
    match p {
        NumberProblem::Shape(DecisionNumberError::Empty) => t.msg("num-empty"),
        NumberProblem::Shape(DecisionNumberError::NotDigits) => t.msg("num-not-digits"),
        NumberProblem::Shape(DecisionNumberError::BadLength { len }) => {
            t.msg_with("num-length", &[("len", len.to_string())])
        }
        NumberProblem::Shape(DecisionNumberError::CheckDigit) => t.msg("num-check-digit"),
        NumberProblem::NoAuthority => t.msg("num-no-authority"),
        NumberProblem::CityLength { len, .. } => {
            t.msg_with("num-city-length", &[("len", len.to_string())])
        }
    }
}
