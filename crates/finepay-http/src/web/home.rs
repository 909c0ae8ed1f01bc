//! Home, search, City Services, the Citizen Center, one service's page, and favourites.

use super::{page, see_other, Ctx, Frame, SignedIn};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use finepay_core::services::{self, Category, ServiceView};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    f: Frame,
    query: String,
    favourites: Vec<ServiceView>,
    /// Public Payment after its first service (shown as the feature card).
    public_payment: Vec<ServiceView>,
    citizen: Vec<ServiceView>,
}

fn in_category(c: Category) -> Vec<ServiceView> {
    services::all()
        .into_iter()
        .filter(|s| s.category == c)
        .collect()
}

pub async fn home(State(s): State<AppState>, ctx: Ctx) -> Response {
    let favourites = match &ctx.user {
        Some(u) => s.platform.favourites().list(u).await.unwrap_or_default(),
        None => Vec::new(),
    };
    let public_payment = in_category(Category::PublicPayment)
        .into_iter()
        .filter(|s| s.id != services::TRAFFIC_FINE_PAYMENT)
        .collect();
    page(
        StatusCode::OK,
        &HomePage {
            f: Frame::new(&ctx, ctx.t.msg("home-title"), "home"),
            query: String::new(),
            favourites,
            public_payment,
            citizen: in_category(Category::CitizenCenter),
        },
    )
}

#[derive(Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
}

#[derive(Template)]
#[template(path = "search.html")]
pub struct SearchPage {
    f: Frame,
    query: String,
    results: Vec<ServiceView>,
}

pub async fn search(ctx: Ctx, Query(q): Query<SearchQuery>) -> Response {
    let query = q.q.unwrap_or_default().trim().to_string();
    let results = if query.is_empty() {
        Vec::new()
    } else {
        services::search(&query)
    };
    page(
        StatusCode::OK,
        &SearchPage {
            f: Frame::new(&ctx, ctx.t.msg("search-title"), "home"),
            query,
            results,
        },
    )
}

#[derive(Template)]
#[template(path = "services.html")]
pub struct ServicesPage {
    f: Frame,
    heading: String,
    intro: String,
    groups: Vec<(String, Vec<ServiceView>)>,
}

pub async fn city_services(ctx: Ctx) -> Response {
    let groups = [Category::PublicPayment, Category::Vehicles]
        .into_iter()
        .map(|c| (category_name(&ctx, c), in_category(c)))
        .collect();
    let heading = ctx.t.msg("city-services");
    page(
        StatusCode::OK,
        &ServicesPage {
            f: Frame::new(&ctx, heading.clone(), "home"),
            heading,
            intro: String::new(),
            groups,
        },
    )
}

pub async fn citizen_center(ctx: Ctx) -> Response {
    let heading = ctx.t.msg("citizen-center");
    let groups = vec![
        (
            ctx.t.msg("cat-citizen_center"),
            in_category(Category::CitizenCenter),
        ),
        (ctx.t.msg("cat-all"), services::all()),
    ];
    page(
        StatusCode::OK,
        &ServicesPage {
            f: Frame::new(&ctx, heading.clone(), "home"),
            heading,
            intro: ctx.t.msg("citizen-center-hint"),
            groups,
        },
    )
}

fn category_name(ctx: &Ctx, c: Category) -> String {
    ctx.t.msg(&format!("cat-{}", c.as_str()))
}

#[derive(Template)]
#[template(path = "service.html")]
pub struct ServicePage {
    f: Frame,
    service_id: String,
    category: String,
    description: String,
    start_href: Option<&'static str>,
    favourite: bool,
}

/// Where a service's Start button leads in this app; `None` for services finepay does not run.
fn start_of(id: &str) -> Option<&'static str> {
    match id {
        services::TRAFFIC_FINE_PAYMENT => Some("/fines"),
        "vehicle-violation-query"
        | "vehicle-binding"
        | "driving-licence-points"
        | "traffic-violation-handling" => Some("/vehicles"),
        _ => None,
    }
}

pub async fn service(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> Response {
    let Some(service) = services::find(&id) else {
        return super::message_page(
            &ctx,
            StatusCode::NOT_FOUND,
            ctx.t.msg("service-unknown"),
            ctx.t.msg("service-unknown-body"),
            ("/services", ctx.t.msg("city-services")),
        );
    };
    let favourite = match &ctx.user {
        Some(u) => s
            .platform
            .favourites()
            .list(u)
            .await
            .unwrap_or_default()
            .iter()
            .any(|f| f.id == service.id),
        None => false,
    };
    let title = if ctx.t.lang == super::i18n::Lang::Zh {
        service.name_zh.clone()
    } else {
        service.name.clone()
    };
    page(
        StatusCode::OK,
        &ServicePage {
            f: Frame::new(&ctx, title, "home"),
            category: category_name(&ctx, service.category),
            description: ctx.t.msg(&format!("svc-{}-desc", service.id)),
            start_href: start_of(&service.id),
            favourite,
            service_id: service.id,
        },
    )
}

#[derive(Deserialize)]
pub struct FavouriteForm {
    service_id: String,
    action: String,
    back: Option<String>,
}

pub async fn toggle_favourite(
    State(s): State<AppState>,
    signed: SignedIn,
    Form(form): Form<FavouriteForm>,
) -> Response {
    let result = if form.action == "remove" {
        s.platform
            .favourites()
            .remove(&signed.user, &form.service_id)
            .await
    } else {
        s.platform
            .favourites()
            .add(&signed.user, &form.service_id)
            .await
    };
    match result {
        Ok(()) => see_other(&super::safe_next(form.back.as_deref())),
        Err(e) => super::failure(&signed.ctx, &e),
    }
}
