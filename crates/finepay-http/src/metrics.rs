//! `/metrics` (SPEC §9) in the Prometheus text format: the `metrics` facade's counters and
//! histograms, recorded by `metrics-exporter-prometheus`, and gauges read at scrape time.
//!
//! | series | where |
//! |---|---|
//! | `finepay_http_requests_total{route,status}` | [`track`], every answer |
//! | `finepay_http_request_duration_seconds{route}` (histogram) | [`track`] |
//! | `finepay_payments_total{method,outcome}` | `finepay-core` payments |
//! | `finepay_refunds_total` | `finepay-core` refunds |
//! | `finepay_authority_notices_total{city,outcome}` | `finepay-core` dispatcher |
//! | `finepay_outbox_depth{kind}` (gauge) | read from the outbox at each scrape |

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

/// Request duration buckets, seconds: 1 ms to 10 s.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process's recorder, installed on first use (one per process: every platform in it, as in
/// the tests, counts into the same series).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("finepay_http_request_duration_seconds".into()),
                BUCKETS,
            )
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics shows only its own");
        }
        describe();
        // Histograms keep their samples until drained; drain them every few seconds, as the
        // exporter's own installer would.
        let keeper = handle.clone();
        let spawned = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || loop {
                std::thread::sleep(std::time::Duration::from_secs(5));
                keeper.run_upkeep();
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the metrics upkeep thread");
        }
        handle
    })
}

fn describe() {
    metrics::describe_counter!(
        "finepay_http_requests_total",
        "HTTP answers by route template and status"
    );
    metrics::describe_histogram!(
        "finepay_http_request_duration_seconds",
        metrics::Unit::Seconds,
        "time to answer, by route template"
    );
    metrics::describe_counter!(
        "finepay_payments_total",
        "payments asked for, by method and outcome"
    );
    metrics::describe_counter!("finepay_refunds_total", "payments refunded");
    metrics::describe_counter!(
        "finepay_authority_notices_total",
        "payment notices sent to authorities, by city and outcome"
    );
    metrics::describe_gauge!(
        "finepay_outbox_depth",
        "outbox rows not yet delivered, by kind"
    );
    // A counter is shown from its first increment; this one starts at zero so that a scrape
    // before the first refund still names it.
    metrics::counter!("finepay_refunds_total").increment(0);
}

/// Middleware: counts and times every answer by its route template (never the raw path, whose
/// ids would make a series per request).
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("finepay_http_requests_total", "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("finepay_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`.
pub async fn render(State(s): State<AppState>) -> Response {
    let handle = handle();
    match s.platform.admin().outbox_depth().await {
        Ok(depths) => {
            for (kind, n) in depths {
                metrics::gauge!("finepay_outbox_depth", "kind" => kind).set(n as f64);
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot read the outbox depth for /metrics"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}
