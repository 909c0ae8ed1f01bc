//! The sandbox control API of SPEC §4, over HTTP.
#![allow(clippy::unwrap_used)]

#[path = "authority_kit/mod.rs"]
mod common;

use common::*;
use finepay_authority::{Authority, NoticeOutcome, PaymentNotice};
use finepay_sandbox::authority::{Mode, SandboxAuthority};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn registering_a_vehicle_echoes_it_with_the_plate_normalised() {
    let t = start().await;
    let (status, body) = t
        .post(
            "/sandbox/v1/vehicles",
            json!({"plate": "京a·123 45", "vin": "lsvau2180n2183294", "owner_name": "张三丰",
                   "owner_id_number": OWNER_ID, "city_code": BEIJING}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["plate"], "京A12345");
    assert_eq!(body["vin"], "LSVAU2180N2183294");
    assert_eq!(body["city_code"], BEIJING);
}

#[tokio::test]
async fn registering_the_same_vehicle_twice_is_harmless_but_other_details_conflict() {
    let t = start().await;
    t.register(PLATE, BEIJING).await;
    t.register(PLATE, BEIJING).await;
    let (status, body) = t
        .post(
            "/sandbox/v1/vehicles",
            json!({"plate": PLATE, "vin": "LSVAU2180N2183295", "owner_name": "李四",
                   "owner_id_number": OWNER_ID, "city_code": BEIJING}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "vehicle_conflict");
}

#[tokio::test]
async fn a_bad_plate_is_invalid_plate_and_a_bad_field_is_named() {
    let t = start().await;
    let vehicle = |plate: &str, vin: &str, city: &str| json!({"plate": plate, "vin": vin, "owner_name": "张三丰", "owner_id_number": OWNER_ID, "city_code": city});
    let (status, body) = t
        .post(
            "/sandbox/v1/vehicles",
            vehicle("京I12345", "LSVAU2180N2183294", BEIJING),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_plate"))
    );
    let (status, body) = t
        .post("/sandbox/v1/vehicles", vehicle(PLATE, "SHORT", BEIJING))
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("vin"))
    );
    let (status, body) = t
        .post(
            "/sandbox/v1/vehicles",
            vehicle(PLATE, "LSVAU2180N2183294", "120000"),
        )
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("city_code"))
    );
    let (status, body) = t
        .post("/sandbox/v1/vehicles", json!({"plate": PLATE}))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_request"))
    );
    assert_eq!(body["error"]["field"], "vin");
}

#[tokio::test]
async fn a_vehicle_whose_plate_prefix_is_not_its_citys_is_refused() {
    let t = start().await;
    let (status, body) = t
        .post(
            "/sandbox/v1/vehicles",
            json!({"plate": "粤B12345", "vin": "LSVAU2180N2183294", "owner_name": "张三丰",
                   "owner_id_number": OWNER_ID, "city_code": "440100"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "plate_city_mismatch");
}

#[tokio::test]
async fn a_violation_needs_a_registered_plate_a_catalogue_code_and_a_time() {
    let t = start().await;
    let violation = |plate: &str, code: &str, at: &str| json!({"city_code": BEIJING, "plate": plate, "code": code, "occurred_at": at, "location": "西单"});
    let now = "2025-03-01T08:30:00+08:00";
    let (status, body) = t
        .post("/sandbox/v1/violations", violation(PLATE, "1625", now))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("vehicle_not_registered"))
    );
    t.register(PLATE, BEIJING).await;
    let (status, body) = t
        .post("/sandbox/v1/violations", violation(PLATE, "9999", now))
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("code"))
    );
    let (status, body) = t
        .post(
            "/sandbox/v1/violations",
            violation(PLATE, "1625", "yesterday"),
        )
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("occurred_at"))
    );
    let (status, body) = t
        .post("/sandbox/v1/violations", violation(PLATE, "1625", now))
        .await;
    assert_eq!(status, 201, "{body}");
    assert!(body["id"].is_string());
}

#[tokio::test]
async fn a_car_from_another_city_can_be_fined_where_it_drove() {
    let t = start().await;
    t.register(PLATE, BEIJING).await;
    let id = t.violate(PLATE, SHANGHAI, "1625").await;
    let issued = t.decide(&id, None).await;
    assert!(issued["decision_number"]
        .as_str()
        .unwrap()
        .starts_with(SHANGHAI));
    assert_eq!(issued["plate"], PLATE);
}

