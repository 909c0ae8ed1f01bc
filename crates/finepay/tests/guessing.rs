//! Guessing is limited wherever an answer tells a secret: paying (404 vs 422 says whether a decision
//! number exists) and binding a plate (whether a VIN matches), per user and per client address,
//! so a script spread over fresh accounts from one address is stopped too.
#![allow(clippy::unwrap_used)]
mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;

const UNKNOWN: &str = "1100009999999996";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paying_unknown_numbers_from_fresh_accounts_on_one_address_is_limited() {
    let app = TestApp::spawn_with(|c| c.platform.lookup_limits.per_client_per_minute = 10).await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let user = app.user().await;
        for attempt in 0..2 {
            let res = app
                .pay(
                    &user,
                    &format!("guess-{attempt}"),
                    UNKNOWN,
                    20_000,
                    "京A12345",
                    json!({"type": "balance"}),
                )
                .await;
            statuses.push(res.status());
        }
    }
    // Two failed guesses cost 5 each against the address's 10: every later one is refused.
    assert_eq!(
        statuses[..2],
        [StatusCode::NOT_FOUND, StatusCode::NOT_FOUND],
        "{statuses:?}"
    );
    assert!(
        statuses[2..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    app.assert_ledger_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_a_vin_is_limited() {
    let app = TestApp::spawn_with(|c| c.platform.binding_limits.per_user_per_minute = 10).await;
    let user = app.user().await;
    let guess = json!({"plate": "京A99999", "vin_last6": "000000"});
    let bind = || app.post("/api/v1/vehicles", Some(&user.token), &guess);
    for _ in 0..2 {
        let (status, body) = json(bind().await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["code"], "vehicle_verification_failed");
    }
    let res = bind().await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    let (_, body) = json(res).await;
    assert_eq!(body["error"]["code"], "rate_limited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_for_one_phone_are_limited_before_any_hashing() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let wrong = json!({"phone": user.phone, "password": "not the password"});
    // The default: 20 a minute per phone, a wrong password costing 4, so five tries.
    for _ in 0..5 {
        let (status, body) = json(app.post("/api/v1/sessions", None, &wrong).await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    let (status, body) = json(app.post("/api/v1/sessions", None, &wrong).await).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");
    // Another phone from the same address still signs in.
    let other = app.user().await;
    assert!(!other.token.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_from_one_address_are_limited() {
    let app =
        TestApp::spawn_with(|c| c.platform.registration_limits.per_client_per_minute = 3).await;
    let mut statuses = Vec::new();
    for serial in 0..4 {
        let body = json!({"phone": unique_phone(), "password": "correct horse", "name": "张三",
            "id_number": id_number(900 + serial)});
        statuses.push(app.post("/api/v1/users", None, &body).await.status());
    }
    assert_eq!(
        statuses,
        [
            StatusCode::CREATED,
            StatusCode::CREATED,
            StatusCode::CREATED,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_event_streams_are_capped_per_user_and_in_all() {
    let app = TestApp::spawn_with(|c| {
        c.stream_limits = finepay_http::StreamLimits {
            total: 3,
            per_user: 2,
        }
    })
    .await;
    let open = |token: String| {
        let (http, url) = (app.http.clone(), app.url.clone());
        async move {
            http.get(format!("{url}/api/v1/notifications/stream"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };
    let (a, b) = (app.user().await, app.user().await);
    let first = open(a.token.clone()).await;
    let second = open(a.token.clone()).await;
    assert_eq!(
        (first.status(), second.status()),
        (StatusCode::OK, StatusCode::OK)
    );
    let (status, body) = json(open(a.token.clone()).await).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "a third stream of one user: {body}"
    );
    assert_eq!(body["error"]["code"], "rate_limited");
    let third = open(b.token.clone()).await;
    assert_eq!(
        third.status(),
        StatusCode::OK,
        "another user still gets one"
    );
    let (status, body) = json(open(b.token.clone()).await).await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "all the server takes: {body}"
    );
    assert_eq!(body["error"]["code"], "service_busy");
    drop((first, second, third));
}
