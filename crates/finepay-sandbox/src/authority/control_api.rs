//! The sandbox control API of SPEC §4: `/sandbox/v1/...`, for tests and demos.
//!
//! No authentication here; the platform mounts this router behind its sandbox bearer token. Bodies
//! are read as JSON values and taken apart field by field, so every malformed field is reported as
//! `400 invalid_request` naming the `field`, in the platform's error envelope.

use super::{
    DecisionState, IssuedDecision, Mode, NewVehicle, NewViolation, SandboxAuthority, SandboxError,
    Tamper, Vehicle,
};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use finepay_authority::protocol::{ErrorBody, ErrorEnvelope, MAX_BODY_BYTES};
use serde_json::{json, Map, Value};

pub(super) fn router(sandbox: SandboxAuthority) -> Router {
    Router::new()
        .route("/sandbox/v1/vehicles", post(register_vehicle))
        .route("/sandbox/v1/violations", post(record_violation))
        .route("/sandbox/v1/violations/{id}/decision", post(issue_decision))
        .route("/sandbox/v1/decisions/{number}", get(decision))
        .route("/sandbox/v1/decisions/{number}/revoke", post(revoke))
        .route("/sandbox/v1/decisions/{number}/tamper", post(tamper))
        .route(
            "/sandbox/v1/authorities/{city_code}/mode",
            put(set_mode).get(get_mode),
        )
        .route("/sandbox/v1/notices/{payment_id}", get(notice_deliveries))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(sandbox)
}

/// A control API failure, rendered in the error envelope.
struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<&'static str>,
}

impl ApiError {
    fn invalid(field: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_request",
            message: message.into(),
            field: Some(field),
        }
    }

    fn new(status: StatusCode, code: &'static str, message: String) -> ApiError {
        ApiError {
            status,
            code,
            message,
            field: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorEnvelope {
            error: ErrorBody {
                code: self.code.to_owned(),
                message: self.message,
                field: self.field.map(str::to_owned),
            },
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<SandboxError> for ApiError {
    fn from(e: SandboxError) -> ApiError {
        let message = e.to_string();
        match e {
            SandboxError::InvalidField { field, message } => ApiError::invalid(field, message),
            SandboxError::InvalidPlate(_) => ApiError {
                status: StatusCode::BAD_REQUEST,
                code: "invalid_plate",
                message,
                field: Some("plate"),
            },
            SandboxError::VehicleNotRegistered(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "vehicle_not_registered",
                message,
            ),
            SandboxError::PlateCityMismatch { .. } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "plate_city_mismatch",
                message,
            ),
            SandboxError::VehicleConflict(_) => {
                ApiError::new(StatusCode::CONFLICT, "vehicle_conflict", message)
            }
            SandboxError::NotFound { .. } => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
            }
            SandboxError::NotPaid(_) => {
                ApiError::new(StatusCode::CONFLICT, "decision_not_paid", message)
            }
            SandboxError::AlreadyDecided(_) => {
                ApiError::new(StatusCode::CONFLICT, "already_decided", message)
            }
            SandboxError::SerialsExhausted(_) => {
                ApiError::new(StatusCode::CONFLICT, "serials_exhausted", message)
            }
            SandboxError::Database(_) | SandboxError::Corrupt(_) => {
                tracing::error!(error = %message, "sandbox control API failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the sandbox failed".to_owned(),
                )
            }
        }
    }
}

type ApiResult = Result<Response, ApiError>;

/// Run a blocking database call off the async runtime.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SandboxError> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(join) => {
            tracing::error!(error = %join, "sandbox control task panicked");
            Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the sandbox failed".to_owned(),
            ))
        }
    }
}

/// The body as a JSON object; an empty body counts as `{}` when `empty_ok`.
fn object(body: &[u8], empty_ok: bool) -> Result<Map<String, Value>, ApiError> {
    if empty_ok && body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::invalid("body", "the body must be a JSON object")),
        Err(e) => Err(ApiError::invalid(
            "body",
            format!("the body is not JSON: {e}"),
        )),
    }
}

