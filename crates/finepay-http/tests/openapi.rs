//! The OpenAPI document is part of the contract: a change to it shows up in review as a change to
//! `openapi.snapshot.json`. Regenerate with `UPDATE_OPENAPI_SNAPSHOT=1 cargo test -p finepay-http --test openapi`.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

#[test]
fn the_openapi_document_matches_its_snapshot() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi.snapshot.json");
    let now = serde_json::to_string_pretty(&finepay_http::openapi_document()).unwrap() + "\n";
    if std::env::var("UPDATE_OPENAPI_SNAPSHOT").is_ok() {
        std::fs::write(&path, &now).unwrap();
    }
    let saved = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        saved == now,
        "the OpenAPI document changed: review it, then UPDATE_OPENAPI_SNAPSHOT=1 cargo test -p finepay-http --test openapi"
    );
}

#[test]
fn every_spec_path_is_documented() {
    let doc = finepay_http::openapi_document();
    for path in [
        "/api/v1/users",
        "/api/v1/sessions",
        "/api/v1/services",
        "/api/v1/penalty-decisions/{number}",
        "/api/v1/payments",
        "/api/v1/receipts/{id}",
        "/api/v1/receipts/{id}/pdf",
        "/api/v1/receipts/verify",
        "/api/v1/vehicles",
        "/api/v1/notifications/stream",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is missing");
    }
    let decision = &doc["components"]["schemas"]["DecisionView"]["properties"];
    assert!(decision.get("plate_bound_to_you").is_some());
}
