//! The wallet: balance, credit line and its statements, cards (link, top up), repayment.

use super::messages::{of_code, of_error, Problem};
use super::{page, see_other, Frame, SignedIn};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use finepay_core::credit::{RepaymentSource, StatementView};
use finepay_core::views::WalletView;
use finepay_core::{CoreError, IdempotencyKey, Outcome, Reply};
use finepay_domain::Fen;
use serde::Deserialize;
use serde_json::json;

#[derive(Template)]
#[template(path = "wallet.html")]
pub struct WalletPage {
    f: Frame,
    w: WalletView,
    statements: Vec<StatementView>,
    problems: Vec<Problem>,
    notice: Option<String>,
    key_top_up: String,
    key_repay: String,
}

impl WalletPage {
    fn has(&self, field: &str) -> bool {
        self.problems.iter().any(|p| p.is_at(field))
    }
}

async fn wallet_page(
    s: &AppState,
    signed: &SignedIn,
    problems: Vec<Problem>,
    notice: Option<String>,
) -> Response {
    let ctx = &signed.ctx;
    let w = match s.platform.wallet().get(&signed.user).await {
        Ok(w) => w,
        Err(e) => return super::failure(ctx, &e),
    };
    let statements = s
        .platform
        .credit()
        .statements(&signed.user)
        .await
        .unwrap_or_default();
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    page(
        status,
        &WalletPage {
            f: Frame::new(ctx, ctx.t.msg("wallet-title"), "wallet"),
            w,
            statements,
            problems,
            notice,
            key_top_up: super::new_idempotency_key(),
            key_repay: super::new_idempotency_key(),
        },
    )
}

pub async fn wallet(State(s): State<AppState>, signed: SignedIn) -> Response {
    wallet_page(&s, &signed, Vec::new(), None).await
}

/// An amount typed in yuan: `200`, `200.5`, `200.50`, `2,000.00` or `¥200.00`. A comma is only
/// a thousands separator (`1,50` is refused, not read as 150).
fn typed_yuan(text: &str) -> Option<Fen> {
    let t = text.trim().trim_start_matches('¥').trim();
    let (whole, cents) = t.split_once('.').unwrap_or((t, ""));
    if whole.contains(',') {
        let mut groups = whole.split(',');
        let first = groups.next().unwrap_or("");
        let grouped = (1..=3).contains(&first.len())
            && groups.all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()));
        if !grouped {
            return None;
        }
    }
    let whole: String = whole.chars().filter(|c| *c != ',').collect();
    let normal = match cents.len() {
        0 if !t.contains('.') => format!("{whole}.00"),
        1 => format!("{whole}.{cents}0"),
        _ => format!("{whole}.{cents}"),
    };
    normal
        .parse::<Fen>()
        .ok()
        .and_then(|f| Fen::payable(f.fen()).ok())
}

#[derive(Deserialize)]
pub struct CardForm {
    #[serde(default)]
    number: String,
    #[serde(default)]
    holder_name: String,
}

pub async fn link_card(
    State(s): State<AppState>,
    signed: SignedIn,
    Form(form): Form<CardForm>,
) -> Response {
    match s
        .platform
        .accounts()
        .link_card(&signed.user, &form.number, &form.holder_name)
        .await
    {
        Ok(_) => see_other("/wallet"),
        Err(e) => {
            let mut p = of_error(signed.ctx.t, &e);
            if matches!(e, CoreError::CardDeclined(_)) {
                p.field = Some("number");
            }
            wallet_page(&s, &signed, vec![p], None).await
        }
    }
}

#[derive(Deserialize)]
pub struct TopUpForm {
    idempotency_key: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    card_id: String,
}

