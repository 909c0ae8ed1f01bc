//! Acceptance 7: the sandbox bank's test cards, on the real HTTP path to the bank.
#![allow(clippy::unwrap_used)]
mod common;

use common::*;
use finepay_bank::{Bank, ChargeStatus};
use reqwest::StatusCode;
use serde_json::json;

fn card_token(app: &TestApp, card_id: &str) -> String {
    app.with_db(|c| {
        c.query_one(
            "SELECT card_token FROM cards WHERE id = $1",
            finepay_store::params![card_id],
        )
        .unwrap()
        .text("card_token")
        .unwrap()
    })
}

async fn pay_by_card(
    app: &TestApp,
    user: &User,
    key: &str,
    number: &str,
    card: &str,
) -> (StatusCode, serde_json::Value) {
    json(
        app.pay(
            user,
            key,
            number,
            20_000,
            "京A12345",
            json!({"type": "card", "card_id": card}),
        )
        .await,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_without_funds_declines_and_moves_no_money() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let card = app.link_card(&user, CARD_NO_FUNDS).await;
    let number = app.decision("京A12345", "110000", 0).await;
    let (status, body) = pay_by_card(&app, &user, "nofunds", &number, &card).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{body}");
    assert_eq!(body["error"]["code"], "card_declined");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("insufficient funds"));
    let (status, body) = json(
        app.post_idem(
            "/api/v1/wallet/top-ups",
            &user.token,
            "t",
            &json!({"card_id": card, "amount": 100}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{body}");
    assert_eq!(app.balance(&user).await, 0);
    assert_eq!(app.authority_record(&number).await["status"], "unpaid");
    // The decision is free again: another card pays it.
    let good = app.link_card(&user, CARD_OK).await;
    let (status, body) = pay_by_card(&app, &user, "second", &number, &good).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["method"]["last4"], "0018");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_card_cannot_be_linked() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let (status, body) = json(
        app.post(
            "/api/v1/cards",
            Some(&user.token),
            &json!({"number": CARD_LOST, "holder_name": user.name}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{body}");
    assert_eq!(body["error"]["code"], "card_declined");
    assert!(body["error"]["message"].as_str().unwrap().contains("lost"));
    let wallet = app.get_json("/api/v1/wallet", &user.token).await;
    assert_eq!(wallet["cards"].as_array().unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_charge_that_times_out_after_the_bank_took_the_money_is_charged_once() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let card = app.link_card(&user, CARD_TIMEOUT_AFTER_TAKING).await;
    let number = app.decision("京A12345", "110000", 0).await;
    let (status, p) = pay_by_card(&app, &user, "timeout", &number, &card).await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    // Either settled at once by asking the bank, or left processing for the resolver.
    let id = p["id"].as_str().unwrap().to_string();
    let mut payment = p;
    for _ in 0..100 {
        if payment["status"] != "processing" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        payment = app
            .get_json(&format!("/api/v1/payments/{id}"), &user.token)
            .await;
    }
    assert_eq!(payment["status"], "succeeded", "{payment}");
    // Retrying with the same key replays; it never charges again.
    let (status, again) = pay_by_card(&app, &user, "timeout", &number, &card).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(again["id"], id.as_str());
    // The bank's own record agrees: one charge, succeeded, for the amount.
    let charges = app
        .running
        .bank
        .card_charges(&card_token(&app, &card))
        .await
        .unwrap();
    assert_eq!(charges.len(), 1, "{charges:?}");
    assert_eq!(charges[0].reference, id);
    assert_eq!(charges[0].amount_fen, 20_000);
    assert!(matches!(
        app.running.bank.charge_status(&id).await.unwrap(),
        Some(ChargeStatus::Succeeded { amount_fen: 20_000 })
    ));
    let done = app
        .wait_authority_status(&user, &id, "confirmed", std::time::Duration::from_secs(10))
        .await;
    assert_eq!(done["authority_status"], "confirmed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_that_cannot_connect_at_first_is_retried_safely() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let card = app.link_card(&user, CARD_CANNOT_CONNECT).await;
    let number = app.decision("京A12345", "110000", 0).await;
    let (status, p) = pay_by_card(&app, &user, "connect", &number, &card).await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    assert_eq!(p["status"], "succeeded");
    let charges = app
        .running
        .bank
        .card_charges(&card_token(&app, &card))
        .await
        .unwrap();
    assert_eq!(charges.len(), 1, "{charges:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_card_succeeds() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let card = app.link_card(&user, CARD_SLOW).await;
    let number = app.decision("京A12345", "110000", 0).await;
    let (status, p) = pay_by_card(&app, &user, "slow", &number, &card).await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    assert_eq!(p["status"], "succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_charge_that_lands_after_the_attempt_was_given_up_is_returned_by_the_bank() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let card = app.link_card(&user, CARD_SLOW).await;
    let number = app.decision("京A12345", "110000", 0).await;
    let pay = pay_by_card(&app, &user, "late", &number, &card);
    let give_up = async {
        // While the bank takes its 2 s, the attempt is given up as failed (as another instance's
        // resolver would, after a bank status query that found nothing yet).
        tokio::time::sleep(std::time::Duration::from_millis(800)).await;
        let n = number.clone();
        app.with_db(move |c| {
            c.execute(
                "UPDATE payments SET status = 'failed', failure_reason = 'given up' WHERE decision_number = $1",
                finepay_store::params![n.as_str()],
            )
            .unwrap()
        })
    };
    let ((status, body), updated) = tokio::join!(pay, give_up);
    assert_eq!(updated, 1);
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    // The charge is returned: the bank's record ends refunded, and no money moved in the ledger.
    let token = card_token(&app, &card);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let charges = app.running.bank.card_charges(&token).await.unwrap();
        assert_eq!(charges.len(), 1);
        if matches!(charges[0].status, ChargeStatus::Refunded { .. }) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not returned: {charges:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
