//! The authorization matrix: every operation of the OpenAPI document that names a security scheme
//! answers 401 without a token and with a wrong one; every resource of one user is 404 to another.
#![allow(clippy::unwrap_used)]
mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_secured_operation_refuses_a_missing_or_wrong_token() {
    let app = TestApp::spawn().await;
    let doc: Value = app
        .get("/api/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            if op["security"].as_array().is_none_or(|s| s.is_empty()) {
                continue;
            }
            // Any value for a path parameter: authentication comes first.
            let concrete = path
                .split('/')
                .map(|seg| if seg.starts_with('{') { "x1" } else { seg })
                .collect::<Vec<_>>()
                .join("/");
            for token in [None, Some("not-a-token")] {
                let mut req = app
                    .http
                    .request(
                        Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                        format!("{}{concrete}", app.url),
                    )
                    .header("Idempotency-Key", "authz")
                    .json(&json!({}));
                if let Some(t) = token {
                    req = req.bearer_auth(t);
                }
                let res = req.send().await.unwrap();
                let status = res.status();
                let body: Value = res.json().await.unwrap_or(Value::Null);
                assert_eq!(
                    status,
                    StatusCode::UNAUTHORIZED,
                    "{method} {path} with {token:?}: {body}"
                );
                assert_eq!(body["error"]["code"], "unauthenticated", "{method} {path}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} secured operations found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_resources_are_not_found() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.funded_user(1_000).await;
    let number = app.decision("京A12345", "110000", 0).await;
    let (status, paid) = json(
        app.pay(
            &owner,
            "own",
            &number,
            20_000,
            "京A12345",
            json!({"type": "balance"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{paid}");
    let payment = paid["id"].as_str().unwrap().to_string();
    let receipt = paid["receipt_id"].as_str().unwrap().to_string();
    let (status, bound) = json(
        app.post(
            "/api/v1/vehicles",
            Some(&owner.token),
            &json!({"plate": "京A12345", "vin_last6": "184847"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{bound}");
    // The owner's inbox gets the confirmation.
    let deadline = Instant::now() + Duration::from_secs(15);
    let notification = loop {
        let inbox = app.get_json("/api/v1/notifications", &owner.token).await;
        if let Some(id) = inbox["data"][0]["id"].as_str() {
            break id.to_string();
        }
        assert!(Instant::now() < deadline, "no notification: {inbox}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    let other = app.user().await;
    let t = Some(other.token.as_str());
    let empty = json!({});
    for (what, res) in [
        (
            "payment",
            app.get(&format!("/api/v1/payments/{payment}"), t).await,
        ),
        (
            "receipt",
            app.get(&format!("/api/v1/receipts/{receipt}"), t).await,
        ),
        (
            "receipt PDF",
            app.get(&format!("/api/v1/receipts/{receipt}/pdf"), t).await,
        ),
        (
            "notification",
            app.post(
                &format!("/api/v1/notifications/{notification}/read"),
                t,
                &empty,
            )
            .await,
        ),
        (
            "violations of a plate bound by another",
            app.get("/api/v1/vehicles/%E4%BA%ACA12345/violations", t)
                .await,
        ),
        (
            "unbinding another's plate",
            app.http
                .delete(format!("{}/api/v1/vehicles/%E4%BA%ACA12345", app.url))
                .bearer_auth(&other.token)
                .send()
                .await
                .unwrap(),
        ),
    ] {
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_eq!(status, StatusCode::NOT_FOUND, "{what}: {body}");
        assert_eq!(body["error"]["code"], "not_found", "{what}: {body}");
    }
    // Lists show nothing of the owner's.
    for list in [
        "/api/v1/payments",
        "/api/v1/notifications",
        "/api/v1/vehicles",
    ] {
        let v = app.get_json(list, &other.token).await;
        assert_eq!(v["data"].as_array().unwrap().len(), 0, "{list}: {v}");
    }
    // And the owner still has everything.
    let mine = app
        .get_json(&format!("/api/v1/payments/{payment}"), &owner.token)
        .await;
    assert_eq!(mine["id"], payment.as_str());
    let vehicles = app.get_json("/api/v1/vehicles", &owner.token).await;
    assert_eq!(vehicles["data"].as_array().unwrap().len(), 1);
}
