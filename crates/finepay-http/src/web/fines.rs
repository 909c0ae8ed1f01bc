//! The pay journey: enter the decision number, see the decision, pay it once.

use super::messages::{of_code, of_error, of_number, Problem};
use super::{page, see_other, Ctx, Frame, SignedIn};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use finepay_core::views::DecisionView;
use finepay_core::{
    CoreError, ErrorCode, IdempotencyKey, NumberProblem, Outcome, PayMethod, PayRequest,
    PaymentOption, Reply,
};
use finepay_domain::{DecisionNumberError, DecisionStatus, Fen, PayMethodKind};
use serde::Deserialize;
use serde_json::json;
use std::time::{Duration, Instant};

#[derive(Deserialize)]
pub struct NumberQuery {
    number: Option<String>,
}

#[derive(Template)]
#[template(path = "fines.html")]
pub struct EntryPage {
    f: Frame,
    number: String,
    problems: Vec<Problem>,
}

/// The decision-number form; submitted (GET `?number=`), a valid number goes to its page.
pub async fn entry(State(s): State<AppState>, ctx: Ctx, Query(q): Query<NumberQuery>) -> Response {
    let typed = q.number.unwrap_or_default();
    let mut problems = Vec::new();
    if !typed.trim().is_empty() || ctx.here.contains("number=") {
        match s.platform.decisions().check_number(&typed) {
            Ok((number, _)) => return see_other(&format!("/fines/{number}")),
            Err(p) => problems.push(Problem::at("number", of_number(ctx.t, &p))),
        }
    }
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    page(
        status,
        &EntryPage {
            f: Frame::new(&ctx, ctx.t.msg("fines-title"), "home"),
            number: typed,
            problems,
        },
    )
}

/// As-you-type feedback for the number field: `{valid, message}` in the reader's language. It
/// checks the format only: no authority is asked and no lookup is counted.
pub async fn check(State(s): State<AppState>, ctx: Ctx, Query(q): Query<NumberQuery>) -> Response {
    let typed = q.number.unwrap_or_default();
    let answer = match s.platform.decisions().check_number(&typed) {
        Ok((_, city)) => json!({
            "valid": true,
            "message": ctx.t.msg_with("num-ok", &[("city", Frame::new(&ctx, String::new(), "").city(&city.name, &city.name_zh))]),
        }),
        // While typing, a number that is only too short so far is not an error yet.
        Err(NumberProblem::Shape(DecisionNumberError::BadLength { len })) if len < 16 => json!({
            "valid": false,
            "message": ctx.t.msg_with("num-typing", &[("count", len.to_string())]),
        }),
        Err(p) => json!({"valid": false, "message": of_number(ctx.t, &p), "error": true}),
    };
    Json(answer).into_response()
}

#[derive(Clone)]
struct MethodChoice {
    value: String,
    label: String,
    available: String,
    enough: bool,
    checked: bool,
}

#[derive(Template)]
#[template(path = "decision.html")]
pub struct DecisionPage {
    f: Frame,
    d: DecisionView,
    late_rule: String,
    methods: Vec<MethodChoice>,
    idempotency_key: String,
    problems: Vec<Problem>,
    confirm_plate: String,
}

impl DecisionPage {
    fn has(&self, field: &str) -> bool {
        self.problems.iter().any(|p| p.is_at(field))
    }
}

/// The late-fee rule in words, for this decision.
fn late_rule(ctx: &Ctx, d: &DecisionView) -> String {
    let due = ctx.t.date_text(&d.due_on);
    if d.days_late == 0 {
        ctx.t.msg_with("late-rule-on-time", &[("due", due)])
    } else {
        ctx.t.msg_with(
            "late-rule-late",
            &[("days", d.days_late.to_string()), ("due", due)],
        )
    }
}

/// The form value of a method: `balance`, `credit` or `card:{id}`.
fn method_value(m: &PayMethod) -> String {
    match m {
        PayMethod::Card { card_id } => format!("card:{card_id}"),
        other => other.kind().as_str().into(),
    }
}

