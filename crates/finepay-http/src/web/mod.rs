//! The citizen web app (SPEC §7): server-rendered pages on the same port as the API.
//!
//! Architecture Invariant: a page handler parses the form, calls the same use case as the JSON
//! API, and renders the answer; it holds no business rule (amounts, states, limits and checks all
//! come from `finepay-core`). Templates (askama, auto-escaped) hold only loops and conditionals;
//! every word is in `locales/*.ftl`. The pay journey works without JavaScript.

mod account;
mod admin;
mod assets;
mod fines;
mod home;
pub mod i18n;
mod messages;
mod payments;
pub mod session;
mod vehicles;
mod wallet;

use crate::AppState;
use askama::Template;
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{middleware, Router};
use i18n::{Lang, Tr};
use session::WebCookies;

pub use payments::pdf_response;

/// The web app's routes; merged with the API's by [`crate::router`].
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(home::home))
        .route("/search", get(home::search))
        .route("/services", get(home::city_services))
        .route("/services/{id}", get(home::service))
        .route("/citizen-center", get(home::citizen_center))
        .route("/favourites", post(home::toggle_favourite).get(to("/")))
        .route(
            "/register",
            get(account::register_page).post(account::register),
        )
        .route("/login", get(account::login_page).post(account::login))
        .route("/logout", post(account::logout).get(to("/")))
        .route("/fines", get(fines::entry))
        .route("/fines/check", get(fines::check))
        .route("/fines/{number}", get(fines::decision))
        .route(
            "/fines/{number}/pay",
            post(fines::pay).get(fines::back_to_decision),
        )
        .route("/payments", get(payments::history))
        .route("/payments/{id}", get(payments::payment))
        .route("/receipts/{id}", get(payments::receipt))
        .route("/verify/{id}/{code}", get(payments::verify))
        .route("/vehicles", get(vehicles::vehicles).post(vehicles::bind))
        .route(
            "/vehicles/{plate}/unbind",
            post(vehicles::unbind).get(to("/vehicles")),
        )
        .route(
            "/violations/{id}/handle",
            post(vehicles::handle).get(to("/vehicles")),
        )
        .route("/notifications", get(vehicles::notifications))
        .route(
            "/notifications/read",
            post(vehicles::read_all).get(to("/notifications")),
        )
        .route("/wallet", get(wallet::wallet))
        .route("/wallet/cards", post(wallet::link_card).get(to("/wallet")))
        .route("/wallet/top-ups", post(wallet::top_up).get(to("/wallet")))
        .route("/wallet/repayments", post(wallet::repay).get(to("/wallet")))
        .route("/admin", get(admin::admin))
        .route("/static/{name}", get(assets::serve))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            session::web_middleware,
        ))
        .with_state(state)
}

/// A GET of a form's POST-only address (a reload or Back after the form was shown again with its
/// errors) goes to the page the form belongs to.
fn to(page: &'static str) -> axum::routing::MethodRouter<AppState> {
    get(move || async move { see_other(page) })
}

/// What every page handler knows of its request.
pub struct Ctx {
    pub cookies: WebCookies,
    pub t: Tr,
    /// The signed-in user, if the session cookie is valid.
    pub user: Option<String>,
    /// The path and query of this request (for `?next=` and the language switch).
    pub here: String,
    /// `scheme://host` this request came to, for absolute links (the QR code's).
    pub base_url: String,
    /// The client's address (for the per-address lookup limit).
    pub client: String,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        let cookies = parts
            .extensions
            .get::<WebCookies>()
            .cloned()
            .ok_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response())?;
        let user = match &cookies.session {
            Some(token) => s.platform.accounts().authenticate(token).await.ok(),
            None => None,
        };
        let here = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        Ok(Ctx {
            t: Tr { lang: cookies.lang },
            base_url: s
                .proxies
                .base_url(crate::extract::peer(parts), &parts.headers),
            client: s
                .proxies
                .client_ip(crate::extract::peer(parts), &parts.headers)
                .map(|ip| ip.to_string())
                .unwrap_or_else(|| "unknown".into()),
            cookies,
            user,
            here,
        })
    }
}

/// A page that needs a signed-in user: anyone else is sent to log in and brought back.
pub struct SignedIn {
    pub ctx: Ctx,
    pub user: String,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        let ctx = Ctx::from_request_parts(parts, s).await?;
        match ctx.user.clone() {
            Some(user) => Ok(SignedIn { ctx, user }),
            None => {
                // After a POST, come back to the page the form was on.
                let back = if parts.method == axum::http::Method::GET {
                    ctx.here.clone()
                } else {
                    "/".to_string()
                };
                Err(see_other(&format!("/login?next={}", encode(&back))))
            }
        }
    }
}

impl OptionalFromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        s: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        let ctx = Ctx::from_request_parts(parts, s).await?;
        Ok(ctx.user.clone().map(|user| SignedIn { ctx, user }))
    }
}

/// The frame of every page: language, title, navigation, the form token.
pub struct Frame {
    pub tr: Tr,
    pub title: String,
    pub csrf: String,
    pub signed_in: bool,
    pub css: &'static str,
    pub js: &'static str,
    /// This page in the other language.
    pub switch_href: String,
    /// Which tab of the bottom bar is this page's.
    pub tab: &'static str,
}

impl Frame {
    pub fn new(ctx: &Ctx, title: String, tab: &'static str) -> Frame {
        Frame {
            tr: ctx.t,
            title,
            csrf: ctx.cookies.csrf_token(),
            signed_in: ctx.user.is_some(),
            css: assets::css_path(),
            js: assets::js_path(),
            switch_href: with_lang(&ctx.here, ctx.t.lang.other()),
            tab,
        }
    }

