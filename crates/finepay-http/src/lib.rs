//! finepay's HTTP edge: the axum router of SPEC §3, request DTOs, the one error mapping, and the
//! OpenAPI document generated from the handlers.
//!
//! Architecture Invariant: handlers parse input into domain types and call one use case each; no
//! SQL, no adapters, no business rules here.

mod admin;
mod contract;
mod edge;
mod error;
mod extract;
mod handlers;
pub mod metrics;
mod streams;
pub mod web;

pub use edge::{BadProxy, TrustedProxies};
pub use error::ApiError;
pub use streams::{StreamLimits, StreamSlots};

use axum::extract::DefaultBodyLimit;
use axum::http::{Request, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use finepay_core::Platform;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Request bodies above this are refused with 413 (SPEC §3).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub platform: Platform,
    /// Reverse proxies whose `X-Forwarded-*` headers are believed (SPEC §10).
    pub proxies: TrustedProxies,
    /// Becomes true when the server is stopping: open event streams end so the stop need not wait.
    pub stopping: tokio::sync::watch::Receiver<bool>,
    /// The open event streams, capped in all and per user.
    pub streams: std::sync::Arc<StreamSlots>,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "finepay API", version = "1", description = "Pay traffic-violation fines online. Money fields are integer fen (1 yuan = 100 fen)."),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The API's routes with their OpenAPI descriptions (SPEC §3).
fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(handlers::healthz))
        .routes(routes!(handlers::readyz))
        .routes(routes!(handlers::create_user))
        .routes(routes!(handlers::create_session))
        .routes(routes!(handlers::search_services))
        .routes(routes!(handlers::create_card))
        .routes(routes!(handlers::get_wallet))
        .routes(routes!(handlers::create_top_up))
        .routes(routes!(handlers::get_decision))
        .routes(routes!(handlers::create_payment, handlers::list_payments))
        .routes(routes!(handlers::get_payment))
        .routes(routes!(handlers::get_receipt))
        .routes(routes!(handlers::get_receipt_pdf))
        .routes(routes!(handlers::verify_receipt))
        .routes(routes!(handlers::receipt_keys))
        .routes(routes!(handlers::list_notifications))
        .routes(routes!(handlers::read_notification))
        .routes(routes!(handlers::read_all_notifications))
        .routes(routes!(handlers::create_webhook, handlers::list_webhooks))
        .routes(routes!(handlers::delete_webhook))
        .routes(routes!(handlers::bind_vehicle, handlers::list_vehicles))
        .routes(routes!(handlers::unbind_vehicle))
        .routes(routes!(handlers::create_repayment))
        .routes(routes!(handlers::plate_violations))
        .routes(routes!(handlers::handle_violation))
        .routes(routes!(handlers::get_licence))
        .routes(routes!(handlers::list_statements))
        .routes(routes!(handlers::get_statement))
        .routes(routes!(handlers::notification_stream))
        .routes(routes!(admin::overview))
        .routes(routes!(admin::audit))
        .routes(routes!(admin::close_batch))
        .routes(routes!(admin::day_settlements))
        .routes(routes!(admin::batch_file))
        .routes(routes!(admin::reconcile))
}

/// The OpenAPI 3.1 document served at `/api/openapi.json`.
pub fn openapi_document() -> serde_json::Value {
    let mut doc = serde_json::to_value(api_routes().split_for_parts().1).unwrap_or_default();
    error_schema(&mut doc);
    contract::complete(&mut doc);
    doc
}

/// The error envelope of SPEC §3 as a schema, its `code` one of the core's error codes (the
/// contract module adds the edge's own and makes it the body of every 4xx and 5xx answer).
fn error_schema(doc: &mut serde_json::Value) {
    use serde_json::json;
    let codes: Vec<&str> = finepay_core::ErrorCode::ALL
        .iter()
        .map(|c| c.as_str())
        .collect();
    doc["components"]["schemas"]["Error"] = json!({
        "type": "object",
        "required": ["error"],
        "properties": {"error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "enum": codes},
                "message": {"type": "string", "description": "what to do next, for a person"},
                "field": {"type": "string", "description": "the request field at fault"},
                "reason": {"type": "string", "description": "online_handling_not_allowed: why"}
            }
        }}
    });
}

/// The platform's router. `sandbox_control` (the sandbox authority's control API) is mounted under
/// the sandbox bearer token when given.
pub fn router(state: AppState, sandbox_control: Option<(Router, String)>) -> Router {
    // The recorder first: what is counted before it exists is lost.
    metrics::handle();
    let (api, _) = api_routes().with_state(state.clone()).split_for_parts();
    let openapi_json = openapi_document();
    let mut app = api.route(
        "/api/openapi.json",
        axum::routing::get(move || {
            let doc = openapi_json.clone();
            async move { axum::Json(doc) }
        }),
    );
    app = app.route(
        "/metrics",
        axum::routing::get(metrics::render).with_state(state.clone()),
    );
    app = app.merge(web::router(state));
    if let Some((control, token)) = sandbox_control {
        app = app.merge(guarded(control, token));
    }
    app.fallback(|headers: axum::http::HeaderMap| async move {
        let wants_page = headers
            .get(axum::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));
        if wants_page {
            return web::not_found(&headers);
        }
        error::plain_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such endpoint; see /api/openapi.json",
        )
    })
    .method_not_allowed_fallback(|| async {
        error::plain_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this endpoint does not take this method; see /api/openapi.json",
        )
    })
    .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
    .layer(middleware::from_fn(metrics::track))
    .layer(PropagateRequestIdLayer::x_request_id())
    // Logs each request once, when its response is ready: method, path, status and time taken, in a
    // span with the request's id (`X-Request-Id`: the caller's, or a new UUID; sent back on the response).
    .layer(
        tower_http::trace::TraceLayer::new_for_http()
            .make_span_with(|req: &Request<axum::body::Body>| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", id, method = %req.method(), path = req.uri().path())
            })
            .on_request(())
            .on_response(
                |res: &axum::response::Response,
                 latency: std::time::Duration,
                 _: &tracing::Span| {
                    tracing::info!(
                        status = res.status().as_u16(),
                        ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
                        "answered"
                    );
                },
            )
            .on_body_chunk(())
            .on_eos(())
            .on_failure(()),
    )
    .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// The sandbox control API behind `Authorization: Bearer <token>` (compared in constant time).
pub fn guarded(control: Router, token: String) -> Router {
    control.layer(middleware::from_fn(
        move |req: Request<axum::body::Body>, next: Next| {
            let token = token.clone();
            async move { sandbox_auth(&token, req, next).await }
        },
    ))
}

async fn sandbox_auth(token: &str, req: Request<axum::body::Body>, next: Next) -> Response {
    use subtle::ConstantTimeEq;
    let (parts, body) = req.into_parts();
    // Compared in constant time: no timing tells how much of a guess was right.
    let given = extract::bearer(&parts).unwrap_or("").as_bytes();
    if !bool::from(given.ct_eq(token.as_bytes())) {
        return error::plain_error(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "the sandbox API needs Authorization: Bearer <sandbox token> (printed by finepay serve)",
        );
    }
    next.run(Request::from_parts(parts, body)).await
}
