//! A sandbox authority on 127.0.0.1:0 with a fresh database, and helpers to drive it.
#![allow(dead_code, clippy::unwrap_used)]

use chrono::{Days, NaiveDate, Utc};
use finepay_authority::HttpAuthority;
use finepay_sandbox::authority::{today_in_shanghai, SandboxAuthority, SandboxConfig};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

pub const SECRET: &[u8] = b"test-shared-secret";
pub const BEIJING: &str = "110000";
pub const SHANGHAI: &str = "310000";
pub const PLATE: &str = "京A12345";
pub const OWNER_ID: &str = "11010519491231002X";

pub struct TestSandbox {
    pub base_url: String,
    pub sandbox: SandboxAuthority,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
}

pub fn config(slow_delay: Duration) -> SandboxConfig {
    SandboxConfig {
        secret: SECRET.to_vec(),
        slow_delay,
    }
}

pub async fn start() -> TestSandbox {
    start_with(config(Duration::from_millis(300))).await
}

pub async fn start_with(config: SandboxConfig) -> TestSandbox {
    let dir = tempfile::tempdir().unwrap();
    serve(dir, config).await
}

/// Serve the sandbox whose database lives in `dir` (reopening it if it exists).
pub async fn serve(dir: tempfile::TempDir, config: SandboxConfig) -> TestSandbox {
    let sandbox = SandboxAuthority::open(&db_path(&dir), config).unwrap();
    let app = sandbox.protocol_router().merge(sandbox.control_router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    TestSandbox {
        base_url: format!("http://{addr}"),
        sandbox,
        http: reqwest::Client::new(),
        dir,
    }
}

pub fn db_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("sandbox-authority.db")
}

pub fn days_ago(days: u64) -> NaiveDate {
    today_in_shanghai()
        .checked_sub_days(Days::new(days))
        .unwrap()
}

impl TestSandbox {
    /// The platform's view of one city's authority.
    pub fn authority(&self, city: &str) -> HttpAuthority {
        self.authority_with(city, SECRET, Duration::from_secs(5))
    }

    pub fn authority_with(&self, city: &str, secret: &[u8], timeout: Duration) -> HttpAuthority {
        HttpAuthority::new(
            &format!("{}/authority/v1/{city}", self.base_url),
            secret,
            timeout,
        )
    }

    pub async fn control(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base_url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, json)
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.control(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.control(reqwest::Method::GET, path, None).await
    }

    pub async fn set_mode(&self, city: &str, mode: &str) {
        let (status, body) = self
            .control(
                reqwest::Method::PUT,
                &format!("/sandbox/v1/authorities/{city}/mode"),
                Some(json!({ "mode": mode })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    pub async fn register(&self, plate: &str, city: &str) {
        let (status, body) = self
            .post(
                "/sandbox/v1/vehicles",
                json!({
                    "plate": plate,
                    "vin": "LSVAU2180N2183294",
                    "owner_name": "张三丰",
                    "owner_id_number": OWNER_ID,
                    "city_code": city,
                }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }

    pub async fn violate(&self, plate: &str, city: &str, code: &str) -> String {
        let (status, body) = self
            .post(
                "/sandbox/v1/violations",
                json!({
                    "city_code": city,
                    "plate": plate,
                    "code": code,
                    "occurred_at": Utc::now().to_rfc3339(),
                    "location": "长安街与西单北大街交叉口",
                }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["status"], "recorded");
        body["id"].as_str().unwrap().to_owned()
    }

    pub async fn decide(&self, violation_id: &str, issued_on: Option<NaiveDate>) -> Value {
        let body = match issued_on {
            Some(d) => json!({ "issued_on": d.to_string() }),
            None => json!({}),
        };
        let (status, body) = self
            .post(
                &format!("/sandbox/v1/violations/{violation_id}/decision"),
                body,
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }

    /// A Beijing red-light decision for 京A12345, served on `issued_on` (default today).
    pub async fn red_light_decision(&self, issued_on: Option<NaiveDate>) -> String {
        self.register(PLATE, BEIJING).await;
        let id = self.violate(PLATE, BEIJING, "1625").await;
        let issued = self.decide(&id, issued_on).await;
        issued["decision_number"].as_str().unwrap().to_owned()
    }
}