#[tokio::test]
async fn issuing_a_decision_gives_number_fine_in_fen_points_and_dates() {
    let t = start().await;
    t.register(PLATE, BEIJING).await;
    let id = t.violate(PLATE, BEIJING, "1625").await;
    let (status, body) = t
        .post(
            &format!("/sandbox/v1/violations/{id}/decision"),
            json!({"issued_on": "2025-01-10"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["decision_number"], "1100000000000015");
    assert_eq!(body["fine"], 20_000);
    assert_eq!(body["points"], 6);
    assert_eq!(body["issued_on"], "2025-01-10");
    assert_eq!(body["due_on"], "2025-01-25");
    let (status, body) = t
        .post(&format!("/sandbox/v1/violations/{id}/decision"), json!({}))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("already_decided"))
    );
}

#[tokio::test]
async fn a_decision_can_be_issued_with_an_empty_body() {
    let t = start().await;
    t.register(PLATE, BEIJING).await;
    let id = t.violate(PLATE, BEIJING, "1039").await;
    let response = t
        .http
        .post(format!(
            "{}/sandbox/v1/violations/{id}/decision",
            t.base_url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let (status, _) = t
        .post("/sandbox/v1/violations/999/decision", json!({}))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_control_view_of_a_decision_shows_payment_and_delivery_count() {
    let t = start().await;
    let number = t.red_light_decision(None).await;
    let (status, body) = t.get(&format!("/sandbox/v1/decisions/{number}")).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "unpaid");
    assert_eq!(body["notice_deliveries"], 0);
    assert!(body["payment_id"].is_null());

    let notice = PaymentNotice {
        payment_id: "pay_1".into(),
        decision_number: number.clone(),
        amount_fen: 20_000,
        paid_at: chrono::Utc::now(),
    };
    let authority = t.authority(BEIJING);
    authority.send_payment_notice(&notice).await.unwrap();
    authority.send_payment_notice(&notice).await.unwrap();
    let (_, body) = t.get(&format!("/sandbox/v1/decisions/{number}")).await;
    assert_eq!(body["status"], "paid");
    assert_eq!(body["paid_amount"], 20_000);
    assert_eq!(body["payment_id"], "pay_1");
    assert!(body["paid_at"].is_string());
    assert_eq!(body["notice_deliveries"], 2);
    let (_, body) = t.get("/sandbox/v1/notices/pay_1").await;
    assert_eq!(body["deliveries"], 2);

    let (status, body) = t.get("/sandbox/v1/decisions/1100000000009999").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
}

#[tokio::test]
async fn modes_are_set_per_city_and_unknown_ones_are_refused() {
    let t = start().await;
    let (status, body) = t
        .control(
            reqwest::Method::PUT,
            "/sandbox/v1/authorities/310000/mode",
            Some(json!({"mode": "flaky"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"city_code": "310000", "mode": "flaky"}));
    assert_eq!(t.sandbox.mode(SHANGHAI).unwrap(), Mode::Flaky);
    assert_eq!(t.sandbox.mode(BEIJING).unwrap(), Mode::Up);
    let (status, body) = t
        .control(
            reqwest::Method::PUT,
            "/sandbox/v1/authorities/310000/mode",
            Some(json!({"mode": "sideways"})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("mode"))
    );
    let (status, _) = t
        .control(
            reqwest::Method::PUT,
            "/sandbox/v1/authorities/120000/mode",
            Some(json!({"mode": "down"})),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_control_api_works_while_the_authority_is_down() {
    let t = start().await;
    t.set_mode(BEIJING, "down").await;
    let number = t.red_light_decision(None).await;
    let (status, _) = t.get(&format!("/sandbox/v1/decisions/{number}")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn state_survives_a_reopen_and_modes_come_back_up() {
    let t = start().await;
    let number = t.red_light_decision(None).await;
    t.set_mode(BEIJING, "down").await;
    let dir = t.dir;
    let path = db_path(&dir);

    let reopened = SandboxAuthority::open(&path, config(Duration::from_millis(10))).unwrap();
    assert_eq!(reopened.mode(BEIJING).unwrap(), Mode::Up);
    let record = reopened.decision_record(&number).unwrap().unwrap();
    assert_eq!(record.fine_fen, 20_000);

    let t2 = serve(dir, config(Duration::from_millis(10))).await;
    let id = t2.violate(PLATE, BEIJING, "1625").await;
    let next = t2.decide(&id, None).await;
    assert!(next["decision_number"]
        .as_str()
        .unwrap()
        .starts_with("110000000000002"));
    let outcome = t2
        .authority(BEIJING)
        .send_payment_notice(&PaymentNotice {
            payment_id: "pay_1".into(),
            decision_number: number,
            amount_fen: 20_000,
            paid_at: chrono::Utc::now(),
        })
        .await
        .unwrap();
    assert_eq!(outcome, NoticeOutcome::Accepted);
}
