//! The test app: the real finepay server (real SQLite file, real HTTP between platform, sandbox
//! authority and sandbox bank) started on a random port in a temporary data directory. When a test
//! ends, `finepay ledger check`'s invariants must hold on its database.
#![allow(dead_code, clippy::unwrap_used)]

use finepay::{Running, ServeConfig};
use finepay_store::DbLocation;
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

pub const CARD_OK: &str = "6222020000000000018";
pub const CARD_NO_FUNDS: &str = "6222020000000000026";
pub const CARD_LOST: &str = "6222020000000000034";
pub const CARD_TIMEOUT_AFTER_TAKING: &str = "6222020000000000042";
pub const CARD_CANNOT_CONNECT: &str = "6222020000000000059";
pub const CARD_SLOW: &str = "6222020000000000067";

pub struct TestApp {
    pub running: Running,
    running_database: Option<String>,
    pub url: String,
    pub http: Client,
    pub dir: tempfile::TempDir,
}

/// A signed-in user of the test app.
#[derive(Clone)]
pub struct User {
    pub id: String,
    pub phone: String,
    pub token: String,
    pub name: String,
    pub id_number: String,
}

static SEQ: AtomicU32 = AtomicU32::new(0);

/// With `FINEPAY_TEST_POSTGRES=postgres://USER@HOST:PORT` set, every test app gets its own fresh
/// PostgreSQL database on that server; otherwise its own SQLite file.
pub fn test_database() -> Option<String> {
    let base = std::env::var("FINEPAY_TEST_POSTGRES").ok()?;
    let name = format!(
        "fp_t_{}_{}_{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed),
        rand_suffix()
    );
    std::thread::spawn({
        let name = name.clone();
        let base = base.clone();
        move || {
            let admin = finepay_store::PgConn::connect(&format!("{base}/postgres")).unwrap();
            finepay_store::Sql::batch(&admin, &format!("CREATE DATABASE {name}")).unwrap();
        }
    })
    .join()
    .unwrap();
    Some(format!("{base}/{name}"))
}

fn rand_suffix() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    nanos % 100_000
}

/// A fresh phone number per call within this test binary (process id keeps binaries apart).
pub fn unique_phone() -> String {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    format!("139{:04}{:04}", std::process::id() % 10_000, n % 10_000)
}

