//! Notifications: a confirmed payment lands in the payer's inbox and on their open stream.
#![allow(clippy::unwrap_used)]
mod common;

use common::*;
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmed_payment_is_pushed_to_the_payers_stream_and_inbox() {
    let app = TestApp::spawn().await;
    let (user, _) = app.funded_user(1_000).await;
    let number = app.decision("京A12345", "110000", 0).await;

    let stream = app
        .http
        .get(format!("{}/api/v1/notifications/stream", app.url))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert!(stream.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let mut body = stream.bytes_stream();

    let (status, p) = json(
        app.pay(
            &user,
            "n1",
            &number,
            20_000,
            "京A12345",
            json!({"type": "balance"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.contains("payment.confirmed") {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .expect("no event within 10 s")
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("event: payment.confirmed"), "{seen}");
    assert!(seen.contains(p["id"].as_str().unwrap()), "{seen}");
    assert!(seen.contains("京A***45"), "{seen}");

    let inbox = app.get_json("/api/v1/notifications", &user.token).await;
    assert_eq!(inbox["data"][0]["kind"], "payment.confirmed");
    // Pages: one at a time, then nothing after the last.
    let page = app
        .get_json("/api/v1/notifications?limit=1", &user.token)
        .await;
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    let rest = app
        .get_json(
            &format!("/api/v1/notifications?limit=1&cursor={cursor}"),
            &user.token,
        )
        .await;
    assert_eq!(rest["data"].as_array().unwrap().len(), 0, "{rest}");
    assert_eq!(inbox["data"][0]["payment_id"], p["id"]);
    assert_eq!(inbox["data"][0]["read"], false);
    // Someone else's inbox is empty, and they cannot mark this one read.
    let other = app.user().await;
    let inbox = app.get_json("/api/v1/notifications", &other.token).await;
    assert_eq!(inbox["data"].as_array().unwrap().len(), 0);
    let id = app.get_json("/api/v1/notifications", &user.token).await["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let read = format!("/api/v1/notifications/{id}/read");
    let empty = serde_json::json!({});
    let res = app.post(&read, Some(&other.token), &empty).await;
    assert_eq!(res.status(), reqwest::StatusCode::NOT_FOUND);
    let res = app.post(&read, None, &empty).await;
    assert_eq!(res.status(), reqwest::StatusCode::UNAUTHORIZED);
    // The owner marks it read (twice is the same), and the inbox says so.
    for _ in 0..2 {
        let res = app.post(&read, Some(&user.token), &empty).await;
        assert_eq!(res.status(), reqwest::StatusCode::NO_CONTENT);
    }
    let inbox = app.get_json("/api/v1/notifications", &user.token).await;
    assert_eq!(inbox["data"][0]["id"], id.as_str());
    assert_eq!(inbox["data"][0]["read"], true);
    let res = app
        .post(
            "/api/v1/notifications/ntf_none/read",
            Some(&user.token),
            &empty,
        )
        .await;
    assert_eq!(res.status(), reqwest::StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_the_authority_rejects_is_refunded_to_the_balance() {
    let app = TestApp::spawn().await;
    let (user, _) = app.funded_user(1_000).await;
    let number = app.decision("京A12345", "110000", 0).await;
    // The platform fetches the decision, then the authority goes down and the fine is paid at a
    // counter meanwhile (the sandbox revokes it): the notice will be rejected when it comes back.
    app.get_json(&format!("/api/v1/penalty-decisions/{number}"), &user.token)
        .await;
    app.set_mode("110000", "down").await;
    let (status, p) = json(
        app.pay(
            &user,
            "rej",
            &number,
            20_000,
            "京A12345",
            json!({"type": "balance"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    assert_eq!(app.balance(&user).await, 80_000);
    let (status, _) = app
        .sandbox(
            reqwest::Method::POST,
            &format!("/sandbox/v1/decisions/{number}/revoke"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    app.set_mode("110000", "up").await;
    let done = app
        .wait_authority_status(
            &user,
            p["id"].as_str().unwrap(),
            "rejected",
            Duration::from_secs(10),
        )
        .await;
    assert_eq!(done["authority_status"], "rejected");
    assert_eq!(done["status"], "refunded");
    assert_eq!(app.balance(&user).await, 100_000, "the money is back");
    let inbox = app.get_json("/api/v1/notifications", &user.token).await;
    assert_eq!(inbox["data"][0]["kind"], "payment.refunded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_violation_of_a_bound_plate_in_another_city_is_pushed() {
    let app = TestApp::spawn().await;
    let user = app.user().await;
    // The register (Beijing) knows the vehicle; the user binds it with the VIN's last six.
    app.decision("京A12345", "110000", 0).await;
    let (status, body) = json(
        app.post(
            "/api/v1/vehicles",
            Some(&user.token),
            &json!({"plate": "京A12345", "vin_last6": "000000"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "vehicle_verification_failed");
    let (status, body) = json(
        app.post(
            "/api/v1/vehicles",
            Some(&user.token),
            &json!({"plate": "京A 12345", "vin_last6": "184847"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["plate"], "京A12345");
    let list = app.get_json("/api/v1/vehicles", &user.token).await;
    assert_eq!(list["data"][0]["plate"], "京A12345");

    // A camera in Chengdu records it; then a decision is issued.
    let (status, v) = app
        .sandbox(reqwest::Method::POST, "/sandbox/v1/violations", Some(json!({"city_code": "510100", "plate": "京A12345", "code": "1625", "occurred_at": "2026-11-20T10:00:00Z", "location": "天府大道"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let (_, d) = app
        .sandbox(
            reqwest::Method::POST,
            &format!(
                "/sandbox/v1/violations/{}/decision",
                v["id"].as_str().unwrap()
            ),
            Some(json!({})),
        )
        .await;
    let number = d["decision_number"].as_str().unwrap().to_string();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let inbox = app.get_json("/api/v1/notifications", &user.token).await;
        let kinds: Vec<(String, String)> = inbox["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| {
                (
                    n["kind"].as_str().unwrap().to_string(),
                    n["city_code"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let issued = inbox["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "decision.issued" && n["decision_number"] == number.as_str());
        if issued && kinds.contains(&("violation.recorded".into(), "510100".into())) {
            assert!(inbox["data"]
                .as_array()
                .unwrap()
                .iter()
                .all(|n| n["plate"] == "京A***45"));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not notified: {inbox}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Unbinding stops it; unbinding twice is not found.
    let res = app
        .http
        .delete(format!("{}/api/v1/vehicles/京A12345", app.url))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .http
        .delete(format!("{}/api/v1/vehicles/京A12345", app.url))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

/// Acceptance 2 (issue 13): read the stream, disconnect, two violations are recorded, reconnect
/// with Last-Event-ID: exactly those two, then the live ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_that_reconnects_with_last_event_id_gets_exactly_what_it_missed() {
    let app = TestApp::spawn().await;
    let plate = "粤A70015";
    let user = app.bound_user(plate, "440100").await;

    let mut stream = Sse::open(&app.http, &app.url, &user.token, None).await;
    app.record_violation(plate, "440100").await;
    let (first, kind, data) = stream.next().await;
    assert_eq!(kind, "violation.recorded", "SPEC §8: event is the kind");
    let n: serde_json::Value = serde_json::from_str(&data).unwrap();
    assert_eq!(n["id"], first);
    assert_eq!(n["plate"], "粤A***15");
    drop(stream);

    app.record_violation(plate, "440100").await;
    app.record_violation(plate, "440100").await;
    // Both are in the inbox before the client comes back.
    let missed: Vec<String> = wait_for(Duration::from_secs(10), "3 in the inbox", || async {
        let ids: Vec<String> = app
            .inbox(&user)
            .await
            .iter()
            .map(|n| n["id"].as_str().unwrap().to_owned())
            .collect();
        // Newest first in the inbox; the stream sends oldest first.
        (ids.len() == 3)
            .then(|| ids[..2].iter().rev().cloned().collect())
            .ok_or(format!("{ids:?}"))
    })
    .await;
    let mut again = Sse::open(&app.http, &app.url, &user.token, Some(&first)).await;
    let (a, _, _) = again.next().await;
    let (b, _, _) = again.next().await;
    assert_eq!(vec![a, b.clone()], missed);
    // Then the live ones, and nothing sent twice in between.
    app.record_violation(plate, "440100").await;
    let (live, kind, _) = again.next().await;
    assert_eq!(kind, "violation.recorded");
    assert!(!missed.contains(&live) && live != first);

    // Browsers resume with ?last_event_id=; an id that is not the user's is refused.
    let res = app
        .http
        .get(format!(
            "{}/api/v1/notifications/stream?last_event_id={b}",
            app.url
        ))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let mut body = res.bytes_stream();
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.contains(&live) {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .expect("the live one is resent after b")
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(!seen.contains(&missed[0]), "{seen}");
    let other = app.user().await;
    let (status, err) = json(
        app.http
            .get(format!("{}/api/v1/notifications/stream", app.url))
            .bearer_auth(&other.token)
            .header("Last-Event-ID", &first)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["field"], "last_event_id");
}

/// Read state: the inbox says how many are unread; one can be read, or all at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unread_counts_fall_as_notifications_are_read_one_or_all() {
    let app = TestApp::spawn().await;
    let plate = "粤A70017";
    let user = app.bound_user(plate, "440100").await;
    for _ in 0..3 {
        app.record_violation(plate, "440100").await;
    }
    let inbox = wait_for(Duration::from_secs(10), "3 unread", || async {
        let inbox = app.get_json("/api/v1/notifications", &user.token).await;
        (inbox["unread"] == 3)
            .then_some(inbox.clone())
            .ok_or(format!("{inbox}"))
    })
    .await;
    let one = inbox["data"][0]["id"].as_str().unwrap();
    let res = app
        .post(
            &format!("/api/v1/notifications/{one}/read"),
            Some(&user.token),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let inbox = app
        .get_json("/api/v1/notifications?limit=1", &user.token)
        .await;
    assert_eq!(inbox["unread"], 2, "counted over every page: {inbox}");
    let (status, marked) = json(
        app.post("/api/v1/notifications/read", Some(&user.token), &json!({}))
            .await,
    )
    .await;
    assert_eq!(
        (status, marked["marked"].as_i64()),
        (StatusCode::OK, Some(2))
    );
    let inbox = app.get_json("/api/v1/notifications", &user.token).await;
    assert_eq!(inbox["unread"], 0);
    assert!(inbox["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|n| n["read"] == true));
    // Another user's inbox is untouched, and nobody signed out reads anything.
    let (status, _) = json(
        app.post("/api/v1/notifications/read", None, &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
