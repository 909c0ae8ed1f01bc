//! One handler per endpoint of SPEC §3. Each parses, calls one use case, answers.

use crate::error::{ApiError, ReplyResponse};
use crate::extract::{
    ApiJson, ApiPath, ApiQuery, AuthUser, BaseUrl, ClientAddr, IdempotencyHeader, StreamUser,
};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use finepay_core::services::{self, ServiceView};
use finepay_core::views::{
    CardView, DecisionView, Page, PaymentView, SessionView, UserView, WalletView,
};
use finepay_core::{CoreError, IdempotencyKey, PayMethod, PayRequest};
use finepay_domain::{Fen, MoneyError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

type ApiResult<T> = Result<T, ApiError>;

#[derive(Serialize, ToSchema)]
pub struct Health {
    status: &'static str,
}

/// Liveness.
#[utoipa::path(get, path = "/healthz", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` or `unavailable`.
    status: &'static str,
    /// What is not ready, when unavailable.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// How long readiness waits for the database and the writer before it says unavailable.
const READY_WITHIN: std::time::Duration = std::time::Duration::from_secs(2);

/// Readiness: the database answers a read and the writer commits a job (SPEC §3).
#[utoipa::path(get, path = "/readyz", responses((status = 200, body = Readiness),
    (status = 503, body = Readiness, description = "the database or the writer cannot serve")))]
pub async fn readyz(State(s): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let reason = s.platform.db().ready(READY_WITHIN).await.err();
    match reason {
        None => (
            StatusCode::OK,
            Json(Readiness {
                status: "ready",
                reason: None,
            }),
        ),
        Some(reason) => {
            tracing::warn!(reason, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Readiness {
                    status: "unavailable",
                    reason: Some(reason),
                }),
            )
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct CreateUser {
    /// Mainland mobile number, 11 digits.
    phone: String,
    password: String,
    /// Real name as on the resident ID card.
    name: String,
    /// 18-character resident ID number.
    id_number: String,
}

/// Register with a real name and ID number.
#[utoipa::path(post, path = "/api/v1/users", request_body = CreateUser,
    responses((status = 201, body = UserView), (status = 400), (status = 409, description = "phone_taken"),
        (status = 429, description = "rate_limited (registrations from this address)")))]
pub async fn create_user(
    State(s): State<AppState>,
    client: ClientAddr,
    body: ApiJson<CreateUser>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    let b = body.value;
    let user = s
        .platform
        .accounts()
        .register(
            finepay_core::Registration {
                phone: b.phone,
                password: b.password,
                name: b.name,
                id_number: b.id_number,
            },
            &client.0,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateSession {
    phone: String,
    password: String,
}

/// Sign in; returns a bearer token.
#[utoipa::path(post, path = "/api/v1/sessions", request_body = CreateSession,
    responses((status = 201, body = SessionView), (status = 401, description = "invalid_credentials"),
        (status = 429, description = "rate_limited (sign-ins for this phone or from this address)")))]
