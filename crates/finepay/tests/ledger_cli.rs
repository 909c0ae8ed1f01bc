//! Acceptance 9: `finepay ledger check` passes on a database the suite used and fails on one
//! that was tampered with.
#![allow(clippy::unwrap_used)]
mod common;

use common::*;
use serde_json::json;
use std::path::Path;
use std::process::Command;

fn ledger_check(db_url: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_finepay"))
        .args(["ledger", "check", "--database", db_url])
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Tampers with the live database, checks that `ledger check` fails naming `rule`, then undoes it.
fn tampered_check_fails(app: &TestApp, tamper: &str, undo: &str, rule: &str) {
    app.with_db(|c| c.batch(tamper).unwrap());
    let (code, out) = ledger_check(&app.db_url());
    app.with_db(|c| c.batch(undo).unwrap());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(rule), "{out}");
    let (code, out) = ledger_check(&app.db_url());
    assert_eq!(code, 0, "undone: {out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ledger_check_passes_after_payments_and_fails_after_tampering() {
    let app = TestApp::spawn().await;
    let (user, card) = app.funded_user(1_000).await;
    let a = app.decision("京A12345", "110000", 0).await;
    let b = app.decision("京A12345", "110000", 30).await;
    let (s, _) = json(
        app.pay(
            &user,
            "a",
            &a,
            20_000,
            "京A12345",
            json!({"type": "balance"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201);
    let due = app
        .get_json(&format!("/api/v1/penalty-decisions/{b}"), &user.token)
        .await["amount_due"]
        .as_i64()
        .unwrap();
    let (s, _) = json(
        app.pay(
            &user,
            "b",
            &b,
            due,
            "京A12345",
            json!({"type": "card", "card_id": card}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201);

    let (code, out) = ledger_check(&app.db_url());
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("passed"), "{out}");

    // A balance changed without a posting.
    tampered_check_fails(
        &app,
        "UPDATE accounts SET balance = balance + 100 WHERE key LIKE 'user:%:balance'",
        "UPDATE accounts SET balance = balance - 100 WHERE key LIKE 'user:%:balance'",
        "balance equals the sum of its postings",
    );
    // A posting changed, so its transaction no longer balances.
    tampered_check_fails(
        &app,
        "UPDATE postings SET amount = amount + 1 WHERE id = (SELECT MIN(id) FROM postings)",
        "UPDATE postings SET amount = amount - 1 WHERE id = (SELECT MIN(id) FROM postings)",
        "balances (postings sum to zero)",
    );
    // A succeeded payment whose receipt points elsewhere.
    tampered_check_fails(
        &app,
        "UPDATE payments SET receipt_id = 'rcp_gone' WHERE receipt_id IS NOT NULL AND method_type = 'balance'",
        "UPDATE payments SET receipt_id = 'rcp_' || substr(id, 5) WHERE method_type = 'balance'",
        "exactly one receipt",
    );
    // An authority account pushed below zero (it would have been paid out more than it got).
    tampered_check_fails(
        &app,
        "UPDATE accounts SET balance = balance - 100000000 WHERE key LIKE 'authority:%:payable'",
        "UPDATE accounts SET balance = balance + 100000000 WHERE key LIKE 'authority:%:payable'",
        "authority:C:payable + authority:C:settled is never below zero",
    );
    // The bank's clearing account above zero (the bank would owe money it never took).
    tampered_check_fails(
        &app,
        "UPDATE accounts SET balance = balance + 100000000 WHERE key LIKE 'bank:%:clearing'",
        "UPDATE accounts SET balance = balance - 100000000 WHERE key LIKE 'bank:%:clearing'",
        "bank:*:clearing is never above zero",
    );
    // A ledger transaction whose payment is not there.
    tampered_check_fails(
        &app,
        "UPDATE ledger_transactions SET reference = 'gone_' || reference
         WHERE id = (SELECT MIN(id) FROM ledger_transactions)",
        "UPDATE ledger_transactions SET reference = substr(reference, 6) WHERE reference LIKE 'gone_%'",
        "reference exists",
    );
    // Settlement: once both payments are confirmed, a batch settles Beijing; then its books are
    // made to disagree, one way at a time.
    wait_for(
        std::time::Duration::from_secs(10),
        "both confirmed",
        || async {
            let n = app.with_db(|c| {
                c.query_one(
                    "SELECT COUNT(*) AS n FROM payments WHERE authority_status = 'confirmed'",
                    &[],
                )
                .unwrap()
                .int("n")
                .unwrap()
            });
            (n == 2).then_some(()).ok_or(format!("{n} confirmed"))
        },
    )
    .await;
    let batch = app
        .running
        .platform
        .settlement()
        .close("110000", finepay_core::today_in_china(), "test")
        .await
        .unwrap();
    assert_eq!(batch.count, 2);
    let (code, out) = ledger_check(&app.db_url());
    assert_eq!(code, 0, "{out}");
    tampered_check_fails(
        &app,
        "UPDATE settlement_batches SET net = net + 1, payments_total = payments_total + 1",
        "UPDATE settlement_batches SET net = net - 1, payments_total = payments_total - 1",
        "settled account is the sum of its settlement batches' nets",
    );
    tampered_check_fails(
        &app,
        "UPDATE settlement_batches SET net = net + 1, payments_total = payments_total + 1",
        "UPDATE settlement_batches SET net = net - 1, payments_total = payments_total - 1",
        "totals are its items'",
    );
    tampered_check_fails(
        &app,
        "UPDATE settlement_items SET amount = amount + 1",
        "UPDATE settlement_items SET amount = amount - 1",
        "a settlement item is its payment's",
    );
    tampered_check_fails(
        &app,
        "UPDATE settlement_items SET kind = 'refund' WHERE kind = 'payment'",
        "UPDATE settlement_items SET kind = 'payment' WHERE kind = 'refund'",
        "payable is its unsettled payments less its unsettled refunds",
    );
    tampered_check_fails(
        &app,
        "UPDATE ledger_transactions SET reference = 'stl_gone' WHERE kind = 'settlement'",
        &format!(
            "UPDATE ledger_transactions SET reference = '{}' WHERE kind = 'settlement'",
            batch.id
        ),
        "reference exists",
    );
    // A payment whose amount is not its fine plus its late fee.
    tampered_check_fails(
        &app,
        "UPDATE payments SET late_fee = late_fee + 1 WHERE method_type = 'balance'",
        "UPDATE payments SET late_fee = late_fee - 1 WHERE method_type = 'balance'",
        "amount is its fine plus its late fee",
    );
}

#[test]
fn ledger_check_of_a_missing_database_is_an_error_not_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _) = ledger_check(&format!(
        "sqlite://{}",
        dir.path().join("nothing.db").display()
    ));
    assert_ne!(code, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_verifies_offline_against_saved_keys() {
    let app = TestApp::spawn().await;
    let (user, _) = app.funded_user(1_000).await;
    let n = app.decision("京A12345", "110000", 0).await;
    let (_, p) = json(
        app.pay(
            &user,
            "r",
            &n,
            20_000,
            "京A12345",
            json!({"type": "balance"}),
        )
        .await,
    )
    .await;
    let receipt = app
        .get_json(
            &format!("/api/v1/receipts/{}", p["receipt_id"].as_str().unwrap()),
            &user.token,
        )
        .await;
    let keys: serde_json::Value = app
        .get("/.well-known/finepay/receipt-keys", None)
        .await
        .json()
        .await
        .unwrap();
    let receipt_file = app.dir.path().join("receipt.json");
    let keys_file = app.dir.path().join("keys.json");
    std::fs::write(&receipt_file, receipt.to_string()).unwrap();
    std::fs::write(&keys_file, keys.to_string()).unwrap();
    let verify = |file: &Path| {
        Command::new(env!("CARGO_BIN_EXE_finepay"))
            .args([
                "receipt",
                "verify",
                file.to_str().unwrap(),
                "--keys",
                keys_file.to_str().unwrap(),
            ])
            .output()
            .unwrap()
    };
    let out = verify(&receipt_file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let mut forged = receipt.clone();
    forged["payer_masked"] = json!("**虎");
    let forged_file = app.dir.path().join("forged.json");
    std::fs::write(&forged_file, forged.to_string()).unwrap();
    let out = verify(&forged_file);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("signature_mismatch"));
}
