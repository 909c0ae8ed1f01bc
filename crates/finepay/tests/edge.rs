//! The edge behind a reverse proxy (SPEC §10): `X-Forwarded-For`, `-Proto` and `-Host` are
//! believed only from the proxies listed in `--trusted-proxies`.
#![allow(clippy::unwrap_used)]

mod common;

use common::TestApp;
use reqwest::StatusCode;

async fn lookups_until_limited(app: &TestApp, token: &str, number: &str, spoof: bool) -> u32 {
    for i in 0..6u32 {
        let mut req = app
            .http
            .get(format!("{}/api/v1/penalty-decisions/{number}", app.url))
            .bearer_auth(token);
        if spoof {
            // A different client address on every request, as a proxy would forward them.
            req = req.header("x-forwarded-for", format!("203.0.113.{}", 10 + i));
        }
        let res = req.send().await.unwrap();
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            return i;
        }
        assert_eq!(res.status(), StatusCode::OK);
    }
    6
}

#[tokio::test]
async fn x_forwarded_for_is_ignored_from_an_untrusted_peer_and_used_from_a_trusted_one() {
    // Three lookups a minute per client address; the per-user limit stays high.
    let untrusted = TestApp::spawn_with(|c| {
        c.platform.lookup_limits.per_client_per_minute = 3;
    })
    .await;
    let user = untrusted.user().await;
    let number = untrusted.decision("京A70001", "110000", 0).await;
    assert_eq!(
        lookups_until_limited(&untrusted, &user.token, &number, true).await,
        3,
        "a client cannot escape the per-address limit by writing X-Forwarded-For"
    );

    let trusted = TestApp::spawn_with(|c| {
        c.platform.lookup_limits.per_client_per_minute = 3;
        c.trusted_proxies = finepay_http::TrustedProxies::parse("127.0.0.0/8, ::1").unwrap();
    })
    .await;
    let user = trusted.user().await;
    let number = trusted.decision("京A70002", "110000", 0).await;
    assert_eq!(
        lookups_until_limited(&trusted, &user.token, &number, true).await,
        6,
        "behind a trusted proxy each forwarded client has its own limit"
    );
    // Without the header the proxy itself is the client, and is limited.
    assert_eq!(
        lookups_until_limited(&trusted, &user.token, &number, false).await,
        3
    );
}

#[tokio::test]
async fn cookies_are_secure_and_links_https_only_when_a_trusted_proxy_says_so() {
    for (trust, secure) in [(false, false), (true, true)] {
        let app = TestApp::spawn_with(|c| {
            if trust {
                c.trusted_proxies = finepay_http::TrustedProxies::parse("127.0.0.1").unwrap();
            }
        })
        .await;
        let res = app
            .http
            .get(format!("{}/login", app.url))
            .header("x-forwarded-proto", "https")
            .send()
            .await
            .unwrap();
        let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
        assert_eq!(
            cookie.contains("Secure"),
            secure,
            "trusted={trust}: {cookie}"
        );
    }
}

#[tokio::test]
async fn a_sandbox_token_shorter_than_16_characters_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = finepay::ServeConfig::new(dir.path().join("data"));
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.sandbox_token = Some("short".into());
    let err = finepay::start(config).await.err().unwrap().to_string();
    assert!(err.contains("at least 16 characters"), "{err}");
}

#[tokio::test]
async fn the_sandbox_api_refuses_a_wrong_token() {
    let app = TestApp::spawn().await;
    let mut wrong = app.running.sandbox_token.clone();
    wrong.pop();
    let res = app
        .http
        .get(format!("{}/sandbox/v1/decisions/1100000000000015", app.url))
        .bearer_auth(&wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}