fn method_choices(
    ctx: &Ctx,
    options: Vec<PaymentOption>,
    chosen: Option<&str>,
) -> Vec<MethodChoice> {
    let t = ctx.t;
    let mut list: Vec<MethodChoice> = options
        .into_iter()
        .map(|o| {
            let label = match &o.method {
                PayMethod::Balance => t.msg("method-balance"),
                PayMethod::Credit => t.msg("method-credit"),
                PayMethod::Card { .. } => t.msg_with(
                    "method-card",
                    &[("last4", o.last4.clone().unwrap_or_default())],
                ),
            };
            let available = match (o.available, o.refusal) {
                (_, Some("credit_overdue")) => t.msg("err-credit_overdue"),
                (Some(a), Some(_)) => {
                    t.msg_with("method-short", &[("amount", super::i18n::yuan(a))])
                }
                (Some(a), None) => {
                    t.msg_with("method-available", &[("amount", super::i18n::yuan(a))])
                }
                (None, _) => t.msg_with(
                    "method-card-hint",
                    &[("bank", o.bank.clone().unwrap_or_default())],
                ),
            };
            MethodChoice {
                value: method_value(&o.method),
                label,
                available,
                enough: o.refusal.is_none(),
                checked: false,
            }
        })
        .collect();
    let pick = chosen
        .and_then(|c| list.iter().position(|m| m.value == c))
        .or_else(|| list.iter().position(|m| m.enough));
    if let Some(i) = pick {
        list[i].checked = true;
    }
    list
}

/// Renders the decision as it is now, with `problems` from a failed payment.
async fn decision_page(
    s: &AppState,
    signed: &SignedIn,
    number: &str,
    problems: Vec<Problem>,
    typed_plate: String,
    chosen: Option<&str>,
) -> Response {
    let ctx = &signed.ctx;
    let d = match s
        .platform
        .decisions()
        .lookup(&signed.user, &ctx.client, number)
        .await
    {
        Ok(d) => d,
        Err(CoreError::AuthorityUnavailable) => {
            return super::message_page(
                ctx,
                StatusCode::SERVICE_UNAVAILABLE,
                ctx.t.msg("authority-down"),
                ctx.t.msg("authority-down-body"),
                (&format!("/fines/{number}"), ctx.t.msg("try-again")),
            )
        }
        Err(CoreError::InvalidDecisionNumber(_)) | Err(CoreError::DecisionNotFound) => {
            let problem = match s.platform.decisions().check_number(number) {
                Err(p) => of_number(ctx.t, &p),
                Ok(_) => ctx.t.msg("err-decision_not_found"),
            };
            return page(
                StatusCode::NOT_FOUND,
                &EntryPage {
                    f: Frame::new(ctx, ctx.t.msg("fines-title"), "home"),
                    number: number.to_string(),
                    problems: vec![Problem::at("number", problem)],
                },
            );
        }
        Err(e) => return super::failure(ctx, &e),
    };
    let options = match s
        .platform
        .wallet()
        .payment_options(&signed.user, d.amount_due)
        .await
    {
        Ok(o) => o,
        Err(e) => return super::failure(ctx, &e),
    };
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let title = ctx.t.msg("decision-title");
    page(
        status,
        &DecisionPage {
            f: Frame::new(ctx, title, "home"),
            late_rule: late_rule(ctx, &d),
            methods: method_choices(ctx, options, chosen),
            idempotency_key: super::new_idempotency_key(),
            problems,
            confirm_plate: typed_plate,
            d,
        },
    )
}

pub async fn decision(
    State(s): State<AppState>,
    signed: SignedIn,
    Path(number): Path<String>,
) -> Response {
    decision_page(&s, &signed, &number, Vec::new(), String::new(), None).await
}

/// `GET /fines/{number}/pay` (Back or Reload after the form was shown again): the decision page.
pub async fn back_to_decision(Path(number): Path<String>) -> Response {
    see_other(&format!("/fines/{}", super::encode(&number)))
}

