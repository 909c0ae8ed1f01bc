//! "The bank has never seen this reference" is not final at once: a bank may book a charge late,
//! and giving the attempt up (freeing its key) would let a retry charge a second time. The
//! resolver leaves such a charge `processing` until `give_up_after`, then fails it.
#![allow(clippy::unwrap_used)]
mod common;

use common::*;
use finepay_store::params;
use std::time::{Duration, Instant};

fn status(app: &TestApp) -> String {
    app.with_db(|c| {
        c.query_one("SELECT status FROM top_ups WHERE id = 'top_unseen'", &[])
            .unwrap()
            .text("status")
            .unwrap()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_charge_the_bank_has_not_seen_yet_is_not_given_up_before_its_time() {
    let app = TestApp::spawn_with(|c| c.platform.give_up_after = Duration::from_secs(8)).await;
    let user = app.user().await;
    let card = app.link_card(&user, CARD_OK).await;
    // As a crash between the claim and the charge leaves it: processing, its key held, and a
    // reference the bank never got.
    let asked = finepay_store::time_text(chrono::Utc::now() - chrono::Duration::seconds(1));
    let (uid, cid) = (user.id.clone(), card.clone());
    app.with_db(move |c| {
        c.execute(
            "INSERT INTO top_ups (id, user_id, card_id, amount, status, bank_reference,
                 idempotency_key, created_at, updated_at)
             VALUES ('top_unseen', $1, $2, 5000, 'processing', 'top_unseen', 'k-unseen', $3, $3)",
            params![uid.as_str(), cid.as_str(), asked.as_str()],
        )
        .unwrap();
        c.execute(
            "INSERT INTO idempotency_keys (user_id, key, request_hash, state, created_at)
             VALUES ($1, 'k-unseen', 'h', 'running', $2)",
            params![uid.as_str(), asked.as_str()],
        )
        .unwrap();
    });
    let started = Instant::now();
    // The resolver looks every 2 s at charges older than 2 s: it has asked the bank by now.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(status(&app), "processing", "given up too early");
    // After `give_up_after` it is failed, with nothing moved.
    loop {
        if status(&app) == "failed" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never given up"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(app.balance(&user).await, 0);
    app.assert_ledger_ok();
}
