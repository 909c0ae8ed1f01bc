//! The authority protocol as the sandbox serves it (docs/authority-protocol.md).
//!
//! One middleware does, in this order, what a real authority's front door would: find the city
//! (404 if it has no authority here), apply the city's fault-injection mode (a `down` authority
//! cannot check signatures), read the body up to [`MAX_BODY_BYTES`], then check the HMAC signature
//! and the clock skew (401). Handlers only see authenticated requests.

use super::{Mode, NoticeVerdict, SandboxAuthority, SandboxError};
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{OriginalUri, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use finepay_authority::protocol::{
    verify, BatchVerdict, ErrorBody, ErrorEnvelope, HandlingRefusal, HandlingRequest,
    LicencePointsRequest, NoticeAnswer, NoticeBatch, NoticeBatchAnswer, NoticeResult,
    PaymentNotice, SettlementFile, SignedParts, VehicleCheckRequest, MAX_BODY_BYTES,
    MAX_NOTICES_PER_BATCH, MAX_SETTLEMENT_BODY_BYTES, SIGNATURE_HEADER, TIMESTAMP_HEADER,
};
use serde::Deserialize;
use std::time::Duration;

pub(super) fn router(sandbox: SandboxAuthority) -> Router {
    Router::new()
        .route("/authority/v1/{city}/decisions/{number}", get(lookup))
        .route("/authority/v1/{city}/payment-notices", post(notice))
        .route(
            "/authority/v1/{city}/payment-notices/batch",
            post(notice_batch),
        )
        .route("/authority/v1/{city}/notices", get(notices_of_day))
        .route("/authority/v1/{city}/settlements", post(settlement))
        .route("/authority/v1/{city}/vehicle-checks", post(vehicle_check))
        .route(
            "/authority/v1/{city}/vehicles/{plate}/violations",
            get(violations_of_plate),
        )
        .route(
            "/authority/v1/{city}/violations/{id}/handling",
            post(handle_violation),
        )
        .route("/authority/v1/{city}/licence-points", post(licence_points))
        .route("/authority/v1/{city}/events", get(events))
        // The front door caps each body (64 KiB; settlement files 8 MiB); this lets the
        // handlers' extractors take what it let through.
        .layer(axum::extract::DefaultBodyLimit::max(
            MAX_SETTLEMENT_BODY_BYTES,
        ))
        .layer(middleware::from_fn_with_state(sandbox.clone(), front_door))
        .with_state(sandbox)
}

/// An error answer in the protocol's envelope.
pub(super) fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = ErrorEnvelope {
        error: ErrorBody {
            code: code.to_owned(),
            message: message.into(),
            field: None,
        },
    };
    (status, Json(body)).into_response()
}

/// Map a sandbox error to the protocol's answer: bad input is 4xx, everything else an opaque 500.
fn sandbox_error(e: SandboxError) -> Response {
    let message = e.to_string();
    match e {
        SandboxError::InvalidPlate(_) => error(StatusCode::BAD_REQUEST, "invalid_plate", message),
        SandboxError::InvalidField { field, message } => {
            let body = ErrorEnvelope {
                error: ErrorBody {
                    code: "invalid_request".to_owned(),
                    message,
                    field: Some(field.to_owned()),
                },
            };
            (StatusCode::BAD_REQUEST, Json(body)).into_response()
        }
        SandboxError::NotFound { what, .. } => {
            error(StatusCode::NOT_FOUND, &format!("{what}_not_found"), message)
        }
        _ => {
            tracing::error!(error = %message, "sandbox authority failed");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the authority failed",
            )
        }
    }
}

/// Run a blocking database call off the async runtime.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SandboxError> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(sandbox_error(e)),
        Err(join) => {
            tracing::error!(error = %join, "sandbox authority task panicked");
            Err(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the authority failed",
            ))
        }
    }
}

/// The city code: the segment after `/authority/v1/`.
fn city_of(path: &str) -> Option<&str> {
    path.strip_prefix("/authority/v1/")?.split('/').next()
}