pub async fn create_session(
    State(s): State<AppState>,
    client: ClientAddr,
    body: ApiJson<CreateSession>,
) -> ApiResult<(StatusCode, Json<SessionView>)> {
    let session = s
        .platform
        .accounts()
        .login(&body.value.phone, &body.value.password, &client.0)
        .await?;
    Ok((StatusCode::CREATED, Json(session)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ServiceQuery {
    /// Search words in English, Chinese or pinyin.
    q: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ServiceList {
    data: Vec<ServiceView>,
    next_cursor: Option<String>,
}

/// Search the city-services catalogue.
#[utoipa::path(get, path = "/api/v1/services", params(ServiceQuery), responses((status = 200, body = ServiceList)))]
pub async fn search_services(ApiQuery(q): ApiQuery<ServiceQuery>) -> Json<ServiceList> {
    Json(ServiceList {
        data: services::search(q.q.as_deref().unwrap_or("")),
        next_cursor: None,
    })
}

#[derive(Deserialize, ToSchema)]
pub struct CreateCard {
    /// 16 to 19 digits.
    number: String,
    holder_name: String,
}

/// Link a bank card (verified with the bank).
#[utoipa::path(post, path = "/api/v1/cards", request_body = CreateCard, security(("bearer" = [])),
    responses((status = 201, body = CardView), (status = 402, description = "card_declined")))]
pub async fn create_card(
    State(s): State<AppState>,
    user: AuthUser,
    body: ApiJson<CreateCard>,
) -> ApiResult<(StatusCode, Json<CardView>)> {
    let card = s
        .platform
        .accounts()
        .link_card(&user.0, &body.value.number, &body.value.holder_name)
        .await?;
    Ok((StatusCode::CREATED, Json(card)))
}

/// Balance, credit line and linked cards.
#[utoipa::path(get, path = "/api/v1/wallet", security(("bearer" = [])), responses((status = 200, body = WalletView)))]
pub async fn get_wallet(State(s): State<AppState>, user: AuthUser) -> ApiResult<Json<WalletView>> {
    Ok(Json(s.platform.wallet().get(&user.0).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateTopUp {
    card_id: String,
    /// Fen, positive.
    amount: i64,
}

/// An amount to move, parsed at the edge by the domain's rule ([`Fen::payable`]).
fn positive(field: &str, amount: i64) -> Result<Fen, ApiError> {
    Fen::payable(amount).map_err(|e| {
        let message = match e {
            MoneyError::AboveLimit => format!(
                "`{field}` may be at most {} fen (1,000,000.00 yuan)",
                Fen::MAX_PAYABLE.fen()
            ),
            _ => format!("`{field}` must be a positive whole number of fen"),
        };
        ApiError(CoreError::invalid(field, message))
    })
}

/// Top the wallet up from a linked card. Requires `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/wallet/top-ups", request_body = CreateTopUp, security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "1 to 255 characters")),
    responses((status = 201, body = finepay_core::views::TopUpView), (status = 402, description = "card_declined")))]
pub async fn create_top_up(
    State(s): State<AppState>,
    user: AuthUser,
    key: IdempotencyHeader,
    body: ApiJson<CreateTopUp>,
) -> ApiResult<ReplyResponse> {
    let amount = positive("amount", body.value.amount)?;
    let idem = IdempotencyKey::new(key.0.as_deref(), "POST /api/v1/wallet/top-ups", &body.raw)?;
    let reply = s
        .platform
        .wallet()
        .top_up(&user.0, idem, &body.value.card_id, amount)
        .await?;
    Ok(ReplyResponse(reply))
}

/// Look a penalty decision up: fine, late fee, amount due, points, masked plate and owner.
#[utoipa::path(get, path = "/api/v1/penalty-decisions/{number}", security(("bearer" = [])),
    params(("number" = String, Path, description = "15 or 16 digits")),
    responses((status = 200, body = DecisionView), (status = 400, description = "invalid_decision_number"),
        (status = 404, description = "decision_not_found"), (status = 429, description = "rate_limited"),
        (status = 503, description = "authority_unavailable")))]
pub async fn get_decision(
    State(s): State<AppState>,
    user: AuthUser,
    client: ClientAddr,
    ApiPath(number): ApiPath<String>,
) -> ApiResult<Json<DecisionView>> {
    Ok(Json(
        s.platform
            .decisions()
            .lookup(&user.0, &client.0, &number)
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MethodBody {
    Balance,
    Credit,
    Card { card_id: String },
}

#[derive(Deserialize, ToSchema)]
pub struct CreatePayment {
    decision_number: String,
    /// The amount due the payer saw, in fen.
    amount: i64,
    /// The plate the payer confirms.
    confirm_plate: String,
    method: MethodBody,
}

/// Pay a penalty decision. Requires `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/payments", request_body = CreatePayment, security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "1 to 255 characters")),
    responses((status = 201, body = PaymentView), (status = 402, description = "insufficient_funds, insufficient_credit, card_declined"),
        (status = 409, description = "decision_already_paid, amount_changed, decision_revoked, request_in_progress"),
        (status = 422, description = "plate_mismatch, idempotency_key_reused"),
        (status = 429, description = "rate_limited (guessing decision numbers)")))]
pub async fn create_payment(
    State(s): State<AppState>,
    user: AuthUser,
    client: ClientAddr,
    key: IdempotencyHeader,
    body: ApiJson<CreatePayment>,
) -> ApiResult<ReplyResponse> {
    let amount = positive("amount", body.value.amount)?;
    let idem = IdempotencyKey::new(key.0.as_deref(), "POST /api/v1/payments", &body.raw)?;
    let b = body.value;
    let method = match b.method {
        MethodBody::Balance => PayMethod::Balance,
        MethodBody::Credit => PayMethod::Credit,
        MethodBody::Card { card_id } => PayMethod::Card { card_id },
    };
    let request = PayRequest::parse(&b.decision_number, amount, &b.confirm_plate, method)?;
    Ok(ReplyResponse(
        s.platform
            .payments()
            .pay(&user.0, &client.0, idem, request)
            .await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    cursor: Option<String>,
    limit: Option<u32>,
}

/// The user's own payments, newest first.
#[utoipa::path(get, path = "/api/v1/payments", params(ListQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<PaymentView>)))]
pub async fn list_payments(
    State(s): State<AppState>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<PaymentView>>> {
    let (data, next_cursor) = s
        .platform
        .payments()
        .list(&user.0, q.cursor.as_deref(), q.limit.unwrap_or(20))
        .await?;
    Ok(Json(Page { data, next_cursor }))
}

/// One of the user's payments.
#[utoipa::path(get, path = "/api/v1/payments/{id}", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = PaymentView), (status = 404)))]
pub async fn get_payment(
    State(s): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<PaymentView>> {
    Ok(Json(s.platform.payments().get(&user.0, &id).await?))
}

/// A signed electronic receipt of one of the user's payments.
#[utoipa::path(get, path = "/api/v1/receipts/{id}", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, description = "the signed receipt"), (status = 404)))]
pub async fn get_receipt(
    State(s): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(s.platform.receipts().get(&user.0, &id).await?))
}

/// The receipt as a one-page PDF (A5): every field, Chinese names in an embedded CJK font, the
/// QR code of its public verification page and the key id.
#[utoipa::path(get, path = "/api/v1/receipts/{id}/pdf", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, content_type = "application/pdf", description = "the receipt PDF"), (status = 404)))]
pub async fn get_receipt_pdf(
    State(s): State<AppState>,
    user: AuthUser,
    base: BaseUrl,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<axum::response::Response> {
    let pdf = s.platform.receipts().pdf(&user.0, &id, &base.0).await?;
    Ok(crate::web::pdf_response(&id, pdf))
}

#[derive(Serialize, ToSchema)]
pub struct Verification {
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
}

/// Verify a receipt's signature against the published keys (no sign-in needed). The body is a
/// receipt object as returned; anything but a JSON object is `400 invalid_request`.
#[utoipa::path(post, path = "/api/v1/receipts/verify", request_body = Object,
    responses((status = 200, body = Verification), (status = 400, description = "invalid_request: not a JSON object")))]
pub async fn verify_receipt(
    State(s): State<AppState>,
    body: ApiJson<serde_json::Value>,
) -> ApiResult<Json<Verification>> {
    if !body.value.is_object() {
        return Err(ApiError(CoreError::invalid(
            "body",
            "send the receipt object as returned by GET /api/v1/receipts/{id}",
        )));
    }
    let (valid, reason) = s.platform.receipts().verify(&body.value);
    Ok(Json(Verification { valid, reason }))
}

/// The public keys that verify receipts.
#[utoipa::path(get, path = "/.well-known/finepay/receipt-keys", responses((status = 200, description = "{keys:[{kid, alg, public_key}]}")))]
pub async fn receipt_keys(State(s): State<AppState>) -> Json<serde_json::Value> {
    Json(serde_json::to_value(s.platform.signer().published_keys()).unwrap_or_default())
}

#[derive(Serialize, ToSchema)]
pub struct NotificationList {
    data: Vec<finepay_core::NotificationView>,
    next_cursor: Option<String>,
    /// How many of the user's notifications are unread (all of them, not only this page's).
    unread: i64,
}

/// The user's notifications, newest first.
#[utoipa::path(get, path = "/api/v1/notifications", params(ListQuery), security(("bearer" = [])),
    responses((status = 200, body = NotificationList)))]
pub async fn list_notifications(
    State(s): State<AppState>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<NotificationList>> {
    let (data, next_cursor) = s
        .platform
        .notifications()
        .list(&user.0, q.cursor.as_deref(), q.limit.unwrap_or(50))
        .await?;
    let unread = s.platform.notifications().unread(&user.0).await?;
    Ok(Json(NotificationList {
        data,
        next_cursor,
        unread,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct MarkedRead {
    /// How many were unread and are now read.
    marked: u64,
}

/// Mark every notification of the user read.
#[utoipa::path(post, path = "/api/v1/notifications/read", security(("bearer" = [])),
    responses((status = 200, body = MarkedRead)))]
pub async fn read_all_notifications(
    State(s): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<MarkedRead>> {
    let marked = s.platform.notifications().mark_all_read(&user.0).await?;
    Ok(Json(MarkedRead { marked }))
}

/// Mark a notification read.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 204), (status = 404, description = "not_found")))]
pub async fn read_notification(
    State(s): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    s.platform.notifications().mark_read(&user.0, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
pub struct StreamQuery {
    /// For browsers (whose `EventSource` cannot set headers on the first connection): the same
    /// as the `Last-Event-ID` header.
    last_event_id: Option<String>,
}

/// New notifications as server-sent events (SPEC §8): `id:` the notification id, `event:` its
/// kind, `data:` the notification. With `Last-Event-ID` (header, or `?last_event_id=`) every
/// notification after that one comes first, then the live ones: nothing lost, nothing twice. A
/// client too slow to keep up is disconnected (it resumes with `Last-Event-ID`), never skipped.
#[utoipa::path(get, path = "/api/v1/notifications/stream", security(("bearer" = [])),
    params(StreamQuery, ("Last-Event-ID" = Option<String>, Header, description = "the id of the last event this client has")),
    responses((status = 200, content_type = "text/event-stream", description = "one event per new notification"),
        (status = 400, description = "invalid_request: Last-Event-ID is not one of the user's notifications"),
        (status = 429, description = "rate_limited: this user has 5 streams open"),
        (status = 503, description = "service_busy: the server holds all the streams it takes")))]
pub async fn notification_stream(
    State(s): State<AppState>,
    user: StreamUser,
    headers: axum::http::HeaderMap,
    ApiQuery(q): ApiQuery<StreamQuery>,
) -> ApiResult<
    axum::response::sse::Sse<
        impl futures::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
    >,
> {
    use futures::StreamExt;
    use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
    let slot = s.streams.take(&user.0)?;
    let user_id = user.0;
    let last_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(q.last_event_id)
        .filter(|id| !id.trim().is_empty());
    // Listen first, then read what was missed: a notification committed after the read is
    // published after it too, so it arrives live; one in both is sent once (by id).
    let live = tokio_stream::wrappers::BroadcastStream::new(s.platform.notifications().subscribe());
    let missed = match &last_id {
        Some(id) => s.platform.notifications().after(&user_id, id).await?,
        None => Vec::new(),
    };
    let sent: std::collections::HashSet<String> = missed.iter().map(|n| n.id.clone()).collect();
    let to_event = |n: &finepay_core::NotificationView| {
        axum::response::sse::Event::default()
            .id(n.id.clone())
            .event(n.kind.clone())
            .json_data(n)
            .ok()
    };
    let backlog: Vec<_> = missed.iter().filter_map(to_event).map(Ok).collect();
    let live = live
        // A receiver that fell behind lost events: end the stream, so the client reconnects
        // with its Last-Event-ID and gets them, instead of carrying on without them.
        .take_while(|e| {
            let lagged = matches!(e, Err(BroadcastStreamRecvError::Lagged(_)));
            if lagged {
                tracing::info!(
                    "a notification stream fell behind; closing it so the client resumes"
                );
            }
            std::future::ready(!lagged)
        })
        .filter_map(move |e| {
            let mine = match e {
                Ok(event) if event.user_id == user_id && !sent.contains(&event.id) => Some(event),
                _ => None,
            };
            let _held = &slot;
            std::future::ready(
                mine.and_then(|event| to_event(&finepay_core::NotificationView::of_event(&event)))
                    .map(Ok),
            )
        });
    let events = futures::stream::iter(backlog).chain(live);
    let mut stopping = s.stopping.clone();
    let events = events.take_until(async move {
        let _ = stopping.wait_for(|stop| *stop).await;
    });
    Ok(axum::response::sse::Sse::new(events).keep_alive(axum::response::sse::KeepAlive::default()))
}

#[derive(Deserialize, ToSchema)]
pub struct BindVehicle {
    plate: String,
    /// The last 6 characters of the VIN, as on the registration certificate.
    vin_last6: String,
}

#[derive(Serialize, ToSchema)]
pub struct VehicleList {
    data: Vec<finepay_core::VehicleView>,
    next_cursor: Option<String>,
}

/// Bind a plate to the account (the registering authority checks the VIN); new violations of
/// the plate in every city are then pushed to the user.
#[utoipa::path(post, path = "/api/v1/vehicles", request_body = BindVehicle, security(("bearer" = [])),
    responses((status = 201, body = finepay_core::VehicleView), (status = 400, description = "invalid_plate"),
        (status = 422, description = "vehicle_verification_failed"),
        (status = 429, description = "rate_limited (guessing VINs)")))]
pub async fn bind_vehicle(
    State(s): State<AppState>,
    user: AuthUser,
    client: ClientAddr,
    body: ApiJson<BindVehicle>,
) -> ApiResult<(StatusCode, Json<finepay_core::VehicleView>)> {
    let v = s
        .platform
        .vehicles()
        .bind(
            &user.0,
            &client.0,
            &finepay_core::parse_plate(&body.value.plate)?,
            &body.value.vin_last6,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// The user's bound plates.
#[utoipa::path(get, path = "/api/v1/vehicles", security(("bearer" = [])), responses((status = 200, body = VehicleList)))]
pub async fn list_vehicles(
    State(s): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<VehicleList>> {
    Ok(Json(VehicleList {
        data: s.platform.vehicles().list(&user.0).await?,
        next_cursor: None,
    }))
}

/// Unbind a plate.
#[utoipa::path(delete, path = "/api/v1/vehicles/{plate}", security(("bearer" = [])),
    params(("plate" = String, Path)), responses((status = 204), (status = 404)))]
pub async fn unbind_vehicle(
    State(s): State<AppState>,
    user: AuthUser,
    ApiPath(plate): ApiPath<String>,
) -> ApiResult<StatusCode> {
    s.platform.vehicles().unbind(&user.0, &plate).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RepaymentSourceBody {
    Balance,
    Card { card_id: String },
}

#[derive(Deserialize, ToSchema)]
pub struct CreateRepayment {
    /// Fen, positive, at most what is owed.
    amount: i64,
    source: RepaymentSourceBody,
}

/// Repay the credit line from the balance or a linked card. Requires `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/credit/repayments", request_body = CreateRepayment, security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "1 to 255 characters")),
    responses((status = 201, body = finepay_core::credit::RepaymentView),
        (status = 400, description = "invalid_request (e.g. more than is owed)"),
        (status = 402, description = "insufficient_funds, card_declined")))]
pub async fn create_repayment(
    State(s): State<AppState>,
    user: AuthUser,
    key: IdempotencyHeader,
    body: ApiJson<CreateRepayment>,
) -> ApiResult<ReplyResponse> {
    let amount = positive("amount", body.value.amount)?;
    let idem = IdempotencyKey::new(
        key.0.as_deref(),
        "POST /api/v1/credit/repayments",
        &body.raw,
    )?;
    let source = match body.value.source {
        RepaymentSourceBody::Balance => finepay_core::credit::RepaymentSource::Balance,
        RepaymentSourceBody::Card { card_id } => {
            finepay_core::credit::RepaymentSource::Card { card_id }
        }
    };
    Ok(ReplyResponse(
        s.platform
            .credit()
            .repay(&user.0, idem, amount, source)
            .await?,
    ))
}

#[derive(Serialize, ToSchema)]
pub struct StatementList {
    data: Vec<finepay_core::credit::StatementView>,
    next_cursor: Option<String>,
}

/// The credit line's monthly statements, newest first.
#[utoipa::path(get, path = "/api/v1/credit/statements", security(("bearer" = [])), responses((status = 200, body = StatementList)))]
pub async fn list_statements(
    State(s): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<StatementList>> {
    Ok(Json(StatementList {
        data: s.platform.credit().statements(&user.0).await?,
        next_cursor: None,
    }))
}

/// One month's statement (`YYYY-MM`).
#[utoipa::path(get, path = "/api/v1/credit/statements/{month}", security(("bearer" = [])),
    params(("month" = String, Path, description = "YYYY-MM")),
    responses((status = 200, body = finepay_core::credit::StatementView), (status = 404)))]
pub async fn get_statement(
    State(s): State<AppState>,
    user: AuthUser,
    ApiPath(month): ApiPath<String>,
) -> ApiResult<Json<finepay_core::credit::StatementView>> {
    Ok(Json(s.platform.credit().statement(&user.0, &month).await?))
}

#[derive(Serialize, ToSchema)]
pub struct ViolationList {
    data: Vec<finepay_core::violations::OutstandingViolation>,
    next_cursor: Option<String>,
    /// Cities whose authority could not be asked just now: their violations are not in `data`.
    unavailable_cities: Vec<String>,
}

/// Outstanding violations and decisions of a bound plate, in every city.
#[utoipa::path(get, path = "/api/v1/vehicles/{plate}/violations", security(("bearer" = [])),
    params(("plate" = String, Path)), responses((status = 200, body = ViolationList), (status = 404, description = "plate not bound")))]
pub async fn plate_violations(
    State(s): State<AppState>,
    user: AuthUser,
    ApiPath(plate): ApiPath<String>,
) -> ApiResult<Json<ViolationList>> {
    let (data, unavailable_cities) = s.platform.violations().outstanding(&user.0, &plate).await?;
    Ok(Json(ViolationList {
        data,
        next_cursor: None,
        unavailable_cities,
    }))
}

/// Handle (处理) a camera-recorded violation of a bound vehicle online: the authority issues the
/// penalty decision and the points go on the caller's licence.
#[utoipa::path(post, path = "/api/v1/violations/{id}/handle", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 201, body = DecisionView), (status = 403, description = "online_handling_not_allowed, with `reason`")))]
pub async fn handle_violation(
    State(s): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<(StatusCode, Json<DecisionView>)> {
    let decision = s.platform.violations().handle(&user.0, &id).await?;
    Ok((StatusCode::CREATED, Json(decision)))
}

/// Points on the user's driving licence in the current scoring cycle, summed over every city.
#[utoipa::path(get, path = "/api/v1/licence", security(("bearer" = [])),
    responses((status = 200, body = finepay_core::violations::LicenceView)))]
