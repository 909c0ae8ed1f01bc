//! `/api/v1/admin/...` (SPEC §9): operators only. Every action that changes something is written
//! to the audit log with who did it.

use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, AuthUser};
use crate::AppState;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use finepay_core::admin::{AuditEntry, Overview};
use finepay_core::reconciliation::ReconciliationReport;
use finepay_core::settlement::{BatchView, DaySettlements};
use finepay_core::CoreError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

type ApiResult<T> = Result<T, ApiError>;

/// A signed-in operator; anyone else signed in gets 403 `forbidden`.
pub struct Operator(pub String);

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let AuthUser(user) = AuthUser::from_request_parts(parts, state).await?;
        state.platform.admin().require_operator(&user).await?;
        Ok(Operator(user))
    }
}

fn parse_date(raw: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
        ApiError(CoreError::InvalidRequest {
            field: Some("date".into()),
            message: format!("{raw:?} is not a date; give YYYY-MM-DD (Asia/Shanghai)"),
        })
    })
}

/// Today's figures per city, the last settlement and reconciliation of each, and payments per
/// minute over the last hour (the admin page's data).
#[utoipa::path(get, path = "/api/v1/admin/overview", security(("bearer" = [])),
    responses((status = 200, body = Overview)))]
pub async fn overview(State(s): State<AppState>, _op: Operator) -> ApiResult<Json<Overview>> {
    Ok(Json(s.platform.admin().overview().await?))
}

#[derive(Deserialize, IntoParams)]
pub struct AuditQuery {
    /// The `next_cursor` of the previous page: entries older than it.
    cursor: Option<String>,
    /// At most this many (brought within 1–200, default 50).
    limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    data: Vec<AuditEntry>,
    next_cursor: Option<String>,
}

/// The audit log of admin actions, newest first.
#[utoipa::path(get, path = "/api/v1/admin/audit", security(("bearer" = [])), params(AuditQuery),
    responses((status = 200, body = AuditPage)))]
pub async fn audit(
    State(s): State<AppState>,
    _op: Operator,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let before = match q.cursor.as_deref() {
        None => None,
        Some(c) => Some(c.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
            ApiError(CoreError::InvalidRequest {
                field: Some("cursor".into()),
                message: "this cursor is not from this list; use next_cursor of the page before"
                    .into(),
            })
        })?),
    };
    let data = s.platform.admin().audit_log(before, limit).await?;
    let next_cursor = (data.len() == limit as usize)
        .then(|| data.last().map(|e| e.id.to_string()))
        .flatten();
    Ok(Json(AuditPage { data, next_cursor }))
}

#[derive(Deserialize, ToSchema)]
pub struct CloseBatch {
    /// The city's 6-digit code.
    city_code: String,
    /// The business day (Asia/Shanghai), `YYYY-MM-DD`.
    date: String,
}

/// Close a settlement batch of (city, day) now, with everything of that day not yet settled.
#[utoipa::path(post, path = "/api/v1/admin/settlements", security(("bearer" = [])),
    request_body = CloseBatch, responses((status = 201, body = BatchView)))]
pub async fn close_batch(
    State(s): State<AppState>,
    op: Operator,
    body: ApiJson<CloseBatch>,
) -> ApiResult<(StatusCode, Json<BatchView>)> {
    let date = parse_date(&body.value.date)?;
    // Logged in the audit log in the job that closes it.
    let batch = s
        .platform
        .settlement()
        .close(&body.value.city_code, date, &op.0)
        .await?;
    Ok((StatusCode::CREATED, Json(batch)))
}

/// The settlement batches of (city, day).
#[utoipa::path(get, path = "/api/v1/admin/settlements/{city_code}/{date}", security(("bearer" = [])),
    params(("city_code" = String, Path), ("date" = String, Path)),
    responses((status = 200, body = DaySettlements)))]
pub async fn day_settlements(
    State(s): State<AppState>,
    _op: Operator,
    ApiPath((city, date)): ApiPath<(String, String)>,
) -> ApiResult<Json<DaySettlements>> {
    let date = parse_date(&date)?;
    Ok(Json(s.platform.settlement().of_day(&city, date).await?))
}

/// A batch's CSV file (`{batch_id}.csv`), as hashed when the batch was closed.
#[utoipa::path(get, path = "/api/v1/admin/settlements/{city_code}/{date}/{file}", security(("bearer" = [])),
    params(("city_code" = String, Path), ("date" = String, Path),
        ("file" = String, Path, description = "`{batch_id}.csv`")),
    responses((status = 200, content_type = "text/csv", body = String)))]
pub async fn batch_file(
    State(s): State<AppState>,
    _op: Operator,
    ApiPath((city, date, file)): ApiPath<(String, String, String)>,
) -> ApiResult<Response> {
    let not_found = || {
        ApiError(CoreError::NotFound(
            "no such settlement batch of this city and day",
        ))
    };
    let id = file.strip_suffix(".csv").ok_or_else(not_found)?;
    let (batch, csv) = s
        .platform
        .settlement()
        .file(id)
        .await?
        .ok_or_else(not_found)?;
    if batch.city_code != city || batch.date != date {
        return Err(not_found());
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{id}.csv\""),
            ),
            (
                header::HeaderName::from_static("x-content-sha256"),
                batch.sha256,
            ),
        ],
        csv,
    )
        .into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct Reconcile {
    /// The city's 6-digit code.
    city_code: String,
    /// The business day (Asia/Shanghai), `YYYY-MM-DD`.
    date: String,
    /// Re-send notices the authority never recorded, then check again.
    #[serde(default)]
    mend: bool,
}

/// Reconcile (city, day): the platform's payments against the authority's records.
#[utoipa::path(post, path = "/api/v1/admin/reconciliations", security(("bearer" = [])),
    request_body = Reconcile, responses((status = 200, body = ReconciliationReport)))]
pub async fn reconcile(
    State(s): State<AppState>,
    op: Operator,
    body: ApiJson<Reconcile>,
) -> ApiResult<Json<ReconciliationReport>> {
    let date = parse_date(&body.value.date)?;
    // The run is stored and logged in the audit log in one job.
    let report = s
        .platform
        .reconciliation()
        .run(&body.value.city_code, date, body.value.mend, &op.0, &|_| {})
        .await?;
    Ok(Json(report))
}