/// The answer of an idempotent money request as a page: done, or the stored refusal.
async fn after_reply(
    s: &AppState,
    signed: &SignedIn,
    result: Result<Reply, CoreError>,
    field: &'static str,
    done: &str,
) -> Response {
    let t = signed.ctx.t;
    let problem = match result {
        Ok(Reply {
            outcome: Outcome::Created,
            ..
        }) => return wallet_page(s, signed, Vec::new(), Some(t.msg(done))).await,
        Ok(Reply {
            outcome: Outcome::Refused(code),
            ..
        }) => Problem::at(field, of_code(t, code)),
        Err(e) => {
            let mut p = of_error(t, &e);
            p.field = Some(field);
            p
        }
    };
    wallet_page(s, signed, vec![problem], None).await
}

pub async fn top_up(
    State(s): State<AppState>,
    signed: SignedIn,
    Form(form): Form<TopUpForm>,
) -> Response {
    let t = signed.ctx.t;
    let Some(amount) = typed_yuan(&form.amount) else {
        return wallet_page(
            &s,
            &signed,
            vec![Problem::at("top_up_amount", t.msg("err-yuan"))],
            None,
        )
        .await;
    };
    let body = json!({"card_id": form.card_id, "amount": amount.fen()});
    let result = match IdempotencyKey::new(
        Some(&form.idempotency_key),
        "POST /api/v1/wallet/top-ups",
        &body,
    ) {
        Ok(key) => {
            s.platform
                .wallet()
                .top_up(&signed.user, key, &form.card_id, amount)
                .await
        }
        Err(e) => Err(e),
    };
    after_reply(&s, &signed, result, "top_up_amount", "top-up-done").await
}

#[derive(Deserialize)]
pub struct RepayForm {
    idempotency_key: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    source: String,
}

pub async fn repay(
    State(s): State<AppState>,
    signed: SignedIn,
    Form(form): Form<RepayForm>,
) -> Response {
    let t = signed.ctx.t;
    let Some(amount) = typed_yuan(&form.amount) else {
        return wallet_page(
            &s,
            &signed,
            vec![Problem::at("repay_amount", t.msg("err-yuan"))],
            None,
        )
        .await;
    };
    let source = match form.source.strip_prefix("card:") {
        Some(card) => RepaymentSource::Card {
            card_id: card.to_string(),
        },
        None => RepaymentSource::Balance,
    };
    let source_json = source.request_json();
    let body = json!({"amount": amount.fen(), "source": source_json});
    let result = match IdempotencyKey::new(
        Some(&form.idempotency_key),
        "POST /api/v1/credit/repayments",
        &body,
    ) {
        Ok(key) => {
            s.platform
                .credit()
                .repay(&signed.user, key, amount, source)
                .await
        }
        Err(e) => Err(e),
    };
    after_reply(&s, &signed, result, "repay_amount", "repay-done").await
}

#[cfg(test)]
mod tests {
    use super::typed_yuan;

    #[test]
    fn amounts_are_typed_in_yuan_the_way_people_write_them() {
        assert_eq!(typed_yuan("200").map(|f| f.fen()), Some(20_000));
        assert_eq!(typed_yuan("200.5").map(|f| f.fen()), Some(20_050));
        assert_eq!(typed_yuan(" ¥0.05 ").map(|f| f.fen()), Some(5));
        assert_eq!(typed_yuan("2,000").map(|f| f.fen()), Some(200_000));
        assert_eq!(typed_yuan("234,567.89").map(|f| f.fen()), Some(23_456_789));
        // One request moves at most 1,000,000.00 yuan (the domain's cap, as in the API).
        assert_eq!(typed_yuan("1,000,000").map(|f| f.fen()), Some(100_000_000));
        assert_eq!(typed_yuan("1,000,000.01"), None);
        assert_eq!(typed_yuan("1,50"), None);
        assert_eq!(typed_yuan("12,34"), None);
        assert_eq!(typed_yuan("200."), None);
        assert_eq!(typed_yuan("0"), None);
        assert_eq!(typed_yuan("-3"), None);
        assert_eq!(typed_yuan("1.234"), None);
        assert_eq!(typed_yuan("abc"), None);
    }
}
