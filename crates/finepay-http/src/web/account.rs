//! Register, log in, log out: cookie sessions over the same use cases as `POST /api/v1/users`
//! and `POST /api/v1/sessions`.

use super::messages::{of_error, Problem};
use super::session::{set_cookie, SESSION_COOKIE};
use super::{encode, page, safe_next, Ctx, Frame};
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use finepay_core::{CoreError, Registration};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "login.html")]
pub struct AccountPage {
    f: Frame,
    register: bool,
    action: &'static str,
    next: String,
    next_encoded: String,
    problems: Vec<Problem>,
    phone: String,
    name: String,
    id_number: String,
}

impl AccountPage {
    fn has(&self, field: &str) -> bool {
        self.problems.iter().any(|p| p.is_at(field))
    }
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

fn account_page(ctx: &Ctx, register: bool, next: String) -> AccountPage {
    let title = ctx.t.msg(if register {
        "register-title"
    } else {
        "login-title"
    });
    AccountPage {
        f: Frame::new(ctx, title, ""),
        register,
        action: if register { "/register" } else { "/login" },
        next_encoded: encode(&next),
        next,
        problems: Vec::new(),
        phone: String::new(),
        name: String::new(),
        id_number: String::new(),
    }
}

pub async fn login_page(ctx: Ctx, Query(q): Query<NextQuery>) -> Response {
    let p = account_page(&ctx, false, safe_next(q.next.as_deref()));
    page(StatusCode::OK, &p)
}

pub async fn register_page(ctx: Ctx, Query(q): Query<NextQuery>) -> Response {
    let p = account_page(&ctx, true, safe_next(q.next.as_deref()));
    page(StatusCode::OK, &p)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

/// Signs in and sets the session cookie, then goes where the person was heading.
async fn sign_in(
    s: &AppState,
    ctx: &Ctx,
    phone: &str,
    password: &str,
    next: &str,
) -> Result<Response, CoreError> {
    let session = s
        .platform
        .accounts()
        .login(phone, password, &ctx.client)
        .await?;
    let max_age = s.platform.config().session_ttl.as_secs() as i64;
    let mut response = super::see_other(next);
    if let Some(v) = set_cookie(SESSION_COOKIE, &session.token, max_age, ctx.cookies.secure) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}

pub async fn login(State(s): State<AppState>, ctx: Ctx, Form(form): Form<LoginForm>) -> Response {
    let next = safe_next(form.next.as_deref());
    match sign_in(&s, &ctx, &form.phone, &form.password, &next).await {
        Ok(r) => r,
        Err(e) => {
            let mut p = account_page(&ctx, false, next);
            p.phone = form.phone;
            p.problems = vec![match e {
                CoreError::InvalidCredentials => {
                    Problem::at("phone", ctx.t.msg("err-invalid_credentials"))
                }
                other => of_error(ctx.t, &other),
            }];
            page(StatusCode::UNAUTHORIZED, &p)
        }
    }
}

#[derive(Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    id_number: String,
    next: Option<String>,
}

pub async fn register(
    State(s): State<AppState>,
    ctx: Ctx,
    Form(form): Form<RegisterForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    let registered = s
        .platform
        .accounts()
        .register(
            Registration {
                phone: form.phone.clone(),
                password: form.password.clone(),
                name: form.name.clone(),
                id_number: form.id_number.clone(),
            },
            &ctx.client,
        )
        .await;
    let result = match registered {
        Ok(_) => sign_in(&s, &ctx, &form.phone, &form.password, &next).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(r) => r,
        Err(e) => {
            let status = crate::error::status_of(e.code());
            let mut p = account_page(&ctx, true, next);
            p.phone = form.phone;
            p.name = form.name;
            p.id_number = form.id_number;
            p.problems = vec![match e {
                CoreError::PhoneTaken => Problem::at("phone", ctx.t.msg("err-phone_taken")),
                other => of_error(ctx.t, &other),
            }];
            page(status, &p)
        }
    }
}

pub async fn logout(State(s): State<AppState>, ctx: Ctx) -> Response {
    if let Some(token) = &ctx.cookies.session {
        if let Err(e) = s.platform.accounts().logout(token).await {
            return super::failure(&ctx, &e);
        }
    }
    let mut response = super::see_other("/");
    if let Some(v) = set_cookie(SESSION_COOKIE, "", 0, ctx.cookies.secure) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response.into_response()
}
