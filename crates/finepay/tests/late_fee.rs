//! Acceptance 3: the late fee of SPEC §2 on the real stack, and stale amounts refused.
#![allow(clippy::unwrap_used)]
mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;

/// SPEC: due_on = issued_on + 15; late_fee = min(fine, floor(fine × 3 × days_late / 100)).
fn expected_late_fee(fine: i64, days_ago: i64) -> i64 {
    let days_late = (days_ago - 15).max(0);
    (fine * 3 * days_late / 100).min(fine)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_late_fee_follows_the_spec_table_and_payment_uses_it() {
    let app = TestApp::spawn().await;
    let (user, _) = app.funded_user(10_000).await;
    // (days since issued, late fee in fen for a 200-yuan fine)
    let table = [
        (0, 0),
        (15, 0),
        (16, 600),
        (20, 3_000),
        (48, 19_800),
        (49, 20_000),
        (200, 20_000),
    ];
    for (days_ago, late_fee) in table {
        assert_eq!(
            expected_late_fee(20_000, days_ago),
            late_fee,
            "table row {days_ago}"
        );
        let number = app.decision("沪AD12345", "310000", days_ago).await;
        let d = app
            .get_json(&format!("/api/v1/penalty-decisions/{number}"), &user.token)
            .await;
        assert_eq!(d["fine"], 20_000, "{days_ago} days");
        assert_eq!(d["late_fee"], late_fee, "{days_ago} days: {d}");
        assert_eq!(d["amount_due"], 20_000 + late_fee, "{days_ago} days");
        let issued = finepay_core::today_in_china() - chrono::Duration::days(days_ago);
        assert_eq!(
            d["due_on"],
            (issued + chrono::Duration::days(15)).to_string()
        );

        let before = app.balance(&user).await;
        let (status, p) = json(
            app.pay(
                &user,
                &format!("k-{days_ago}"),
                &number,
                20_000 + late_fee,
                "沪AD12345",
                json!({"type": "balance"}),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{days_ago} days: {p}");
        assert_eq!(p["late_fee"], late_fee);
        assert_eq!(p["amount"], 20_000 + late_fee);
        assert_eq!(app.balance(&user).await, before - 20_000 - late_fee);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paying_a_stale_amount_is_refused_and_charges_nothing() {
    let app = TestApp::spawn().await;
    let (user, _) = app.funded_user(1_000).await;
    // 20 days ago: 5 days late, so 200.00 (what it was before the deadline) is stale.
    let number = app.decision("粤B12345F", "440300", 20).await;
    let (status, body) = json(
        app.pay(
            &user,
            "stale",
            &number,
            20_000,
            "粤B12345F",
            json!({"type": "balance"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "amount_changed");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("23000"),
        "{body}"
    );
    assert_eq!(app.balance(&user).await, 100_000);
    let record = app.authority_record(&number).await;
    assert_eq!(record["status"], "unpaid");
}
