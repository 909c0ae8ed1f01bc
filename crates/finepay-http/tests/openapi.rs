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

#[test]
fn every_secured_operation_documents_its_401_and_every_error_its_envelope() {
    let doc = finepay_http::openapi_document();
    let codes = doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]
        ["enum"]
        .as_array()
        .unwrap()
        .clone();
    assert!(codes.contains(&serde_json::json!("decision_not_found")));
    let mut secured = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
                secured += 1;
                assert!(
                    responses.contains_key("401"),
                    "{method} {path} lacks its 401"
                );
            }
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        response["content"].get("application/json").is_some(),
                        "{method} {path} {status} has no body schema"
                    );
                }
            }
        }
    }
    assert!(secured >= 20);
}
