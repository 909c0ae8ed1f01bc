//! Crash rounds: a mixed load (balance, credit and card payments, top-ups, repayments, and
//! revocations that refund) against `finepay serve`, SIGKILLed at a random moment of each of 10
//! rounds and started again on the same data. At the end every acknowledged payment, top-up and
//! repayment is there: each payment with its receipt, its ledger transaction and its notice, each
//! paid decision recorded once at the authority (or refunded, when revoked), and the ledger check
//! green. `FINEPAY_CRASH_ROUNDS` and `FINEPAY_CRASH_SEED` change the rounds and the moments; the
//! seed is printed, so a failing run can be repeated. `scripts/crash-rounds` runs it on both
//! backends.
#![allow(clippy::unwrap_used)]

mod common;

use common::{call, free_port, id_number, serve_process, wait_healthy};
use finepay_store::{params, DbLocation};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOKEN: &str = "crash-rounds-sandbox-token";
const PLATE: &str = "京A12345";
const PER_ROUND: usize = 24;

/// A small deterministic generator (xorshift64*), so a seed names the kill moments.
struct Moments(u64);
impl Moments {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % below.max(1)
    }
}

#[derive(Default)]
struct Acknowledged {
    /// (user, decision number, payment id, method)
    payments: Vec<(usize, String, String, &'static str)>,
    top_ups: Vec<String>,
    repayments: Vec<String>,
    /// Decisions whose revocation the authority acknowledged.
    revoked: BTreeSet<String>,
}

struct User {
    token: String,
    card: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_sigkill_rounds_under_a_mixed_load_lose_nothing() {
    let rounds: usize = std::env::var("FINEPAY_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let seed: u64 = std::env::var("FINEPAY_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("crash rounds: {rounds} rounds, FINEPAY_CRASH_SEED={seed}");
    let mut moments = Moments(seed);

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let http = Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let database = common::test_database()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("finepay.db").display()));
    let mut child = serve_process(dir.path(), port, &database, TOKEN);
    wait_healthy(&http, &url).await;

