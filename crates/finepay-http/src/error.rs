//! The one mapping from errors to HTTP: SPEC's envelope `{"error": {code, message, field?}}` with
//! the status of its code (the core knows codes, not statuses).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use finepay_core::{CoreError, ErrorCode, Outcome, Reply};

/// The HTTP status of each of SPEC §3's error codes.
pub fn status_of(code: ErrorCode) -> StatusCode {
    use ErrorCode::*;
    match code {
        InvalidRequest | InvalidPlate | InvalidDecisionNumber | IdempotencyKeyRequired => {
            StatusCode::BAD_REQUEST
        }
        Unauthenticated | InvalidCredentials => StatusCode::UNAUTHORIZED,
        InsufficientFunds | InsufficientCredit | CardDeclined | CreditOverdue => {
            StatusCode::PAYMENT_REQUIRED
        }
        OnlineHandlingNotAllowed | Forbidden => StatusCode::FORBIDDEN,
        NotFound | DecisionNotFound => StatusCode::NOT_FOUND,
        PhoneTaken | DecisionAlreadyPaid | DecisionRevoked | AmountChanged | RequestInProgress
        | Conflict => StatusCode::CONFLICT,
        PlateMismatch | IdempotencyKeyReused | VehicleVerificationFailed => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        RateLimited => StatusCode::TOO_MANY_REQUESTS,
        AuthorityUnavailable | BankUnavailable | ServiceBusy => StatusCode::SERVICE_UNAVAILABLE,
        InternalError => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The HTTP status of a use case's answer.
pub fn status_of_outcome(outcome: Outcome) -> StatusCode {
    match outcome {
        Outcome::Created => StatusCode::CREATED,
        Outcome::Refused(code) => status_of(code),
    }
}

/// An error answered to a client. Internal errors are logged here, once, and answered opaquely.
#[derive(Debug)]
pub struct ApiError(pub CoreError);

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let CoreError::Internal(detail) = &self.0 {
            tracing::error!(error = %detail, "internal error");
        }
        let status = status_of(self.0.code());
        let mut response = (status, axum::Json(self.0.envelope())).into_response();
        if let CoreError::RateLimited { retry_after_s } = &self.0 {
            if let Ok(v) = HeaderValue::from_str(&retry_after_s.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
    }
}

/// A stored or fresh idempotent response, with `Idempotent-Replayed: true` when replayed.
pub struct ReplyResponse(pub Reply);

impl IntoResponse for ReplyResponse {
    fn into_response(self) -> Response {
        let status = status_of_outcome(self.0.outcome);
        let mut response = (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            self.0.body,
        )
            .into_response();
        if self.0.replayed {
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
        }
        response
    }
}

/// A plain error response for paths outside the handlers (unknown route, wrong method, too big).
pub fn plain_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SPEC §3's statuses, code by code: a change to the table must change this list too.
    #[test]
    fn each_error_code_has_spec_s_status() {
        let spec = [
            ("invalid_request", 400),
            ("invalid_plate", 400),
            ("invalid_decision_number", 400),
            ("idempotency_key_required", 400),
            ("unauthenticated", 401),
            ("invalid_credentials", 401),
            ("insufficient_funds", 402),
            ("insufficient_credit", 402),
            ("card_declined", 402),
            ("credit_overdue", 402),
            ("online_handling_not_allowed", 403),
            ("forbidden", 403),
            ("not_found", 404),
            ("decision_not_found", 404),
            ("phone_taken", 409),
            ("decision_already_paid", 409),
            ("decision_revoked", 409),
            ("amount_changed", 409),
            ("request_in_progress", 409),
            ("conflict", 409),
            ("plate_mismatch", 422),
            ("idempotency_key_reused", 422),
            ("vehicle_verification_failed", 422),
            ("rate_limited", 429),
            ("internal_error", 500),
            ("authority_unavailable", 503),
            ("bank_unavailable", 503),
            ("service_busy", 503),
        ];
        assert_eq!(spec.len(), ErrorCode::ALL.len(), "every code is listed");
        for (name, status) in spec {
            let code = ErrorCode::parse(name).unwrap_or_else(|| panic!("no code {name}"));
            assert_eq!(status_of(code).as_u16(), status, "{name}");
        }
        assert_eq!(status_of_outcome(Outcome::Created), StatusCode::CREATED);
    }
}
