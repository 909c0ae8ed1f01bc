//! Cookie sessions and CSRF for the web app (SPEC §7).
//!
//! The session cookie holds the same kind of token as `POST /api/v1/sessions` answers, stored
//! hashed in the database, so a restart logs nobody out. Every POST of the web app carries a CSRF
//! token derived from a secret the browser holds only as an `HttpOnly` cookie (the session token,
//! or before signing in a random anonymous one): a page of another site can neither read it nor
//! compute the token. A POST is also refused when `Sec-Fetch-Site` or `Origin` says it comes
//! from another site.

use super::i18n::Lang;
use crate::AppState;
use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The session cookie (the web app's sign-in); the API's SSE stream accepts it too.
pub const SESSION_COOKIE: &str = "fp_session";
/// A random value held before signing in, which anonymous forms' CSRF tokens derive from.
pub const ANON_COOKIE: &str = "fp_anon";
/// The language chosen with `?lang=`.
pub const LANG_COOKIE: &str = "fp_lang";
/// The form field of the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// What the middleware learned of a request's cookies, for the handlers.
#[derive(Clone, Debug)]
pub struct WebCookies {
    pub session: Option<String>,
    pub anon: String,
    pub lang: Lang,
    /// Served over TLS (directly or behind a proxy that says so): cookies get `Secure`.
    pub secure: bool,
}

impl WebCookies {
    /// The CSRF token every form of this page carries.
    pub fn csrf_token(&self) -> String {
        csrf_for(self.session.as_deref().unwrap_or(&self.anon))
    }
}

fn csrf_for(anchor: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"finepay-csrf\0")
        .chain_update(anchor.as_bytes())
        .finalize();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..24])
}

pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name && !c.value().is_empty())
        .map(|c| c.value().to_string())
}

fn random_value() -> String {
    let mut raw = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut raw);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Lax`, `Path=/`, `Secure` over TLS.
pub fn set_cookie(name: &str, value: &str, max_age_s: i64, secure: bool) -> Option<HeaderValue> {
    let c = cookie::Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .secure(secure)
        .max_age(cookie::time::Duration::seconds(max_age_s))
        .build();
    HeaderValue::from_str(&c.to_string()).ok()
}

/// Whether the browser reached us over TLS: only a trusted proxy can say so.
fn served_over_tls(s: &AppState, req: &Request) -> bool {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|ci| ci.0.ip());
    s.proxies
        .base_url(peer, req.headers())
        .starts_with("https://")
}

/// The language of a request: `?lang=`, else the cookie, else `Accept-Language`.
fn language(req: &Request) -> (Lang, Option<Lang>) {
    let asked = req.uri().query().and_then(|q| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(q)
            .ok()?
            .into_iter()
            .find(|(k, _)| k == "lang")
            .and_then(|(_, v)| Lang::parse(&v))
    });
    if let Some(lang) = asked {
        return (lang, Some(lang));
    }
    (remembered_language(req.headers()), None)
}

/// The language cookie, else `Accept-Language`.
pub fn remembered_language(headers: &HeaderMap) -> Lang {
    cookie_value(headers, LANG_COOKIE)
        .and_then(|v| Lang::parse(&v))
        .unwrap_or_else(|| {
            Lang::from_accept_language(
                headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or(""),
            )
        })
}

const YEAR_S: i64 = 365 * 24 * 3600;

/// The web app's middleware: reads the cookies, refuses cross-site and token-less POSTs with
/// 403, and sets the anonymous and language cookies when they are new.
pub async fn web_middleware(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let secure = served_over_tls(&s, &req);
    let headers = req.headers();
    let session = cookie_value(headers, SESSION_COOKIE);
    let existing_anon = cookie_value(headers, ANON_COOKIE);
    let (lang, chosen) = language(&req);
    let anon = existing_anon.clone().unwrap_or_else(random_value);
    let cookies = WebCookies {
        session,
        anon: anon.clone(),
        lang,
        secure,
    };
    let mut req = req;
    if req.method() == Method::POST {
        req = match checked_post(&s, req, &cookies).await {
            Ok(req) => req,
            Err(refusal) => return refusal,
        };
    }
    req.extensions_mut().insert(cookies);
    let mut response = next.run(req).await;
    let out = response.headers_mut();
    if existing_anon.is_none() {
        if let Some(v) = set_cookie(ANON_COOKIE, &anon, YEAR_S, secure) {
            out.append(header::SET_COOKIE, v);
        }
    }
    if let Some(lang) = chosen {
        if let Some(v) = set_cookie(LANG_COOKIE, lang.code(), YEAR_S, secure) {
            out.append(header::SET_COOKIE, v);
        }
    }
    response
}

/// Same-site and CSRF checks of a form POST; the body is read (at most 64 KiB) and put back.
async fn checked_post(
    s: &AppState,
    req: Request,
    cookies: &WebCookies,
) -> Result<Request, Response> {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|ci| ci.0.ip());
    let site = s.proxies.base_url(peer, req.headers());
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if !matches!(site, "same-origin" | "none") {
            return Err(forbidden("cross-site form submission refused"));
        }
    }
    // The browser's own host: the Host header, or behind a trusted proxy X-Forwarded-Host.
    let host = site.split_once("://").map(|(_, h)| h).unwrap_or("");
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or("");
        if origin != "null" && origin_host != host {
            return Err(forbidden("cross-site form submission refused"));
        }
    }
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, crate::MAX_BODY_BYTES)
        .await
        .map_err(|_| (StatusCode::PAYLOAD_TOO_LARGE, "form too large").into_response())?;
    let sent = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .ok()
        .and_then(|fields| fields.into_iter().find(|(k, _)| k == CSRF_FIELD))
        .map(|(_, v)| v);
    let expected = cookies.csrf_token();
    match sent {
        Some(token) if same(token.as_bytes(), expected.as_bytes()) => {
            Ok(Request::from_parts(parts, Body::from(bytes)))
        }
        _ => Err(forbidden(
            "this form has expired or did not come from finepay; go back, reload the page and try again",
        )),
    }
}

/// Compares without stopping at the first difference (no timing oracle on the token).
fn same(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

fn forbidden(message: &str) -> Response {
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message.to_string(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csrf_token_depends_on_the_session_and_reveals_nothing_of_it() {
        let a = csrf_for("session-a");
        assert_eq!(a, csrf_for("session-a"));
        assert_ne!(a, csrf_for("session-b"));
        assert!(!a.contains("session"));
        assert_eq!(a.len(), 32);
    }

    #[test]
    fn a_cookie_is_read_by_name_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; fp_session=tok; fp_lang=zh"),
        );
        assert_eq!(cookie_value(&h, SESSION_COOKIE).as_deref(), Some("tok"));
        assert_eq!(cookie_value(&h, "missing"), None);
    }

    #[test]
    fn session_cookies_are_http_only_and_same_site_lax() {
        let v = set_cookie(SESSION_COOKIE, "t", 60, true).unwrap_or(HeaderValue::from_static(""));
        let text = v.to_str().unwrap_or_default();
        assert!(
            text.contains("HttpOnly") && text.contains("SameSite=Lax") && text.contains("Secure")
        );
    }
}
