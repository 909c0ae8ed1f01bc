//! Revoking a paid decision refunds it to where the money came from, for each method, with a
//! notification and a signed refund receipt.
#![allow(clippy::unwrap_used)]
mod common;

use common::*;
use finepay_bank::{Bank, ChargeStatus};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

async fn pay_then_revoke(app: &TestApp, user: &User, key: &str, method: Value) -> Value {
    let number = app.decision("京A12345", "110000", 0).await;
    let (status, p) = json(
        app.pay(user, key, &number, 20_000, "京A12345", method)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    let id = p["id"].as_str().unwrap().to_string();
    let receipt = app
        .get_json(
            &format!("/api/v1/receipts/{}", p["receipt_id"].as_str().unwrap()),
            &user.token,
        )
        .await;
    let (_, verdict) = json(app.post("/api/v1/receipts/verify", None, &receipt).await).await;
    assert_eq!(
        verdict["valid"], true,
        "the payment receipt verifies: {verdict}"
    );
    app.wait_authority_status(user, &id, "confirmed", Duration::from_secs(10))
        .await;
    let (status, _) = app
        .sandbox(
            reqwest::Method::POST,
            &format!("/sandbox/v1/decisions/{number}/revoke"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let start = std::time::Instant::now();
    loop {
        let p = app
            .get_json(&format!("/api/v1/payments/{id}"), &user.token)
            .await;
        if p["status"] == "refunded" {
            eprintln!(
                "{key}: refunded {} ms after the revocation",
                start.elapsed().as_millis()
            );
            let receipt = app
                .get_json(
                    &format!(
                        "/api/v1/receipts/{}",
                        p["refund_receipt_id"].as_str().unwrap()
                    ),
                    &user.token,
                )
                .await;
            assert_eq!(receipt["kind"], "refund");
            assert_eq!(receipt["amount"], 20_000);
            let (_, verdict) =
                json(app.post("/api/v1/receipts/verify", None, &receipt).await).await;
            assert_eq!(verdict["valid"], true, "{verdict}");
            let inbox = app.get_json("/api/v1/notifications", &user.token).await;
            assert!(inbox["data"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["kind"] == "payment.refunded" && n["payment_id"] == id.as_str()));
            return p;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "not refunded within 10 s: {p}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_balance_payment_goes_back_to_the_balance() {
    let app = TestApp::spawn().await;
    let (user, _) = app.funded_user(1_000).await;
    pay_then_revoke(&app, &user, "bal", json!({"type": "balance"})).await;
    assert_eq!(app.balance(&user).await, 100_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_credit_payment_restores_the_credit_line() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let number_before = app.get_json("/api/v1/wallet", &user.token).await;
    assert_eq!(number_before["credit"]["available"], 200_000);
    let number = app.decision("京A12345", "110000", 0).await;
    let (status, _) = json(
        app.pay(
            &user,
            "c0",
            &number,
            20_000,
            "京A12345",
            json!({"type": "credit"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let wallet = app.get_json("/api/v1/wallet", &user.token).await;
    assert_eq!(wallet["credit"]["outstanding"], 20_000);
    assert_eq!(wallet["credit"]["available"], 180_000);
    pay_then_revoke(&app, &user, "cr", json!({"type": "credit"})).await;
    let wallet = app.get_json("/api/v1/wallet", &user.token).await;
    assert_eq!(
        wallet["credit"]["outstanding"], 20_000,
        "only the revoked one is restored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_card_payment_is_refunded_by_the_bank() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let card = app.link_card(&user, CARD_OK).await;
    let p = pay_then_revoke(
        &app,
        &user,
        "card",
        json!({"type": "card", "card_id": card}),
    )
    .await;
    let status = app
        .running
        .bank
        .charge_status(p["id"].as_str().unwrap())
        .await
        .unwrap();
    assert!(
        matches!(status, Some(ChargeStatus::Refunded { amount_fen: 20_000 })),
        "{status:?}"
    );
}