fn unavailable() -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "authority_unavailable",
        "the authority is not available, try again later",
    )
}

async fn front_door(
    State(sandbox): State<SandboxAuthority>,
    request: Request,
    next: Next,
) -> Response {
    let target = request
        .extensions()
        .get::<OriginalUri>()
        .map(|o| o.0.clone())
        .unwrap_or_else(|| request.uri().clone());
    let path_and_query = target
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| target.path().to_owned());
    let Some(city) = city_of(target.path()).map(str::to_owned) else {
        return error(
            StatusCode::NOT_FOUND,
            "unknown_authority",
            "no authority at this path",
        );
    };
    let mode = {
        let sandbox = sandbox.clone();
        let city = city.clone();
        blocking(move || sandbox.mode(&city).map(Some).or_else(not_found_is_none)).await
    };
    let mode = match mode {
        Ok(Some(mode)) => mode,
        Ok(None) => {
            return error(
                StatusCode::NOT_FOUND,
                "unknown_authority",
                format!("no authority for city {city}"),
            )
        }
        Err(response) => return response,
    };
    if let Some(refusal) = apply_mode(&sandbox, mode).await {
        return refusal;
    }
    let (parts, body) = request.into_parts();
    // Settlement files are the one big body; everything else fits in 64 KiB.
    let limit = if parts.uri.path().ends_with("/settlements") {
        MAX_SETTLEMENT_BODY_BYTES
    } else {
        MAX_BODY_BYTES
    };
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is over {limit} bytes"),
        );
    };
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let signed = SignedParts {
        method: parts.method.as_str(),
        path: &path_and_query,
        timestamp: header(TIMESTAMP_HEADER),
        signature: header(SIGNATURE_HEADER),
    };
    let now = chrono::Utc::now().timestamp();
    if let Err(e) = verify(&sandbox.config().secret, &signed, &bytes, now) {
        tracing::warn!(city_code = %city, reason = %e, "sandbox authority refused a signature");
        return error(StatusCode::UNAUTHORIZED, "unauthorized", e.to_string());
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn not_found_is_none(e: SandboxError) -> Result<Option<Mode>, SandboxError> {
    match e {
        SandboxError::NotFound { .. } => Ok(None),
        other => Err(other),
    }
}

/// `down`: refuse at once; `flaky`: refuse about half, at random; `slow`: wait, then go on.
async fn apply_mode(sandbox: &SandboxAuthority, mode: Mode) -> Option<Response> {
    match mode {
        Mode::Up => None,
        Mode::Down => Some(unavailable()),
        Mode::Flaky => rand::random::<bool>().then(unavailable),
        Mode::Slow => {
            tokio::time::sleep(sandbox.config().slow_delay).await;
            None
        }
    }
}

async fn lookup(
    State(sandbox): State<SandboxAuthority>,
    Path((city, number)): Path<(String, String)>,
) -> Response {
    let found = {
        let number = number.clone();
        blocking(move || sandbox.decision_record(&number)).await
    };
    match found {
        Ok(Some(record)) if record.city_code == city => Json(record).into_response(),
        Ok(_) => error(
            StatusCode::NOT_FOUND,
            "decision_not_found",
            format!("the authority of {city} has no decision {number}"),
        ),
        Err(response) => response,
    }
}

async fn notice(
    State(sandbox): State<SandboxAuthority>,
    Path(city): Path<String>,
    body: Bytes,
) -> Response {
    let notice: PaymentNotice = match serde_json::from_slice(&body) {
        Ok(n) => n,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!("bad notice: {e}"),
            )
        }
    };
    if let Some(problem) = notice_problem(&notice) {
        return error(StatusCode::BAD_REQUEST, "invalid_request", problem);
    }
    match blocking(move || sandbox.receive_notice(&city, &notice)).await {
        Ok(verdict) => notice_answer(verdict),
        Err(response) => response,
    }
}