pub async fn get_licence(
    State(s): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<finepay_core::violations::LicenceView>> {
    Ok(Json(s.platform.violations().licence(&user.0).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateWebhook {
    /// Where to POST: an https:// URL of a public address (plain http and loopback only while
    /// the sandbox is on).
    url: String,
    /// Only these notification kinds (default: all).
    kinds: Option<Vec<String>>,
}

/// Register a webhook (at most 5 per user): every notification of the chosen kinds is POSTed
/// to it as JSON, signed `Finepay-Signature: t=<unix s>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`
/// with `Finepay-Event-Id`; retried with backoff for 24 h, in order (SPEC §8). The `secret` is
/// shown only here.
#[utoipa::path(post, path = "/api/v1/webhooks", request_body = CreateWebhook, security(("bearer" = [])),
    responses((status = 201, body = finepay_core::webhooks::WebhookView)))]
pub async fn create_webhook(
    State(s): State<AppState>,
    user: AuthUser,
    body: ApiJson<CreateWebhook>,
) -> ApiResult<(StatusCode, Json<finepay_core::webhooks::WebhookView>)> {
    let w = s
        .platform
        .webhooks()
        .register(&user.0, &body.value.url, body.value.kinds.clone())
        .await?;
    Ok((StatusCode::CREATED, Json(w)))
}

#[derive(Serialize, ToSchema)]
pub struct WebhookList {
    data: Vec<finepay_core::webhooks::WebhookView>,
    next_cursor: Option<String>,
}

/// The user's webhooks (without their secrets).
#[utoipa::path(get, path = "/api/v1/webhooks", security(("bearer" = [])),
    responses((status = 200, body = WebhookList)))]
pub async fn list_webhooks(
    State(s): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<WebhookList>> {
    let data = s.platform.webhooks().list(&user.0).await?;
    Ok(Json(WebhookList {
        data,
        next_cursor: None,
    }))
}

/// Delete one of the user's webhooks; what was queued for it is not sent.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 204), (status = 404, description = "not_found")))]
pub async fn delete_webhook(
    State(s): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    s.platform.webhooks().delete(&user.0, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
