//! A clean stop drains the dispatcher: a notice on its way to a slow authority when the stop
//! begins has its answer recorded before the stop returns.
#![allow(clippy::unwrap_used)]
mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_waits_for_the_notice_in_flight_and_records_the_authoritys_answer() {
    // Slow (1.5 s) but within the authority client's timeout (3 s in tests): it answers.
    let mut app =
        TestApp::spawn_with(|c| c.sandbox_slow_delay = Duration::from_millis(1_500)).await;
    let (user, _) = app.funded_user(1_000).await;
    let number = app.decision("川A54321", "510100", 0).await;
    let d = app
        .get_json(&format!("/api/v1/penalty-decisions/{number}"), &user.token)
        .await;
    // Every call to this authority now takes 1.5 s: the notice is still on its way when we stop.
    app.set_mode("510100", "slow").await;
    let res = app
        .pay(
            &user,
            "stop-1",
            &number,
            d["amount_due"].as_i64().unwrap(),
            "川A54321",
            json!({"type": "balance"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let payment_id = res.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Wait until the dispatcher has claimed the notice (its lease pushes the next attempt past
    // its creation): the send is under way.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let claimed = app.with_db(|c| {
            c.query_one(
                "SELECT CASE WHEN next_attempt_at > created_at THEN 1 ELSE 0 END AS claimed FROM outbox
                 WHERE payment_id = $1 AND kind = 'payment_notice'",
                finepay_store::params![payment_id.as_str()],
            )
            .unwrap()
            .int("claimed")
            .unwrap()
                == 1
        });
        if claimed {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the dispatcher never claimed the notice"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    app.running.stop().await.unwrap();

    // Right after the stop returns, the authority's answer is on disk.
    let (authority_status, outcome) = app.with_db(|c| {
        let p = finepay_store::repo::payments::find_payment(c, &payment_id)
            .unwrap()
            .unwrap();
        let o = c
            .query_one(
                "SELECT outcome FROM outbox WHERE payment_id = $1 AND kind = 'payment_notice'",
                finepay_store::params![payment_id.as_str()],
            )
            .unwrap();
        (p.authority_status, o.opt_text("outcome").unwrap())
    });
    assert_eq!(authority_status.as_str(), "confirmed");
    assert_eq!(outcome.as_deref(), Some("confirmed"));
}
