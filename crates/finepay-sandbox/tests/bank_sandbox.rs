//! The sandbox bank and `HttpBank` together, over real HTTP: SPEC §6 test cards, idempotency,
//! refunds and durability.
#![allow(clippy::unwrap_used)] // tests may unwrap (house rule)

#[path = "bank_kit/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::*;
use finepay_bank::{Bank, BankError, Charge, ChargeStatus};
use serde_json::{json, Value};

fn declined(reason: &str) -> BankError {
    BankError::Declined {
        reason: reason.to_owned(),
    }
}

fn charged(reference: &str, amount_fen: i64) -> Charge {
    Charge {
        reference: reference.to_owned(),
        amount_fen,
    }
}

async fn error_code(response: reqwest::Response) -> String {
    let body: Value = response.json().await.unwrap();
    body["error"]["code"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn linking_the_approving_card_returns_icbc_its_last4_and_a_token() {
    let bank = TestBank::start().await;
    let link = bank.link(APPROVES).await;
    assert_eq!(link.bank, "ICBC");
    assert_eq!(link.last4, "0018");
    assert!(link.card_token.starts_with("ctok_"));
    assert!(!link.card_token.contains("0018"));
}

#[tokio::test]
async fn linking_the_same_card_twice_returns_the_same_token() {
    let bank = TestBank::start().await;
    let first = bank.link(APPROVES).await;
    let again = bank
        .client()
        .verify_card("6222 0200 0000 0000 018", "Li Si")
        .await
        .unwrap();
    assert_eq!(first, again);
}

#[tokio::test]
async fn a_malformed_card_number_is_an_invalid_card() {
    let bank = TestBank::start().await;
    let invalid = BankError::InvalidCard {
        reason: "card number is not valid".to_owned(),
    };
    for number in [
        "622202000000018",
        "6222020000000000019",
        "62220200000000000a8",
        "62220200000000000180",
    ] {
        let result = bank.client().verify_card(number, "Zhang San").await;
        assert_eq!(result, Err(invalid.clone()), "{number}");
    }
}

#[tokio::test]
async fn other_valid_numbers_link_to_the_sandbox_bank_and_approve() {
    let bank = TestBank::start().await;
    let link = bank
        .client()
        .verify_card("4111111111111111", "Zhang San")
        .await
        .unwrap();
    assert_eq!(
        (link.bank.as_str(), link.last4.as_str()),
        ("Sandbox Bank", "1111")
    );
    let charge = bank
        .client()
        .charge("ref-visa", &link.card_token, 500)
        .await;
    assert_eq!(charge, Ok(charged("ref-visa", 500)));
}

#[tokio::test]
async fn the_lost_card_is_declined_at_linking() {
    let bank = TestBank::start().await;
    let result = bank.client().verify_card(REPORTED_LOST, "Zhang San").await;
    assert_eq!(result, Err(declined("card reported lost")));
}

#[tokio::test]
async fn the_approving_card_is_charged() {
    let bank = TestBank::start().await;
    let card = bank.link(APPROVES).await;
    let client = bank.client();
    assert_eq!(
        client.charge("ref-1", &card.card_token, 20_000).await,
        Ok(charged("ref-1", 20_000))
    );
    let status = client.charge_status("ref-1").await.unwrap();
    assert_eq!(status, Some(ChargeStatus::Succeeded { amount_fen: 20_000 }));
}

#[tokio::test]
async fn charging_a_reference_twice_charges_the_card_once() {
    let bank = TestBank::start().await;
    let card = bank.link(APPROVES).await;
    let client = bank.client();
    for _ in 0..3 {
        assert_eq!(
            client.charge("ref-once", &card.card_token, 20_000).await,
            Ok(charged("ref-once", 20_000))
        );
    }
    let replay = bank.raw_charge("ref-once", &card.card_token, 20_000).await;
    assert_eq!(replay.status(), 201);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    let charges = client.card_charges(&card.card_token).await.unwrap();
    assert_eq!(charges.len(), 1);
}

#[tokio::test]
async fn reusing_a_reference_for_another_amount_or_card_is_refused() {
    let bank = TestBank::start().await;
    let card = bank.link(APPROVES).await;
    let other = bank.link("4111111111111111").await;
    bank.client()
        .charge("ref-r", &card.card_token, 100)
        .await
        .unwrap();
    let reused = bank.raw_charge("ref-r", &card.card_token, 200).await;
    assert_eq!(reused.status(), 409);
    assert_eq!(error_code(reused).await, "reference_reused");
    let other_card = bank.client().charge("ref-r", &other.card_token, 100).await;
    assert!(
        matches!(other_card, Err(BankError::Protocol(_))),
        "{other_card:?}"
    );
    assert_eq!(
        bank.client().card_charges(&other.card_token).await.unwrap(),
        vec![]
    );
}

#[tokio::test]
async fn the_insufficient_funds_card_links_but_every_charge_declines() {
    let bank = TestBank::start().await;
    let card = bank.link(INSUFFICIENT_FUNDS).await;
    assert_eq!(card.last4, "0026");
    let client = bank.client();
    for reference in ["ref-a", "ref-b", "ref-a"] {
        let result = client.charge(reference, &card.card_token, 100).await;
        assert_eq!(result, Err(declined("insufficient funds")));
    }
    let status = client.charge_status("ref-a").await.unwrap();
    assert_eq!(
        status,
        Some(ChargeStatus::Declined {
            reason: "insufficient funds".to_owned()
        })
    );
    assert_eq!(
        client.card_charges(&card.card_token).await.unwrap().len(),
        2
    );
}

#[tokio::test]
async fn charging_a_token_the_bank_never_issued_is_declined() {
    let bank = TestBank::start().await;
    let result = bank.client().charge("ref-x", "ctok_forged", 100).await;
    assert_eq!(result, Err(declined("unknown card")));
}

#[tokio::test]
async fn the_timeout_card_takes_the_money_once_and_is_resolved_by_asking_the_bank() {
    let bank = TestBank::start().await;
    let card = bank.link(TIMES_OUT_FIRST).await;
    let client = bank.client();

    let first = client.charge("ref-t", &card.card_token, 20_000).await;
    assert_eq!(first, Err(BankError::Timeout));
    let status = client.charge_status("ref-t").await.unwrap();
    assert_eq!(status, Some(ChargeStatus::Succeeded { amount_fen: 20_000 }));

    let retried = client.charge("ref-t", &card.card_token, 20_000).await;
    assert_eq!(retried, Ok(charged("ref-t", 20_000)));
    let charges = client.card_charges(&card.card_token).await.unwrap();
    assert_eq!(charges.len(), 1);
    assert_eq!(
        charges[0].status,
        ChargeStatus::Succeeded { amount_fen: 20_000 }
    );

    let later = client.charge("ref-t2", &card.card_token, 300).await;
    assert_eq!(later, Ok(charged("ref-t2", 300)));
}

#[tokio::test]
async fn the_cannot_connect_cards_first_attempt_records_nothing() {
    let bank = TestBank::start().await;
    let card = bank.link(CONNECT_FAILS_FIRST).await;
    let first = bank.raw_charge("ref-c", &card.card_token, 100).await;
    assert_eq!(first.status(), 503);
    assert_eq!(first.headers()["x-sandbox-fault"], "connect");
    assert_eq!(bank.client().charge_status("ref-c").await, Ok(None));
    assert_eq!(
        bank.client().card_charges(&card.card_token).await.unwrap(),
        vec![]
    );

    let second = bank.raw_charge("ref-c", &card.card_token, 100).await;
    assert_eq!(second.status(), 201);
}

#[tokio::test]
async fn the_cannot_connect_card_is_charged_once_through_the_clients_retry() {
    let bank = TestBank::start().await;
    let card = bank.link(CONNECT_FAILS_FIRST).await;
    let client = bank.client();
    assert_eq!(
        client.charge("ref-c", &card.card_token, 100).await,
        Ok(charged("ref-c", 100))
    );
    assert_eq!(
        client.card_charges(&card.card_token).await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn the_slow_card_approves_after_the_slow_delay() {
    let bank = TestBank::start().await;
    let card = bank.link(SLOW).await;
    let started = Instant::now();
    let result = bank.client().charge("ref-s", &card.card_token, 100).await;
    assert_eq!(result, Ok(charged("ref-s", 100)));
    assert!(started.elapsed() >= test_config().slow_delay);
}

#[tokio::test]
async fn the_bank_never_saw_an_unknown_reference() {
    let bank = TestBank::start().await;
    assert_eq!(bank.client().charge_status("ref-never").await, Ok(None));
}

#[tokio::test]
async fn refunds_never_exceed_the_charge() {
    let bank = TestBank::start().await;
    let card = bank.link(APPROVES).await;
    let client = bank.client();
    client
        .charge("ref-p", &card.card_token, 1_000)
        .await
        .unwrap();

    client.refund("rf-1", "ref-p", 600).await.unwrap();
    let status = client.charge_status("ref-p").await.unwrap();
    assert_eq!(status, Some(ChargeStatus::Succeeded { amount_fen: 1_000 }));

    let too_much = client.refund("rf-2", "ref-p", 401).await;
    assert!(
        matches!(too_much, Err(BankError::Declined { ref reason }) if reason.contains("400 fen")),
        "{too_much:?}"
    );

    client.refund("rf-3", "ref-p", 400).await.unwrap();
    let status = client.charge_status("ref-p").await.unwrap();
    assert_eq!(status, Some(ChargeStatus::Refunded { amount_fen: 1_000 }));
    assert!(matches!(
        client.refund("rf-4", "ref-p", 1).await,
        Err(BankError::Declined { .. })
    ));
}

#[tokio::test]
async fn a_refund_reference_refunds_once() {
    let bank = TestBank::start().await;
    let card = bank.link(APPROVES).await;
    let client = bank.client();
    client
        .charge("ref-p", &card.card_token, 1_000)
        .await
        .unwrap();
    client.refund("rf-1", "ref-p", 300).await.unwrap();
    client.refund("rf-1", "ref-p", 300).await.unwrap();
    let charges = client.card_charges(&card.card_token).await.unwrap();
    assert_eq!(charges[0].refunded_fen, 300);

    let reused = client.refund("rf-1", "ref-p", 200).await;
    assert!(matches!(reused, Err(BankError::Protocol(_))), "{reused:?}");
}

#[tokio::test]
async fn refunding_a_declined_or_unknown_charge_is_declined() {
    let bank = TestBank::start().await;
    let card = bank.link(INSUFFICIENT_FUNDS).await;
    let client = bank.client();
    let _ = client.charge("ref-d", &card.card_token, 100).await;
    assert!(matches!(
        client.refund("rf-d", "ref-d", 100).await,
        Err(BankError::Declined { .. })
    ));
    assert!(matches!(
        client.refund("rf-u", "ref-unknown", 100).await,
        Err(BankError::Declined { .. })
    ));
}

#[tokio::test]
async fn the_books_and_one_time_faults_survive_a_restart() {
    let bank = TestBank::start().await;
    let db_path = bank.db_path.clone();
    let timeout_card = bank.link(TIMES_OUT_FIRST).await;
    let connect_card = bank.link(CONNECT_FAILS_FIRST).await;
    assert_eq!(
        bank.client()
            .charge("ref-t", &timeout_card.card_token, 700)
            .await,
        Err(BankError::Timeout)
    );
    assert_eq!(
        bank.raw_charge("ref-c", &connect_card.card_token, 100)
            .await
            .status(),
        503
    );
    let dir = bank.stop().await;

    let reopened = TestBank::start_at(&db_path).await;
    let client = reopened.client();
    assert_eq!(reopened.link(TIMES_OUT_FIRST).await, timeout_card);
    assert_eq!(
        client.charge_status("ref-t").await,
        Ok(Some(ChargeStatus::Succeeded { amount_fen: 700 }))
    );
    assert_eq!(
        client.charge("ref-t2", &timeout_card.card_token, 800).await,
        Ok(charged("ref-t2", 800))
    );
    assert_eq!(
        reopened
            .raw_charge("ref-c", &connect_card.card_token, 100)
            .await
            .status(),
        201
    );
    assert_eq!(
        client
            .card_charges(&timeout_card.card_token)
            .await
            .unwrap()
            .len(),
        2
    );
    drop(dir);
}

#[tokio::test]
async fn an_unreachable_bank_is_unavailable_after_three_attempts() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = finepay_bank::HttpBank::new(&url, Duration::from_secs(2));
    let started = Instant::now();
    let result = client.charge("ref-u", "ctok_x", 100).await;
    assert!(
        matches!(result, Err(BankError::Unavailable(_))),
        "{result:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(250));
}

#[tokio::test]
async fn malformed_requests_get_the_error_envelope() {
    let bank = TestBank::start().await;
    let missing = bank
        .raw_post("/bank/v1/charges", &json!({"reference": "r"}))
        .await;
    assert_eq!(missing.status(), 400);
    assert_eq!(error_code(missing).await, "invalid_request");

    let zero = bank
        .raw_post(
            "/bank/v1/charges",
            &json!({"reference": "r", "card_token": "t", "amount_fen": 0}),
        )
        .await;
    assert_eq!(zero.status(), 400);
    let body: Value = zero.json().await.unwrap();
    assert_eq!(body["error"]["field"], "amount_fen");

    let bad_card = bank
        .raw_post(
            "/bank/v1/cards/verify",
            &json!({"number": "1234", "holder_name": "Zhang San"}),
        )
        .await;
    assert_eq!(bad_card.status(), 400);
    let body: Value = bad_card.json().await.unwrap();
    assert_eq!(body["error"]["message"], "card number is not valid");
}
