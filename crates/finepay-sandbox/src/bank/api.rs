//! The sandbox bank's HTTP API: checks the shape of each request, asks the books, answers.

use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;

use super::books::{self, ChargeAttempt, LinkOutcome, RefundAttempt};
use super::cards::CardNumber;
use super::store::{ChargeOutcome, ChargeRow, RefundRow};
use super::SandboxBank;
use finepay_bank::protocol::{self, code, status, FAULT_CONNECT, FAULT_HEADER};

/// Requests are a few short fields; anything bigger is refused before it is parsed.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// Longest reference or token accepted (the platform's references are UUIDs).
const MAX_REFERENCE_CHARS: usize = 255;
/// Longest card holder name accepted.
const MAX_HOLDER_NAME_CHARS: usize = 100;
/// Set on an answer that repeats a recorded outcome instead of acting again.
const REPLAYED_HEADER: &str = "idempotent-replayed";

pub(crate) fn router(bank: SandboxBank) -> Router {
    Router::new()
        .route("/bank/v1/cards/verify", post(verify_card))
        .route("/bank/v1/cards/{card_token}/charges", get(card_charges))
        .route("/bank/v1/charges", post(create_charge))
        .route("/bank/v1/charges/{reference}", get(charge_status))
        .route("/bank/v1/refunds", post(create_refund))
        .fallback(unknown_route)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(bank)
}

async fn verify_card(
    State(bank): State<SandboxBank>,
    ApiJson(request): ApiJson<protocol::VerifyCardRequest>,
) -> Result<Response, ApiError> {
    let number = CardNumber::parse(&request.number).map_err(|_| ApiError::InvalidCard)?;
    let holder_name = request.holder_name.trim().to_owned();
    check_text("holder_name", &holder_name, MAX_HOLDER_NAME_CHARS)?;
    let last4 = number.last4().to_owned();
    let outcome = bank
        .with_books(move |conn, _| books::link_card(conn, &number, &holder_name))
        .await?;
    match outcome {
        LinkOutcome::Refused { reason } => Err(ApiError::Declined(reason.to_owned())),
        LinkOutcome::Linked(card) => {
            let body = protocol::VerifyCardResponse {
                bank: card.bank,
                last4,
                card_token: card.token,
            };
            Ok((StatusCode::OK, Json(body)).into_response())
        }
    }
}

async fn create_charge(
    State(bank): State<SandboxBank>,
    ApiJson(request): ApiJson<protocol::ChargeRequest>,
) -> Result<Response, ApiError> {
    check_text("reference", &request.reference, MAX_REFERENCE_CHARS)?;
    check_text("card_token", &request.card_token, MAX_REFERENCE_CHARS)?;
    check_amount(request.amount_fen)?;
    let attempt = bank
        .with_books(move |conn, config| {
            let request = books::ChargeRequest {
                reference: &request.reference,
                card_token: &request.card_token,
                amount_fen: request.amount_fen,
            };
            books::charge(conn, &request, config)
        })
        .await?;
    match attempt {
        ChargeAttempt::ReferenceReused => Err(ApiError::Conflict {
            code: code::REFERENCE_REUSED,
            message: "reference already used for another charge".to_owned(),
        }),
        ChargeAttempt::ConnectFault => {
            tracing::info!("sandbox bank refusing a charge as a failed connection (test card)");
            Err(ApiError::ConnectFault)
        }
        ChargeAttempt::Recorded {
            charge,
            replayed,
            delay,
        } => Ok(answer_charge(charge, replayed, delay).await),
    }
}

/// Answers a recorded charge, after `delay` (the money is already on the books while it waits).
async fn answer_charge(charge: ChargeRow, replayed: bool, delay: Duration) -> Response {
    tracing::info!(
        reference = %charge.reference,
        amount_fen = charge.amount_fen,
        outcome = ?charge.outcome,
        replayed,
        delay_ms = delay.as_millis(),
        "sandbox bank charge"
    );
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let response = match charge.outcome {
        ChargeOutcome::Declined { reason } => ApiError::Declined(reason).into_response(),
        ChargeOutcome::Succeeded => {
            let body = protocol::ChargeResponse {
                reference: charge.reference,
                status: status::SUCCEEDED.to_owned(),
                amount_fen: charge.amount_fen,
                charged_at: charge.created_at,
            };
            (StatusCode::CREATED, Json(body)).into_response()
        }
    };
    mark_replayed(response, replayed)
}

async fn charge_status(
    State(bank): State<SandboxBank>,
    Path(reference): Path<String>,
) -> Result<Json<protocol::ChargeRecord>, ApiError> {
    let charge = bank
        .with_books(move |conn, _| super::store::find_charge(conn, &reference))
        .await?
        .ok_or_else(|| ApiError::NotFound("no charge with this reference".to_owned()))?;
    Ok(Json(charge_record(charge)))
}

async fn card_charges(
    State(bank): State<SandboxBank>,
    Path(card_token): Path<String>,
) -> Result<Json<protocol::CardChargesResponse>, ApiError> {
    let charges = bank
        .with_books(move |conn, _| books::card_charges(conn, &card_token))
        .await?
        .ok_or_else(|| ApiError::NotFound("no card with this token".to_owned()))?;
    let data = charges.into_iter().map(charge_record).collect();
    Ok(Json(protocol::CardChargesResponse { data }))
}

fn charge_record(charge: ChargeRow) -> protocol::ChargeRecord {
    let (wire_status, reason) = match charge.outcome {
        ChargeOutcome::Declined { reason } => (status::DECLINED, Some(reason)),
        ChargeOutcome::Succeeded if charge.refunded_fen == charge.amount_fen => {
            (status::REFUNDED, None)
        }
        ChargeOutcome::Succeeded => (status::SUCCEEDED, None),
    };
    protocol::ChargeRecord {
        reference: charge.reference,
        status: wire_status.to_owned(),
        amount_fen: charge.amount_fen,
        refunded_fen: charge.refunded_fen,
        reason,
        created_at: charge.created_at,
    }
}

