//! Acceptance 5: a decision is paid once, whatever the race.
#![allow(clippy::unwrap_used)]
mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_simultaneous_payments_with_different_keys_pay_once() {
    let app = Arc::new(TestApp::spawn().await);
    let (user, _) = app.funded_user(10_000).await;
    let number = app.decision("京A12345", "110000", 0).await;
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let (app, user, number) = (app.clone(), user.clone(), number.clone());
            tokio::spawn(async move {
                let res = app
                    .pay(
                        &user,
                        &format!("race-{i}"),
                        &number,
                        20_000,
                        "京A12345",
                        json!({"type": "balance"}),
                    )
                    .await;
                json(res).await
            })
        })
        .collect();
    let mut created = Vec::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            StatusCode::CREATED => created.push(body),
            StatusCode::CONFLICT => {
                assert_eq!(body["error"]["code"], "decision_already_paid", "{body}")
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(created.len(), 1, "exactly one payment succeeds");
    assert_eq!(
        app.balance(&user).await,
        1_000_000 - 20_000,
        "money moved once"
    );
    let list = app
        .get_json("/api/v1/payments?limit=100", &user.token)
        .await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_simultaneous_payments_with_the_same_key_make_one_payment() {
    let app = Arc::new(TestApp::spawn().await);
    let (user, _) = app.funded_user(10_000).await;
    let number = app.decision("京A12345", "110000", 0).await;
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (app, user, number) = (app.clone(), user.clone(), number.clone());
            tokio::spawn(async move {
                let res = app
                    .pay(
                        &user,
                        "same-key",
                        &number,
                        20_000,
                        "京A12345",
                        json!({"type": "balance"}),
                    )
                    .await;
                let replayed = res.headers().get("idempotent-replayed").is_some();
                let (status, body) = json(res).await;
                (status, body, replayed)
            })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    let mut fresh = 0;
    for t in tasks {
        let (status, body, replayed) = t.await.unwrap();
        match status {
            StatusCode::CREATED => {
                ids.insert(body["id"].as_str().unwrap().to_string());
                if !replayed {
                    fresh += 1;
                }
            }
            StatusCode::CONFLICT => {
                assert_eq!(body["error"]["code"], "request_in_progress", "{body}")
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(
        ids.len(),
        1,
        "one payment, replayed to everyone who got 201"
    );
    assert_eq!(fresh, 1, "only the first answer is not a replay");
    assert_eq!(app.balance(&user).await, 1_000_000 - 20_000);
    // Replaying later gives the same status and body, marked as a replay.
    let res = app
        .pay(
            &user,
            "same-key",
            &number,
            20_000,
            "京A12345",
            json!({"type": "balance"}),
        )
        .await;
    assert_eq!(res.headers().get("idempotent-replayed").unwrap(), "true");
    let (status, body) = json(res).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(ids.contains(body["id"].as_str().unwrap()));
}