/// Whether a notice's fields are in range; the message says what is wrong.
fn notice_problem(notice: &PaymentNotice) -> Option<&'static str> {
    (notice.payment_id.is_empty() || notice.payment_id.len() > 255 || notice.amount_fen <= 0)
        .then_some("payment_id must have 1 to 255 characters and amount_fen must be positive")
}

async fn notice_batch(
    State(sandbox): State<SandboxAuthority>,
    Path(city): Path<String>,
    body: Bytes,
) -> Response {
    let batch: NoticeBatch = match json_body(&body) {
        Ok(b) => b,
        Err(response) => return response,
    };
    if batch.notices.is_empty() || batch.notices.len() > MAX_NOTICES_PER_BATCH {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("a batch holds 1 to {MAX_NOTICES_PER_BATCH} notices"),
        );
    }
    if let Some(problem) = batch.notices.iter().find_map(notice_problem) {
        return error(StatusCode::BAD_REQUEST, "invalid_request", problem);
    }
    let notices = batch.notices;
    let answer = blocking(move || {
        let verdicts = sandbox.receive_notices(&city, &notices)?;
        Ok(notices
            .iter()
            .zip(verdicts)
            .map(|(n, v)| {
                let (result, reason) = verdict_parts(v);
                BatchVerdict {
                    payment_id: n.payment_id.clone(),
                    result,
                    reason,
                }
            })
            .collect::<Vec<_>>())
    })
    .await;
    match answer {
        Ok(results) => Json(NoticeBatchAnswer { results }).into_response(),
        Err(response) => response,
    }
}

fn verdict_parts(verdict: NoticeVerdict) -> (NoticeResult, Option<String>) {
    match verdict {
        NoticeVerdict::Accepted => (NoticeResult::Accepted, None),
        NoticeVerdict::Duplicate => (NoticeResult::Duplicate, None),
        NoticeVerdict::Rejected(reason) => (NoticeResult::Rejected, Some(reason.to_owned())),
    }
}

fn notice_answer(verdict: NoticeVerdict) -> Response {
    let (status, result, reason) = match verdict {
        NoticeVerdict::Accepted => (StatusCode::OK, NoticeResult::Accepted, None),
        NoticeVerdict::Duplicate => (StatusCode::OK, NoticeResult::Duplicate, None),
        NoticeVerdict::Rejected(reason) => (
            StatusCode::CONFLICT,
            NoticeResult::Rejected,
            Some(reason.to_owned()),
        ),
    };
    (status, Json(NoticeAnswer { result, reason })).into_response()
}

#[derive(Deserialize)]
struct DayQuery {
    date: Option<String>,
    /// With `limit`: one page in payment id order after this payment id.
    after: Option<String>,
    limit: Option<u32>,
}

async fn notices_of_day(
    State(sandbox): State<SandboxAuthority>,
    Path(city): Path<String>,
    Query(query): Query<DayQuery>,
) -> Response {
    let Some(date) = query
        .date
        .as_deref()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "give ?date=YYYY-MM-DD",
        );
    };
    if let Some(limit) = query.limit {
        let after = query.after.unwrap_or_default();
        return match blocking(move || sandbox.notice_page(&city, date, &after, limit)).await {
            Ok(page) => Json(page).into_response(),
            Err(response) => response,
        };
    }
    match blocking(move || sandbox.accepted_notices(&city, date)).await {
        Ok(list) => Json(list).into_response(),
        Err(response) => response,
    }
}

/// `POST {base}/settlements`: a settlement batch's file, checked against the records; 200 when
/// accepted, 409 when refused (with the problems).
async fn settlement(
    State(sandbox): State<SandboxAuthority>,
    Path(city): Path<String>,
    body: Bytes,
) -> Response {
    let file: SettlementFile = match json_body(&body) {
        Ok(f) => f,
        Err(response) => return response,
    };
    match blocking(move || sandbox.receive_settlement(&city, &file)).await {
        Ok(verdict) if verdict.result == "accepted" => Json(verdict).into_response(),
        Ok(verdict) => (StatusCode::CONFLICT, Json(verdict)).into_response(),
        Err(response) => response,
    }
}

