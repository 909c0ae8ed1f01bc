//! Extractors that answer bad input in SPEC's error shape: JSON bodies (naming the bad field),
//! the bearer token, the Idempotency-Key header and the client address.

use crate::error::{plain_error, ApiError};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use finepay_core::CoreError;
use serde::de::DeserializeOwned;
use std::net::SocketAddr;

/// A path parameter, or `400 invalid_request` in the error envelope when it cannot be read (not
/// UTF-8 once percent-decoded, say `/api/v1/payments/%FF`).
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| ApiPath(v))
            .map_err(|e| {
                ApiError(CoreError::InvalidRequest {
                    field: Some("path".into()),
                    message: format!("this path cannot be read: {}", e.body_text()),
                })
            })
    }
}

/// A JSON body parsed into `T`, with the raw value kept for request fingerprints.
pub struct ApiJson<T> {
    pub value: T,
    pub raw: serde_json::Value,
}

pub enum BodyRejection {
    TooLarge,
    Invalid(ApiError),
}

impl IntoResponse for BodyRejection {
    fn into_response(self) -> Response {
        match self {
            BodyRejection::TooLarge => plain_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the request body is larger than 64 KiB",
            ),
            BodyRejection::Invalid(e) => e.into_response(),
        }
    }
}

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = BodyRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                BodyRejection::TooLarge
            } else {
                BodyRejection::Invalid(ApiError(CoreError::InvalidRequest {
                    field: None,
                    message: format!("cannot read the request body: {e}"),
                }))
            }
        })?;
        let raw: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            BodyRejection::Invalid(ApiError(CoreError::InvalidRequest {
                field: None,
                message: format!("the body is not valid JSON: {e}"),
            }))
        })?;
        let value = serde_path_to_error::deserialize::<_, T>(&raw).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            // A missing field is reported by serde at the parent; name the field itself.
            let field = match missing_field(&inner) {
                Some(name) if path == "." => name.to_string(),
                Some(name) => format!("{path}.{name}"),
                None => path,
            };
            BodyRejection::Invalid(ApiError(CoreError::InvalidRequest {
                message: format!("field `{field}`: {inner}"),
                field: Some(field),
            }))
        })?;
        Ok(ApiJson { value, raw })
    }
}

fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next()
}

/// The signed-in user, from `Authorization: Bearer <token>`.
pub struct AuthUser(pub String);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or(ApiError(CoreError::Unauthenticated))?;
        let user = state.platform.accounts().authenticate(token).await?;
        Ok(AuthUser(user))
    }
}

/// The signed-in user from the bearer token or, for the browser's `EventSource` (which cannot
/// send headers), the web app's session cookie. Only the SSE stream takes it: a stream changes
/// nothing, so a cookie sent by another site's page gains it nothing it can read.
pub struct StreamUser(pub String);

impl FromRequestParts<AppState> for StreamUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)
            .map(str::to_string)
            .or_else(|| {
                crate::web::session::cookie_value(
                    &parts.headers,
                    crate::web::session::SESSION_COOKIE,
                )
            })
            .ok_or(ApiError(CoreError::Unauthenticated))?;
        let user = state.platform.accounts().authenticate(&token).await?;
        Ok(StreamUser(user))
    }
}

pub fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}

/// The raw Idempotency-Key header, if sent (validated by the use case).
pub struct IdempotencyHeader(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts.headers.get("idempotency-key") {
            None => Ok(IdempotencyHeader(None)),
            Some(v) => match v.to_str() {
                Ok(s) => Ok(IdempotencyHeader(Some(s.to_string()))),
                Err(_) => Err(ApiError(CoreError::IdempotencyKeyRequired)),
            },
        }
    }
}

/// The address of the connection's peer (a proxy, when there is one).
pub fn peer(parts: &Parts) -> Option<std::net::IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ci| ci.0.ip())
}

/// The client's address (for the per-address lookup limit): the peer's, or behind a trusted
/// proxy the one it forwarded; "unknown" when not served over TCP.
pub struct ClientAddr(pub String);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        let addr = s
            .proxies
            .client_ip(peer(parts), &parts.headers)
            .map(|ip| ip.to_string())
            .unwrap_or_else(|| "unknown".into());
        Ok(ClientAddr(addr))
    }
}

/// `scheme://host` the client used, for absolute links (a receipt's QR code).
pub struct BaseUrl(pub String);

impl FromRequestParts<AppState> for BaseUrl {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        Ok(BaseUrl(s.proxies.base_url(peer(parts), &parts.headers)))
    }
}

/// A query string parsed into `T`; a bad one is `invalid_request` in SPEC's error shape.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(query)
            .map(ApiQuery)
            .map_err(|e| {
                ApiError(CoreError::InvalidRequest {
                    field: None,
                    message: format!("bad query string: {e}"),
                })
            })
    }
}