#[derive(Deserialize)]
pub struct PayForm {
    idempotency_key: String,
    amount: i64,
    #[serde(default)]
    confirm_plate: String,
    method: Option<String>,
}

/// How long a second submit of the same form waits for the first to finish before answering
/// with its outcome (a double click gets the one payment, not an error).
const IN_PROGRESS_WAIT: Duration = Duration::from_secs(15);

pub async fn pay(
    State(s): State<AppState>,
    signed: SignedIn,
    Path(number): Path<String>,
    Form(form): Form<PayForm>,
) -> Response {
    let ctx = &signed.ctx;
    let method_text = form.method.clone().unwrap_or_default();
    let method = match PayMethodKind::parse(&method_text) {
        Some(PayMethodKind::Balance) => Some(PayMethod::Balance),
        Some(PayMethodKind::Credit) => Some(PayMethod::Credit),
        _ => method_text
            .strip_prefix("card:")
            .filter(|card| !card.is_empty())
            .map(|card| PayMethod::Card {
                card_id: card.to_string(),
            }),
    };
    let (method, method_json) = match method {
        Some(m) => {
            let json = m.request_json();
            (m, json)
        }
        None => {
            let problem = Problem::at("method", ctx.t.msg("err-choose-method"));
            return decision_page(
                &s,
                &signed,
                &number,
                vec![problem],
                form.confirm_plate,
                None,
            )
            .await;
        }
    };
    let Ok(amount) = Fen::payable(form.amount) else {
        return decision_page(
            &s,
            &signed,
            &number,
            vec![Problem::general(ctx.t.msg("err-amount_changed-plain"))],
            form.confirm_plate,
            Some(&method_text),
        )
        .await;
    };
    // The same fingerprint as the JSON API's, so the key means the same thing on both.
    let body = json!({"decision_number": number, "amount": form.amount,
        "confirm_plate": form.confirm_plate, "method": method_json});
    let key = match IdempotencyKey::new(Some(&form.idempotency_key), "POST /api/v1/payments", &body)
    {
        Ok(k) => k,
        Err(e) => return super::failure(ctx, &e),
    };
    let started = Instant::now();
    let outcome = match PayRequest::parse(&number, amount, &form.confirm_plate, method) {
        Err(e) => Err(e),
        Ok(request) => loop {
            match s
                .platform
                .payments()
                .pay(&signed.user, &ctx.client, key.clone(), request.clone())
                .await
            {
                Err(CoreError::RequestInProgress) if started.elapsed() < IN_PROGRESS_WAIT => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                other => break other,
            }
        },
    };
    if let Err(CoreError::RequestInProgress) = outcome {
        // Still running after the wait (a slow bank): say so, and offer no second Pay button.
        return super::message_page(
            ctx,
            StatusCode::ACCEPTED,
            ctx.t.msg("processing-heading"),
            ctx.t.msg("processing-body"),
            ("/payments", ctx.t.msg("all-payments")),
        );
    }
    let problem = match outcome {
        Ok(Reply {
            outcome: Outcome::Created,
            body,
            ..
        }) => {
            let paid: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            match paid["id"].as_str() {
                Some(id) => return see_other(&format!("/payments/{id}")),
                None => Problem::general(ctx.t.msg("err-internal_error")),
            }
        }
        // A refusal stored under the key (a replayed decline, insufficient funds, …).
        Ok(Reply {
            outcome: Outcome::Refused(code),
            ..
        }) => {
            let field = match code {
                ErrorCode::InsufficientFunds
                | ErrorCode::InsufficientCredit
                | ErrorCode::CardDeclined
                | ErrorCode::CreditOverdue => Some("method"),
                ErrorCode::PlateMismatch => Some("confirm_plate"),
                _ => None,
            };
            Problem {
                field,
                text: of_code(ctx.t, code),
            }
        }
        Err(e) => of_error(ctx.t, &e),
    };
    decision_page(
        &s,
        &signed,
        &number,
        vec![problem],
        form.confirm_plate,
        Some(&method_text),
    )
    .await
}
