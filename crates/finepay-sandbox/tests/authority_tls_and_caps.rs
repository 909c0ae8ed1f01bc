//! SPEC §10: authorities are reached over TLS (rustls) at `https://` addresses, and no answer
//! larger than the client's cap is read, and a feed event the client cannot read is passed over.
#![allow(clippy::unwrap_used)]

#[path = "authority_kit/mod.rs"]
mod common;

use chrono::Utc;
use common::*;
use finepay_authority::{
    Authority, AuthorityError, HttpAuthority, NoticeOutcome, PaymentNotice, RecordStatus,
    MAX_ANSWER_BYTES,
};
use std::time::Duration;

/// The sandbox's protocol API over HTTPS with a self-signed certificate for `localhost`; returns
/// the base URL and the certificate (PEM) a client must trust.
async fn https_sandbox(t: &TestSandbox) -> (String, String) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_pem = cert.cert.pem();
    let tls = axum_server::tls_rustls::RustlsConfig::from_pem(
        cert_pem.clone().into_bytes(),
        cert.signing_key.serialize_pem().into_bytes(),
    )
    .await
    .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = t.sandbox.protocol_router();
    tokio::spawn(async move {
        axum_server::from_tcp_rustls(listener, tls)
            .unwrap()
            .serve(app.into_make_service())
            .await
    });
    (format!("https://localhost:{port}"), cert_pem)
}

#[tokio::test]
async fn a_notice_goes_through_to_an_https_authority_whose_certificate_is_trusted() {
    let t = start().await;
    let number = t.red_light_decision(None).await;
    let (base, cert) = https_sandbox(&t).await;
    let authority = HttpAuthority::with_root_certificate(
        &format!("{base}/authority/v1/{BEIJING}"),
        SECRET,
        Duration::from_secs(5),
        cert.as_bytes(),
    )
    .unwrap();
    let record = authority.lookup_decision(&number).await.unwrap();
    assert_eq!(record.amount_due_fen, 20_000);
    let notice = PaymentNotice {
        payment_id: "pay_tls_1".into(),
        decision_number: number.clone(),
        amount_fen: 20_000,
        paid_at: Utc::now(),
    };
    assert_eq!(
        authority.send_payment_notice(&notice).await.unwrap(),
        NoticeOutcome::Accepted
    );
    assert_eq!(
        authority.lookup_decision(&number).await.unwrap().status,
        RecordStatus::Paid
    );

    // The same server is refused by a client that does not trust its certificate.
    let stranger = HttpAuthority::new(
        &format!("{base}/authority/v1/{BEIJING}"),
        SECRET,
        Duration::from_secs(5),
    );
    match stranger.lookup_decision(&number).await {
        Err(AuthorityError::Unavailable(why)) => assert!(
            why.contains("transport") || why.contains("connect"),
            "{why}"
        ),
        other => panic!("an untrusted certificate must fail the call: {other:?}"),
    }
}

/// A client for Beijing pointed at a server that answers every request with `body`.
async fn answering_always(body: String) -> HttpAuthority {
    // Any method, any path: the same body.
    let app = axum::Router::new().fallback(move || {
        let body = body.clone();
        async move { body }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    HttpAuthority::new(
        &format!("http://{addr}/authority/v1/{BEIJING}"),
        SECRET,
        Duration::from_secs(5),
    )
}

#[tokio::test]
async fn an_answer_larger_than_the_cap_is_refused_cleanly() {
    let huge = "x".repeat(MAX_ANSWER_BYTES + 1);
    let authority = answering_always(huge).await;
    match authority.lookup_decision("1100000000000015").await {
        Err(AuthorityError::Protocol(why)) => assert!(why.contains("larger than"), "{why}"),
        other => panic!("a huge answer must be refused: {other:?}"),
    }
}

/// An authority that answers 200 with something that is not its protocol (an HTML error page, a
/// truncated body, JSON of another shape): every call is a protocol error, never a panic, and
/// never taken for an answer.
#[tokio::test]
async fn garbage_answers_are_protocol_errors() {
    for garbage in [
        "<html><body>502 Bad Gateway</body></html>".to_string(),
        "{\"number\": \"1100000000000015\", \"status\":".to_string(),
        "{\"unexpected\": [1, 2, 3]}".to_string(),
        "\u{0}\u{1}\u{2}binary".to_string(),
    ] {
        let authority = answering_always(garbage.clone()).await;
        match authority.lookup_decision("1100000000000015").await {
            Err(AuthorityError::Protocol(_)) => {}
            other => panic!("{garbage:?} must be refused as a protocol error: {other:?}"),
        }
        let notice = finepay_authority::PaymentNotice {
            payment_id: "pay_1".into(),
            decision_number: "1100000000000015".into(),
            amount_fen: 20_000,
            paid_at: Utc::now(),
        };
        match authority.send_payment_notice(&notice).await {
            Err(AuthorityError::Protocol(_)) => {}
            other => panic!("{garbage:?} is no notice answer: {other:?}"),
        }
    }
}

#[tokio::test]
async fn an_event_of_an_unknown_kind_is_passed_over_and_the_feed_goes_on() {
    let page = serde_json::json!({
        "city_code": BEIJING,
        "events": [
            {"seq": 7, "kind": "decision.appealed", "city_code": BEIJING, "plate": "京A12345",
             "violation_id": "v1", "at": "2026-11-02T00:00:00Z"},
            {"seq": 8, "kind": "violation.recorded", "city_code": BEIJING, "plate": "京A12345",
             "violation_id": "v2", "at": "2026-11-02T00:00:01Z"},
            {"seq": 9, "kind": "decision.issued", "plate": "京A12345"}
        ],
        "next_after": 9
    })
    .to_string();
    let authority = answering_always(page).await;
    let page = authority
        .events_after(6, 100, Duration::from_millis(10))
        .await
        .unwrap();
    assert_eq!(
        page.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [8],
        "the readable event is kept"
    );
    assert_eq!(page.next_after, 9, "the position moves past all three");
    assert_eq!(page.skipped.len(), 2, "{:?}", page.skipped);
    assert!(page.skipped[0].starts_with("7:"), "{:?}", page.skipped);
}
