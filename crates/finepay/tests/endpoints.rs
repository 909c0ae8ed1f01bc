//! SPEC §5 and §10: `finepay sandbox` runs the sandbox authorities and bank as a service of their
//! own and writes `endpoints.toml`; `finepay serve --endpoints` reaches them over HTTP as it would
//! real ones, and mounts no sandbox control API. Two processes, one fine paid end to end.
#![allow(clippy::unwrap_used)]

mod common;

use common::{call, free_port, wait_healthy};

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A hostile (or misrouted) authority of another city, speaking the feed protocol: once the test
/// gives it a number, its feed announces the revocation of that decision (seq 1), which it never
/// issued. Counts the reads that came after that event: the follower applied the page.
struct HostileFeed {
    url: String,
    forged: Arc<Mutex<Option<String>>>,
    armed: Arc<tokio::sync::Notify>,
    read_past: Arc<AtomicUsize>,
}

async fn hostile_feed() -> HostileFeed {
    let forged: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    let armed = Arc::new(tokio::sync::Notify::new());
    let read_past = Arc::new(AtomicUsize::new(0));
    let (f, a, n) = (forged.clone(), armed.clone(), read_past.clone());
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let (forged, armed, read_past) = (f.clone(), a.clone(), n.clone());
        async move {
            if !uri.path().ends_with("/events") {
                return (StatusCode::NOT_FOUND, String::new());
            }
            let query = |name: &str| {
                uri.query()
                    .unwrap_or("")
                    .split('&')
                    .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            let after = query("after");
            if after >= 1 {
                read_past.fetch_add(1, Ordering::SeqCst);
            }
            // A long poll: nothing new is answered when armed or when the wait asked for ends.
            let number = forged.lock().unwrap().clone();
            let number = match number {
                Some(n) => Some(n),
                None => {
                    let wait = Duration::from_millis(query("wait_ms"));
                    let _ = tokio::time::timeout(wait, armed.notified()).await;
                    forged.lock().unwrap().clone()
                }
            };
            let page = match number {
                Some(number) if after < 1 => json!({"city_code": "320500", "next_after": 1,
                    "events": [{"seq": 1, "kind": "decision.revoked", "city_code": "320500",
                        "plate": "京A80001", "violation_id": "v1", "decision_number": number,
                        "at": "2026-11-02T00:00:00Z"}]}),
                _ => json!({"city_code": "320500", "next_after": after, "events": []}),
            };
            (StatusCode::OK, page.to_string())
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/authority/v1/320500",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    HostileFeed {
        url,
        forged,
        armed,
        read_past,
    }
}

const TOKEN: &str = "endpoints-test-sandbox-token";

struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str]) -> Process {
    Process(
        Command::new(env!("CARGO_BIN_EXE_finepay"))
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

async fn poll(http: &Client, url: &str, token: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, v) = call(
            http,
            reqwest::Method::GET,
            url.to_string(),
            token,
            None,
            None,
        )
        .await;
        if done(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "not reached within 20 s: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fine_is_paid_and_refunded_across_a_separate_sandbox_and_platform() {
    let http = Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let sandbox_dir = tempfile::tempdir().unwrap();
    let platform_dir = tempfile::tempdir().unwrap();
    let (sp, pp) = (free_port(), free_port());
    let (sandbox, platform) = (
        format!("http://127.0.0.1:{sp}"),
        format!("http://127.0.0.1:{pp}"),
    );
    let _sandbox = spawn(&[
        "sandbox",
        "--listen",
        &format!("127.0.0.1:{sp}"),
        "--data-dir",
        sandbox_dir.path().to_str().unwrap(),
        "--sandbox-token",
        TOKEN,
    ]);
    wait_healthy(&http, &sandbox).await;
    let endpoints = sandbox_dir.path().join("endpoints.toml");
    assert!(endpoints.exists(), "finepay sandbox writes endpoints.toml");
    // The operator's file names the cities: the platform shows the names it gives, not built-in ones.
    let text = std::fs::read_to_string(&endpoints).unwrap();
    assert!(text.contains("name = \"Beijing\"\n"), "{text}");
    // And a fourth party's city whose feed is hostile (see `hostile_feed`).
    let hostile = hostile_feed().await;
    let hostile_url = hostile.url.clone();
    std::fs::write(
        &endpoints,
        text.replace("name = \"Beijing\"\n", "name = \"Beijing Municipality\"\n")
            + &format!(
                "\n[[city]]\ncode = \"320500\"\nname = \"Suzhou\"\nname_zh = \"苏州\"\n\
                 decision_prefixes = [\"3205\"]\nplate_prefixes = [\"苏E\"]\n\
                 base_url = \"{hostile_url}\"\nhmac_key = \"00112233445566778899aabbccddeeff\"\n"
            ),
    )
    .unwrap();
    let database = common::test_database().unwrap_or_else(|| {
        format!(
            "sqlite://{}",
            platform_dir.path().join("finepay.db").display()
        )
    });
    let _platform = spawn(&[
        "serve",
        "--listen",
        &format!("127.0.0.1:{pp}"),
        "--data-dir",
        platform_dir.path().to_str().unwrap(),
        "--endpoints",
        endpoints.to_str().unwrap(),
        "--database",
        &database,
    ]);
    wait_healthy(&http, &platform).await;

    // The platform mounts no sandbox control API, whatever the token.
    let (status, _) = call(
        &http,
        reqwest::Method::GET,
        format!("{platform}/sandbox/v1/decisions/1100000000000015"),
        TOKEN,
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The authority issues a decision (through the sandbox's own control API).
    let s = |path: &str| format!("{sandbox}{path}");
    let (st, _) = call(&http, reqwest::Method::POST, s("/sandbox/v1/vehicles"), TOKEN, Some(json!({"plate": "京A80001", "vin": "LSVAM4187C2184847", "owner_name": "王小明", "owner_id_number": common::id_number(5), "city_code": "110000"})), None).await;
    assert_eq!(st, StatusCode::CREATED);
    let (_, v) = call(&http, reqwest::Method::POST, s("/sandbox/v1/violations"), TOKEN, Some(json!({"city_code": "110000", "plate": "京A80001", "code": "1625", "occurred_at": "2026-11-01T08:00:00Z", "location": "东三环"})), None).await;
    let (_, d) = call(
        &http,
        reqwest::Method::POST,
        s(&format!(
            "/sandbox/v1/violations/{}/decision",
            v["id"].as_str().unwrap()
        )),
        TOKEN,
        Some(json!({})),
        None,
    )
    .await;
    let number = d["decision_number"].as_str().unwrap().to_string();

    // A citizen pays it on the platform, from a balance topped up by card through the bank.
    let p = |path: &str| format!("{platform}{path}");
    let (st, _) = call(&http, reqwest::Method::POST, p("/api/v1/users"), "", Some(json!({"phone": "13912345678", "password": "correct horse", "name": "李小龙", "id_number": common::id_number(6)})), None).await;
    assert_eq!(st, StatusCode::CREATED);
    let (_, session) = call(
        &http,
        reqwest::Method::POST,
        p("/api/v1/sessions"),
        "",
        Some(json!({"phone": "13912345678", "password": "correct horse"})),
        None,
    )
    .await;
    let token = session["token"].as_str().unwrap().to_string();
    let (st, card) = call(
        &http,
        reqwest::Method::POST,
        p("/api/v1/cards"),
        &token,
        Some(json!({"number": common::CARD_OK, "holder_name": "李小龙"})),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{card}");
    let (st, _) = call(
        &http,
        reqwest::Method::POST,
        p("/api/v1/wallet/top-ups"),
        &token,
        Some(json!({"card_id": card["id"], "amount": 50_000})),
        Some("top"),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, decision) = call(
        &http,
        reqwest::Method::GET,
        p(&format!("/api/v1/penalty-decisions/{number}")),
        &token,
        None,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{decision}");
    assert_eq!(
        decision["city"]["name"], "Beijing Municipality",
        "{decision}"
    );
    assert_eq!(decision["amount_due"], 20_000);
    let (st, paid) = call(&http, reqwest::Method::POST, p("/api/v1/payments"), &token, Some(json!({"decision_number": number, "amount": 20_000, "confirm_plate": "京A80001", "method": {"type": "balance"}})), Some("pay")).await;
    assert_eq!(st, StatusCode::CREATED, "{paid}");
    let id = paid["id"].as_str().unwrap().to_string();

    // The authority records it; a revocation there refunds it on the platform.
    let payment_url = p(&format!("/api/v1/payments/{id}"));
    poll(&http, &payment_url, &token, |v| {
        v["authority_status"] == "confirmed"
    })
    .await;
    let (_, record) = call(
        &http,
        reqwest::Method::GET,
        s(&format!("/sandbox/v1/decisions/{number}")),
        TOKEN,
        None,
        None,
    )
    .await;
    assert_eq!(
        (record["status"].clone(), record["payment_id"].clone()),
        (json!("paid"), json!(id))
    );
    // Another city's feed announces the revocation of this Beijing decision: passed over, no
    // refund of money Beijing still holds.
    *hostile.forged.lock().unwrap() = Some(number.clone());
    hostile.armed.notify_waiters();
    let deadline = Instant::now() + Duration::from_secs(20);
    while hostile.read_past.load(Ordering::SeqCst) < 1 {
        assert!(
            Instant::now() < deadline,
            "the platform never applied the hostile feed's page"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, still) = call(
        &http,
        reqwest::Method::GET,
        payment_url.clone(),
        &token,
        None,
        None,
    )
    .await;
    assert_eq!(
        still["status"], "succeeded",
        "a foreign feed refunded it: {still}"
    );
    let (st, _) = call(
        &http,
        reqwest::Method::POST,
        s(&format!("/sandbox/v1/decisions/{number}/revoke")),
        TOKEN,
        None,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    poll(&http, &payment_url, &token, |v| v["status"] == "refunded").await;
    let (_, wallet) = call(
        &http,
        reqwest::Method::GET,
        p("/api/v1/wallet"),
        &token,
        None,
        None,
    )
    .await;
    assert_eq!(
        wallet["balance"], 50_000,
        "the fine came back to the balance"
    );

    common::assert_ledger_check_passes(&database);
}

#[test]
fn a_bad_endpoints_file_stops_serve_with_the_line_at_fault() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("endpoints.toml");
    std::fs::write(
        &file,
        "[bank]\nbase_url = \"http://127.0.0.1:1\"\n\n[[city]]\ncode = \"110000\"\nname = 3\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_finepay"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            dir.path().join("d").to_str().unwrap(),
            "--endpoints",
            file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("endpoints.toml") && err.contains("line 6"),
        "{err}"
    );
}
