//! The platform's view: `HttpAuthority` talking to the sandbox over real HTTP.
#![allow(clippy::unwrap_used)]

#[path = "authority_kit/mod.rs"]
mod common;

use chrono::{Duration as ChronoDuration, Utc};
use common::*;
use finepay_authority::protocol::{sign, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use finepay_authority::{Authority, AuthorityError, NoticeOutcome, PaymentNotice, RecordStatus};
use finepay_domain::luhn_valid;
use finepay_sandbox::authority::{shanghai_date, Mode};
use std::time::{Duration, Instant};

fn notice(payment_id: &str, number: &str, amount_fen: i64) -> PaymentNotice {
    PaymentNotice {
        payment_id: payment_id.to_owned(),
        decision_number: number.to_owned(),
        amount_fen,
        paid_at: Utc::now(),
    }
}

#[tokio::test]
async fn a_red_light_decision_shows_200_yuan_and_6_points_with_no_late_fee_when_fresh() {
    let t = start().await;
    let number = t.red_light_decision(None).await;
    let record = t.authority(BEIJING).lookup_decision(&number).await.unwrap();
    assert_eq!(record.number, number);
    assert_eq!(record.status, RecordStatus::Unpaid);
    assert_eq!(record.city_code, BEIJING);
    assert_eq!(record.plate, PLATE);
    assert_eq!(record.owner_name, "张三丰");
    assert_eq!(record.violation.code, "1625");
    assert_eq!(
        record.violation.description_zh,
        "驾驶机动车违反道路交通信号灯通行的"
    );
    assert_eq!(record.fine_fen, 20_000);
    assert_eq!(record.points, 6);
    assert_eq!(record.issued_on, days_ago(0));
    assert_eq!(record.due_on, days_ago(0) + ChronoDuration::days(15));
    assert_eq!(record.late_fee_fen, 0);
    assert_eq!(record.amount_due_fen, 20_000);
    assert_eq!(record.payment_id, None);
}

#[tokio::test]
async fn a_decision_ten_days_overdue_carries_a_30_percent_late_fee() {
    let t = start().await;
    // due_on = issued_on + 15, so 25 days after issue is 10 days late: 3 % × 10 of 200 yuan.
    let number = t.red_light_decision(Some(days_ago(25))).await;
    let record = t.authority(BEIJING).lookup_decision(&number).await.unwrap();
    assert_eq!(record.late_fee_fen, 6_000);
    assert_eq!(record.amount_due_fen, 26_000);
}

#[tokio::test]
async fn the_late_fee_stops_at_the_fine() {
    let t = start().await;
    let number = t.red_light_decision(Some(days_ago(200))).await;
    let record = t.authority(BEIJING).lookup_decision(&number).await.unwrap();
    assert_eq!(record.late_fee_fen, 20_000);
    assert_eq!(record.amount_due_fen, 40_000);
}

#[tokio::test]
async fn decision_numbers_are_city_code_serial_and_luhn_digit_counted_per_city() {
    let t = start().await;
    t.register(PLATE, BEIJING).await;
    let mut numbers = Vec::new();
    for city in [BEIJING, BEIJING, SHANGHAI, BEIJING] {
        let id = t.violate(PLATE, city, "1625").await;
        numbers.push(
            t.decide(&id, None).await["decision_number"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(numbers[0], "1100000000000015");
    assert!(numbers[1].starts_with("110000000000002"));
    assert!(numbers[2].starts_with("310000000000001"));
    assert!(numbers[3].starts_with("110000000000003"));
    for n in &numbers {
        assert_eq!(n.len(), 16);
        assert!(luhn_valid(n), "{n}");
    }
}

#[tokio::test]
async fn an_unknown_number_or_another_citys_number_is_not_found() {
    let t = start().await;
    let number = t.red_light_decision(None).await;
    let err = t
        .authority(BEIJING)
        .lookup_decision("1100000000009999")
        .await
        .unwrap_err();
    assert_eq!(err, AuthorityError::NotFound);
    let err = t
        .authority(SHANGHAI)
        .lookup_decision(&number)
        .await
        .unwrap_err();
    assert_eq!(err, AuthorityError::NotFound);
}

#[tokio::test]
async fn a_notice_takes_effect_once_however_often_it_is_sent() {
    let t = start().await;
    let number = t.red_light_decision(None).await;
    let authority = t.authority(BEIJING);
    let n = notice("pay_1", &number, 20_000);
    assert_eq!(
        authority.send_payment_notice(&n).await.unwrap(),
        NoticeOutcome::Accepted
    );
    assert_eq!(
        authority.send_payment_notice(&n).await.unwrap(),
        NoticeOutcome::Duplicate
    );
    assert_eq!(t.sandbox.notice_deliveries("pay_1").unwrap(), 2);

    let record = authority.lookup_decision(&number).await.unwrap();
    assert_eq!(record.status, RecordStatus::Paid);
    assert_eq!(record.payment_id.as_deref(), Some("pay_1"));
    assert_eq!(record.paid_amount_fen, Some(20_000));

    let day = authority
        .accepted_notices(shanghai_date(n.paid_at))
        .await
        .unwrap();
    assert_eq!(day.count, 1);
    assert_eq!(day.total_fen, 20_000);
    assert_eq!(day.notices[0].payment_id, "pay_1");
}

#[tokio::test]
async fn a_batch_of_notices_is_judged_in_order_as_if_sent_one_by_one() {
    let t = start().await;
    let (a, b, c) = (
        t.red_light_decision(None).await,
        t.red_light_decision(None).await,
        t.red_light_decision(None).await,
    );
    let authority = t.authority(BEIJING);
    authority
        .send_payment_notice(&notice("pay_a", &a, 20_000))
        .await
        .unwrap();
    let batch = [
        notice("pay_a", &a, 20_000),                 // sent before: duplicate
        notice("pay_b", &b, 20_000),                 // accepted
        notice("pay_b2", &b, 20_000),                // the same decision again in the batch
        notice("pay_c", &c, 19_999),                 // wrong amount
        notice("pay_x", "1100000000009999", 20_000), // no such decision
    ];
    let outcomes = authority.send_payment_notices(&batch).await.unwrap();
    let rejected = |reason: &str| {
        Ok(NoticeOutcome::Rejected {
            reason: reason.into(),
        })
    };
    assert_eq!(
        outcomes,
        [
            Ok(NoticeOutcome::Duplicate),
            Ok(NoticeOutcome::Accepted),
            rejected("already_paid"),
            rejected("amount_mismatch"),
            rejected("not_found"),
        ]
    );
    let record = authority.lookup_decision(&b).await.unwrap();
    assert_eq!(record.payment_id.as_deref(), Some("pay_b"));
    assert_eq!(
        authority.lookup_decision(&c).await.unwrap().status,
        RecordStatus::Unpaid
    );
    // The same batch again changes nothing: each payment id is taken once.
    let again = authority.send_payment_notices(&batch).await.unwrap();
    assert_eq!(again[1], Ok(NoticeOutcome::Duplicate));
    assert_eq!(t.sandbox.notice_deliveries("pay_b").unwrap(), 2);
}

#[tokio::test]
async fn one_malformed_notice_does_not_hold_up_the_rest_of_its_batch() {
    let t = start().await;
    let (a, b) = (
        t.red_light_decision(None).await,
        t.red_light_decision(None).await,
    );
    let batch = [
        notice("pay_a", &a, 20_000),
        notice("pay_bad", &b, 0), // the authority refuses the whole batch for this one
        notice("pay_b", &b, 20_000),
    ];
    let outcomes = t
        .authority(BEIJING)
        .send_payment_notices(&batch)
        .await
        .unwrap();
    assert_eq!(outcomes[0], Ok(NoticeOutcome::Accepted));
    assert!(
        matches!(&outcomes[1], Err(AuthorityError::Protocol(_))),
        "{:?}",
        outcomes[1]
    );
    assert_eq!(outcomes[2], Ok(NoticeOutcome::Accepted));
}

#[tokio::test]
async fn a_down_authority_refuses_a_batch_as_unavailable() {
    let t = start().await;
    let number = t.red_light_decision(None).await;
    t.sandbox.set_mode(BEIJING, Mode::Down).unwrap();
    let err = t
        .authority(BEIJING)
        .send_payment_notices(&[notice("pay_1", &number, 20_000)])
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(t.sandbox.notice_deliveries("pay_1").unwrap(), 0);
}

#[tokio::test]
async fn a_second_payment_for_a_paid_decision_is_rejected_as_already_paid() {
    let t = start().await;
    let number = t.red_light_decision(None).await;
    let authority = t.authority(BEIJING);
    authority
        .send_payment_notice(&notice("pay_1", &number, 20_000))
        .await
        .unwrap();
    let outcome = authority
        .send_payment_notice(&notice("pay_2", &number, 20_000))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        NoticeOutcome::Rejected {
            reason: "already_paid".into()
        }
    );
    let record = authority.lookup_decision(&number).await.unwrap();
    assert_eq!(record.payment_id.as_deref(), Some("pay_1"));
}

#[tokio::test]
async fn a_notice_with_the_wrong_amount_is_rejected_and_changes_nothing() {
    let t = start().await;
    let number = t.red_light_decision(None).await;
    let authority = t.authority(BEIJING);
    let outcome = authority
        .send_payment_notice(&notice("pay_1", &number, 19_999))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        NoticeOutcome::Rejected {
            reason: "amount_mismatch".into()
        }
    );
    let record = authority.lookup_decision(&number).await.unwrap();
    assert_eq!(record.status, RecordStatus::Unpaid);
}

#[tokio::test]
async fn a_payment_made_during_an_outage_is_checked_at_the_amount_due_on_its_own_day() {
    let t = start().await;
    // Issued 20 days ago: today it is 5 days late, but it was paid 6 days ago, on time.
    let number = t.red_light_decision(Some(days_ago(20))).await;
    let authority = t.authority(BEIJING);
    assert_eq!(
        authority
            .lookup_decision(&number)
            .await
            .unwrap()
            .amount_due_fen,
        23_000
    );
    let mut late_delivery = notice("pay_1", &number, 20_000);
    late_delivery.paid_at = Utc::now() - ChronoDuration::days(6);
    let outcome = authority.send_payment_notice(&late_delivery).await.unwrap();
    assert_eq!(outcome, NoticeOutcome::Accepted);
}

#[tokio::test]
async fn a_notice_for_an_unknown_decision_is_rejected_not_found() {
    let t = start().await;
    let outcome = t
        .authority(BEIJING)
        .send_payment_notice(&notice("pay_1", "1100000000009999", 20_000))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        NoticeOutcome::Rejected {
            reason: "not_found".into()
        }
    );
    assert_eq!(t.sandbox.notice_deliveries("pay_1").unwrap(), 1);
}

#[tokio::test]
async fn a_revoked_decision_rejects_its_payment_notice() {
    let t = start().await;
    let number = t.red_light_decision(None).await;
    let (status, body) = t
        .post(
            &format!("/sandbox/v1/decisions/{number}/revoke"),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "revoked");
    let outcome = t
        .authority(BEIJING)
        .send_payment_notice(&notice("pay_1", &number, 20_000))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        NoticeOutcome::Rejected {
            reason: "revoked".into()
        }
    );
}

