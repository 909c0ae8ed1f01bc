//! Each request is logged once, with its id; the id comes back on the response.
#![allow(clippy::unwrap_used)]

mod common;

use common::{free_port, wait_healthy};
use std::io::Read;
use std::process::{Command, Stdio};

#[tokio::test]
async fn each_request_is_logged_once_with_its_id_and_the_id_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_finepay"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--database",
            &format!("sqlite://{}", dir.path().join("finepay.db").display()),
        ])
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    wait_healthy(&http, &url).await;

    let given = http
        .get(format!("{url}/api/v1/services?q=jtwf"))
        .header("X-Request-Id", "req-given-by-the-caller-42")
        .send()
        .await
        .unwrap();
    assert_eq!(
        given.headers()["x-request-id"],
        "req-given-by-the-caller-42",
        "the caller's id comes back"
    );
    let fresh = http
        .get(format!("{url}/api/v1/no-such-thing"))
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), 404);
    let new_id = fresh.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        new_id.len() == 36 && new_id.matches('-').count() == 4,
        "a new id is a UUID: {new_id}"
    );

    // SIGTERM: a graceful stop, so everything logged reaches stderr.
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(child.wait().unwrap().success());
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    let lines = |needle: &str| log.lines().filter(|l| l.contains(needle)).count();
    assert_eq!(
        lines("req-given-by-the-caller-42"),
        1,
        "logged once:\n{log}"
    );
    assert_eq!(lines(&new_id), 1, "logged once:\n{log}");
    let line = log.lines().find(|l| l.contains(&new_id)).unwrap();
    assert!(
        line.contains("status=404") && line.contains("/api/v1/no-such-thing"),
        "{line}"
    );
}
