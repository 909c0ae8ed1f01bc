//! Slow clients (slowloris): a connection that never finishes sending its headers is cut off after
//! the header-read timeout, and no more connections are served at once than the cap allows — so a
//! few slow clients cannot hold the server, and the next client is served once they are cut.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use finepay::http_server::ConnectionLimits;
use reqwest::StatusCode;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_never_finish_their_headers_are_cut_off_and_the_next_is_served() {
    let app = TestApp::spawn_with(|c| {
        c.connection_limits = ConnectionLimits {
            header_read_timeout: Duration::from_secs(1),
            max_connections: 4,
        }
    })
    .await;
    let addr = app.url.trim_start_matches("http://").to_string();
    // Four clients take every slot and send half a request each.
    let mut slow = Vec::new();
    for _ in 0..4 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: finepay\r\n")
            .await
            .unwrap();
        slow.push(s);
    }
    // The fifth waits for a slot: it is served only once the slow ones are cut off.
    let started = Instant::now();
    let res = reqwest::Client::new()
        .get(format!("{}/healthz", app.url))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    let waited = started.elapsed();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        waited >= Duration::from_millis(500),
        "served at once ({waited:?}): the connection cap did not hold"
    );
    assert!(waited < Duration::from_secs(8), "waited {waited:?}");
    // Each slow connection was closed by the server (perhaps after a 408).
    for mut s in slow {
        let mut buf = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
        assert!(
            read.is_ok(),
            "a half-sent request still holds its connection"
        );
    }
}
