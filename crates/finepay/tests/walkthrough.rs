//! Acceptance 2: a citizen pays a fine end to end on the real parts.
#![allow(clippy::unwrap_used)]
mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_pays_a_red_light_fine_end_to_end() {
    let app = TestApp::spawn().await;

    // Register, log in, link a card, top up 500.00 yuan.
    let user = app.user().await;
    let card = app.link_card(&user, CARD_OK).await;
    let (status, top_up) = json(
        app.post_idem(
            "/api/v1/wallet/top-ups",
            &user.token,
            "top-1",
            &json!({"card_id": card, "amount": 50_000}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{top_up}");
    assert_eq!(top_up["status"], "succeeded");
    assert_eq!(app.balance(&user).await, 50_000);

    // The authority records a violation and issues a decision (served today).
    let number = app.decision("京A12345", "110000", 0).await;

    // Look it up: fine, points, amount due, masked owner and plate.
    let d = app
        .get_json(&format!("/api/v1/penalty-decisions/{number}"), &user.token)
        .await;
    assert_eq!(d["status"], "unpaid");
    assert_eq!(d["fine"], 20_000);
    assert_eq!(d["late_fee"], 0);
    assert_eq!(d["amount_due"], 20_000);
    assert_eq!(d["currency"], "CNY");
    assert_eq!(d["points"], 6);
    assert_eq!(d["plate_masked"], "京A***45");
    assert_eq!(d["owner_masked"], "**明");
    assert_eq!(d["city"]["code"], "110000");
    assert_eq!(d["city"]["name_zh"], "北京");
    assert_eq!(d["violation"]["code"], "1625");

    // Pay with balance.
    let (status, payment) = json(
        app.pay(
            &user,
            "pay-1",
            &number,
            20_000,
            "京A 12345",
            json!({"type": "balance"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{payment}");
    assert_eq!(payment["status"], "succeeded");
    assert_eq!(payment["amount"], 20_000);
    assert_eq!(payment["method"]["type"], "balance");
    assert_eq!(app.balance(&user).await, 30_000);

    // The receipt verifies, and a changed copy does not.
    let receipt_id = payment["receipt_id"].as_str().unwrap();
    let receipt = app
        .get_json(&format!("/api/v1/receipts/{receipt_id}"), &user.token)
        .await;
    assert_eq!(receipt["amount"], 20_000);
    assert_eq!(receipt["payer_masked"], "**龙");
    assert_eq!(receipt["payee"], "北京市公安局公安交通管理局");
    let (_, verdict) = json(app.post("/api/v1/receipts/verify", None, &receipt).await).await;
    assert_eq!(verdict["valid"], true, "{verdict}");
    let mut forged = receipt.clone();
    forged["amount"] = json!(1);
    let (_, verdict) = json(app.post("/api/v1/receipts/verify", None, &forged).await).await;
    assert_eq!(verdict["valid"], false);

    // The authority learns of it: its record is paid and the payment is confirmed.
    let paid = app
        .wait_authority_status(
            &user,
            payment["id"].as_str().unwrap(),
            "confirmed",
            Duration::from_secs(10),
        )
        .await;
    assert_eq!(paid["authority_status"], "confirmed");
    assert!(paid["authority_confirmed_at"].is_string());
    let record = app.authority_record(&number).await;
    assert_eq!(record["status"], "paid", "{record}");
    assert_eq!(record["payment_id"], payment["id"]);
    assert_eq!(record["paid_amount"], 20_000);

    // The lookup now says paid, and paying again is refused without moving money.
    let d = app
        .get_json(&format!("/api/v1/penalty-decisions/{number}"), &user.token)
        .await;
    assert_eq!(d["status"], "paid");
    let (status, body) = json(
        app.pay(
            &user,
            "pay-2",
            &number,
            20_000,
            "京A12345",
            json!({"type": "balance"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "decision_already_paid");
    assert_eq!(app.balance(&user).await, 30_000);

    // The payment is listed, and another user cannot see it.
    let list = app.get_json("/api/v1/payments", &user.token).await;
    assert_eq!(list["data"][0]["id"], payment["id"]);
    let stranger = app.user().await;
    let res = app
        .get(
            &format!("/api/v1/payments/{}", payment["id"].as_str().unwrap()),
            Some(&stranger.token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app
        .get(
            &format!("/api/v1/receipts/{receipt_id}"),
            Some(&stranger.token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_published_keys_and_the_openapi_document_are_served() {
    let app = TestApp::spawn().await;
    let keys: serde_json::Value = app
        .get("/.well-known/finepay/receipt-keys", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(keys["keys"][0]["alg"], "Ed25519");
    let doc: serde_json::Value = app
        .get("/api/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/payments",
        "/api/v1/penalty-decisions/{number}",
        "/api/v1/wallet/top-ups",
        "/api/v1/receipts/verify",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    let health: serde_json::Value = app.get("/healthz", None).await.json().await.unwrap();
    assert_eq!(health, json!({"status": "ok"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_search_finds_fine_payment_first() {
    let app = TestApp::spawn().await;
    for q in ["12123", "violation%20payment", "%E7%BD%9A%E6%AC%BE"] {
        let list: serde_json::Value = app
            .get(&format!("/api/v1/services?q={q}"), None)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(list["data"][0]["id"], "traffic-fine-payment", "q={q}");
    }
}