async fn create_refund(
    State(bank): State<SandboxBank>,
    ApiJson(request): ApiJson<protocol::RefundRequest>,
) -> Result<Response, ApiError> {
    check_text(
        "refund_reference",
        &request.refund_reference,
        MAX_REFERENCE_CHARS,
    )?;
    check_text(
        "charge_reference",
        &request.charge_reference,
        MAX_REFERENCE_CHARS,
    )?;
    check_amount(request.amount_fen)?;
    let attempt = bank
        .with_books(move |conn, _| {
            let request = books::RefundRequest {
                refund_reference: &request.refund_reference,
                charge_reference: &request.charge_reference,
                amount_fen: request.amount_fen,
            };
            books::refund(conn, &request)
        })
        .await?;
    match attempt {
        RefundAttempt::Recorded { refund, replayed } => Ok(answer_refund(refund, replayed)),
        RefundAttempt::ReferenceReused => Err(ApiError::Conflict {
            code: code::REFERENCE_REUSED,
            message: "refund reference already used for another refund".to_owned(),
        }),
        RefundAttempt::ChargeNotFound => Err(ApiError::NotFound(
            "no charge with this reference".to_owned(),
        )),
        RefundAttempt::ChargeNotRefundable => Err(ApiError::Conflict {
            code: code::CHARGE_NOT_REFUNDABLE,
            message: "the charge was declined: nothing to refund".to_owned(),
        }),
        RefundAttempt::ExceedsCharge { refundable_fen } => Err(ApiError::Conflict {
            code: code::REFUND_EXCEEDS_CHARGE,
            message: format!(
                "refund exceeds the charge: at most {refundable_fen} fen can be refunded"
            ),
        }),
    }
}

fn answer_refund(refund: RefundRow, replayed: bool) -> Response {
    tracing::info!(
        refund_reference = %refund.refund_reference,
        charge_reference = %refund.charge_reference,
        amount_fen = refund.amount_fen,
        replayed,
        "sandbox bank refund"
    );
    let body = protocol::RefundResponse {
        refund_reference: refund.refund_reference,
        charge_reference: refund.charge_reference,
        amount_fen: refund.amount_fen,
        refunded_at: refund.created_at,
    };
    mark_replayed((StatusCode::CREATED, Json(body)).into_response(), replayed)
}

fn mark_replayed(mut response: Response, replayed: bool) -> Response {
    if replayed {
        response.headers_mut().insert(
            HeaderName::from_static(REPLAYED_HEADER),
            HeaderValue::from_static("true"),
        );
    }
    response
}

async fn unknown_route() -> ApiError {
    ApiError::NotFound("no such endpoint".to_owned())
}

fn check_text(field: &'static str, value: &str, max_chars: usize) -> Result<(), ApiError> {
    let length = value.chars().count();
    if length == 0 || length > max_chars || value.chars().any(char::is_control) {
        return Err(ApiError::InvalidRequest {
            field: Some(field),
            message: format!("{field} must be 1 to {max_chars} printable characters"),
        });
    }
    Ok(())
}

fn check_amount(amount_fen: i64) -> Result<(), ApiError> {
    if amount_fen <= 0 {
        return Err(ApiError::InvalidRequest {
            field: Some("amount_fen"),
            message: "amount_fen must be a positive number of fen".to_owned(),
        });
    }
    Ok(())
}

/// `Json` whose rejections use the protocol's error envelope instead of axum's plain text.
struct ApiJson<T>(T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError::from(rejection)),
        }
    }
}

/// Every way a sandbox request can fail, each with its status and envelope code.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    #[error("{message}")]
    InvalidRequest {
        field: Option<&'static str>,
        message: String,
    },
    #[error("request body is larger than {MAX_BODY_BYTES} bytes")]
    PayloadTooLarge,
    #[error("card number is not valid")]
    InvalidCard,
    #[error("{0}")]
    Declined(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// Stand-in for a refused TCP connection (see `protocol::FAULT_HEADER`).
    #[error("cannot connect to the bank (sandbox fault)")]
    ConnectFault,
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<rusqlite::Error> for ApiError {
    fn from(error: rusqlite::Error) -> Self {
        Self::Internal(format!("sandbox database: {error}"))
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::PayloadTooLarge;
        }
        Self::InvalidRequest {
            field: None,
            message: rejection.body_text(),
        }
    }
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::InvalidRequest { .. } => (StatusCode::BAD_REQUEST, code::INVALID_REQUEST),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::InvalidCard => (StatusCode::BAD_REQUEST, code::INVALID_CARD),
            Self::Declined(_) => (StatusCode::PAYMENT_REQUIRED, code::DECLINED),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, code::NOT_FOUND),
            Self::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            Self::ConnectFault => (StatusCode::SERVICE_UNAVAILABLE, code::UNAVAILABLE),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, code::INTERNAL),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = match &self {
            Self::Internal(detail) => {
                tracing::error!(error = %detail, "sandbox bank failed");
                "internal error".to_owned()
            }
            other => other.to_string(),
        };
        let field = match &self {
            Self::InvalidRequest { field, .. } => field.map(str::to_owned),
            _ => None,
        };
        let body = protocol::ErrorEnvelope {
            error: protocol::ErrorBody {
                code: code.to_owned(),
                message,
                field,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if matches!(self, Self::ConnectFault) {
            response.headers_mut().insert(
                HeaderName::from_static(FAULT_HEADER),
                HeaderValue::from_static(FAULT_CONNECT),
            );
        }
        response
    }
}
