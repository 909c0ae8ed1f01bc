//! Payments history, one payment (updating live), the receipt with its PDF and QR code, and the
//! public verification page the QR code opens.

use super::i18n::Lang;
use super::{page, Ctx, Frame, SignedIn};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use finepay_core::receipts::PublicReceipt;
use finepay_core::views::PaymentView;
use finepay_core::Platform;
use finepay_domain::{AuthoritySync, PayMethodKind, PaymentStatus};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct CursorQuery {
    cursor: Option<String>,
}

#[derive(Template)]
#[template(path = "payments.html")]
pub struct HistoryPage {
    f: Frame,
    list: Vec<PaymentView>,
    next_cursor: Option<String>,
}

pub async fn history(
    State(s): State<AppState>,
    signed: SignedIn,
    Query(q): Query<CursorQuery>,
) -> Response {
    let ctx = &signed.ctx;
    match s
        .platform
        .payments()
        .list(&signed.user, q.cursor.as_deref(), 20)
        .await
    {
        Ok((list, next_cursor)) => page(
            StatusCode::OK,
            &HistoryPage {
                f: Frame::new(ctx, ctx.t.msg("payments-title"), "payments"),
                list,
                next_cursor,
            },
        ),
        Err(e) => super::failure(ctx, &e),
    }
}

pub fn city_name(platform: &Platform, ctx: &Ctx, code: &str) -> String {
    let c = platform.city_view(code);
    if ctx.t.lang == Lang::Zh {
        c.name_zh
    } else {
        c.name
    }
}

/// "Balance", "Credit line", "Card ending 0018" in the reader's language.
fn method_label(ctx: &Ctx, kind: PayMethodKind, last4: Option<&str>) -> String {
    match kind {
        PayMethodKind::Balance => ctx.t.msg("method-balance"),
        PayMethodKind::Credit => ctx.t.msg("method-credit"),
        PayMethodKind::Card => ctx
            .t
            .msg_with("method-card", &[("last4", last4.unwrap_or("").to_string())]),
    }
}

#[derive(Template)]
#[template(path = "payment.html")]
pub struct PaymentPage {
    f: Frame,
    p: PaymentView,
    city: String,
    method: String,
    authority_status: String,
    favourite: bool,
}

pub async fn payment(
    State(s): State<AppState>,
    signed: SignedIn,
    Path(id): Path<String>,
) -> Response {
    let ctx = &signed.ctx;
    let p = match s.platform.payments().get(&signed.user, &id).await {
        Ok(p) => p,
        Err(e) => return super::failure(ctx, &e),
    };
    let favourite = s
        .platform
        .favourites()
        .list(&signed.user)
        .await
        .unwrap_or_default()
        .iter()
        .any(|f| f.id == finepay_core::services::TRAFFIC_FINE_PAYMENT);
    let city = city_name(&s.platform, ctx, &p.city_code);
    let authority_status = match p.authority_status {
        AuthoritySync::Confirmed => ctx
            .t
            .msg_with("authority-confirmed", &[("city", city.clone())]),
        AuthoritySync::Rejected => ctx.t.msg("authority-rejected"),
        AuthoritySync::Pending => ctx.t.msg("authority-pending"),
    };
    let title = ctx.t.msg("payment-title");
    page(
        StatusCode::OK,
        &PaymentPage {
            f: Frame::new(ctx, title, "payments"),
            method: method_label(ctx, p.method.kind, p.method.last4.as_deref()),
            city,
            authority_status,
            favourite,
            p,
        },
    )
}

#[derive(Template)]
#[template(path = "receipt.html")]
pub struct ReceiptPage {
    f: Frame,
    id: String,
    refund: bool,
    number: String,
    issued_at: String,
    payee: String,
    payer: String,
    decision_number: String,
    city: String,
    violation: String,
    fine: i64,
    late_fee: i64,
    amount: i64,
    method: String,
    kid: String,
    payment_id: String,
    verify_url: String,
    qr_svg: String,
}

/// The receipt page, or with `.pdf` at the end of the id the same PDF as the API's.
pub async fn receipt(
    State(s): State<AppState>,
    signed: SignedIn,
    Path(id): Path<String>,
) -> Response {
    let ctx = &signed.ctx;
    if let Some(id) = id.strip_suffix(".pdf") {
        return match s
            .platform
            .receipts()
            .pdf(&signed.user, id, &ctx.base_url)
            .await
        {
            Ok(pdf) => pdf_response(id, pdf),
            Err(e) => super::failure(ctx, &e),
        };
    }
    let details = match s.platform.receipts().details(&signed.user, &id).await {
        Ok(d) => d,
        Err(e) => return super::failure(ctx, &e),
    };
    let r = &details.receipt;
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    let verify_url = format!("{}{}", ctx.base_url, details.verify_path);
    let qr_svg = match finepay_documents::qr_svg(&verify_url) {
        Ok(svg) => svg,
        Err(e) => {
            tracing::error!(error = %e, "receipt QR code");
            String::new()
        }
    };
    let zh = ctx.t.lang == Lang::Zh;
    let violation = details
        .violation
        .as_ref()
        .map(|v| {
            if zh {
                v.description_zh.clone()
            } else {
                v.description.clone()
            }
        })
        .unwrap_or_default();
    let refund = r["kind"] == "refund";
    let title = ctx.t.msg(if refund {
        "refund-receipt-title"
    } else {
        "receipt-title"
    });
    page(
        StatusCode::OK,
        &ReceiptPage {
            f: Frame::new(ctx, title, "payments"),
            id: id.clone(),
            refund,
            number: text(&r["number"]),
            issued_at: text(&r["issued_at"]),
            payee: text(&r["payee"]),
            payer: text(&r["payer_masked"]),
            decision_number: text(&r["decision_number"]),
            city: if zh {
                text(&r["city"]["name_zh"])
            } else {
                text(&r["city"]["name"])
            },
            violation,
            fine: r["fine"].as_i64().unwrap_or_default(),
            late_fee: r["late_fee"].as_i64().unwrap_or_default(),
            amount: r["amount"].as_i64().unwrap_or_default(),
            method: method_label(
                ctx,
                r["method"]["type"]
                    .as_str()
                    .and_then(PayMethodKind::parse)
                    .unwrap_or(PayMethodKind::Card),
                r["method"]["last4"].as_str(),
            ),
            kid: text(&r["kid"]),
            payment_id: text(&r["payment_id"]),
            verify_url,
            qr_svg,
        },
    )
}

pub fn pdf_response(id: &str, pdf: Vec<u8>) -> Response {
    let disposition = format!("inline; filename=\"finepay-receipt-{id}.pdf\"");
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/pdf"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("inline")),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
        ],
        pdf,
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "verify.html")]
pub struct VerifyPage {
    f: Frame,
    genuine: Option<PublicReceipt>,
}

/// Public: no sign-in. Genuine only when the code matches the receipt's signature and the
/// signature verifies; every other case answers the same page, so nothing can be enumerated.
pub async fn verify(
    State(s): State<AppState>,
    ctx: Ctx,
    Path((id, code)): Path<(String, String)>,
) -> Response {
    let genuine = match s.platform.receipts().verify_link(&id, &code).await {
        Ok(found) => found,
        Err(e) => return super::failure(&ctx, &e),
    };
    let title = ctx.t.msg(if genuine.is_some() {
        "genuine"
    } else {
        "not-genuine"
    });
    let status = if genuine.is_some() {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    page(
        status,
        &VerifyPage {
            f: Frame::new(&ctx, title, ""),
            genuine,
        },
    )
}
