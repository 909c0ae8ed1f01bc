//! `/admin` (SPEC §9): the operators' page. Today's totals per city, how far each authority is
//! behind, the last settlement and reconciliation of each city, and a chart of payments per
//! minute drawn on the server as SVG. Anyone who is not an operator gets 403.

use super::{page, Frame, SignedIn};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use finepay_core::admin::{CityOverview, Overview};
use finepay_core::CoreError;

/// One bar of the chart, in the SVG's own units (the handler computes the geometry; the
/// template only draws it).
pub struct Bar {
    pub x: u32,
    pub y: u32,
    pub height: u32,
    pub minute: String,
    pub payments: i64,
}

/// The chart's drawing box.
const CHART_W: u32 = 360;
const CHART_H: u32 = 120;
const BAR_W: u32 = CHART_W / 60;

/// `YYYY-MM-DDTHH:MM` (UTC) as `HH:MM` in Beijing time, the time the page's other figures use.
fn beijing_minute(utc: &str) -> String {
    chrono::NaiveDateTime::parse_from_str(utc, "%Y-%m-%dT%H:%M")
        .map(|t| {
            t.and_utc()
                .with_timezone(&chrono_tz::Asia::Shanghai)
                .format("%H:%M")
                .to_string()
        })
        .unwrap_or_else(|_| utc.get(11..).unwrap_or(utc).to_string())
}

fn bars(overview: &Overview) -> (Vec<Bar>, i64) {
    let most = overview
        .per_minute
        .iter()
        .map(|m| m.payments)
        .max()
        .unwrap_or(0)
        .max(1);
    let bars = overview
        .per_minute
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let height = u32::try_from(m.payments.max(0) * i64::from(CHART_H) / most).unwrap_or(0);
            Bar {
                x: u32::try_from(i).unwrap_or(0) * BAR_W,
                y: CHART_H - height,
                height,
                minute: beijing_minute(&m.minute),
                payments: m.payments,
            }
        })
        .collect();
    (bars, most)
}

#[derive(Template)]
#[template(path = "admin.html")]
pub struct AdminPage {
    f: Frame,
    date: String,
    generated_at: String,
    cities: Vec<CityOverview>,
    bars: Vec<Bar>,
    most: i64,
    total_payments: i64,
    chart_w: u32,
    chart_h: u32,
    bar_w: u32,
}

impl AdminPage {
    /// A duration in milliseconds, read by a person.
    fn lag(&self, ms: &i64) -> String {
        if *ms < 1_000 {
            self.f.t1("admin-ms", "n", &ms.to_string())
        } else {
            self.f
                .t1("admin-s", "n", &format!("{:.1}", *ms as f64 / 1000.0))
        }
    }
}

pub async fn admin(State(s): State<AppState>, signed: SignedIn) -> Response {
    let ctx = &signed.ctx;
    if let Err(e) = s.platform.admin().require_operator(&signed.user).await {
        if matches!(e, CoreError::Forbidden) {
            return super::message_page(
                ctx,
                StatusCode::FORBIDDEN,
                ctx.t.msg("admin-forbidden"),
                ctx.t.msg("admin-forbidden-body"),
                ("/", ctx.t.msg("go-home")),
            );
        }
        return super::failure(ctx, &e);
    }
    match s.platform.admin().overview().await {
        Ok(overview) => {
            let (bars, most) = bars(&overview);
            page(
                StatusCode::OK,
                &AdminPage {
                    f: Frame::new(ctx, ctx.t.msg("admin-title"), ""),
                    total_payments: overview.per_minute.iter().map(|m| m.payments).sum(),
                    date: overview.date,
                    generated_at: overview.generated_at,
                    cities: overview.cities,
                    bars,
                    most,
                    chart_w: CHART_W,
                    chart_h: CHART_H,
                    bar_w: BAR_W,
                },
            )
        }
        Err(e) => super::failure(ctx, &e),
    }
}
