//! Starts a real sandbox bank on 127.0.0.1:0 with its own database in a temporary directory.
#![allow(clippy::unwrap_used)] // tests may unwrap (house rule)

use std::path::{Path, PathBuf};
use std::time::Duration;

use finepay_bank::{Bank, CardLink, HttpBank};
use finepay_sandbox::bank::{self, SandboxBank, SandboxConfig};
use tokio::task::JoinHandle;

pub const APPROVES: &str = "6222020000000000018";
pub const INSUFFICIENT_FUNDS: &str = "6222020000000000026";
pub const REPORTED_LOST: &str = "6222020000000000034";
pub const TIMES_OUT_FIRST: &str = "6222020000000000042";
pub const CONNECT_FAILS_FIRST: &str = "6222020000000000059";
pub const SLOW: &str = "6222020000000000067";

/// A client timeout that every honest answer of a test sandbox beats by far.
pub const CLIENT_TIMEOUT: Duration = Duration::from_millis(800);

/// Delays short enough for tests, ordered as in production: slow < client timeout < timeout delay.
pub fn test_config() -> SandboxConfig {
    SandboxConfig {
        timeout_delay: Duration::from_secs(3),
        slow_delay: Duration::from_millis(300),
    }
}

/// A running sandbox bank; keeps its temporary directory alive.
pub struct TestBank {
    pub url: String,
    pub db_path: PathBuf,
    server: JoinHandle<std::io::Result<()>>,
    dir: Option<tempfile::TempDir>,
}

impl TestBank {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("bank").join("sandbox-bank.db");
        let mut bank = Self::start_at(&db_path).await;
        bank.dir = Some(dir);
        bank
    }

    /// Starts a sandbox on an existing (or new) database file; the caller owns the directory.
    pub async fn start_at(db_path: &Path) -> Self {
        let bank = SandboxBank::open(db_path, test_config()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(bank::serve(bank, listener));
        Self {
            url,
            db_path: db_path.to_owned(),
            server,
            dir: None,
        }
    }

    pub fn client(&self) -> HttpBank {
        self.client_with_timeout(CLIENT_TIMEOUT)
    }

    pub fn client_with_timeout(&self, timeout: Duration) -> HttpBank {
        HttpBank::new(&self.url, timeout)
    }

    /// Stops accepting connections (answers still in flight may finish).
    pub async fn stop(self) -> Option<tempfile::TempDir> {
        self.server.abort();
        let _ = self.server.await;
        self.dir
    }

    pub async fn link(&self, number: &str) -> CardLink {
        self.client()
            .verify_card(number, "Zhang San")
            .await
            .unwrap()
    }

    /// POSTs a charge without the client's retries, to see the sandbox's raw answer.
    pub async fn raw_charge(
        &self,
        reference: &str,
        card_token: &str,
        amount_fen: i64,
    ) -> reqwest::Response {
        let body = serde_json::json!({
            "reference": reference,
            "card_token": card_token,
            "amount_fen": amount_fen,
        });
        self.raw_post("/bank/v1/charges", &body).await
    }

    pub async fn raw_post(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        reqwest::Client::new()
            .post(format!("{}{path}", self.url))
            .json(body)
            .send()
            .await
            .unwrap()
    }
}
