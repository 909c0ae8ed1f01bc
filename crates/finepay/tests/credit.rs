//! Issue 5: the credit line — limit, statements, repayments, overdue.
#![allow(clippy::unwrap_used)]
mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;

async fn credit(app: &TestApp, user: &User) -> serde_json::Value {
    app.get_json("/api/v1/wallet", &user.token).await["credit"].clone()
}

async fn pay_credit(
    app: &TestApp,
    user: &User,
    key: &str,
) -> (StatusCode, serde_json::Value, String) {
    let number = app.decision("京A12345", "110000", 0).await;
    let (s, b) = json(
        app.pay(
            user,
            key,
            &number,
            20_000,
            "京A12345",
            json!({"type": "credit"}),
        )
        .await,
    )
    .await;
    (s, b, number)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_charge_above_the_available_credit_is_refused_and_moves_nothing() {
    let app = TestApp::spawn_with(|c| c.platform.credit_limit_fen = 30_000).await;
    let user = app.user().await;
    let (s, _, _) = pay_credit(&app, &user, "c1").await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, body, number) = pay_credit(&app, &user, "c2").await;
    assert_eq!(s, StatusCode::PAYMENT_REQUIRED, "{body}");
    assert_eq!(body["error"]["code"], "insufficient_credit");
    assert_eq!(
        credit(&app, &user).await,
        json!({"limit": 30_000, "available": 10_000, "outstanding": 20_000})
    );
    assert_eq!(app.authority_record(&number).await["status"], "unpaid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_statement_of_a_month_with_three_charges_and_a_refund_and_repayments() {
    let app = TestApp::spawn().await;
    let (user, card) = app.funded_user(1_000).await;
    let mut payments = Vec::new();
    for i in 0..3 {
        let (s, p, number) = pay_credit(&app, &user, &format!("s{i}")).await;
        assert_eq!(s, StatusCode::CREATED, "{p}");
        payments.push((p, number));
    }
    // The authority revokes the second one: its credit comes back.
    let (p, number) = &payments[1];
    app.revoke_and_wait_refunded(&user, p["id"].as_str().unwrap(), number)
        .await;
    let statements = app.get_json("/api/v1/credit/statements", &user.token).await;
    let s = &statements["data"][0];
    let month = s["month"].as_str().unwrap().to_string();
    assert_eq!(s["charges"], 60_000, "{s}");
    assert_eq!(s["refunds"], 20_000);
    assert_eq!(s["new_balance"], 40_000);
    assert_eq!(s["outstanding"], 40_000);
    assert_eq!(s["status"], "open");
    let kinds: Vec<&str> = s["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["charge", "charge", "charge", "refund"]);
    assert_eq!(credit(&app, &user).await["available"], 160_000);

    // Repay 150.00 from the balance, then the rest from the card.
    let (st, r) = json(
        app.post_idem(
            "/api/v1/credit/repayments",
            &user.token,
            "r1",
            &json!({"amount": 15_000, "source": {"type": "balance"}}),
        )
        .await,
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    assert_eq!(r["status"], "succeeded");
    assert_eq!(app.balance(&user).await, 85_000);
    assert_eq!(credit(&app, &user).await["available"], 175_000);
    let (st, r) = json(
        app.post_idem(
            "/api/v1/credit/repayments",
            &user.token,
            "r2",
            &json!({"amount": 25_000, "source": {"type": "card", "card_id": card}}),
        )
        .await,
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    assert_eq!(r["source"]["last4"], "0018");
    assert_eq!(
        credit(&app, &user).await,
        json!({"limit": 200_000, "available": 200_000, "outstanding": 0})
    );
    // Nothing more is owed; the same key replays.
    let (st, e) = json(
        app.post_idem(
            "/api/v1/credit/repayments",
            &user.token,
            "r3",
            &json!({"amount": 1, "source": {"type": "balance"}}),
        )
        .await,
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["error"]["field"], "amount");
    let res = app
        .post_idem(
            "/api/v1/credit/repayments",
            &user.token,
            "r1",
            &json!({"amount": 15_000, "source": {"type": "balance"}}),
        )
        .await;
    assert_eq!(res.headers()["idempotent-replayed"], "true");
    let s = app
        .get_json(&format!("/api/v1/credit/statements/{month}"), &user.token)
        .await;
    assert_eq!(s["outstanding"], 0);
    assert_eq!(
        s["lines"].as_array().unwrap().len(),
        6,
        "two repayment lines: {s}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overdue_statement_blocks_credit_payments_until_repaid() {
    let app = TestApp::spawn().await;
    let (user, _) = app.funded_user(1_000).await;
    let (s, p, _) = pay_credit(&app, &user, "old").await;
    assert_eq!(s, StatusCode::CREATED);
    // Let two months pass for that charge: its statement was due on the 10th of last month.
    let id = p["id"].as_str().unwrap().to_string();
    let two_months_ago = (chrono::Utc::now() - chrono::Duration::days(62))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    app.with_db(|c| {
        c.execute(
            "UPDATE ledger_transactions SET created_at = $1 WHERE reference = $2",
            finepay_store::params![two_months_ago.as_str(), id.as_str()],
        )
        .unwrap()
    });
    let statements = app.get_json("/api/v1/credit/statements", &user.token).await;
    assert_eq!(statements["data"][0]["status"], "overdue", "{statements}");
    let (s, body, _) = pay_credit(&app, &user, "blocked").await;
    assert_eq!(s, StatusCode::PAYMENT_REQUIRED, "{body}");
    assert_eq!(body["error"]["code"], "credit_overdue");
    assert!(body["error"]["message"].as_str().unwrap().contains("repay"));
    // Balance still works; repaying unblocks credit.
    let number = app.decision("京A12345", "110000", 0).await;
    let (s, _) = json(
        app.pay(
            &user,
            "bal",
            &number,
            20_000,
            "京A12345",
            json!({"type": "balance"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = json(
        app.post_idem(
            "/api/v1/credit/repayments",
            &user.token,
            "repay",
            &json!({"amount": 20_000, "source": {"type": "balance"}}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, body, _) = pay_credit(&app, &user, "again").await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_card_repayments_at_once_never_repay_more_than_is_owed() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let card = app.link_card(&user, CARD_SLOW).await;
    let (s, _, _) = pay_credit(&app, &user, "debt").await;
    assert_eq!(s, StatusCode::CREATED);
    let body = json!({"amount": 20_000, "source": {"type": "card", "card_id": card}});
    let (a, b) = tokio::join!(
        app.post_idem("/api/v1/credit/repayments", &user.token, "r1", &body),
        app.post_idem("/api/v1/credit/repayments", &user.token, "r2", &body)
    );
    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::BAD_REQUEST]);
    assert_eq!(
        credit(&app, &user).await,
        json!({"limit": 200_000, "available": 200_000, "outstanding": 0})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunding_a_credit_payment_already_repaid_returns_the_money_to_the_balance() {
    let app = TestApp::spawn().await;
    let (user, _) = app.funded_user(1_000).await;
    let (s, p, number) = pay_credit(&app, &user, "c").await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = json(
        app.post_idem(
            "/api/v1/credit/repayments",
            &user.token,
            "r",
            &json!({"amount": 15_000, "source": {"type": "balance"}}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(app.balance(&user).await, 85_000);
    app.revoke_and_wait_refunded(&user, p["id"].as_str().unwrap(), &number)
        .await;
    // 50.00 was still owed: that goes back to the credit line; the 150.00 repaid goes to the balance.
    assert_eq!(
        credit(&app, &user).await,
        json!({"limit": 200_000, "available": 200_000, "outstanding": 0})
    );
    assert_eq!(app.balance(&user).await, 100_000);
}
