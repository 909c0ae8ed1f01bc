//! The one mapping from errors to HTTP: SPEC's envelope `{"error": {code, message, field?}}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use finepay_core::{CoreError, Reply};

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
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
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
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
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
