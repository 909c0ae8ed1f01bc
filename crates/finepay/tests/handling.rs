//! A bound plate's outstanding violations in every city, online handling by the owner, and the
//! licence points it puts on the owner's licence.
#![allow(clippy::unwrap_used)]
mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn record(app: &TestApp, city: &str, plate: &str, code: &str) -> String {
    let (status, v) = app
        .sandbox(reqwest::Method::POST, "/sandbox/v1/violations", Some(json!({"city_code": city, "plate": plate, "code": code, "occurred_at": "2026-11-20T10:00:00Z", "location": "解放碑"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    v["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_handles_a_camera_violation_online_and_gets_the_points() {
    let app = TestApp::spawn().await;
    let owner = app.user().await;
    // The register knows this user as the owner of 川A12345.
    let (status, body) = app
        .sandbox(reqwest::Method::POST, "/sandbox/v1/vehicles", Some(json!({"plate": "川A12345", "vin": "LSVAM4187C2184847", "owner_name": owner.name, "owner_id_number": owner.id_number, "city_code": "510100"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = json(
        app.post(
            "/api/v1/vehicles",
            Some(&owner.token),
            &json!({"plate": "川A12345", "vin_last6": "184847"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let red_light = record(&app, "110000", "川A12345", "1625").await;
    let too_many_points = record(&app, "510100", "川A12345", "1614").await;

    let list = app
        .get_json("/api/v1/vehicles/川A12345/violations", &owner.token)
        .await;
    let items = list["data"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{list}");
    assert_eq!(list["unavailable_cities"], json!([]));
    assert!(items
        .iter()
        .all(|v| v["decision_number"].is_null() && v["plate_masked"] == "川A***45"));

    // 1625: camera-recorded, 200 yuan, 6 points: the owner may handle it online.
    let (status, d) = json(
        app.post(
            &format!("/api/v1/violations/{red_light}/handle"),
            Some(&owner.token),
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{d}");
    assert_eq!(d["status"], "unpaid");
    assert_eq!(d["fine"], 20_000);
    assert_eq!(d["points"], 6);
    assert_eq!(d["city"]["code"], "110000");
    let licence = app.get_json("/api/v1/licence", &owner.token).await;
    assert_eq!(licence["points"], 6, "{licence}");
    assert_eq!(licence["max_points"], 12);

    // 9 points is more than online handling allows.
    let (status, e) = json(
        app.post(
            &format!("/api/v1/violations/{too_many_points}/handle"),
            Some(&owner.token),
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(e["error"]["code"], "online_handling_not_allowed");
    assert_eq!(e["error"]["reason"], "points_over_limit");

    // The handled one is listed with its decision until paid.
    let list = app
        .get_json("/api/v1/vehicles/川A12345/violations", &owner.token)
        .await;
    let handled: Vec<&Value> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["decision_number"] == d["number"])
        .collect();
    assert_eq!(handled.len(), 1);
    assert_eq!(handled[0]["decision_status"], "unpaid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_who_is_not_the_owner_cannot_handle_online() {
    let app = TestApp::spawn().await;
    let relative = app.user().await;
    app.decision("京A12345", "110000", 0).await; // registers 京A12345 to 王小明
    let (status, _) = json(
        app.post(
            "/api/v1/vehicles",
            Some(&relative.token),
            &json!({"plate": "京A12345", "vin_last6": "184847"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = record(&app, "110000", "京A12345", "1625").await;
    let (status, e) = json(
        app.post(
            &format!("/api/v1/violations/{id}/handle"),
            Some(&relative.token),
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(e["error"]["reason"], "not_owner");
    assert!(e["error"]["message"].as_str().unwrap().len() > 10);
    // A plate that is not bound is not listed.
    let res = app
        .get(
            "/api/v1/vehicles/沪A12345/violations",
            Some(&relative.token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}
