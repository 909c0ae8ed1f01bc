//! Stop the server during a payment load — SIGKILL (a crash) or SIGTERM (a clean stop, which must
//! exit 0) — then after a restart every payment that got a 201 is there with its receipt, reaches
//! the authority exactly once, and the ledger holds.
#![allow(clippy::unwrap_used)]

mod common;

use common::{free_port, wait_healthy};

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOKEN: &str = "crash-test-sandbox-token";

fn serve(dir: &Path, port: u16, database: &str) -> Child {
    common::serve_process(dir, port, database, TOKEN)
}

async fn post(
    http: &Client,
    url: &str,
    token: &str,
    body: Value,
    key: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = http.post(url).bearer_auth(token).json(&body);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn id_number(serial: u32) -> String {
    let body = format!("11010519900115{:03}", serial % 1000);
    let body = body.as_str();
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .chars()
        .zip(W)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    format!("{body}{}", b"10X98765432"[(sum % 11) as usize] as char)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Stop {
    Kill,
    Term,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn payments_acknowledged_before_a_sigkill_survive_it() {
    pay_load_then(Stop::Kill).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_under_a_pay_load_exits_0_and_keeps_every_acknowledged_payment() {
    pay_load_then(Stop::Term).await;
}

async fn pay_load_then(stop: Stop) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let http = Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let database = common::test_database()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("finepay.db").display()));
    let mut child = serve(dir.path(), port, &database);
    wait_healthy(&http, &url).await;

    // Four funded users, and 80 decisions for one plate.
    let mut users = Vec::new();
    for i in 0..4u32 {
        let phone = format!(
            "137{:04}{:04}",
            std::process::id() % 10_000,
            i + 10 * (stop as u32)
        );
        let (s, _) = post(&http, &format!("{url}/api/v1/users"), "", json!({"phone": phone, "password": "crash-test", "name": "赵六", "id_number": id_number(i)}), None).await;
        assert_eq!(s, StatusCode::CREATED);
        let (_, session) = post(
            &http,
            &format!("{url}/api/v1/sessions"),
            "",
            json!({"phone": phone, "password": "crash-test"}),
            None,
        )
        .await;
        let token = session["token"].as_str().unwrap().to_string();
        let (_, card) = post(
            &http,
            &format!("{url}/api/v1/cards"),
            &token,
            json!({"number": "6222020000000000018", "holder_name": "赵六"}),
            None,
        )
        .await;
        let (s, _) = post(
            &http,
            &format!("{url}/api/v1/wallet/top-ups"),
            &token,
            json!({"card_id": card["id"], "amount": 10_000_000}),
            Some("fund"),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
        users.push(token);
    }
    let (s, _) = post(&http, &format!("{url}/sandbox/v1/vehicles"), TOKEN, json!({"plate": "京A12345", "vin": "LSVAM4187C2184847", "owner_name": "赵六", "owner_id_number": id_number(9), "city_code": "110000"}), None).await;
    assert_eq!(s, StatusCode::CREATED);
    let mut numbers = Vec::new();
    for _ in 0..80 {
        let (_, v) = post(&http, &format!("{url}/sandbox/v1/violations"), TOKEN, json!({"city_code": "110000", "plate": "京A12345", "code": "1625", "occurred_at": "2026-11-01T08:00:00Z", "location": "东三环"}), None).await;
        let (_, d) = post(
            &http,
            &format!(
                "{url}/sandbox/v1/violations/{}/decision",
                v["id"].as_str().unwrap()
            ),
            TOKEN,
            json!({}),
            None,
        )
        .await;
        numbers.push(d["decision_number"].as_str().unwrap().to_string());
    }

    // Pay them all at once, 16 at a time; kill the server once some have been acknowledged.
    let acknowledged: Arc<Mutex<Vec<(usize, String, String)>>> = Arc::default();
    let mut tasks = Vec::new();
    for (i, n) in numbers.iter().enumerate() {
        let (http, url, n, ack) = (http.clone(), url.clone(), n.clone(), acknowledged.clone());
        let user = i % users.len();
        let token = users[user].clone();
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis((i / 16) as u64 * 15)).await;
            let body = json!({"decision_number": n, "amount": 20_000, "confirm_plate": "京A12345", "method": {"type": "balance"}});
            let res = http.post(format!("{url}/api/v1/payments")).bearer_auth(&token).header("Idempotency-Key", format!("k{i}")).json(&body).send().await;
            if let Ok(res) = res {
                if res.status() == StatusCode::CREATED {
                    if let Ok(p) = res.json::<Value>().await {
                        ack.lock().unwrap().push((user, n, p["id"].as_str().unwrap().to_string()));
                    }
                }
            }
        }));
    }
    let start = Instant::now();
    while acknowledged.lock().unwrap().len() < 10 && start.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // Payments still outstanding when the signal goes: the stop happens under load.
    let at_signal = acknowledged.lock().unwrap().len();
    assert!(
        at_signal < numbers.len(),
        "the stop came before the load ended"
    );
    match stop {
        Stop::Kill => {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
        }
        Stop::Term => {
            let sent = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .unwrap();
            assert!(sent.success());
            let deadline = Instant::now() + Duration::from_secs(20);
            let status = loop {
                if let Some(status) = child.try_wait().unwrap() {
                    break status;
                }
                assert!(Instant::now() < deadline, "no exit within 20 s of SIGTERM");
                tokio::time::sleep(Duration::from_millis(20)).await;
            };
            assert_eq!(status.code(), Some(0), "a clean stop exits 0");
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 10,
        "load was acknowledged before the kill"
    );
    if stop == Stop::Kill {
        // A clean stop answers what was in flight (possibly all of it); a kill cuts it off.
        assert!(
            acknowledged.len() < numbers.len(),
            "the kill happened mid-load ({} of {})",
            acknowledged.len(),
            numbers.len()
        );
    }
    eprintln!(
        "{at_signal} of {} payments acknowledged when {stop:?} was sent, {} in all",
        numbers.len(),
        acknowledged.len()
    );

    // Restart on the same data directory: sessions, payments, receipts and the outbox are all there.
    let mut child = serve(dir.path(), port, &database);
    wait_healthy(&http, &url).await;
    for (user, number, id) in &acknowledged {
        let token = &users[*user];
        let deadline = Instant::now() + Duration::from_secs(25);
        let payment: Value = loop {
            let p: Value = http
                .get(format!("{url}/api/v1/payments/{id}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if p["authority_status"] == "confirmed" || Instant::now() > deadline {
                break p;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(payment["status"], "succeeded", "{payment}");
        assert_eq!(payment["authority_status"], "confirmed", "{payment}");
        let receipt: Value = http
            .get(format!(
                "{url}/api/v1/receipts/{}",
                payment["receipt_id"].as_str().unwrap()
            ))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let verdict: Value = http
            .post(format!("{url}/api/v1/receipts/verify"))
            .json(&receipt)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(verdict["valid"], true);
        let record: Value = http
            .get(format!("{url}/sandbox/v1/decisions/{number}"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(record["status"], "paid");
        assert_eq!(
            record["payment_id"],
            id.as_str(),
            "the authority took this payment and no other"
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();

    common::assert_ledger_check_passes(&database);
}
