//! Issue 3: two finepay processes on one PostgreSQL database and one NATS JetStream, sharing the
//! sandboxes' data directory. Payments spread over both while the authority flaps reach it exactly
//! once; an event handled by instance A reaches a client connected to instance B; concurrent
//! payments of one decision through both instances pay it once.
#![allow(clippy::unwrap_used)]
mod common;

use common::call;

use futures::StreamExt;
use reqwest::{Client, StatusCode};
use serde_json::json;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TOKEN: &str = "multi-instance-sandbox-token";
const NATS: &str = "nats://127.0.0.1:4222";
const PG: &str = "postgres://postgres@127.0.0.1:5432";

struct Instance {
    child: Child,
    url: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start(dir: &Path, database: &str, http: &Client) -> Instance {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_finepay"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
            dir.to_str().unwrap(),
        ])
        .args([
            "--sandbox-token",
            TOKEN,
            "--database",
            database,
            "--events",
            NATS,
        ])
        .args(["--lookups-per-user-per-minute", "100000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    loop {
        if let Ok(r) = http.get(format!("{url}/healthz")).send().await {
            if r.status() == StatusCode::OK {
                break;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "instance did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Instance { child, url }
}

fn id_number(serial: u32) -> String {
    common::id_number(serial)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_payments_events_and_the_one_payment_rule() {
    let base = std::env::var("FINEPAY_TEST_POSTGRES").unwrap_or_else(|_| PG.to_string());
    std::env::set_var("FINEPAY_TEST_POSTGRES", &base);
    let database = common::test_database().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let http = Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let a = start(dir.path(), &database, &http).await;
    let b = start(dir.path(), &database, &http).await;
    let post = reqwest::Method::POST;

    // Four payers registered through A, funded through B.
    let mut tokens = Vec::new();
    for i in 0..4u32 {
        let phone = format!("1360000{i:04}");
        let (s, _) = call(&http, post.clone(), format!("{}/api/v1/users", a.url), "", Some(json!({"phone": phone, "password": "two-instances", "name": "钱七", "id_number": id_number(40 + i)})), None).await;
        assert_eq!(s, StatusCode::CREATED);
        let (_, session) = call(
            &http,
            post.clone(),
            format!("{}/api/v1/sessions", b.url),
            "",
            Some(json!({"phone": phone, "password": "two-instances"})),
            None,
        )
        .await;
        let token = session["token"].as_str().unwrap().to_string();
        let (_, card) = call(
            &http,
            post.clone(),
            format!("{}/api/v1/cards", b.url),
            &token,
            Some(json!({"number": "6222020000000000018", "holder_name": "钱七"})),
            None,
        )
        .await;
        let (s, _) = call(
            &http,
            post.clone(),
            format!("{}/api/v1/wallet/top-ups", b.url),
            &token,
            Some(json!({"card_id": card["id"], "amount": 20_000_000})),
            Some("fund"),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
        tokens.push(token);
    }
    let (s, _) = call(&http, post.clone(), format!("{}/sandbox/v1/vehicles", a.url), TOKEN, Some(json!({"plate": "京A12345", "vin": "LSVAM4187C2184847", "owner_name": "钱七", "owner_id_number": id_number(99), "city_code": "110000"})), None).await;
    assert_eq!(s, StatusCode::CREATED);
    let mut numbers = Vec::new();
    for _ in 0..201 {
        let (_, v) = call(&http, post.clone(), format!("{}/sandbox/v1/violations", a.url), TOKEN, Some(json!({"city_code": "110000", "plate": "京A12345", "code": "1625", "occurred_at": "2026-11-01T08:00:00Z", "location": "西长安街"})), None).await;
        let (_, d) = call(
            &http,
            post.clone(),
            format!(
                "{}/sandbox/v1/violations/{}/decision",
                a.url,
                v["id"].as_str().unwrap()
            ),
            TOKEN,
            Some(json!({})),
            None,
        )
        .await;
        numbers.push(d["decision_number"].as_str().unwrap().to_string());
    }
    // Every decision is seen once while the authority is up, so it stays payable while it flaps.
    for (i, n) in numbers.iter().enumerate() {
        let inst = if i % 2 == 0 { &a } else { &b };
        let (s, _) = call(
            &http,
            reqwest::Method::GET,
            format!("{}/api/v1/penalty-decisions/{n}", inst.url),
            &tokens[i % 4],
            None,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK);
    }

    // Payer 0 listens on instance B.
    let stream = http
        .get(format!("{}/api/v1/notifications/stream", b.url))
        .bearer_auth(&tokens[0])
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let heard = Arc::new(std::sync::Mutex::new(String::new()));
    let listener = {
        let heard = heard.clone();
        tokio::spawn(async move {
            let mut body = stream.bytes_stream();
            while let Some(Ok(chunk)) = body.next().await {
                heard
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&chunk));
            }
        })
    };

    // The authority flaps while 200 payments go through both instances.
    let flapping = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let flapper = {
        let (http, url, flapping) = (http.clone(), a.url.clone(), flapping.clone());
        tokio::spawn(async move {
            let modes = ["down", "flaky", "up", "down", "flaky"];
            let mut i = 0;
            while flapping.load(std::sync::atomic::Ordering::Relaxed) {
                let mode = modes[i % modes.len()];
                call(
                    &http,
                    reqwest::Method::PUT,
                    format!("{url}/sandbox/v1/authorities/110000/mode"),
                    TOKEN,
                    Some(json!({"mode": mode})),
                    None,
                )
                .await;
                i += 1;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            call(
                &http,
                reqwest::Method::PUT,
                format!("{url}/sandbox/v1/authorities/110000/mode"),
                TOKEN,
                Some(json!({"mode": "up"})),
                None,
            )
            .await;
        })
    };
    let semaphore = Arc::new(tokio::sync::Semaphore::new(16));
    let mut tasks = Vec::new();
    for (i, n) in numbers.iter().take(200).enumerate() {
        let url = if i % 2 == 0 {
            a.url.clone()
        } else {
            b.url.clone()
        };
        let (http, token, n, semaphore) = (
            http.clone(),
            tokens[i % 4].clone(),
            n.clone(),
            semaphore.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let _permit = semaphore.acquire().await.unwrap();
            let body = json!({"decision_number": n, "amount": 20_000, "confirm_plate": "京A12345", "method": {"type": "balance"}});
            // Two instances writing the same rows can deadlock on PostgreSQL; the loser is rolled
            // back and answered 503 `service_busy`, which SPEC clients retry with the same key
            // (issue 14 removes the deadlocks). The retry must still charge exactly once.
            let mut attempt = 0;
            let (s, p) = loop {
                let (s, p) = call(&http, reqwest::Method::POST, format!("{url}/api/v1/payments"), &token, Some(body.clone()), Some(format!("m{i}").as_str())).await;
                attempt += 1;
                if s == StatusCode::SERVICE_UNAVAILABLE && p["error"]["code"] == "service_busy" && attempt < 5 {
                    tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
                    continue;
                }
                break (s, p);
            };
            assert_eq!(s, StatusCode::CREATED, "{p}");
            (i, p["id"].as_str().unwrap().to_string())
        }));
    }
    let mut paid = Vec::new();
    for t in tasks {
        paid.push(t.await.unwrap());
    }
    flapping.store(false, std::sync::atomic::Ordering::Relaxed);
    flapper.await.unwrap();

    // Every payment is confirmed, and the authority took each exactly once.
    let deadline = Instant::now() + Duration::from_secs(30);
    for (i, id) in &paid {
        loop {
            let (_, p) = call(
                &http,
                reqwest::Method::GET,
                format!("{}/api/v1/payments/{id}", b.url),
                &tokens[i % 4],
                None,
                None,
            )
            .await;
            if p["authority_status"] == "confirmed" {
                break;
            }
            assert!(Instant::now() < deadline, "payment {id} not confirmed: {p}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (_, record) = call(
            &http,
            reqwest::Method::GET,
            format!("{}/sandbox/v1/decisions/{}", a.url, numbers[*i]),
            TOKEN,
            None,
            None,
        )
        .await;
        assert_eq!(record["status"], "paid");
        assert_eq!(record["payment_id"], id.as_str());
        assert_eq!(
            record["notice_deliveries"], 1,
            "delivered once, not by both instances: {record}"
        );
    }

    // Payer 0's payments made through A were announced on B's stream.
    let via_a: Vec<&String> = paid
        .iter()
        .filter(|(i, _)| i % 4 == 0 && i % 2 == 0)
        .map(|(_, id)| id)
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = heard.lock().unwrap().clone();
        if via_a.iter().all(|id| text.contains(id.as_str())) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "events from A did not reach B: heard {} bytes",
            text.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A new violation of a plate payer 0 bound through A is pushed to their stream on B.
    let (s, _) = call(&http, post.clone(), format!("{}/sandbox/v1/vehicles", a.url), TOKEN, Some(json!({"plate": "京B54321", "vin": "LFV2A21K8B3046511", "owner_name": "钱七", "owner_id_number": id_number(98), "city_code": "110000"})), None).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, body) = call(
        &http,
        post.clone(),
        format!("{}/api/v1/vehicles", a.url),
        &tokens[0],
        Some(json!({"plate": "京B54321", "vin_last6": "046511"})),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, _) = call(&http, post.clone(), format!("{}/sandbox/v1/violations", a.url), TOKEN, Some(json!({"city_code": "310000", "plate": "京B54321", "code": "1625", "occurred_at": "2026-11-02T08:00:00Z", "location": "人民广场"})), None).await;
    assert_eq!(s, StatusCode::CREATED);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = heard.lock().unwrap().clone();
        if text.contains("violation.recorded") && text.contains("京B***21") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new-violation event did not reach B"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    listener.abort();

    // 16 concurrent payments of one decision, 8 through each instance: exactly one succeeds.
    let last = numbers[200].clone();
    let mut racers = Vec::new();
    for i in 0..16 {
        let url = if i % 2 == 0 {
            a.url.clone()
        } else {
            b.url.clone()
        };
        let (http, token, n) = (http.clone(), tokens[i % 4].clone(), last.clone());
        racers.push(tokio::spawn(async move {
            let body = json!({"decision_number": n, "amount": 20_000, "confirm_plate": "京A12345", "method": {"type": "balance"}});
            call(&http, reqwest::Method::POST, format!("{url}/api/v1/payments"), &token, Some(body), Some(format!("race-{i}").as_str())).await
        }));
    }
    let mut wins = 0;
    for r in racers {
        let (s, body) = r.await.unwrap();
        match s {
            StatusCode::CREATED => wins += 1,
            StatusCode::CONFLICT => {
                assert_eq!(body["error"]["code"], "decision_already_paid", "{body}")
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(
        wins, 1,
        "exactly one payment of the decision succeeds across instances"
    );

    drop(a);
    drop(b);
    common::assert_ledger_check_passes(&database);
}

/// Issue 13, acceptance 2 across instances: a stream read on A, then resumed on B with
/// Last-Event-ID, gets exactly what it missed, then the live events (NATS).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stream_resumed_on_another_instance_gets_exactly_what_it_missed() {
    let base = std::env::var("FINEPAY_TEST_POSTGRES").unwrap_or_else(|_| PG.to_string());
    std::env::set_var("FINEPAY_TEST_POSTGRES", &base);
    let database = common::test_database().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let http = Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let a = start(dir.path(), &database, &http).await;
    let b = start(dir.path(), &database, &http).await;
    let post = reqwest::Method::POST;
    let plate = "川A70016";
    let (s, _) = call(&http, post.clone(), format!("{}/sandbox/v1/vehicles", a.url), TOKEN, Some(json!({"plate": plate, "vin": "LSVAM4187C2184847", "owner_name": "钱七", "owner_id_number": id_number(98), "city_code": "510100"})), None).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = call(&http, post.clone(), format!("{}/api/v1/users", a.url), "", Some(json!({"phone": "13600009901", "password": "two-instances", "name": "钱七", "id_number": id_number(97)})), None).await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, session) = call(
        &http,
        post.clone(),
        format!("{}/api/v1/sessions", a.url),
        "",
        Some(json!({"phone": "13600009901", "password": "two-instances"})),
        None,
    )
    .await;
    let token = session["token"].as_str().unwrap().to_string();
    let (s, _) = call(
        &http,
        post.clone(),
        format!("{}/api/v1/vehicles", b.url),
        &token,
        Some(json!({"plate": plate, "vin_last6": "184847"})),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let violation = || {
        let (http, url) = (http.clone(), a.url.clone());
        async move {
            let (s, v) = call(&http, reqwest::Method::POST, format!("{url}/sandbox/v1/violations"), TOKEN, Some(json!({"city_code": "510100", "plate": plate, "code": "1625", "occurred_at": "2026-11-20T08:00:00Z", "location": "天府大道"})), None).await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
        }
    };
    let mut on_a = common::Sse::open(&http, &a.url, &token, None).await;
    violation().await;
    let (first, _, _) = on_a.next().await;
    drop(on_a);
    violation().await;
    violation().await;
    let missed: Vec<String> =
        common::wait_for(Duration::from_secs(15), "3 in the inbox", || async {
            let (_, inbox) = call(
                &http,
                reqwest::Method::GET,
                format!("{}/api/v1/notifications", b.url),
                &token,
                None,
                None,
            )
            .await;
            let ids: Vec<String> = inbox["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["id"].as_str().unwrap().to_owned())
                .collect();
            (ids.len() == 3)
                .then(|| ids[..2].iter().rev().cloned().collect())
                .ok_or(format!("{inbox}"))
        })
        .await;
    let mut on_b = common::Sse::open(&http, &b.url, &token, Some(&first)).await;
    let got = vec![on_b.next().await.0, on_b.next().await.0];
    assert_eq!(got, missed);
    violation().await;
    let (live, _, _) = on_b.next().await;
    assert!(!missed.contains(&live) && live != first, "{live}");
}
