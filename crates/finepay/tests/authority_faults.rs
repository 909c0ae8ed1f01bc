//! Acceptance 6: payments while the authority is down or flaky still reach it, exactly once.
#![allow(clippy::unwrap_used)]
mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_made_while_the_authority_is_down_is_confirmed_soon_after_it_returns() {
    let app = TestApp::spawn().await;
    let (user, _) = app.funded_user(1_000).await;
    let number = app.decision("浙A12345", "330100", 0).await;
    // Fetched once while up, so the platform keeps a snapshot.
    app.get_json(&format!("/api/v1/penalty-decisions/{number}"), &user.token)
        .await;
    app.set_mode("330100", "down").await;

    let d = app
        .get_json(&format!("/api/v1/penalty-decisions/{number}"), &user.token)
        .await;
    assert_eq!(d["amount_due"], 20_000, "the snapshot stays payable: {d}");
    let (status, p) = json(
        app.pay(
            &user,
            "down-1",
            &number,
            20_000,
            "浙A12345",
            json!({"type": "balance"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    assert_eq!(p["status"], "succeeded");
    assert_eq!(p["authority_status"], "pending");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let still = app
        .get_json(
            &format!("/api/v1/payments/{}", p["id"].as_str().unwrap()),
            &user.token,
        )
        .await;
    assert_eq!(still["authority_status"], "pending");

    app.set_mode("330100", "up").await;
    let back = Instant::now();
    let confirmed = app
        .wait_authority_status(
            &user,
            p["id"].as_str().unwrap(),
            "confirmed",
            Duration::from_secs(10),
        )
        .await;
    assert_eq!(
        confirmed["authority_status"], "confirmed",
        "within 10 s of coming back"
    );
    eprintln!(
        "confirmed {} ms after the authority came back",
        back.elapsed().as_millis()
    );
    let record = app.authority_record(&number).await;
    assert_eq!(record["status"], "paid");
    assert_eq!(record["payment_id"], p["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_never_fetched_cannot_be_paid_while_its_authority_is_down() {
    let app = TestApp::spawn().await;
    let (user, _) = app.funded_user(1_000).await;
    let number = app.decision("川A12345", "510100", 0).await;
    app.set_mode("510100", "down").await;
    let res = app
        .get(
            &format!("/api/v1/penalty-decisions/{number}"),
            Some(&user.token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let (status, body) = json(
        app.pay(
            &user,
            "never",
            &number,
            20_000,
            "川A12345",
            json!({"type": "balance"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"]["code"], "authority_unavailable");
    assert_eq!(app.balance(&user).await, 100_000, "nothing charged");
    app.set_mode("510100", "up").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_a_flaky_authority_every_payment_arrives_exactly_once() {
    let app = TestApp::spawn().await;
    let (user, _) = app.funded_user(10_000).await;
    let mut numbers = Vec::new();
    for _ in 0..12 {
        let n = app.decision("粤A12345", "440100", 0).await;
        app.get_json(&format!("/api/v1/penalty-decisions/{n}"), &user.token)
            .await;
        numbers.push(n);
    }
    app.set_mode("440100", "flaky").await;
    let mut payments = Vec::new();
    for (i, n) in numbers.iter().enumerate() {
        let (status, p) = json(
            app.pay(
                &user,
                &format!("flaky-{i}"),
                n,
                20_000,
                "粤A12345",
                json!({"type": "balance"}),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{p}");
        payments.push(p);
    }
    for p in &payments {
        let done = app
            .wait_authority_status(
                &user,
                p["id"].as_str().unwrap(),
                "confirmed",
                Duration::from_secs(20),
            )
            .await;
        assert_eq!(
            done["authority_status"], "confirmed",
            "within 20 s while flaky: {done}"
        );
    }
    app.set_mode("440100", "up").await;
    for (n, p) in numbers.iter().zip(&payments) {
        let record = app.authority_record(n).await;
        assert_eq!(record["status"], "paid");
        assert_eq!(
            record["payment_id"], p["id"],
            "the authority took this payment, once"
        );
    }
    assert_eq!(app.balance(&user).await, 1_000_000 - 12 * 20_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_authority_does_not_hold_up_notices_to_another_city() {
    let app = TestApp::spawn().await;
    let (user, _) = app.funded_user(1_000).await;
    let shanghai = app.decision("沪AD12345", "310000", 0).await;
    let beijing = app.decision("京A12345", "110000", 0).await;
    app.get_json(
        &format!("/api/v1/penalty-decisions/{shanghai}"),
        &user.token,
    )
    .await;
    app.set_mode("310000", "slow").await;
    let (s, slow) = json(
        app.pay(
            &user,
            "sh",
            &shanghai,
            20_000,
            "沪AD12345",
            json!({"type": "balance"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{slow}");
    let (s, fast) = json(
        app.pay(
            &user,
            "bj",
            &beijing,
            20_000,
            "京A12345",
            json!({"type": "balance"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{fast}");
    let start = Instant::now();
    let done = app
        .wait_authority_status(
            &user,
            fast["id"].as_str().unwrap(),
            "confirmed",
            Duration::from_secs(3),
        )
        .await;
    assert_eq!(
        done["authority_status"], "confirmed",
        "Beijing waited for Shanghai"
    );
    eprintln!(
        "Beijing confirmed {} ms after paying, while Shanghai was slow",
        start.elapsed().as_millis()
    );
    app.set_mode("310000", "up").await;
    let done = app
        .wait_authority_status(
            &user,
            slow["id"].as_str().unwrap(),
            "confirmed",
            Duration::from_secs(20),
        )
        .await;
    assert_eq!(done["authority_status"], "confirmed");
}