    // Four funded users with a card each; the decisions every round pays.
    let mut users = Vec::new();
    for i in 0..4u32 {
        let phone = format!("136{:04}{:04}", std::process::id() % 10_000, i);
        let body = json!({"phone": phone, "password": "crash-rounds", "name": "赵六", "id_number": id_number(i)});
        let (s, b) = call(
            &http,
            Method::POST,
            format!("{url}/api/v1/users"),
            "",
            Some(body),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        let body = json!({"phone": phone, "password": "crash-rounds"});
        let (_, session) = call(
            &http,
            Method::POST,
            format!("{url}/api/v1/sessions"),
            "",
            Some(body),
            None,
        )
        .await;
        let token = session["token"].as_str().unwrap().to_string();
        let body = json!({"number": common::CARD_OK, "holder_name": "赵六"});
        let (_, card) = call(
            &http,
            Method::POST,
            format!("{url}/api/v1/cards"),
            &token,
            Some(body),
            None,
        )
        .await;
        let card = card["id"].as_str().unwrap().to_string();
        let body = json!({"card_id": card, "amount": 5_000_000});
        let (s, b) = call(
            &http,
            Method::POST,
            format!("{url}/api/v1/wallet/top-ups"),
            &token,
            Some(body),
            Some("fund"),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        users.push(User { token, card });
    }
    let users = Arc::new(users);
    let vehicle = json!({"plate": PLATE, "vin": "LSVAM4187C2184847", "owner_name": "赵六",
                         "owner_id_number": id_number(9), "city_code": "110000"});
    let (s, _) = call(
        &http,
        Method::POST,
        format!("{url}/sandbox/v1/vehicles"),
        TOKEN,
        Some(vehicle),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let mut numbers = Vec::new();
    for _ in 0..rounds * PER_ROUND {
        let violation = json!({"city_code": "110000", "plate": PLATE, "code": "1625",
                               "occurred_at": "2026-11-01T08:00:00Z", "location": "东三环"});
        let (_, v) = call(
            &http,
            Method::POST,
            format!("{url}/sandbox/v1/violations"),
            TOKEN,
            Some(violation),
            None,
        )
        .await;
        let (_, d) = call(
            &http,
            Method::POST,
            format!(
                "{url}/sandbox/v1/violations/{}/decision",
                v["id"].as_str().unwrap()
            ),
            TOKEN,
            Some(json!({})),
            None,
        )
        .await;
        numbers.push(d["decision_number"].as_str().unwrap().to_string());
    }

    let acknowledged: Arc<Mutex<Acknowledged>> = Arc::default();
    for round in 0..rounds {
        let batch = numbers[round * PER_ROUND..(round + 1) * PER_ROUND].to_vec();
        let earlier: Vec<String> = {
            let ack = acknowledged.lock().unwrap();
            ack.payments
                .iter()
                .map(|(_, n, _, _)| n.clone())
                .filter(|n| !ack.revoked.contains(n))
                .collect()
        };
        let finished = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for (i, number) in batch.into_iter().enumerate() {
            let (http, url, users, ack) = (
                http.clone(),
                url.clone(),
                users.clone(),
                acknowledged.clone(),
            );
            tasks.push(tokio::spawn(counted(finished.clone(), async move {
                let user = i % users.len();
                let (method, name) = match i % 3 {
                    0 => (json!({"type": "balance"}), "balance"),
                    1 => (json!({"type": "credit"}), "credit"),
                    _ => (json!({"type": "card", "card_id": users[user].card}), "card"),
                };
                let body = json!({"decision_number": number, "amount": 20_000, "confirm_plate": PLATE, "method": method});
                let res = http
                    .post(format!("{url}/api/v1/payments"))
                    .bearer_auth(&users[user].token)
                    .header("Idempotency-Key", format!("pay-{number}"))
                    .json(&body)
                    .send()
                    .await;
                if let Some(p) = created(res).await {
                    if p["status"] == "succeeded" {
                        let id = p["id"].as_str().unwrap().to_string();
                        ack.lock().unwrap().payments.push((user, number, id, name));
                    }
                }
            })));
        }
        for i in 0..6usize {
            let (http, url, users, ack) = (
                http.clone(),
                url.clone(),
                users.clone(),
                acknowledged.clone(),
            );
            tasks.push(tokio::spawn(counted(finished.clone(), async move {
                let user = &users[i % users.len()];
                let (path, body) = if i % 2 == 0 {
                    (
                        "wallet/top-ups",
                        json!({"card_id": user.card, "amount": 10_000}),
                    )
                } else {
                    (
                        "credit/repayments",
                        json!({"amount": 100, "source": {"type": "balance"}}),
                    )
                };
                let res = http
                    .post(format!("{url}/api/v1/{path}"))
                    .bearer_auth(&user.token)
                    .header("Idempotency-Key", format!("{path}-{round}-{i}"))
                    .json(&body)
                    .send()
                    .await;
                if let Some(v) = created(res).await {
                    if v["status"] == "succeeded" {
                        let id = v["id"].as_str().unwrap().to_string();
                        let mut ack = ack.lock().unwrap();
                        if i % 2 == 0 {
                            ack.top_ups.push(id)
                        } else {
                            ack.repayments.push(id)
                        }
                    }
                }
            })));
        }
        // Two decisions paid in earlier rounds are revoked: the platform refunds them.
        for number in earlier.into_iter().rev().take(2) {
            let (http, url, ack) = (http.clone(), url.clone(), acknowledged.clone());
            tasks.push(tokio::spawn(counted(finished.clone(), async move {
                let res = http
                    .post(format!("{url}/sandbox/v1/decisions/{number}/revoke"))
                    .bearer_auth(TOKEN)
                    .send()
                    .await;
                if res.is_ok_and(|r| r.status() == StatusCode::OK) {
                    ack.lock().unwrap().revoked.insert(number);
                }
            })));
        }
        // The kill comes at a random moment inside the load: once a random number of its requests
        // (at most half) are answered.
        let kill_after = 1 + moments.next(tasks.len() as u64 / 2) as usize;
        let deadline = Instant::now() + Duration::from_secs(60);
        while finished.load(Ordering::SeqCst) < kill_after {
            assert!(
                Instant::now() < deadline,
                "the load stalled before the kill"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        for t in tasks {
            t.await.unwrap();
        }
        {
            let ack = acknowledged.lock().unwrap();
            eprintln!(
                "round {round}: killed; acknowledged so far: {} payments, {} top-ups, {} repayments, {} revocations",
                ack.payments.len(),
                ack.top_ups.len(),
                ack.repayments.len(),
                ack.revoked.len()
            );
        }
        child = serve_process(dir.path(), port, &database, TOKEN);
        wait_healthy(&http, &url).await;
    }

    // Everything acknowledged is there, and settles.
    let ack = std::mem::take(&mut *acknowledged.lock().unwrap());
    assert!(
        !ack.payments.is_empty(),
        "no payment was acknowledged in {rounds} rounds"
    );
    let (mut present, mut refunded) = (0, 0);
    for (user, number, id, method) in &ack.payments {
        let token = &users[*user].token;
        // A revocation cut off by the kill may still have happened: the authority's record says.
        let (_, record) = call(
            &http,
            Method::GET,
            format!("{url}/sandbox/v1/decisions/{number}"),
            TOKEN,
            None,
            None,
        )
        .await;
        let revoked = record["status"] == "revoked";
        if ack.revoked.contains(number) {
            assert!(revoked, "an acknowledged revocation holds: {record}");
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        let payment = loop {
            let (_, p) = call(
                &http,
                Method::GET,
                format!("{url}/api/v1/payments/{id}"),
                token,
                None,
                None,
            )
            .await;
            let settled = if revoked {
                p["status"] == "refunded"
            } else {
                p["authority_status"] == "confirmed"
            };
            if settled || Instant::now() > deadline {
                break p;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        if revoked {
            assert_eq!(
                payment["status"], "refunded",
                "revoked, so refunded: {payment}"
            );
            refunded += 1;
        } else {
            assert_eq!(payment["status"], "succeeded", "{method}: {payment}");
            assert_eq!(
                payment["authority_status"], "confirmed",
                "{method}: {payment}"
            );
            let (_, record) = call(
                &http,
                Method::GET,
                format!("{url}/sandbox/v1/decisions/{number}"),
                TOKEN,
                None,
                None,
            )
            .await;
            assert_eq!(record["status"], "paid", "{record}");
            assert_eq!(
                record["payment_id"],
                id.as_str(),
                "the authority took this payment and no other"
            );
        }
        let receipt_id = payment["receipt_id"].as_str().unwrap();
        let (_, receipt) = call(
            &http,
            Method::GET,
            format!("{url}/api/v1/receipts/{receipt_id}"),
            token,
            None,
            None,
        )
        .await;
        let (_, verdict) = call(
            &http,
            Method::POST,
            format!("{url}/api/v1/receipts/verify"),
            "",
            Some(receipt),
            None,
        )
        .await;
        assert_eq!(verdict["valid"], true, "the receipt of {id} verifies");
        present += 1;
    }
    child.kill().unwrap();
    child.wait().unwrap();

    // In the database: each acknowledged payment with its ledger transaction and its notice, each
    // top-up and repayment succeeded.
    // (On a thread of its own: the PostgreSQL client blocks.)
    let ack = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let conn = DbLocation::parse(&database).unwrap().connect().unwrap();
                for (_, _, id, _) in &ack.payments {
                    let row = conn
                        .query_one(
                            "SELECT (SELECT COUNT(*) FROM ledger_transactions t JOIN payments p ON t.id = p.ledger_tx_id WHERE p.id = $1) AS txs,
                                    (SELECT COUNT(*) FROM outbox WHERE kind = 'payment_notice' AND payment_id = $1) AS notices",
                            params![id.as_str()],
                        )
                        .unwrap();
                    assert_eq!(
                        row.int("txs").unwrap(),
                        1,
                        "payment {id} has its ledger transaction"
                    );
                    assert_eq!(
                        row.int("notices").unwrap(),
                        1,
                        "payment {id} has its notice"
                    );
                }
                for (table, ids) in [
                    ("top_ups", &ack.top_ups),
                    ("credit_repayments", &ack.repayments),
                ] {
                    for id in ids {
                        let row = conn
                            .query_one(
                                &format!("SELECT status, ledger_tx_id FROM {table} WHERE id = $1"),
                                params![id.as_str()],
                            )
                            .unwrap();
                        assert_eq!(row.text("status").unwrap(), "succeeded", "{table} {id}");
                        assert!(
                            row.opt_text("ledger_tx_id").unwrap().is_some(),
                            "{table} {id}"
                        );
                    }
                }
                ack
            })
            .join()
            .unwrap()
    });
    let acknowledged_total = ack.payments.len() + ack.top_ups.len() + ack.repayments.len();
    let present_total = present + ack.top_ups.len() + ack.repayments.len();
    eprintln!(
        "crash rounds (seed {seed}): acknowledged {acknowledged_total} ({} payments, {} top-ups, {} repayments, {refunded} refunded after a revocation), present {present_total}",
        ack.payments.len(),
        ack.top_ups.len(),
        ack.repayments.len(),
    );
    assert_eq!(present_total, acknowledged_total);
    common::assert_ledger_check_passes(&database);
}

/// `f`, counted in `done` once it has finished.
async fn counted(done: Arc<AtomicUsize>, f: impl std::future::Future<Output = ()>) {
    f.await;
    done.fetch_add(1, Ordering::SeqCst);
}

/// The JSON of a 201 answer; `None` for anything else (a refusal, or a connection the kill cut).
async fn created(res: Result<reqwest::Response, reqwest::Error>) -> Option<Value> {
    let res = res.ok()?;
    if res.status() != StatusCode::CREATED {
        return None;
    }
    res.json().await.ok()
}
