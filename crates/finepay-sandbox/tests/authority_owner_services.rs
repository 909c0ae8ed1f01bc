//! Vehicle checks, a plate's violations, online handling, licence points and the event feed, over
//! HTTP through `HttpAuthority`.
#![allow(clippy::unwrap_used)]

#[path = "authority_kit/mod.rs"]
mod common;

use common::*;
use finepay_authority::{
    Authority, AuthorityError, EventKind, HandlingOutcome, HandlingRequest, RecordStatus,
};
use serde_json::json;
use std::time::Duration;

const SHENZHEN: &str = "440300";

fn owner() -> HandlingRequest {
    HandlingRequest {
        name: "张三丰".into(),
        id_number: OWNER_ID.into(),
    }
}

fn refusal(outcome: HandlingOutcome) -> String {
    match outcome {
        HandlingOutcome::Refused { reason, .. } => reason,
        HandlingOutcome::Handled(record) => panic!("handled: {record:?}"),
    }
}

#[tokio::test]
async fn a_vehicle_check_says_yes_only_for_the_right_vin_ending_at_the_registering_city() {
    let t = start().await;
    t.register(PLATE, BEIJING).await;
    let beijing = t.authority(BEIJING);
    assert!(beijing.verify_vehicle(PLATE, "183294").await.unwrap());
    assert!(beijing.verify_vehicle("京a 12345", "183294").await.unwrap());
    assert!(!beijing.verify_vehicle(PLATE, "183295").await.unwrap());
    assert!(!beijing.verify_vehicle("京A54321", "183294").await.unwrap());
    assert!(!t
        .authority(SHANGHAI)
        .verify_vehicle(PLATE, "183294")
        .await
        .unwrap());
}

#[tokio::test]
async fn a_plates_violations_are_listed_newest_first_with_their_decisions() {
    let t = start().await;
    t.register(PLATE, BEIJING).await;
    let first = t.violate(PLATE, BEIJING, "1625").await;
    let second = t.violate(PLATE, BEIJING, "1039").await;
    let issued = t.decide(&first, None).await;
    t.violate(PLATE, SHANGHAI, "1116").await;

    let list = t
        .authority(BEIJING)
        .violations_for_plate(PLATE)
        .await
        .unwrap();
    assert_eq!(list.city_code, BEIJING);
    let ids: Vec<&str> = list.violations.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids, [second.as_str(), first.as_str()]);
    let red = &list.violations[1];
    assert_eq!(red.fine_fen, 20_000);
    assert_eq!(red.points, 6);
    assert!(red.camera_recorded);
    assert_eq!(
        red.decision_number.as_deref(),
        issued["decision_number"].as_str()
    );
    assert_eq!(red.decision_status, Some(RecordStatus::Unpaid));
    assert_eq!(list.violations[0].decision_number, None);

    let shanghai = t
        .authority(SHANGHAI)
        .violations_for_plate(PLATE)
        .await
        .unwrap();
    assert_eq!(shanghai.violations.len(), 1);
}

#[tokio::test]
async fn the_owner_can_handle_a_camera_violation_online_and_takes_the_points() {
    let t = start().await;
    t.register(PLATE, BEIJING).await;
    let id = t.violate(PLATE, BEIJING, "1625").await;
    let beijing = t.authority(BEIJING);
    let HandlingOutcome::Handled(record) = beijing.handle_violation(&id, &owner()).await.unwrap()
    else {
        panic!("refused");
    };
    assert_eq!(record.fine_fen, 20_000);
    assert_eq!(record.points, 6);
    assert_eq!(record.issued_on, days_ago(0));
    assert!(record.number.starts_with(BEIJING));
    let points = beijing
        .licence_points(OWNER_ID, days_ago(30), days_ago(0))
        .await
        .unwrap();
    assert_eq!(points, 6);

    let again = beijing.handle_violation(&id, &owner()).await.unwrap();
    assert_eq!(refusal(again), "already_decided");
}

#[tokio::test]
async fn someone_who_is_not_the_registered_owner_cannot_handle_it_online() {
    let t = start().await;
    t.register(PLATE, BEIJING).await;
    let id = t.violate(PLATE, BEIJING, "1625").await;
    let stranger = HandlingRequest {
        name: "李四".into(),
        id_number: OWNER_ID.into(),
    };
    let outcome = t
        .authority(BEIJING)
        .handle_violation(&id, &stranger)
        .await
        .unwrap();
    assert_eq!(refusal(outcome), "not_owner");
}

#[tokio::test]
async fn violations_over_the_online_limits_must_be_handled_at_an_office() {
    let t = start().await;
    t.register(PLATE, BEIJING).await;
    let beijing = t.authority(BEIJING);
    let hidden_plate = t.violate(PLATE, BEIJING, "1614").await;
    assert_eq!(
        refusal(
            beijing
                .handle_violation(&hidden_plate, &owner())
                .await
                .unwrap()
        ),
        "points_over_limit"
    );
    let window = t.violate(PLATE, BEIJING, "1049").await;
    assert_eq!(
        refusal(beijing.handle_violation(&window, &owner()).await.unwrap()),
        "not_camera_recorded"
    );
    let crosswalk = t.violate(PLATE, SHENZHEN, "1357").await;
    let outcome = t
        .authority(SHENZHEN)
        .handle_violation(&crosswalk, &owner())
        .await
        .unwrap();
    assert_eq!(refusal(outcome), "fine_over_limit");
}

