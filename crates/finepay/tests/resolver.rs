//! "The bank has never seen this reference" is not final at once: a bank may book a charge late,
//! and giving the attempt up (freeing its key) would let a retry charge a second time. The
//! resolver leaves such a charge `processing` until `give_up_after`, then fails it.
#![allow(clippy::unwrap_used)]
mod common;

use common::*;
use finepay_bank::Bank;
use finepay_store::params;
use std::time::{Duration, Instant};

fn status(app: &TestApp, id: &str) -> String {
    let id = id.to_string();
    app.with_db(move |c| {
        c.query_one(
            "SELECT status FROM top_ups WHERE id = $1",
            params![id.as_str()],
        )
        .unwrap()
        .text("status")
        .unwrap()
    })
}

/// A top-up left `processing` with its key held, as a crash between the claim and the charge (or
/// the settle) leaves it, asked for at `asked`.
fn left_processing(app: &TestApp, user: &User, card: &str, id: &str, asked: &str) {
    let (uid, cid, id, asked) = (
        user.id.clone(),
        card.to_string(),
        id.to_string(),
        asked.to_string(),
    );
    app.with_db(move |c| {
        c.execute(
            "INSERT INTO top_ups (id, user_id, card_id, amount, status, bank_reference,
                 idempotency_key, created_at, updated_at)
             VALUES ($1, $2, $3, 5000, 'processing', $1, $1, $4, $4)",
            params![id.as_str(), uid.as_str(), cid.as_str(), asked.as_str()],
        )
        .unwrap();
        c.execute(
            "INSERT INTO idempotency_keys (user_id, key, request_hash, state, created_at)
             VALUES ($1, $2, 'h', 'running', $3)",
            params![uid.as_str(), id.as_str(), asked.as_str()],
        )
        .unwrap();
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_charge_the_bank_has_not_seen_yet_is_not_given_up_before_its_time() {
    let app = TestApp::spawn_with(|c| c.platform.give_up_after = Duration::from_secs(8)).await;
    let user = app.user().await;
    let card = app.link_card(&user, CARD_OK).await;
    let asked = finepay_store::time_text(chrono::Utc::now() - chrono::Duration::seconds(1));
    // One the bank never got, and one it took (charged here, as before a crash before settling).
    // The resolver asks about both in the same round, the unseen one first (oldest, then id).
    left_processing(&app, &user, &card, "top_a_unseen", &asked);
    left_processing(&app, &user, &card, "top_b_taken", &asked);
    let c2 = card.clone();
    let token = app.with_db(move |c| {
        c.query_one(
            "SELECT card_token FROM cards WHERE id = $1",
            params![c2.as_str()],
        )
        .unwrap()
        .text("card_token")
        .unwrap()
    });
    app.running
        .bank
        .charge("top_b_taken", &token, 5000)
        .await
        .unwrap();
    let started = Instant::now();
    // Once the taken one is settled, the resolver has asked the bank about the unseen one too.
    while status(&app, "top_b_taken") == "processing" {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the resolver never ran"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status(&app, "top_b_taken"), "succeeded");
    assert_eq!(
        status(&app, "top_a_unseen"),
        "processing",
        "given up too early"
    );
    // After `give_up_after` it is failed, with nothing moved for it.
    while status(&app, "top_a_unseen") != "failed" {
        assert!(
            started.elapsed() < Duration::from_secs(25),
            "never given up"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        app.balance(&user).await,
        5000,
        "only the taken one is in the wallet"
    );
    app.assert_ledger_ok();
}