fn string(map: &Map<String, Value>, field: &'static str) -> Result<String, ApiError> {
    match map.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        Some(Value::String(_)) => Err(ApiError::invalid(
            field,
            format!("{field} must not be empty"),
        )),
        Some(_) => Err(ApiError::invalid(
            field,
            format!("{field} must be a string"),
        )),
        None => Err(ApiError::invalid(field, format!("{field} is required"))),
    }
}

fn optional_date(
    map: &Map<String, Value>,
    field: &'static str,
) -> Result<Option<NaiveDate>, ApiError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| ApiError::invalid(field, format!("{field} must be a date YYYY-MM-DD"))),
        Some(_) => Err(ApiError::invalid(
            field,
            format!("{field} must be a date YYYY-MM-DD"),
        )),
    }
}

fn time(map: &Map<String, Value>, field: &'static str) -> Result<DateTime<Utc>, ApiError> {
    let text = string(map, field)?;
    DateTime::parse_from_rfc3339(&text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| ApiError::invalid(field, format!("{field} must be an RFC 3339 time")))
}

fn vehicle_json(v: &Vehicle) -> Value {
    json!({
        "plate": v.plate,
        "vin": v.vin,
        "owner_name": v.owner_name,
        "owner_id_number": v.owner_id_number,
        "city_code": v.city_code,
    })
}

async fn register_vehicle(State(sandbox): State<SandboxAuthority>, body: Bytes) -> ApiResult {
    let map = object(&body, false)?;
    let new = NewVehicle {
        plate: string(&map, "plate")?,
        vin: string(&map, "vin")?,
        owner_name: string(&map, "owner_name")?,
        owner_id_number: string(&map, "owner_id_number")?,
        city_code: string(&map, "city_code")?,
    };
    let vehicle = blocking(move || sandbox.register_vehicle(new)).await?;
    Ok((StatusCode::CREATED, Json(vehicle_json(&vehicle))).into_response())
}

async fn record_violation(State(sandbox): State<SandboxAuthority>, body: Bytes) -> ApiResult {
    let map = object(&body, false)?;
    let new = NewViolation {
        city_code: string(&map, "city_code")?,
        plate: string(&map, "plate")?,
        code: string(&map, "code")?,
        occurred_at: time(&map, "occurred_at")?,
        location: string(&map, "location")?,
    };
    let id = blocking(move || sandbox.record_violation(new)).await?;
    let body = json!({ "id": id.as_str(), "status": "recorded" });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

fn issued_json(d: &IssuedDecision) -> Value {
    json!({
        "decision_number": d.decision_number,
        "city_code": d.city_code,
        "plate": d.plate,
        "fine": d.fine_fen,
        "currency": "CNY",
        "points": d.points,
        "issued_on": d.issued_on,
        "due_on": d.due_on,
    })
}

async fn issue_decision(
    State(sandbox): State<SandboxAuthority>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let map = object(&body, true)?;
    let issued_on = optional_date(&map, "issued_on")?;
    let issued = blocking(move || sandbox.issue_decision(&id, issued_on)).await?;
    Ok((StatusCode::CREATED, Json(issued_json(&issued))).into_response())
}

fn decision_json(state: &DecisionState) -> Value {
    let r = &state.record;
    json!({
        "number": r.number,
        "status": r.status,
        "city_code": r.city_code,
        "plate": r.plate,
        "violation_code": r.violation.code,
        "fine": r.fine_fen,
        "late_fee": r.late_fee_fen,
        "amount_due": r.amount_due_fen,
        "currency": "CNY",
        "points": r.points,
        "issued_on": r.issued_on,
        "due_on": r.due_on,
        "paid_amount": r.paid_amount_fen,
        "payment_id": r.payment_id,
        "paid_at": r.paid_at,
        "notice_deliveries": state.notice_deliveries,
    })
}

fn decision_not_found(number: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no decision {number}"),
    )
}

