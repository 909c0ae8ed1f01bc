//! Bound vehicles (bind, unbind, what is outstanding, online handling) and the notifications
//! inbox, which updates itself from the SSE stream.

use super::messages::{of_error, Problem};
use super::payments::city_name;
use super::{page, see_other, Frame, SignedIn};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use finepay_core::violations::LicenceView;
use finepay_core::CoreError;
use serde::Deserialize;

struct ViolationRow {
    id: String,
    description: String,
    description_zh: String,
    city: String,
    location: String,
    occurred_at: String,
    fine: i64,
    points: u8,
    camera_recorded: bool,
    decision_number: Option<String>,
}

struct PlateCard {
    plate: String,
    plate_encoded: String,
    bound_at: String,
    violations: Vec<ViolationRow>,
    unavailable: String,
}

#[derive(Template)]
#[template(path = "vehicles.html")]
pub struct VehiclesPage {
    f: Frame,
    licence: Option<LicenceView>,
    plates: Vec<PlateCard>,
    problems: Vec<Problem>,
    plate: String,
    vin: String,
}

impl VehiclesPage {
    fn has(&self, field: &str) -> bool {
        self.problems.iter().any(|p| p.is_at(field))
    }
}

async fn vehicles_page(
    s: &AppState,
    signed: &SignedIn,
    problems: Vec<Problem>,
    plate: String,
    vin: String,
) -> Response {
    let ctx = &signed.ctx;
    let bound = match s.platform.vehicles().list(&signed.user).await {
        Ok(v) => v,
        Err(e) => return super::failure(ctx, &e),
    };
    let mut plates = Vec::new();
    for v in bound {
        let (list, unavailable) = s
            .platform
            .violations()
            .outstanding(&signed.user, &v.plate)
            .await
            .unwrap_or_default();
        plates.push(PlateCard {
            plate_encoded: super::encode(&v.plate),
            violations: list
                .into_iter()
                .map(|o| ViolationRow {
                    city: city_name(&s.platform, ctx, &o.city_code),
                    id: o.id,
                    description: o.description,
                    description_zh: o.description_zh,
                    location: o.location,
                    occurred_at: o.occurred_at,
                    fine: o.fine,
                    points: o.points,
                    camera_recorded: o.camera_recorded,
                    decision_number: o.decision_number,
                })
                .collect(),
            unavailable: unavailable
                .iter()
                .map(|c| city_name(&s.platform, ctx, c))
                .collect::<Vec<_>>()
                .join(", "),
            plate: v.plate,
            bound_at: v.bound_at,
        });
    }
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    page(
        status,
        &VehiclesPage {
            f: Frame::new(ctx, ctx.t.msg("vehicles-title"), "vehicles"),
            licence: s.platform.violations().licence(&signed.user).await.ok(),
            plates,
            problems,
            plate,
            vin,
        },
    )
}

pub async fn vehicles(State(s): State<AppState>, signed: SignedIn) -> Response {
    vehicles_page(&s, &signed, Vec::new(), String::new(), String::new()).await
}

#[derive(Deserialize)]
pub struct BindForm {
    #[serde(default)]
    plate: String,
    #[serde(default)]
    vin_last6: String,
}

pub async fn bind(
    State(s): State<AppState>,
    signed: SignedIn,
    Form(form): Form<BindForm>,
) -> Response {
    let bound = match finepay_core::parse_plate(&form.plate) {
        Ok(plate) => {
            s.platform
                .vehicles()
                .bind(&signed.user, &signed.ctx.client, &plate, &form.vin_last6)
                .await
        }
        Err(e) => Err(e),
    };
    match bound {
        Ok(_) => see_other("/vehicles"),
        Err(e) => {
            let problem = of_error(signed.ctx.t, &e);
            vehicles_page(&s, &signed, vec![problem], form.plate, form.vin_last6).await
        }
    }
}

pub async fn unbind(
    State(s): State<AppState>,
    signed: SignedIn,
    Path(plate): Path<String>,
) -> Response {
    match s.platform.vehicles().unbind(&signed.user, &plate).await {
        Ok(()) | Err(CoreError::NotFound(_)) => see_other("/vehicles"),
        Err(e) => super::failure(&signed.ctx, &e),
    }
}

/// Online handling (处理) of a camera-recorded violation: the decision is issued, then paid.
pub async fn handle(
    State(s): State<AppState>,
    signed: SignedIn,
    Path(id): Path<String>,
) -> Response {
    match s.platform.violations().handle(&signed.user, &id).await {
        Ok(d) => see_other(&format!("/fines/{}", d.number)),
        Err(e) => {
            let problem = of_error(signed.ctx.t, &e);
            vehicles_page(&s, &signed, vec![problem], String::new(), String::new()).await
        }
    }
}

struct InboxRow {
    id: String,
    title: String,
    detail: String,
    created_at: String,
    read: bool,
    action_href: Option<String>,
    action_label: String,
}

#[derive(Template)]
#[template(path = "notifications.html")]
pub struct InboxPage {
    f: Frame,
    list: Vec<InboxRow>,
    any_unread: bool,
}

pub async fn notifications(State(s): State<AppState>, signed: SignedIn) -> Response {
    let ctx = &signed.ctx;
    let list = match s
        .platform
        .notifications()
        .list(&signed.user, None, 50)
        .await
    {
        Ok((list, _)) => list,
        Err(e) => return super::failure(ctx, &e),
    };
    let rows = list
        .into_iter()
        .map(|n| {
            let (action_href, action_label) =
                match (n.kind.as_str(), &n.decision_number, &n.payment_id) {
                    ("decision.issued" | "decision.due_soon" | "decision.overdue", Some(d), _) => {
                        (Some(format!("/fines/{d}")), ctx.t.msg("pay-this-fine"))
                    }
                    (_, _, Some(p)) => (Some(format!("/payments/{p}")), ctx.t.msg("see-payment")),
                    _ => (None, String::new()),
                };
            let mut detail = vec![city_name(&s.platform, ctx, &n.city_code)];
            if let Some(p) = &n.plate {
                detail.insert(0, p.clone());
            }
            InboxRow {
                title: ctx.t.msg(&format!("kind-{}", n.kind.replace('.', "-"))),
                detail: detail.join(" · "),
                id: n.id,
                created_at: n.created_at,
                read: n.read,
                action_href,
                action_label,
            }
        })
        .collect::<Vec<_>>();
    page(
        StatusCode::OK,
        &InboxPage {
            f: Frame::new(ctx, ctx.t.msg("inbox-title"), ""),
            any_unread: rows.iter().any(|r| !r.read),
            list: rows,
        },
    )
}

/// `POST /notifications/read`: every notification read, back to the inbox.
pub async fn read_all(State(s): State<AppState>, signed: SignedIn) -> Response {
    match s.platform.notifications().mark_all_read(&signed.user).await {
        Ok(_) => super::see_other("/notifications"),
        Err(e) => super::failure(&signed.ctx, &e),
    }
}
