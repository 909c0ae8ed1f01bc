//! Due-soon and overdue reminders (SPEC §8, issue 13): once per decision and bound user, within
//! 5 s of the feed telling of the decision and by the daily 09:00 sweep; never for a paid one.
#![allow(clippy::unwrap_used)]
mod common;

use chrono::TimeZone;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

fn count(inbox: &[Value], kind: &str, number: &str) -> usize {
    inbox
        .iter()
        .filter(|n| n["kind"] == kind && n["decision_number"] == number)
        .count()
}

/// Acceptance 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn due_soon_and_overdue_come_once_within_5_s_and_not_for_a_paid_decision() {
    let app = TestApp::spawn().await;
    let plate = "京A70013";
    let user = app.bound_user(plate, "110000").await;
    let soon = app.decision(plate, "110000", 13).await;
    let late = app.decision(plate, "110000", 20).await;
    let later = app.decision(plate, "110000", 0).await;
    // Within 5 s of the authority issuing them; the third decision's issue marks the feed read.
    let list = wait_for(Duration::from_secs(5), "both reminders", || async {
        let l = app.inbox(&user).await;
        let issued = count(&l, "decision.issued", &later) == 1;
        (issued
            && count(&l, "decision.due_soon", &soon) >= 1
            && count(&l, "decision.overdue", &late) >= 1)
            .then_some(l.clone())
            .ok_or(format!("{l:?}"))
    })
    .await;
    assert_eq!(count(&list, "decision.due_soon", &soon), 1, "{list:#?}");
    assert_eq!(count(&list, "decision.overdue", &late), 1, "{list:#?}");
    assert_eq!(count(&list, "decision.overdue", &soon), 0);
    assert_eq!(count(&list, "decision.due_soon", &late), 0);
    // Issued today: due in 15 days, nothing yet.
    assert_eq!(count(&list, "decision.due_soon", &later), 0);
    assert_eq!(count(&list, "decision.overdue", &later), 0);

    // The first is paid before a sweep would find it overdue.
    let card = app.link_card(&user, CARD_OK).await;
    let (status, paid) = json(
        app.pay(
            &user,
            "soon",
            &soon,
            20_000,
            plate,
            json!({"type": "card", "card_id": card}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{paid}");

    let today = finepay_core::today_in_china();
    let reminders = app.running.platform.reminders();
    // Five days on `soon` is past due, but paid: no overdue. `late` had its one.
    reminders
        .sweep(today + chrono::Duration::days(5))
        .await
        .unwrap();
    // Twelve days on, `later` is due soon; thirteen, still the one; sixteen, overdue.
    reminders
        .sweep(today + chrono::Duration::days(12))
        .await
        .unwrap();
    reminders
        .sweep(today + chrono::Duration::days(13))
        .await
        .unwrap();
    reminders
        .sweep(today + chrono::Duration::days(16))
        .await
        .unwrap();
    reminders
        .sweep(today + chrono::Duration::days(17))
        .await
        .unwrap();
    let list = app.inbox(&user).await;
    assert_eq!(count(&list, "decision.overdue", &soon), 0, "{list:#?}");
    assert_eq!(count(&list, "decision.due_soon", &soon), 1);
    assert_eq!(count(&list, "decision.overdue", &late), 1);
    assert_eq!(count(&list, "decision.due_soon", &later), 1, "{list:#?}");
    assert_eq!(count(&list, "decision.overdue", &later), 1, "{list:#?}");
    // A reminder links to what to pay.
    let reminder = list
        .iter()
        .find(|n| n["kind"] == "decision.overdue" && n["decision_number"] == late)
        .unwrap();
    assert_eq!(reminder["plate"], "京A***13");
    assert_eq!(reminder["city_code"], "110000");
}

/// A revoked decision gets no reminder, and every user who bound the plate gets their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_owner_gets_one_and_a_revoked_decision_none() {
    let app = TestApp::spawn().await;
    let plate = "沪A70014";
    let first = app.bound_user(plate, "310000").await;
    let second = app.bound_user(plate, "310000").await;
    let revoked = app.decision(plate, "310000", 0).await;
    let (status, _) = app
        .sandbox(
            reqwest::Method::POST,
            &format!("/sandbox/v1/decisions/{revoked}/revoke"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let kept = app.decision(plate, "310000", 0).await;
    for user in [&first, &second] {
        let list = wait_for(
            Duration::from_secs(5),
            "the revocation and the new decision",
            || async {
                let l = app.inbox(user).await;
                (count(&l, "decision.revoked", &revoked) == 1
                    && count(&l, "decision.issued", &kept) == 1)
                    .then_some(l.clone())
                    .ok_or(format!("{l:?}"))
            },
        )
        .await;
        assert_eq!(count(&list, "decision.revoked", &revoked), 1, "{list:#?}");
    }
    let today = finepay_core::today_in_china();
    let sent = app
        .running
        .platform
        .reminders()
        .sweep(today + chrono::Duration::days(14))
        .await
        .unwrap();
    assert_eq!(sent, 2, "one due_soon of the kept decision per owner");
    for user in [&first, &second] {
        let list = app.inbox(user).await;
        assert_eq!(count(&list, "decision.due_soon", &kept), 1);
        assert_eq!(count(&list, "decision.due_soon", &revoked), 0);
    }
}

/// The sweep runs from 09:00 Beijing time once a day, and at once after a missed day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_runs_at_nine_once_a_day_and_catches_up() {
    let app = TestApp::spawn().await;
    let reminders = app.running.platform.reminders();
    let today = finepay_core::today_in_china();
    let at = |day: chrono::NaiveDate, h: u32, m: u32| {
        chrono_tz::Asia::Shanghai
            .from_local_datetime(&day.and_hms_opt(h, m, 0).unwrap())
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    // Whatever the workers did at start, today is swept once at most.
    reminders.sweep_if_due(at(today, 9, 1)).await.unwrap();
    assert_eq!(
        reminders.sweep_if_due(at(today, 23, 0)).await.unwrap(),
        None
    );
    let tomorrow = today.succ_opt().unwrap();
    assert_eq!(
        reminders.sweep_if_due(at(tomorrow, 8, 59)).await.unwrap(),
        None
    );
    assert!(reminders
        .sweep_if_due(at(tomorrow, 9, 0))
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        reminders.sweep_if_due(at(tomorrow, 9, 30)).await.unwrap(),
        None
    );
    // Down for two days: the morning it comes back, before 09:00, it sweeps at once.
    let back = tomorrow + chrono::Duration::days(3);
    assert!(reminders
        .sweep_if_due(at(back, 7, 0))
        .await
        .unwrap()
        .is_some());
    assert_eq!(reminders.sweep_if_due(at(back, 9, 5)).await.unwrap(), None);
}

/// A plate bound after its decision was issued is reminded of it at once (the reviewer's case: a
/// person who signs up because of the fine they just got).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binding_a_plate_after_its_decision_reminds_at_once() {
    let app = TestApp::spawn().await;
    let plate = "京A70019";
    let late = app.decision(plate, "110000", 25).await;
    // The feed has told the platform of it before anyone bound the plate.
    wait_for(Duration::from_secs(10), "the decision watched", || async {
        let watched = app.with_db(|c| {
            c.query_opt(
                "SELECT 1 AS one FROM watched_decisions WHERE decision_number = $1",
                finepay_store::params![&late],
            )
            .unwrap()
            .is_some()
        });
        watched
            .then_some(())
            .ok_or_else(|| "not watched".to_owned())
    })
    .await;
    let user = app.bound_user(plate, "110000").await;
    let list = app.inbox(&user).await;
    assert_eq!(count(&list, "decision.overdue", &late), 1, "{list:#?}");
    // Binding again (another user) reminds that user once, and the first not again.
    let second = app.bound_user(plate, "110000").await;
    assert_eq!(
        count(&app.inbox(&second).await, "decision.overdue", &late),
        1
    );
    assert_eq!(count(&app.inbox(&user).await, "decision.overdue", &late), 1);
}