async fn decision(
    State(sandbox): State<SandboxAuthority>,
    Path(number): Path<String>,
) -> ApiResult {
    let wanted = number.clone();
    match blocking(move || sandbox.decision_state(&wanted)).await? {
        Some(state) => Ok(Json(decision_json(&state)).into_response()),
        None => Err(decision_not_found(&number)),
    }
}

async fn revoke(State(sandbox): State<SandboxAuthority>, Path(number): Path<String>) -> ApiResult {
    let wanted = number.clone();
    let s = sandbox.clone();
    let revoked = blocking(move || {
        let logged = s.revoke(&wanted)?;
        // Only an authority that is up can tell its followers anything: no wait otherwise.
        Ok(match logged {
            Some((city, seq)) if s.mode(&city)? == Mode::Up => Some((city, seq)),
            _ => None,
        })
    })
    .await?;
    if let Some((city, seq)) = revoked {
        // Answer once the platforms following the feed have the revocation (bounded wait).
        sandbox.inner.feed.acknowledged(&city, seq).await;
    }
    Ok(Json(json!({ "number": number, "status": "revoked" })).into_response())
}

/// `POST /sandbox/v1/decisions/{number}/tamper` `{"action": "forget"|"duplicate"|"set_amount",
/// "amount"?}`: corrupt the authority's record of a paid decision's payment (SPEC §4).
async fn tamper(
    State(sandbox): State<SandboxAuthority>,
    Path(number): Path<String>,
    body: Bytes,
) -> ApiResult {
    let map = object(&body, false)?;
    let action = string(&map, "action")?;
    let how = match action.as_str() {
        "forget" => Tamper::Forget,
        "duplicate" => Tamper::Duplicate,
        "set_amount" => {
            let amount = map
                .get("amount")
                .and_then(Value::as_i64)
                .filter(|a| *a > 0)
                .ok_or_else(|| {
                    ApiError::invalid("amount", "set_amount needs a positive amount in fen")
                })?;
            Tamper::SetAmount(amount)
        }
        _ => {
            return Err(ApiError::invalid(
                "action",
                "action must be one of forget, duplicate, set_amount",
            ))
        }
    };
    let wanted = number.clone();
    blocking(move || sandbox.tamper(&wanted, how)).await?;
    Ok(Json(json!({ "number": number, "action": action })).into_response())
}

async fn set_mode(
    State(sandbox): State<SandboxAuthority>,
    Path(city_code): Path<String>,
    body: Bytes,
) -> ApiResult {
    let map = object(&body, false)?;
    let name = string(&map, "mode")?;
    let mode = Mode::parse(&name)
        .ok_or_else(|| ApiError::invalid("mode", "mode must be one of up, down, slow, flaky"))?;
    let city = city_code.clone();
    blocking(move || sandbox.set_mode(&city, mode)).await?;
    tracing::info!(city_code = %city_code, mode = mode.as_str(), "sandbox authority mode set");
    Ok(Json(json!({ "city_code": city_code, "mode": mode.as_str() })).into_response())
}

async fn get_mode(
    State(sandbox): State<SandboxAuthority>,
    Path(city_code): Path<String>,
) -> ApiResult {
    let city = city_code.clone();
    let mode = blocking(move || sandbox.mode(&city)).await?;
    Ok(Json(json!({ "city_code": city_code, "mode": mode.as_str() })).into_response())
}

async fn notice_deliveries(
    State(sandbox): State<SandboxAuthority>,
    Path(payment_id): Path<String>,
) -> ApiResult {
    let id = payment_id.clone();
    let deliveries = blocking(move || sandbox.notice_deliveries(&id)).await?;
    Ok(Json(json!({ "payment_id": payment_id, "deliveries": deliveries })).into_response())
}
