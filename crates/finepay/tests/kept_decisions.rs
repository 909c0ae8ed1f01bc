//! Issue 4: lookups and payments read the platform's kept copy of a decision while the city's
//! event feed is followed live, and the copy is never behind the authority: a revocation shows at
//! once, and a decision nobody looked up is still fetched from the authority.
#![allow(clippy::unwrap_used)]
mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Looks the decision up every 20 ms until `done` holds of the answer (5 s at most; else fails
/// saying `not_yet`), and returns that answer.
async fn look_up_until(
    app: &TestApp,
    user: &User,
    number: &str,
    not_yet: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let path = format!("/api/v1/penalty-decisions/{number}");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let d = app.get_json(&path, &user.token).await;
        if done(&d) {
            return d;
        }
        assert!(Instant::now() < deadline, "{not_yet}: {d}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Looks the decision up until the answer comes from the kept copy (`source: feed`).
async fn look_up_until_served_from_the_copy(app: &TestApp, user: &User, number: &str) -> Value {
    let path = format!("/api/v1/penalty-decisions/{number}");
    let first = app.get_json(&path, &user.token).await;
    assert_eq!(first["source"], "authority", "first lookup: {first}");
    let d = look_up_until(app, user, number, "never served from the copy", |d| {
        d["source"] == "feed"
    })
    .await;
    for field in [
        "fine",
        "late_fee",
        "amount_due",
        "points",
        "status",
        "plate_masked",
    ] {
        assert_eq!(
            d[field], first[field],
            "{field}: copy {d} vs authority {first}"
        );
    }
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_looked_up_decision_is_then_read_from_the_kept_copy_with_the_same_figures() {
    let app = TestApp::spawn().await;
    let (user, _) = app.funded_user(1_000).await;
    let number = app.decision("京A12345", "110000", 20).await;
    let d = look_up_until_served_from_the_copy(&app, &user, &number).await;
    assert_eq!(d["late_fee"], 3_000, "{d}");
    assert_eq!(d["amount_due"], 23_000, "{d}");

    let (status, p) = json(
        app.pay(
            &user,
            "kept-1",
            &number,
            23_000,
            "京A12345",
            json!({"type": "balance"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    let after = app
        .get_json(&format!("/api/v1/penalty-decisions/{number}"), &user.token)
        .await;
    assert_eq!(after["status"], "paid", "{after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_shows_at_once_on_a_decision_read_from_the_kept_copy() {
    let app = TestApp::spawn().await;
    let (user, _) = app.funded_user(1_000).await;
    let before = app.balance(&user).await;
    // Several rounds, since a stale copy would show only when the revocation loses a race.
    for round in 0..5 {
        let number = app.decision("沪A12345", "310000", 0).await;
        look_up_until_served_from_the_copy(&app, &user, &number).await;
        let (status, _) = app
            .sandbox(
                Method::POST,
                &format!("/sandbox/v1/decisions/{number}/revoke"),
                Some(json!({})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);

        let d = app
            .get_json(&format!("/api/v1/penalty-decisions/{number}"), &user.token)
            .await;
        assert_eq!(d["status"], "revoked", "round {round}: {d}");
        let (status, e) = json(
            app.pay(
                &user,
                &format!("revoked-{round}"),
                &number,
                20_000,
                "沪A12345",
                json!({"type": "balance"}),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "round {round}: {e}");
        assert_eq!(e["error"]["code"], "decision_revoked", "round {round}: {e}");
    }
    assert_eq!(app.balance(&user).await, before, "nothing was charged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_nobody_looked_up_is_not_served_from_the_feed_while_its_authority_is_down() {
    let app = TestApp::spawn().await;
    let (user, _) = app.funded_user(1_000).await;
    let seen = app.decision("粤B12345", "440300", 0).await;
    look_up_until_served_from_the_copy(&app, &user, &seen).await;
    // Issued while the feed is followed, so the feed mentions it, but nobody has looked it up.
    let unseen = app.decision("粤B12345", "440300", 0).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.set_mode("440300", "down").await;

    let res = app
        .get(
            &format!("/api/v1/penalty-decisions/{unseen}"),
            Some(&user.token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let d = app
        .get_json(&format!("/api/v1/penalty-decisions/{seen}"), &user.token)
        .await;
    assert_eq!(d["amount_due"], 20_000, "the kept copy stays payable: {d}");
    // Once the held feed request fails, the copy is no longer called current.
    look_up_until(&app, &user, &seen, "still called current", |d| {
        d["source"] == "snapshot"
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_while_the_authority_is_down_answers_at_once_and_refunds_when_it_is_back() {
    let app = TestApp::spawn().await;
    let (user, _) = app.funded_user(1_000).await;
    let before = app.balance(&user).await;
    let number = app.decision("川A12345", "510100", 0).await;
    look_up_until_served_from_the_copy(&app, &user, &number).await;
    let (status, _) = json(
        app.pay(
            &user,
            "down-revoke",
            &number,
            20_000,
            "川A12345",
            json!({"type": "balance"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    app.set_mode("510100", "down").await;

    // Nobody can hear of the revocation while the authority is down: no point waiting for it.
    let started = Instant::now();
    let (status, _) = app
        .sandbox(
            Method::POST,
            &format!("/sandbox/v1/decisions/{number}/revoke"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );

    app.set_mode("510100", "up").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.balance(&user).await != before {
        assert!(
            Instant::now() < deadline,
            "not refunded within 10 s of the authority's return"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_paid_through_another_channel_shows_paid_and_is_not_charged_again() {
    let app = TestApp::spawn().await;
    let (user, _) = app.funded_user(1_000).await;
    let before = app.balance(&user).await;
    let number = app.decision("浙A12345", "330100", 0).await;
    look_up_until_served_from_the_copy(&app, &user, &number).await;

    // Paid at a bank counter: the authority takes a notice that finepay never sent.
    let elsewhere = finepay_authority::PaymentNotice {
        payment_id: "counter-0001".into(),
        decision_number: number.clone(),
        amount_fen: 20_000,
        paid_at: chrono::Utc::now(),
    };
    let sandbox = app.running.sandbox_authority.clone().unwrap();
    tokio::task::spawn_blocking(move || sandbox.receive_notice("330100", &elsewhere))
        .await
        .unwrap()
        .unwrap();

    // The feed brings the change within moments; the copy then says paid.
    let d = look_up_until(&app, &user, &number, "still shown payable", |d| {
        d["status"] == "paid"
    })
    .await;
    assert_eq!(d["source"], "feed", "{d}");
    let (status, e) = json(
        app.pay(
            &user,
            "counter",
            &number,
            20_000,
            "浙A12345",
            json!({"type": "balance"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{e}");
    assert_eq!(e["error"]["code"], "decision_already_paid", "{e}");
    assert_eq!(app.balance(&user).await, before, "nothing was charged");
}
