//! An outbox row that cannot be read (its payload is not a message of its kind) is set aside as
//! `unreadable` once, with the reason, instead of being retried for ever.
#![allow(clippy::unwrap_used)]
mod common;

use common::*;
use finepay_store::params;
use std::time::{Duration, Instant};

fn state(app: &TestApp) -> (Option<String>, i64, Option<String>) {
    app.with_db(|c| {
        let r = c
            .query_one(
                "SELECT outcome, attempts, last_error FROM outbox WHERE payment_id = $1",
                params!["pay_unreadable"],
            )
            .unwrap();
        (
            r.opt_text("outcome").unwrap(),
            r.int("attempts").unwrap(),
            r.opt_text("last_error").unwrap(),
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_outbox_row_is_set_aside_once_not_retried_for_ever() {
    let app = TestApp::spawn().await;
    let now = finepay_store::now_text();
    app.with_db(|c| {
        c.execute(
            "INSERT INTO outbox (kind, city_code, payment_id, payload, next_attempt_at, created_at)
             VALUES ('card_refund', '110000', 'pay_unreadable', '{\"kind\": \"no_such_kind\"}', $1, $1)",
            params![now.as_str()],
        )
        .unwrap()
    });
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (outcome, _, _) = state(&app);
        if outcome.is_some() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the row was never set aside: {:?}",
            state(&app)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Set aside means delivered: no round claims it again, and it took one attempt.
    let (outcome, attempts, why) = state(&app);
    assert_eq!(outcome.as_deref(), Some("unreadable"));
    assert_eq!(attempts, 1);
    assert!(why.is_some_and(|w| !w.is_empty()));
    app.assert_ledger_ok();
}
