//! `/metrics` (SPEC §9): Prometheus text that a Prometheus parser reads, with SPEC's series, and a
//! payment counted where it should be.
#![allow(clippy::unwrap_used)]
mod common;

use common::*;
use prometheus_parse::{Scrape, Value};
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

async fn scrape(app: &TestApp) -> Scrape {
    let res = app.get("/metrics", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let kind = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    let text = res.text().await.unwrap();
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap()
}

/// The value of the sample `name` whose labels include `labels` (0 when there is none).
fn value(s: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    s.samples
        .iter()
        .filter(|x| x.metric == name && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .map(|x| match &x.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            Value::Histogram(buckets) => buckets.last().map_or(0.0, |b| b.count),
            Value::Summary(_) => 0.0,
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_and_count_a_payment() {
    let app = TestApp::spawn().await;
    let (user, _) = app.funded_user(500).await;
    let number = app.decision("京A63001", "110000", 0).await;
    let before = scrape(&app).await;
    let paid = |s: &Scrape| {
        value(
            s,
            "finepay_payments_total",
            &[("method", "balance"), ("outcome", "succeeded")],
        )
    };
    let created = |s: &Scrape| {
        value(
            s,
            "finepay_http_requests_total",
            &[("route", "/api/v1/payments"), ("status", "201")],
        )
    };
    let res = app
        .pay(
            &user,
            "m-1",
            &number,
            20_000,
            "京A63001",
            json!({"type": "balance"}),
        )
        .await;
    let (status, payment) = json(res).await;
    assert_eq!(status, StatusCode::CREATED, "{payment}");
    let p = app
        .wait_authority_status(
            &user,
            payment["id"].as_str().unwrap(),
            "confirmed",
            Duration::from_secs(10),
        )
        .await;
    assert_eq!(p["authority_status"], "confirmed");
    // The replay of the same request is not a second payment.
    let res = app
        .pay(
            &user,
            "m-1",
            &number,
            20_000,
            "京A63001",
            json!({"type": "balance"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);

    let after = scrape(&app).await;
    assert_eq!(paid(&after) - paid(&before), 1.0);
    assert!(
        created(&after) - created(&before) >= 2.0,
        "both answers are counted"
    );
    assert!(
        value(
            &after,
            "finepay_authority_notices_total",
            &[("city", "110000"), ("outcome", "confirmed")]
        ) >= 1.0
    );
    // Every series SPEC §9 names is there, the duration as a histogram by route template.
    for name in [
        "finepay_http_requests_total",
        "finepay_payments_total",
        "finepay_refunds_total",
        "finepay_authority_notices_total",
        "finepay_outbox_depth",
    ] {
        assert!(
            after.samples.iter().any(|s| s.metric == name),
            "{name} missing"
        );
    }
    let histogram = after
        .samples
        .iter()
        .find(|s| {
            s.metric == "finepay_http_request_duration_seconds"
                && s.labels.get("route") == Some("/api/v1/payments")
        })
        .expect("the request duration of /api/v1/payments");
    assert!(matches!(&histogram.value, Value::Histogram(b) if b.len() > 5));
    // Raw paths never become series of their own.
    assert!(!after
        .samples
        .iter()
        .any(|s| s.labels.get("route").is_some_and(|r| r.contains(&number))));
    assert!(
        value(
            &after,
            "finepay_outbox_depth",
            &[("kind", "payment_notice")]
        ) >= 0.0
            && after
                .samples
                .iter()
                .filter(|s| s.metric == "finepay_outbox_depth")
                .count()
                == finepay_store::repo::outbox::Kind::ALL.len()
    );
}
