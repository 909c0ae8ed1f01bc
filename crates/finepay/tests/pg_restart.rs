//! PostgreSQL going away under load — every connection of the platform's database terminated, as
//! a server restart or a failover does to its clients: requests answer 503 while the connections
//! are gone (never 500), finepay connects again by itself (no restart), and what was answered 201
//! is there and nothing else. Runs on the PostgreSQL pass of the suite only.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lost_connections_answer_503_then_finepay_serves_again_without_a_restart() {
    if std::env::var("FINEPAY_TEST_POSTGRES").is_err() {
        return; // the SQLite pass: there is no server to lose
    }
    // A cut can lose the answer of a claim that did commit: its top-up stays `processing` with
    // its key held (409) until the resolver, finding the bank never saw it, gives it up after
    // `give_up_after` — 10 minutes in production, 3 s here so the retries below end.
    let app = TestApp::spawn_with(|c| c.platform.give_up_after = Duration::from_secs(3)).await;
    let (user, card) = app.funded_user(1_000).await;
    let database = app.db_url();
    let name = database.rsplit('/').next().unwrap().to_string();
    let admin = format!(
        "{}/postgres",
        database.rsplit_once('/').map(|(base, _)| base).unwrap()
    );

    // Top-ups one after another while the connections are cut twice: each cut once the load
    // has had 20 more answers, and the load goes on for 20 answers after the last cut.
    let answered = Arc::new(AtomicUsize::new(0));
    let enough = Arc::new(AtomicUsize::new(usize::MAX));
    let load = {
        let (url, token, card) = (app.url.clone(), user.token.clone(), card.clone());
        let (http, answered, enough) = (app.http.clone(), answered.clone(), enough.clone());
        tokio::spawn(async move {
            let mut answers = Vec::new();
            let mut i = 0;
            while answers.len() < enough.load(Ordering::SeqCst) {
                i += 1;
                let res = http
                    .post(format!("{url}/api/v1/wallet/top-ups"))
                    .bearer_auth(&token)
                    .header("Idempotency-Key", format!("load-{i}"))
                    .json(&json!({"card_id": card, "amount": 100}))
                    .send()
                    .await
                    .unwrap();
                let status = res.status();
                let body: serde_json::Value = res.json().await.unwrap_or_default();
                answers.push((format!("load-{i}"), status, body));
                answered.store(answers.len(), Ordering::SeqCst);
            }
            answers
        })
    };
    let wait_for_answers = |n: usize| {
        let answered = answered.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            while answered.load(Ordering::SeqCst) < n {
                assert!(
                    Instant::now() < deadline,
                    "the load stalled before {n} answers"
                );
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    };
    for cut in 1..=2 {
        wait_for_answers(cut * 20).await;
        let (admin, name) = (admin.clone(), name.clone());
        let terminated = std::thread::spawn(move || {
            let conn = finepay_store::PgConn::connect(&admin).unwrap();
            finepay_store::Sql::query(
                &conn,
                "SELECT pg_terminate_backend(pid)::text AS gone FROM pg_stat_activity
                 WHERE datname = $1 AND pid <> pg_backend_pid()",
                finepay_store::params![name.as_str()],
            )
            .unwrap()
            .len()
        })
        .join()
        .unwrap();
        assert!(terminated > 0, "the platform's connections were cut");
    }
    enough.store(answered.load(Ordering::SeqCst) + 20, Ordering::SeqCst);
    let answers = load.await.unwrap();
    let created = answers
        .iter()
        .filter(|(_, s, _)| *s == StatusCode::CREATED)
        .count();
    let unavailable = answers
        .iter()
        .filter(|(_, s, _)| *s == StatusCode::SERVICE_UNAVAILABLE)
        .count();
    assert!(unavailable > 0, "the cuts were felt: {answers:?}");
    for (_, status, body) in &answers {
        assert!(
            *status == StatusCode::CREATED || *status == StatusCode::SERVICE_UNAVAILABLE,
            "only 201 or 503 while the database comes and goes: {status} {body}"
        );
    }
    eprintln!(
        "{} top-ups: {created} created, {unavailable} answered 503",
        answers.len()
    );

    // Served again, by the same process.
    top_up_until_created(&app, &user.token, &card, "after", 10).await;
    // A 503 is "not known": the client retries it under its key and gets one top-up, whichever
    // way the cut went (a replay of what was committed, or the top-up made now; 409 meanwhile,
    // while a charge left in doubt by the cut is settled by the resolver).
    for (key, status, _) in &answers {
        if *status != StatusCode::CREATED {
            top_up_until_created(&app, &user.token, &card, key, 20).await;
        }
    }
    // One top-up per key, none twice: 1,000 yuan, then 1 yuan per load key and one for "after".
    let expected = 100_000 + 100 * (answers.len() as i64 + 1);
    assert_eq!(app.balance(&user).await, expected);
}

/// Sends a 1-yuan top-up under `key` until it is answered 201, for at most `seconds`.
async fn top_up_until_created(app: &TestApp, token: &str, card: &str, key: &str, seconds: u64) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        let res = app
            .post_idem(
                "/api/v1/wallet/top-ups",
                token,
                key,
                &json!({"card_id": card, "amount": 100}),
            )
            .await;
        if res.status() == StatusCode::CREATED {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{key} was not answered 201 within {seconds} s: {}",
            res.status()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
