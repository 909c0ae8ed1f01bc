//! SPEC §10: no answer larger than the client's cap is read from the bank.
#![allow(clippy::unwrap_used)]

use finepay_bank::{Bank, BankError, HttpBank, MAX_ANSWER_BYTES};
use std::time::Duration;

#[tokio::test]
async fn a_bank_answer_larger_than_the_cap_is_refused_cleanly() {
    let huge = format!("{{\"pad\":\"{}\"}}", "x".repeat(MAX_ANSWER_BYTES));
    let app = axum::Router::new().fallback(move || {
        let body = huge.clone();
        async move { ([("content-type", "application/json")], body) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let bank = HttpBank::new(&format!("http://{addr}"), Duration::from_secs(5));
    match bank.verify_card("6222020000000000018", "张三").await {
        Err(BankError::Protocol(why)) => assert!(why.contains("larger than"), "{why}"),
        other => panic!("a huge answer must be refused: {other:?}"),
    }
}