    /// The message `id` in the page's language.
    pub fn t(&self, id: &str) -> String {
        self.tr.msg(id)
    }

    /// The message `prefix` + `key` (a status, a kind).
    pub fn tk(&self, prefix: &str, key: &str) -> String {
        self.tr.msg(&format!("{prefix}{key}"))
    }

    /// The message `id` with one argument.
    pub fn t1(&self, id: &str, name: &str, value: &str) -> String {
        self.tr.msg_with(id, &[(name, value.to_string())])
    }

    pub fn lang(&self) -> Lang {
        self.tr.lang
    }

    pub fn zh(&self) -> bool {
        self.tr.lang == Lang::Zh
    }

    pub fn yuan(&self, fen: &i64) -> String {
        i18n::yuan(*fen)
    }

    /// An amount as typed in a form field: `200.00`.
    pub fn plain_yuan(&self, fen: &i64) -> String {
        finepay_domain::Fen::from_fen(*fen).to_string()
    }

    pub fn date(&self, text: &str) -> String {
        self.tr.date_text(text)
    }

    pub fn time(&self, text: &str) -> String {
        self.tr.time_text(text)
    }

    /// A city's name in the page's language.
    pub fn city(&self, name: &str, name_zh: &str) -> String {
        match self.tr.lang {
            Lang::Zh if !name_zh.is_empty() => name_zh.to_string(),
            _ => name.to_string(),
        }
    }
}

/// `path` with `lang=` set to `lang` (other query parameters kept).
fn with_lang(here: &str, lang: Lang) -> String {
    let (path, query) = here.split_once('?').unwrap_or((here, ""));
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    pairs.retain(|(k, _)| k != "lang");
    pairs.push(("lang".into(), lang.code().into()));
    format!(
        "{path}?{}",
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    )
}

/// A fresh Idempotency-Key for a form that moves money, made when the page is rendered: every
/// submit of that one form (a double click, Back, Reload) is the same request.
pub fn new_idempotency_key() -> String {
    let mut raw = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut raw);
    format!("web-{}", hex::encode(raw))
}

pub fn encode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|v| v.trim_start_matches('=').to_string())
        .unwrap_or_default()
}

/// A page answer: never cached (pages carry personal data, and the back button must show the
/// decision as it is now, not a Pay button for a fine already paid).
pub fn page(status: StatusCode, tpl: &impl Template) -> Response {
    match tpl.render() {
        Ok(html) => (
            status,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            html,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page template failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// A path inside this site to return to (`?next=`); anything else goes home.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        // One `/` then a character that is not another separator, and nothing a browser would
        // strip or a header could not carry (a tab in `/\t/evil.example` is dropped by browsers,
        // leaving `//evil.example`).
        Some(n)
            if n.starts_with('/')
                && !matches!(n.as_bytes().get(1), Some(b'/' | b'\\'))
                && n.chars()
                    .all(|c| !c.is_control() && !c.is_whitespace() && c != '\\') =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

/// A page that says something went wrong and what to do.
#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub f: Frame,
    pub heading: String,
    pub body: String,
    pub action_href: String,
    pub action_label: String,
}

pub fn message_page(
    ctx: &Ctx,
    status: StatusCode,
    heading: String,
    body: String,
    action: (&str, String),
) -> Response {
    page(
        status,
        &MessagePage {
            f: Frame::new(ctx, heading.clone(), ""),
            heading,
            body,
            action_href: action.0.to_string(),
            action_label: action.1,
        },
    )
}

/// A page for an address that does not exist, for browsers (the API's clients get JSON).
pub fn not_found(headers: &HeaderMap) -> Response {
    let lang = session::remembered_language(headers);
    let tr = Tr { lang };
    let heading = tr.msg("page-not-found");
    page(
        StatusCode::NOT_FOUND,
        &MessagePage {
            f: Frame {
                tr,
                title: heading.clone(),
                csrf: String::new(),
                signed_in: false,
                css: assets::css_path(),
                js: assets::js_path(),
                switch_href: format!("/?lang={}", lang.other().code()),
                tab: "",
            },
            heading,
            body: tr.msg("page-not-found-body"),
            action_href: "/".into(),
            action_label: tr.msg("go-home"),
        },
    )
}

/// The answer to a failed use case outside a form: the message in the reader's language.
pub fn failure(ctx: &Ctx, e: &finepay_core::CoreError) -> Response {
    let status = crate::error::status_of(e.code());
    if matches!(e, finepay_core::CoreError::Internal(_)) {
        tracing::error!(error = %e, "internal error on a page");
    }
    let msg = messages::of_error(ctx.t, e);
    message_page(
        ctx,
        status,
        ctx.t.msg("problem-heading"),
        msg.text,
        ("/", ctx.t.msg("go-home")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_switch_keeps_the_rest_of_the_query() {
        assert_eq!(
            with_lang("/search?q=jtwf", Lang::Zh),
            "/search?q=jtwf&lang=zh"
        );
        assert_eq!(with_lang("/?lang=zh", Lang::En), "/?lang=en");
    }

    #[test]
    fn next_only_goes_to_a_path_of_this_site() {
        assert_eq!(safe_next(Some("/fines/1")), "/fines/1");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(None), "/");
        assert_eq!(safe_next(Some("/\t/evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(Some("/a\r\nSet-Cookie: x=1")), "/");
        assert_eq!(safe_next(Some("/fines?lang=zh")), "/fines?lang=zh");
    }
}