#[tokio::test]
async fn a_wrong_secret_is_unauthorized() {
    let t = start().await;
    let number = t.red_light_decision(None).await;
    let impostor = t.authority_with(BEIJING, b"not-the-secret", Duration::from_secs(5));
    assert_eq!(
        impostor.lookup_decision(&number).await.unwrap_err(),
        AuthorityError::Unauthorized
    );
    let err = impostor
        .send_payment_notice(&notice("pay_1", &number, 20_000))
        .await
        .unwrap_err();
    assert_eq!(err, AuthorityError::Unauthorized);
    assert_eq!(t.sandbox.notice_deliveries("pay_1").unwrap(), 0);
}

#[tokio::test]
async fn a_correctly_signed_request_ten_minutes_old_is_unauthorized() {
    let t = start().await;
    let number = t.red_light_decision(None).await;
    let path = format!("/authority/v1/{BEIJING}/decisions/{number}");
    let old = Utc::now().timestamp() - 600;
    let response = t
        .http
        .get(format!("{}{path}", t.base_url))
        .header(TIMESTAMP_HEADER, old.to_string())
        .header(SIGNATURE_HEADER, sign(SECRET, "GET", &path, old, b""))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let fresh = Utc::now().timestamp();
    let response = t
        .http
        .get(format!("{}{path}", t.base_url))
        .header(TIMESTAMP_HEADER, fresh.to_string())
        .header(SIGNATURE_HEADER, sign(SECRET, "GET", &path, fresh, b""))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_down_authority_is_unavailable_and_comes_back_when_set_up() {
    let t = start().await;
    let number = t.red_light_decision(None).await;
    let authority = t.authority(BEIJING);
    t.set_mode(BEIJING, "down").await;
    assert!(matches!(
        authority.lookup_decision(&number).await,
        Err(AuthorityError::Unavailable(_))
    ));
    let err = authority
        .send_payment_notice(&notice("pay_1", &number, 20_000))
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(t.sandbox.notice_deliveries("pay_1").unwrap(), 0);

    // Other cities are not affected.
    t.register("沪A12345", SHANGHAI).await;
    let id = t.violate("沪A12345", SHANGHAI, "1116").await;
    let shanghai = t.decide(&id, None).await;
    let other = shanghai["decision_number"].as_str().unwrap();
    assert!(t.authority(SHANGHAI).lookup_decision(other).await.is_ok());

    t.set_mode(BEIJING, "up").await;
    let outcome = authority
        .send_payment_notice(&notice("pay_1", &number, 20_000))
        .await
        .unwrap();
    assert_eq!(outcome, NoticeOutcome::Accepted);
}

#[tokio::test]
async fn a_flaky_authority_both_answers_and_fails_over_40_calls() {
    let t = start().await;
    let number = t.red_light_decision(None).await;
    t.set_mode(BEIJING, "flaky").await;
    let authority = t.authority(BEIJING);
    let (mut ok, mut unavailable) = (0, 0);
    for _ in 0..40 {
        match authority.lookup_decision(&number).await {
            Ok(_) => ok += 1,
            Err(AuthorityError::Unavailable(_)) => unavailable += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        ok > 0 && unavailable > 0,
        "ok {ok}, unavailable {unavailable}"
    );
}

#[tokio::test]
async fn a_flaky_authority_still_takes_each_notice_exactly_once() {
    let t = start().await;
    let number = t.red_light_decision(None).await;
    t.set_mode(BEIJING, "flaky").await;
    let authority = t.authority(BEIJING);
    let n = notice("pay_1", &number, 20_000);
    let mut outcomes = Vec::new();
    for _ in 0..200 {
        if let Ok(outcome) = authority.send_payment_notice(&n).await {
            outcomes.push(outcome);
        }
        if outcomes.len() == 5 {
            break;
        }
    }
    assert_eq!(outcomes.len(), 5, "200 flaky calls should give 5 answers");
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == NoticeOutcome::Accepted)
            .count(),
        1
    );
    assert!(outcomes[1..].iter().all(|o| *o == NoticeOutcome::Duplicate));
    assert_eq!(
        t.sandbox.notice_deliveries("pay_1").unwrap() as usize,
        outcomes.len()
    );
}

#[tokio::test]
async fn a_slow_authority_answers_after_the_delay_and_times_out_a_short_client() {
    let t = start_with(config(Duration::from_millis(400))).await;
    let number = t.red_light_decision(None).await;
    t.sandbox.set_mode(BEIJING, Mode::Slow).unwrap();
    let started = Instant::now();
    assert!(t.authority(BEIJING).lookup_decision(&number).await.is_ok());
    assert!(started.elapsed() >= Duration::from_millis(400));
    let impatient = t.authority_with(BEIJING, SECRET, Duration::from_millis(100));
    assert!(matches!(
        impatient.lookup_decision(&number).await,
        Err(AuthorityError::Unavailable(_))
    ));
}

#[tokio::test]
async fn an_unreachable_authority_is_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let authority = finepay_authority::HttpAuthority::new(
        &format!("http://{addr}/authority/v1/{BEIJING}"),
        SECRET,
        Duration::from_secs(2),
    );
    let err = authority
        .lookup_decision("1100000000000015")
        .await
        .unwrap_err();
    assert!(matches!(err, AuthorityError::Unavailable(_)), "{err:?}");
}
