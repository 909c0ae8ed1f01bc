//! SPEC §3: `/healthz` says the process lives; `/readyz` says the database answers a read and the
//! writer commits a job.
#![allow(clippy::unwrap_used)]
mod common;

use common::*;
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_answers_ready_when_the_database_and_the_writer_serve() {
    let app = TestApp::spawn().await;
    let (status, body) = json(app.get("/healthz", None).await).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let (status, body) = json(app.get("/readyz", None).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, serde_json::json!({"status": "ready"}));
}