/// Parse a JSON request body, or answer 400 `invalid_request`. The error is the finished response
/// (large, but built once per bad request), so the handlers can return it as is.
#[allow(clippy::result_large_err)]
fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Response> {
    serde_json::from_slice(body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("bad request body: {e}"),
        )
    })
}

async fn vehicle_check(
    State(sandbox): State<SandboxAuthority>,
    Path(city): Path<String>,
    body: Bytes,
) -> Response {
    let request: VehicleCheckRequest = match json_body(&body) {
        Ok(r) => r,
        Err(response) => return response,
    };
    let checked =
        blocking(move || sandbox.verify_vehicle(&city, &request.plate, &request.vin_last6)).await;
    match checked {
        Ok(check) => Json(check).into_response(),
        Err(response) => response,
    }
}

async fn violations_of_plate(
    State(sandbox): State<SandboxAuthority>,
    Path((city, plate)): Path<(String, String)>,
) -> Response {
    match blocking(move || sandbox.violations_for_plate(&city, &plate)).await {
        Ok(list) => Json(list).into_response(),
        Err(response) => response,
    }
}

async fn handle_violation(
    State(sandbox): State<SandboxAuthority>,
    Path((city, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let handler: HandlingRequest = match json_body(&body) {
        Ok(r) => r,
        Err(response) => return response,
    };
    match blocking(move || sandbox.handle_violation(&city, &id, &handler)).await {
        Ok(Ok(record)) => (StatusCode::CREATED, Json(record)).into_response(),
        Ok(Err(refused)) => {
            let body = HandlingRefusal {
                result: "refused".to_owned(),
                reason: refused.reason.to_owned(),
                message: refused.message,
            };
            (StatusCode::FORBIDDEN, Json(body)).into_response()
        }
        Err(response) => response,
    }
}

async fn licence_points(
    State(sandbox): State<SandboxAuthority>,
    Path(city): Path<String>,
    body: Bytes,
) -> Response {
    let request: LicencePointsRequest = match json_body(&body) {
        Ok(r) => r,
        Err(response) => return response,
    };
    let points = blocking(move || {
        sandbox.licence_points(&city, &request.licence_number, request.from, request.to)
    })
    .await;
    match points {
        Ok(points) => Json(points).into_response(),
        Err(response) => response,
    }
}

#[derive(Deserialize)]
struct EventsQuery {
    after: Option<i64>,
    limit: Option<u32>,
    /// Hold the request up to this long while there is nothing new (a long poll).
    wait_ms: Option<u64>,
}

async fn events(
    State(sandbox): State<SandboxAuthority>,
    Path(city): Path<String>,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "after, limit and wait_ms must be non-negative integers",
        );
    };
    let after = query.after.unwrap_or(0);
    let limit = query.limit.unwrap_or(100);
    let wait = Duration::from_millis(query.wait_ms.unwrap_or(0)).min(super::feed::MAX_WAIT);
    let deadline = tokio::time::Instant::now() + wait;
    // Subscribed before the first read, so an event committed in between still wakes us.
    let mut changes = sandbox.inner.feed.subscribe();
    loop {
        let (s, c) = (sandbox.clone(), city.clone());
        let page = match blocking(move || s.events(&c, after, limit)).await {
            Ok(page) => page,
            Err(response) => return response,
        };
        if !page.events.is_empty() || tokio::time::Instant::now() >= deadline {
            return Json(page).into_response();
        }
        // A timeout or a closed channel ends the wait; the next read answers either way.
        if !matches!(
            tokio::time::timeout_at(deadline, changes.changed()).await,
            Ok(Ok(()))
        ) {
            let page = blocking(move || sandbox.events(&city, after, limit)).await;
            return page.map_or_else(|r| r, |p| Json(p).into_response());
        }
    }
}