/// A valid 18-character resident ID number (GB 11643 check digit) for a serial.
pub fn id_number(serial: u32) -> String {
    let body = format!("110105199001{:02}{:03}", 1 + serial % 28, serial % 1000);
    let body = &body[..17];
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .chars()
        .zip(W)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(adjust: impl FnOnce(&mut ServeConfig)) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServeConfig::new(dir.path().join("data"));
        config.database = test_database();
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.authority_timeout = Duration::from_secs(3);
        config.bank_timeout = Duration::from_secs(3);
        config.sandbox_slow_delay = Duration::from_secs(5);
        config.sandbox_bank_timeout_delay = Duration::from_secs(4);
        config.platform.resolve_after = Duration::from_secs(2);
        config.platform.lookup_limits.per_user_per_minute = 10_000;
        config.platform.lookup_limits.per_client_per_minute = 100_000;
        adjust(&mut config);
        let running_database = config.database.clone();
        let running = finepay::start(config).await.unwrap();
        let url = running.url();
        TestApp {
            running,
            running_database,
            url,
            http: Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            dir,
        }
    }

    /// The platform database of this app, as a URL for `--database`.
    pub fn db_url(&self) -> String {
        match self.db_location() {
            DbLocation::Sqlite(path) => format!("sqlite://{}", path.display()),
            DbLocation::Postgres(url) => url,
        }
    }

    pub fn db_location(&self) -> DbLocation {
        finepay::database_location(
            self.running_database.as_deref(),
            &self.dir.path().join("data"),
        )
        .unwrap()
    }

    /// Runs `f` on a connection to the platform database (on a thread of its own: the PostgreSQL
    /// client blocks), for tests that inspect or tamper with rows.
    pub fn with_db<T: Send>(&self, f: impl FnOnce(&dyn finepay_store::Sql) -> T + Send) -> T {
        let location = self.db_location();
        std::thread::scope(|s| {
            s.spawn(move || f(location.connect().unwrap().as_ref()))
                .join()
                .unwrap()
        })
    }

    pub fn assert_ledger_ok(&self) {
        let location = self.db_location();
        let (_, findings) = std::thread::scope(|s| {
            s.spawn(|| finepay::offline::ledger_check(&location).unwrap())
                .join()
                .unwrap()
        });
        assert!(findings.is_empty(), "ledger check failed: {findings:#?}");
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        let mut req = self.http.post(format!("{}{path}", self.url)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    pub async fn post_idem(&self, path: &str, token: &str, key: &str, body: &Value) -> Response {
        self.http
            .post(format!("{}{path}", self.url))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut req = self.http.get(format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    pub async fn get_json(&self, path: &str, token: &str) -> Value {
        let res = self.get(path, Some(token)).await;
        assert_eq!(res.status(), StatusCode::OK, "GET {path}");
        res.json().await.unwrap()
    }

    pub async fn sandbox(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.running.sandbox_token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let body = res.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// Registers and signs in a new user with a real name in Chinese.
    pub async fn user(&self) -> User {
        let phone = unique_phone();
        let serial = SEQ.fetch_add(1, Ordering::Relaxed);
        let id_number = id_number(serial);
        let name = "李小龙".to_string();
        let res = self
            .post("/api/v1/users", None, &json!({"phone": phone, "password": "correct horse", "name": name, "id_number": id_number}))
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "{:?}", res.text().await);
        let created: Value = res.json().await.unwrap();
        let res = self
            .post(
                "/api/v1/sessions",
                None,
                &json!({"phone": phone, "password": "correct horse"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let session: Value = res.json().await.unwrap();
        User {
            id: created["id"].as_str().unwrap().to_string(),
            phone,
            token: session["token"].as_str().unwrap().to_string(),
            name,
            id_number,
        }
    }

    pub async fn link_card(&self, user: &User, number: &str) -> String {
        let res = self
            .post(
                "/api/v1/cards",
                Some(&user.token),
                &json!({"number": number, "holder_name": user.name}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "{:?}", res.text().await);
        let card: Value = res.json().await.unwrap();
        card["id"].as_str().unwrap().to_string()
    }

    /// A user with a linked approving card and `yuan` in the wallet.
    pub async fn funded_user(&self, yuan: i64) -> (User, String) {
        let user = self.user().await;
        let card = self.link_card(&user, CARD_OK).await;
        let res = self
            .post_idem(
                "/api/v1/wallet/top-ups",
                &user.token,
                &format!("top-{}", user.id),
                &json!({"card_id": card, "amount": yuan * 100}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "{:?}", res.text().await);
        (user, card)
    }

    pub async fn balance(&self, user: &User) -> i64 {
        self.get_json("/api/v1/wallet", &user.token).await["balance"]
            .as_i64()
            .unwrap()
    }

    /// Registers a vehicle, records a red-light violation (1625) and issues a decision served
    /// `days_ago` days ago. Returns the decision number.
    pub async fn decision(&self, plate: &str, city: &str, days_ago: i64) -> String {
        self.register_vehicle(plate, city).await;
        let (status, v) = self
            .sandbox(
                reqwest::Method::POST,
                "/sandbox/v1/violations",
                Some(json!({"city_code": city, "plate": plate, "code": "1625",
                            "occurred_at": "2026-01-05T08:30:00Z", "location": "长安街与王府井大街交叉口"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
        let issued_on = finepay_core::today_in_china() - chrono::Duration::days(days_ago);
        let (status, d) = self
            .sandbox(
                reqwest::Method::POST,
                &format!(
                    "/sandbox/v1/violations/{}/decision",
                    v["id"].as_str().unwrap()
                ),
                Some(json!({"issued_on": issued_on.to_string()})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{d}");
        d["decision_number"].as_str().unwrap().to_string()
    }

    pub async fn set_mode(&self, city: &str, mode: &str) {
        let (status, body) = self
            .sandbox(
                reqwest::Method::PUT,
                &format!("/sandbox/v1/authorities/{city}/mode"),
                Some(json!({"mode": mode})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    pub async fn authority_record(&self, number: &str) -> Value {
        let (status, body) = self
            .sandbox(
                reqwest::Method::GET,
                &format!("/sandbox/v1/decisions/{number}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    pub async fn pay(
        &self,
        user: &User,
        key: &str,
        number: &str,
        amount: i64,
        plate: &str,
        method: Value,
    ) -> Response {
        self.post_idem(
            "/api/v1/payments",
            &user.token,
            key,
            &json!({"decision_number": number, "amount": amount, "confirm_plate": plate, "method": method}),
        )
        .await
    }

    /// Polls a payment until its authority status is `want` or `within` passes.
    pub async fn wait_authority_status(
        &self,
        user: &User,
        payment_id: &str,
        want: &str,
        within: Duration,
    ) -> Value {
        let start = std::time::Instant::now();
        loop {
            let p = self
                .get_json(&format!("/api/v1/payments/{payment_id}"), &user.token)
                .await;
            if p["authority_status"] == want || start.elapsed() > within {
                return p;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl TestApp {
    /// Once the authority has confirmed the payment, revokes its decision in the sandbox and waits
    /// (up to 10 s) until the platform has refunded the payment.
    pub async fn revoke_and_wait_refunded(
        &self,
        user: &User,
        payment_id: &str,
        number: &str,
    ) -> Value {
        self.wait_authority_status(user, payment_id, "confirmed", Duration::from_secs(10))
            .await;
        let (status, body) = self
            .sandbox(
                reqwest::Method::POST,
                &format!("/sandbox/v1/decisions/{number}/revoke"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let p = self
                .get_json(&format!("/api/v1/payments/{payment_id}"), &user.token)
                .await;
            if p["status"] == "refunded" {
                return p;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "not refunded within 10 s: {p}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.assert_ledger_ok();
        }
    }
}

pub async fn json(res: Response) -> (StatusCode, Value) {
    let status = res.status();
    let body = res.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// A port nothing listens on right now (for a server started as a process of its own).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits (up to 20 s) until `url/healthz` answers 200.
pub async fn wait_healthy(http: &Client, url: &str) {
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if let Ok(r) = http.get(format!("{url}/healthz")).send().await {
            if r.status() == StatusCode::OK {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} did not start within 20 s");
}

/// One API call with an optional body and Idempotency-Key: the status and the JSON answer.
pub async fn call(
    http: &Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
    key: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = http.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// `finepay ledger check --database URL`, as an operator would run it: must exit 0.
pub fn assert_ledger_check_passes(database: &str) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_finepay"))
        .args(["ledger", "check", "--database", database])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `finepay serve` as a process of its own on `port` (so a test can SIGKILL it), with the sandbox
/// authorities and bank in process under the control token `sandbox_token`.
pub fn serve_process(
    dir: &std::path::Path,
    port: u16,
    database: &str,
    sandbox_token: &str,
) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_finepay"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
            dir.to_str().unwrap(),
            "--sandbox-token",
            sandbox_token,
            "--database",
            database,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// Polls `check` every 50 ms until it answers `Some`, and fails the test, naming `what` and the
/// last thing seen, when `within` passes first: a wait for a condition, never for a time.
pub async fn wait_for<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = std::time::Instant::now() + within;
    loop {
        match check().await {
            Ok(v) => return v,
            Err(last) if std::time::Instant::now() >= deadline => {
                panic!("{what}: not within {within:?}; last seen: {last}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

impl TestApp {
    /// Puts `plate` in `city`'s vehicle register (the VIN ends 184847) if it is not there yet.
    pub async fn register_vehicle(&self, plate: &str, city: &str) {
        let (status, body) = self
            .sandbox(
                reqwest::Method::POST,
                "/sandbox/v1/vehicles",
                Some(
                    json!({"plate": plate, "vin": "LSVAM4187C2184847", "owner_name": "王小明",
                            "owner_id_number": id_number(7), "city_code": city}),
                ),
            )
            .await;
        assert!(
            status == StatusCode::CREATED || status == StatusCode::CONFLICT,
            "{status} {body}"
        );
    }

    /// A new user who bound `plate` of `city` (registered first).
    pub async fn bound_user(&self, plate: &str, city: &str) -> User {
        self.register_vehicle(plate, city).await;
        let user = self.user().await;
        let (status, body) = json(
            self.post(
                "/api/v1/vehicles",
                Some(&user.token),
                &json!({"plate": plate, "vin_last6": "184847"}),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        user
    }

    /// The authority records a red-light violation of `plate` in `city`.
    pub async fn record_violation(&self, plate: &str, city: &str) {
        let (status, body) = self
            .sandbox(
                reqwest::Method::POST,
                "/sandbox/v1/violations",
                Some(json!({"city_code": city, "plate": plate, "code": "1625",
                            "occurred_at": "2026-11-20T08:30:00Z", "location": "人民路"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    /// The user's inbox (up to 200), newest first.
    pub async fn inbox(&self, user: &User) -> Vec<Value> {
        self.get_json("/api/v1/notifications?limit=200", &user.token)
            .await["data"]
            .as_array()
            .unwrap()
            .clone()
    }
}

/// One server-sent event: (id, event, data).
pub type SseEvent = (String, String, String);

/// Reads a stream's events as they come, keeping what arrived past the last whole event.
pub struct Sse {
    body: std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<axum::body::Bytes>> + Send>>,
    buffer: String,
}

impl Sse {
    /// `GET {url}/api/v1/notifications/stream` as `token`, resuming after `last_event_id`.
    pub async fn open(http: &Client, url: &str, token: &str, last_event_id: Option<&str>) -> Sse {
        let mut req = http
            .get(format!("{url}/api/v1/notifications/stream"))
            .bearer_auth(token);
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        Sse {
            body: Box::pin(res.bytes_stream()),
            buffer: String::new(),
        }
    }

    /// The next event (keep-alive comments skipped), within 10 s.
    pub async fn next(&mut self) -> SseEvent {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let field = |name: &str| {
                    block
                        .lines()
                        .find_map(|l| l.strip_prefix(name))
                        .map(|v| v.trim_start().to_owned())
                };
                if let (Some(id), Some(event), Some(data)) =
                    (field("id:"), field("event:"), field("data:"))
                {
                    return (id, event, data);
                }
                continue;
            }
            let chunk = tokio::time::timeout_at(deadline, futures::StreamExt::next(&mut self.body))
                .await
                .expect("no event within 10 s")
                .expect("the stream ended")
                .unwrap();
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}
