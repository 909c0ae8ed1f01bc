//! Webhooks (SPEC §8, issue 13 acceptance 3): a receiver on loopback gets every notification, the
//! signature verifies, a receiver that fails twice gets it on the third try, and in order.
#![allow(clippy::unwrap_used)]
mod common;

use axum::http::{HeaderMap, StatusCode as AxumStatus};
use common::*;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Sha256;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the receiver saw: every request (event id, signature, body) and how many it refused.
#[derive(Default)]
struct Seen {
    requests: Vec<(String, String, String)>,
    refuse_first: usize,
}

async fn receiver(seen: Arc<Mutex<Seen>>) -> String {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let seen = seen.clone();
            async move {
                let mut s = seen.lock().unwrap();
                let header = |n: &str| {
                    headers
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned()
                };
                s.requests.push((
                    header("finepay-event-id"),
                    header("finepay-signature"),
                    body,
                ));
                if s.requests.len() <= s.refuse_first {
                    AxumStatus::INTERNAL_SERVER_ERROR
                } else {
                    AxumStatus::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/hook")
}

fn verifies(secret: &str, signature: &str, body: &str) -> bool {
    let Some((t, v1)) = signature
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    hex::encode(mac.finalize().into_bytes()) == v1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_fails_twice_gets_every_notification_signed_and_in_order() {
    let app = TestApp::spawn().await;
    let plate = "浙A70018";
    let user = app.bound_user(plate, "330100").await;
    let seen = Arc::new(Mutex::new(Seen {
        refuse_first: 2,
        ..Seen::default()
    }));
    let url = receiver(seen.clone()).await;
    let (status, hook) = json(
        app.post("/api/v1/webhooks", Some(&user.token), &json!({"url": url}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    let secret = hook["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(hook["kinds"], json!([]));

    for _ in 0..3 {
        app.record_violation(plate, "330100").await;
    }
    // Every notification of the inbox reaches the receiver, once accepted, in inbox order.
    let (inbox, accepted) = wait_for(Duration::from_secs(20), "3 deliveries taken", || async {
        let mut ids: Vec<String> = app
            .inbox(&user)
            .await
            .iter()
            .map(|n| n["id"].as_str().unwrap().to_owned())
            .collect();
        ids.reverse();
        let (requests, refused) = {
            let s = seen.lock().unwrap();
            (s.requests.clone(), s.refuse_first)
        };
        let accepted: Vec<(String, String, String)> =
            requests.iter().skip(refused).cloned().collect();
        if ids.len() == 3 && accepted.len() >= 3 {
            Ok((ids, accepted))
        } else {
            Err(format!("inbox {ids:?}, {} requests", requests.len()))
        }
    })
    .await;
    let requests = seen.lock().unwrap().requests.clone();
    // The first was refused twice and taken the third time; the others waited behind it.
    assert_eq!(requests[0].0, inbox[0]);
    assert_eq!(requests[1].0, inbox[0]);
    let order: Vec<&String> = accepted.iter().map(|(id, _, _)| id).collect();
    assert_eq!(order, inbox.iter().collect::<Vec<_>>());
    for (id, signature, body) in &requests {
        assert!(verifies(&secret, signature, body), "{signature} for {body}");
        let n: Value = serde_json::from_str(body).unwrap();
        assert_eq!(n["id"], *id);
        assert_eq!(n["kind"], "violation.recorded");
        assert_eq!(n["plate"], "浙A***18");
    }
    assert!(!verifies("whsec_wrong", &requests[2].1, &requests[2].2));

    // The list shows it without the secret; deleting it stops deliveries.
    let list = app.get_json("/api/v1/webhooks", &user.token).await;
    assert_eq!(list["data"][0]["id"], hook["id"]);
    assert!(list["data"][0].get("secret").is_none());
    let res = app
        .http
        .delete(format!(
            "{}/api/v1/webhooks/{}",
            app.url,
            hook["id"].as_str().unwrap()
        ))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let other = app.user().await;
    let res = app
        .http
        .delete(format!(
            "{}/api/v1/webhooks/{}",
            app.url,
            hook["id"].as_str().unwrap()
        ))
        .bearer_auth(&other.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_checks_urls_kinds_and_the_limit_of_five() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let url = receiver(seen).await;
    for (body, field) in [
        (json!({"url": "ftp://example.com/x"}), "url"),
        (json!({"url": ""}), "url"),
        (json!({"url": url, "kinds": ["payment.lost"]}), "kinds"),
    ] {
        let (status, err) =
            json(app.post("/api/v1/webhooks", Some(&user.token), &body).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {err}");
        assert_eq!(err["error"]["field"], field, "{err}");
    }
    for _ in 0..5 {
        let (status, _) = json(
            app.post(
                "/api/v1/webhooks",
                Some(&user.token),
                &json!({"url": url, "kinds": ["payment.confirmed"]}),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, err) = json(
        app.post("/api/v1/webhooks", Some(&user.token), &json!({"url": url}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert!(err["error"]["message"]
        .as_str()
        .unwrap()
        .contains("5 webhooks"));
}

/// Without the sandbox (real endpoints), loopback and plain HTTP are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_the_sandbox_a_webhook_cannot_point_inside() {
    let app = TestApp::spawn_with(|c| {
        c.platform.webhook_sender = Some(finepay_core::WebhookSenderHandle(Arc::new(
            finepay::webhook_sender::HttpWebhookSender {
                allow_private: false,
            },
        )));
    })
    .await;
    let user = app.user().await;
    for url in [
        "http://127.0.0.1:9/hook",
        "https://127.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/hook",
    ] {
        let (status, err) = json(
            app.post("/api/v1/webhooks", Some(&user.token), &json!({"url": url}))
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {err}");
        assert_eq!(err["error"]["field"], "url");
    }
}