#[tokio::test]
async fn handling_an_unknown_or_another_citys_violation_is_not_found() {
    let t = start().await;
    t.register(PLATE, BEIJING).await;
    let id = t.violate(PLATE, BEIJING, "1625").await;
    let err = t
        .authority(SHANGHAI)
        .handle_violation(&id, &owner())
        .await
        .unwrap_err();
    assert_eq!(err, AuthorityError::NotFound);
    let err = t
        .authority(BEIJING)
        .handle_violation("999", &owner())
        .await
        .unwrap_err();
    assert_eq!(err, AuthorityError::NotFound);
}

#[tokio::test]
async fn licence_points_count_the_period_and_skip_revoked_decisions() {
    let t = start().await;
    t.register(PLATE, BEIJING).await;
    let old = t.violate(PLATE, BEIJING, "1625").await;
    t.decide(&old, Some(days_ago(400))).await;
    let recent = t.violate(PLATE, BEIJING, "1357").await;
    t.decide(&recent, Some(days_ago(10))).await;
    let revoked = t.violate(PLATE, BEIJING, "1625").await;
    let number = t.decide(&revoked, Some(days_ago(5))).await["decision_number"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = t
        .post(&format!("/sandbox/v1/decisions/{number}/revoke"), json!({}))
        .await;
    assert_eq!(status, 200);

    let points = t
        .authority(BEIJING)
        .licence_points(OWNER_ID, days_ago(365), days_ago(0))
        .await
        .unwrap();
    assert_eq!(points, 3);
    let elsewhere = t
        .authority(SHANGHAI)
        .licence_points(OWNER_ID, days_ago(365), days_ago(0))
        .await
        .unwrap();
    assert_eq!(elsewhere, 0);
}

#[tokio::test]
async fn the_event_feed_reports_each_citys_violations_decisions_and_revocations_in_order() {
    let t = start().await;
    t.register(PLATE, BEIJING).await;
    let id = t.violate(PLATE, BEIJING, "1625").await;
    t.violate(PLATE, SHANGHAI, "1116").await;
    let number = t.decide(&id, None).await["decision_number"]
        .as_str()
        .unwrap()
        .to_owned();
    t.post(&format!("/sandbox/v1/decisions/{number}/revoke"), json!({}))
        .await;
    t.post(&format!("/sandbox/v1/decisions/{number}/revoke"), json!({}))
        .await;

    let beijing = t.authority(BEIJING);
    let page = beijing.events_after(0, 100, Duration::ZERO).await.unwrap();
    let kinds: Vec<EventKind> = page.events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::ViolationRecorded,
            EventKind::DecisionIssued,
            EventKind::DecisionRevoked
        ]
    );
    assert!(page
        .events
        .iter()
        .all(|e| e.plate == PLATE && e.violation_id == id));
    assert_eq!(
        page.events[1].decision_number.as_deref(),
        Some(number.as_str())
    );
    // Decision events carry the decision as it stands now (revoked), for the follower's copy.
    let carried = page.events[1].decision.as_ref().expect("a decision record");
    assert_eq!(carried.number, number);
    assert_eq!(carried.status, RecordStatus::Revoked);
    assert_eq!(carried.fine_fen, 20_000);
    assert!(page.events[0].decision.is_none());
    assert_eq!(page.next_after, page.events[2].seq);

    let rest = beijing
        .events_after(page.next_after, 100, Duration::ZERO)
        .await
        .unwrap();
    assert!(rest.events.is_empty());
    assert_eq!(rest.next_after, page.next_after);
    let first_only = beijing.events_after(0, 1, Duration::ZERO).await.unwrap();
    assert_eq!(first_only.events.len(), 1);

    let shanghai = t
        .authority(SHANGHAI)
        .events_after(0, 100, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(shanghai.events.len(), 1);
}

#[tokio::test]
async fn a_held_feed_request_answers_as_soon_as_an_event_arrives() {
    let t = start().await;
    t.register(PLATE, BEIJING).await;
    let beijing = t.authority(BEIJING);
    let after = beijing
        .events_after(0, 100, Duration::ZERO)
        .await
        .unwrap()
        .next_after;

    // Nothing new: the request is held for the whole wait, then answers empty.
    let started = std::time::Instant::now();
    let empty = beijing
        .events_after(after, 100, Duration::from_millis(300))
        .await
        .unwrap();
    assert!(empty.events.is_empty());
    assert!(
        started.elapsed() >= Duration::from_millis(290),
        "held {:?}",
        started.elapsed()
    );

    // An event while it is held: answered at once, long before the wait ends.
    let held = tokio::spawn(async move {
        let started = std::time::Instant::now();
        let page = beijing
            .events_after(after, 100, Duration::from_secs(20))
            .await
            .unwrap();
        (page, started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    t.violate(PLATE, BEIJING, "1625").await;
    let (page, waited) = held.await.unwrap();
    assert_eq!(page.events.len(), 1);
    assert_eq!(page.events[0].kind, EventKind::ViolationRecorded);
    assert!(waited < Duration::from_secs(5), "answered after {waited:?}");
}
