//! Settlement, reconciliation and the operators' API (issue 12, SPEC §9), against the real server
//! and the sandbox authority over HTTP; `finepay reconcile`, `settle` and `admin grant` run as the
//! binary an operator would run, beside the server, on the same database.
#![allow(clippy::unwrap_used)]

mod common;

use common::{json, TestApp, User};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// Runs the `finepay` binary with the app's database and data directory; exit code and stdout.
fn finepay(app: &TestApp, args: &[&str]) -> (i32, String) {
    let data_dir = app.dir.path().join("data");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_finepay"))
        .args(args)
        .args([
            "--database",
            &app.db_url(),
            "--data-dir",
            data_dir.to_str().unwrap(),
        ])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    if out.status.code() == Some(2) {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    }
    (out.status.code().unwrap_or(-1), stdout)
}

fn reconcile_json(app: &TestApp, city: &str, date: &str, mend: bool) -> (i32, Value) {
    let mut args = vec!["reconcile", "--city", city, "--date", date, "--json"];
    if mend {
        args.push("--mend");
    }
    let (code, out) = finepay(app, &args);
    let report = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    (code, report)
}

/// A signed-in operator, made one by `finepay admin grant`.
async fn operator(app: &TestApp) -> User {
    let user = app.user().await;
    let (code, out) = finepay(app, &["admin", "grant", &user.phone]);
    assert_eq!(code, 0, "{out}");
    user
}

fn today() -> String {
    finepay_core::today_in_china().to_string()
}

/// Pays and returns the payment.
async fn pay(app: &TestApp, user: &User, number: &str, plate: &str, method: Value) -> Value {
    let key = format!("pay-{number}");
    let res = app.pay(user, &key, number, 20_000, plate, method).await;
    let (status, body) = json(res).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

async fn wait_confirmed(app: &TestApp, user: &User, payment: &Value) {
    let id = payment["id"].as_str().unwrap();
    let p = app
        .wait_authority_status(user, id, "confirmed", Duration::from_secs(20))
        .await;
    assert_eq!(p["authority_status"], "confirmed", "{p}");
}

fn account_balance(app: &TestApp, key: &str) -> i64 {
    let key = key.to_owned();
    app.with_db(move |c| {
        c.query_opt(
            "SELECT balance FROM accounts WHERE key = $1",
            finepay_store::params![&key],
        )
        .unwrap()
        .map_or(0, |r| r.int("balance").unwrap())
    })
}

/// Acceptance 1: a day over three cities, all three methods, refunds, an outage and a
/// revocation: each city's settlement is its confirmed payments less its refunds to the fen, its
/// file's SHA-256 matches, the sandbox authority accepts it, and reconciliation matches all.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_day_over_three_cities_settles_to_the_fen_and_reconciles() {
    let app = TestApp::spawn().await;
    let (payer, card) = app.funded_user(2_000).await;
    let op = operator(&app).await;
    let cities = [
        ("110000", "京A52831"),
        ("310000", "沪A52831"),
        ("440100", "粤A52831"),
    ];
    let methods = [
        json!({"type": "balance"}),
        json!({"type": "credit"}),
        json!({"type": "card", "card_id": card}),
    ];
    // (city, payment, refunded?)
    let mut paid: Vec<(String, Value, bool)> = Vec::new();
    for (city, plate) in cities {
        for method in &methods {
            let number = app.decision(plate, city, 0).await;
            let p = pay(&app, &payer, &number, plate, method.clone()).await;
            paid.push((city.to_owned(), p, false));
        }
    }
    // Shanghai's authority goes down: a decision fetched before stays payable, its notice waits.
    let number = app.decision("沪A52831", "310000", 0).await;
    let looked = app
        .get_json(&format!("/api/v1/penalty-decisions/{number}"), &payer.token)
        .await;
    assert_eq!(looked["status"], "unpaid", "{looked}");
    app.set_mode("310000", "down").await;
    let during = pay(
        &app,
        &payer,
        &number,
        "沪A52831",
        json!({"type": "balance"}),
    )
    .await;
    assert_eq!(during["authority_status"], "pending", "{during}");
    app.set_mode("310000", "up").await;
    paid.push(("310000".into(), during, false));
    for (_, p, _) in &paid {
        wait_confirmed(&app, &payer, p).await;
    }
    // Revocations refund: a balance payment in Beijing and a card payment in Guangzhou.
    for (city, method) in [("110000", "balance"), ("440100", "card")] {
        let entry = paid
            .iter_mut()
            .find(|(c, p, _)| c == city && p["method"]["type"] == method)
            .unwrap();
        let refunded = app
            .revoke_and_wait_refunded(
                &payer,
                entry.1["id"].as_str().unwrap(),
                entry.1["decision_number"].as_str().unwrap(),
            )
            .await;
        assert_eq!(refunded["status"], "refunded");
        entry.2 = true;
    }

    let date = today();
    for (city, _) in cities {
        let payments: i64 = paid
            .iter()
            .filter(|(c, _, _)| c == city)
            .map(|(_, p, _)| p["amount"].as_i64().unwrap())
            .sum();
        let refunds: i64 = paid
            .iter()
            .filter(|(c, _, r)| c == city && *r)
            .map(|(_, p, _)| p["amount"].as_i64().unwrap())
            .sum();
        let lines = paid.iter().filter(|(c, _, _)| c == city).count()
            + paid.iter().filter(|(c, _, r)| c == city && *r).count();
        let settled_before = account_balance(&app, &format!("authority:{city}:settled"));
        let payable_before = account_balance(&app, &format!("authority:{city}:payable"));
        assert_eq!(payable_before, payments - refunds, "{city}: payable before");

        let res = app
            .post(
                "/api/v1/admin/settlements",
                Some(&op.token),
                &json!({"city_code": city, "date": date}),
            )
            .await;
        let (status, batch) = json(res).await;
        assert_eq!(status, StatusCode::CREATED, "{batch}");
        assert_eq!(batch["payments_total"], payments, "{city}: {batch}");
        assert_eq!(batch["refunds_total"], refunds, "{city}: {batch}");
        assert_eq!(batch["net"], payments - refunds, "{city}: {batch}");
        assert_eq!(batch["count"], lines as i64, "{city}: {batch}");
        assert_eq!(batch["authority_status"], "accepted", "{city}: {batch}");
        // The money moved in the ledger, to the fen.
        assert_eq!(
            account_balance(&app, &format!("authority:{city}:settled")) - settled_before,
            payments - refunds
        );
        assert_eq!(
            account_balance(&app, &format!("authority:{city}:payable")),
            0
        );

        // The file: its SHA-256 is the batch's, its amounts sum to the net.
        let id = batch["id"].as_str().unwrap();
        let res = app
            .http
            .get(format!(
                "{}/api/v1/admin/settlements/{city}/{date}/{id}.csv",
                app.url
            ))
            .bearer_auth(&op.token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let csv = res.text().await.unwrap();
        assert_eq!(hex::encode(Sha256::digest(csv.as_bytes())), batch["sha256"]);
        let mut rows = csv.lines();
        assert_eq!(
            rows.next(),
            Some("kind,payment_id,decision_number,amount_fen,at")
        );
        let body: Vec<&str> = rows.collect();
        let (totals, items) = body.split_last().unwrap();
        assert_eq!(*totals, format!("totals,{lines},,{},", payments - refunds));
        let sum: i64 = items
            .iter()
            .map(|l| l.split(',').nth(3).unwrap().parse::<i64>().unwrap())
            .sum();
        assert_eq!(sum, payments - refunds);

        // The day's batches as operators see them.
        let day = app
            .get_json(
                &format!("/api/v1/admin/settlements/{city}/{date}"),
                &op.token,
            )
            .await;
        assert_eq!(day["batches"].as_array().unwrap().len(), 1, "{day}");
        assert_eq!(day["batches"][0]["sha256"], batch["sha256"]);

        // A second batch of the same day settles nothing twice.
        let res = app
            .post(
                "/api/v1/admin/settlements",
                Some(&op.token),
                &json!({"city_code": city, "date": date}),
            )
            .await;
        let (status, again) = json(res).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(
            (again["count"].as_i64(), again["net"].as_i64()),
            (Some(0), Some(0))
        );

        // Reconciliation: everything matches.
        let (code, report) = reconcile_json(&app, city, &date, false);
        assert_eq!(code, 0, "{report:#}");
        let count = paid.iter().filter(|(c, _, _)| c == city).count();
        assert_eq!(report["matched"], count as i64, "{report:#}");
        assert_eq!(report["discrepancies"], json!([]));
        assert_eq!(report["totals"]["platform"], report["totals"]["authority"]);
        assert_eq!(report["totals"]["platform"], payments);
    }
    // The operator's actions are in the audit log, newest first.
    let audit = app.get_json("/api/v1/admin/audit", &op.token).await;
    let actions: Vec<&str> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "settlement.close").count(),
        6
    );
    assert_eq!(actions.last(), Some(&"admin.grant"));
    let entries = audit["data"].as_array().unwrap();
    assert!(entries
        .iter()
        .filter(|e| e["action"] == "settlement.close")
        .all(|e| e["actor"] == op.id));
    let runs: Vec<&Value> = entries
        .iter()
        .filter(|e| e["action"] == "reconciliation.run")
        .collect();
    assert_eq!(runs.len(), 3, "{audit}");
    assert!(runs.iter().all(|e| e["actor"] == "cli"));
}

/// The scheduler: the end-of-day batch of a day closes by itself from 00:30 the next day, once,
/// and a platform that was down catches up the days it missed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_end_of_day_batch_runs_at_half_past_midnight_and_catches_up() {
    use chrono::TimeZone;
    let app = TestApp::spawn().await;
    let (payer, _) = app.funded_user(500).await;
    let number = app.decision("京A52832", "110000", 0).await;
    let p = pay(
        &app,
        &payer,
        &number,
        "京A52832",
        json!({"type": "balance"}),
    )
    .await;
    wait_confirmed(&app, &payer, &p).await;

    let today = finepay_core::today_in_china();
    let at = |day: chrono::NaiveDate, h: u32, m: u32| {
        chrono_tz::Asia::Shanghai
            .from_local_datetime(&day.and_hms_opt(h, m, 0).unwrap())
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    let settlement = app.running.platform.settlement();
    let tomorrow = today.succ_opt().unwrap();
    let of_today = |closed: &[finepay_core::settlement::BatchView]| {
        closed
            .iter()
            .filter(|b| b.city_code == "110000" && b.date == today.to_string())
            .cloned()
            .collect::<Vec<_>>()
    };
    // Before 00:30 nothing of today is due.
    let early = settlement
        .scheduled_round(at(tomorrow, 0, 29))
        .await
        .unwrap();
    assert!(of_today(&early).is_empty(), "{early:?}");
    // At 00:30 today's end-of-day batch closes, with the payment.
    let due = settlement
        .scheduled_round(at(tomorrow, 0, 31))
        .await
        .unwrap();
    let batch = of_today(&due);
    assert_eq!(batch.len(), 1, "{due:?}");
    assert!(batch[0].end_of_day);
    assert_eq!((batch[0].count, batch[0].net), (1, 20_000));
    assert_eq!(batch[0].authority_status, "accepted");
    // Once only.
    let again = settlement
        .scheduled_round(at(tomorrow, 0, 45))
        .await
        .unwrap();
    assert!(again.is_empty(), "{again:?}");
    // Down for three days: the first round after catches up every missed day of every city.
    let back = today + chrono::Duration::days(4);
    let caught = settlement.scheduled_round(at(back, 5, 0)).await.unwrap();
    let beijing: Vec<String> = caught
        .iter()
        .filter(|b| b.city_code == "110000")
        .map(|b| b.date.clone())
        .collect();
    let missed: Vec<String> = (1..=3)
        .map(|d| (today + chrono::Duration::days(d)).to_string())
        .collect();
    assert_eq!(beijing, missed);
    assert!(caught.iter().all(|b| b.end_of_day && b.count == 0));
}

/// Acceptance 2: each discrepancy injected with `tamper` (a forgotten record, a duplicate, a
/// changed amount) and one at the platform's side (a record the platform has no payment for) is
/// found and classified; the forgotten one is mended and then matches; exit codes 1 then 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_discrepancy_is_classified_and_a_forgotten_record_is_mended() {
    let app = TestApp::spawn().await;
    let (payer, _) = app.funded_user(2_000).await;
    let plate = "京A52833";
    let mut payments = Vec::new();
    for _ in 0..4 {
        let number = app.decision(plate, "110000", 0).await;
        let p = pay(&app, &payer, &number, plate, json!({"type": "balance"})).await;
        wait_confirmed(&app, &payer, &p).await;
        payments.push(p);
    }
    let number_of = |i: usize| payments[i]["decision_number"].as_str().unwrap().to_owned();
    let id_of = |i: usize| payments[i]["id"].as_str().unwrap().to_owned();
    let date = today();
    let (code, clean) = reconcile_json(&app, "110000", &date, false);
    assert_eq!(code, 0, "{clean:#}");
    assert_eq!(clean["matched"], 4);

    let tamper = |number: String, body: Value| {
        let app = &app;
        async move {
            let (status, answer) = app
                .sandbox(
                    Method::POST,
                    &format!("/sandbox/v1/decisions/{number}/tamper"),
                    Some(body),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{answer}");
        }
    };
    tamper(number_of(0), json!({"action": "forget"})).await;
    tamper(number_of(1), json!({"action": "duplicate"})).await;
    tamper(
        number_of(2),
        json!({"action": "set_amount", "amount": 12_345}),
    )
    .await;
    // A record at the authority of a payment the platform never made: another system's notice,
    // signed with the platform's key (from the endpoints file `serve` keeps).
    let stray = app.decision(plate, "110000", 0).await;
    let endpoints =
        finepay_authority::endpoints::load(&app.dir.path().join("data/endpoints.toml")).unwrap();
    let beijing = endpoints
        .cities
        .iter()
        .find(|c| c.city.code.as_str() == "110000")
        .unwrap();
    let authority = finepay_authority::HttpAuthority::new(
        &beijing.base_url,
        &beijing.key,
        Duration::from_secs(5),
    );
    let stray_id = "pay_ffffffffffffffffffffffffffffffff";
    let outcome = finepay_authority::Authority::send_payment_notice(
        &authority,
        &finepay_authority::PaymentNotice {
            payment_id: stray_id.into(),
            decision_number: stray.clone(),
            amount_fen: 20_000,
            paid_at: chrono::Utc::now(),
        },
    )
    .await
    .unwrap();
    assert_eq!(outcome, finepay_authority::NoticeOutcome::Accepted);

    let (code, report) = reconcile_json(&app, "110000", &date, false);
    assert_eq!(code, 1, "{report:#}");
    let found = |kind: &str| -> Vec<Value> {
        report["discrepancies"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["kind"] == kind)
            .cloned()
            .collect()
    };
    let missing = found("missing_at_authority");
    assert_eq!(missing.len(), 1, "{report:#}");
    assert_eq!(missing[0]["payment_id"], id_of(0));
    assert_eq!(missing[0]["decision_number"], number_of(0));
    assert_eq!(missing[0]["platform_amount"], 20_000);
    let duplicate = found("duplicate_at_authority");
    assert_eq!(duplicate.len(), 1, "{report:#}");
    assert_eq!(duplicate[0]["payment_id"], id_of(1));
    let changed = found("amount_mismatch");
    assert_eq!(changed.len(), 1, "{report:#}");
    assert_eq!(changed[0]["payment_id"], id_of(2));
    assert_eq!(
        (
            changed[0]["platform_amount"].as_i64(),
            changed[0]["authority_amount"].as_i64()
        ),
        (Some(20_000), Some(12_345))
    );
    let unknown = found("missing_at_platform");
    assert_eq!(unknown.len(), 1, "{report:#}");
    assert_eq!(unknown[0]["payment_id"], stray_id);
    assert_eq!(unknown[0]["decision_number"], stray);
    // The duplicated payment's first record and the untouched one agree.
    assert_eq!(report["matched"], 2, "{report:#}");
    assert_eq!(report["discrepancies"].as_array().unwrap().len(), 4);
    assert!(report["discrepancies"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["mended"] == false));

    // --mend re-sends the lost notice; the rest stays listed for a person: still exit 1.
    let (code, mended) = reconcile_json(&app, "110000", &date, true);
    assert_eq!(code, 1, "{mended:#}");
    let lost: Vec<&Value> = mended["discrepancies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"] == "missing_at_authority")
        .collect();
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0]["mended"], true, "{mended:#}");
    assert_eq!(mended["matched"], 3, "{mended:#}");
    let record = app.authority_record(&number_of(0)).await;
    assert_eq!(record["status"], "paid", "{record}");
    assert_eq!(record["payment_id"], id_of(0), "{record}");

    // A city with only a forgotten record: 1, then --mend makes it 0, and it stays matched.
    let plate = "沪A52833";
    let number = app.decision(plate, "310000", 0).await;
    let p = pay(&app, &payer, &number, plate, json!({"type": "credit"})).await;
    wait_confirmed(&app, &payer, &p).await;
    tamper(number.clone(), json!({"action": "forget"})).await;
    let (code, report) = reconcile_json(&app, "310000", &date, false);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["discrepancies"][0]["kind"], "missing_at_authority");
    let (code, report) = reconcile_json(&app, "310000", &date, true);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["discrepancies"][0]["mended"], true);
    assert_eq!(report["matched"], 1);
    let (code, report) = reconcile_json(&app, "310000", &date, false);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["discrepancies"], json!([]));

    // The readable report names each kind and the totals.
    let (code, text) = finepay(&app, &["reconcile", "--city", "110000", "--date", &date]);
    assert_eq!(code, 1, "{text}");
    for needle in [
        "Beijing 北京 (110000)",
        "duplicate_at_authority",
        "amount_mismatch",
        "missing_at_platform",
        "a person must look",
    ] {
        assert!(text.contains(needle), "{needle} not in:\n{text}");
    }
    // Usage and connection errors exit 2.
    let (code, _) = finepay(&app, &["reconcile", "--city", "999999", "--date", &date]);
    assert_eq!(code, 2);
    let (code, _) = finepay(
        &app,
        &["reconcile", "--city", "110000", "--date", "yesterday"],
    );
    assert_eq!(code, 2);
}

/// Tamper refuses what it cannot corrupt, and names the field it cannot read.
#[tokio::test]
async fn tamper_needs_a_paid_decision_and_a_known_action() {
    let app = TestApp::spawn().await;
    let number = app.decision("京A52834", "110000", 0).await;
    let (status, body) = app
        .sandbox(
            Method::POST,
            &format!("/sandbox/v1/decisions/{number}/tamper"),
            Some(json!({"action": "forget"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "decision_not_paid");
    let (status, body) = app
        .sandbox(
            Method::POST,
            &format!("/sandbox/v1/decisions/{number}/tamper"),
            Some(json!({"action": "burn"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["field"], "action");
    let (status, body) = app
        .sandbox(
            Method::POST,
            "/sandbox/v1/decisions/9999999999999999/tamper",
            Some(json!({"action": "set_amount", "amount": 5})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

/// Only operators reach `/api/v1/admin`: anyone else signed in gets 403 `forbidden`, nobody
/// signed in 401.
#[tokio::test]
async fn the_admin_api_is_for_operators_only() {
    let app = TestApp::spawn().await;
    let citizen = app.user().await;
    let date = today();
    let gets = [
        "/api/v1/admin/overview".to_owned(),
        "/api/v1/admin/audit".to_owned(),
        format!("/api/v1/admin/settlements/110000/{date}"),
        format!("/api/v1/admin/settlements/110000/{date}/stl_x.csv"),
    ];
    for path in &gets {
        let (status, body) = json(app.get(path, Some(&citizen.token)).await).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        assert_eq!(body["error"]["code"], "forbidden");
        let (status, _) = json(app.get(path, None).await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
    for (path, body) in [
        (
            "/api/v1/admin/settlements",
            json!({"city_code": "110000", "date": date}),
        ),
        (
            "/api/v1/admin/reconciliations",
            json!({"city_code": "110000", "date": date, "mend": true}),
        ),
    ] {
        let (status, answer) = json(app.post(path, Some(&citizen.token), &body).await).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {answer}");
    }
    // Nothing was done for the citizen: no batch, no run.
    let batches: i64 = app.with_db(|c| {
        c.query_one(
            "SELECT COUNT(*) AS n FROM settlement_batches WHERE closed_by <> 'schedule'",
            &[],
        )
        .unwrap()
        .int("n")
        .unwrap()
    });
    assert_eq!(batches, 0);

    // An operator reconciles through the API, and bad input is named.
    let op = operator(&app).await;
    let (status, report) = json(
        app.post(
            "/api/v1/admin/reconciliations",
            Some(&op.token),
            &json!({"city_code": "110000", "date": date, "mend": true}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["city_code"], "110000");
    assert_eq!(report["discrepancies"], json!([]));
    let (status, bad) = json(
        app.post(
            "/api/v1/admin/reconciliations",
            Some(&op.token),
            &json!({"city_code": "110000", "date": "04/12/2026"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(bad["error"]["field"], "date");
    let (status, bad) = json(
        app.post(
            "/api/v1/admin/settlements",
            Some(&op.token),
            &json!({"city_code": "999999", "date": date}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    assert_eq!(bad["error"]["field"], "city_code");
    let overview = app.get_json("/api/v1/admin/overview", &op.token).await;
    assert_eq!(
        overview["cities"].as_array().unwrap().len(),
        6,
        "{overview}"
    );
    assert_eq!(
        overview["cities"][0]["last_reconciliation"]["run_id"], report["run_id"],
        "{overview}"
    );
    // The audit log cannot be rewritten, even from inside the database.
    let refused = app.with_db(|c| c.execute("DELETE FROM admin_audit", &[]).is_err());
    assert!(refused, "the audit log must be append-only");
    let refused = app.with_db(|c| {
        c.execute("UPDATE admin_audit SET actor = 'x'", &[])
            .is_err()
    });
    assert!(refused, "the audit log must be append-only");
}

/// `finepay settle` closes a batch from the command line; `admin grant` of an unknown phone
/// fails with exit 2 and says what to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn settle_and_grant_from_the_command_line() {
    let app = TestApp::spawn().await;
    let (payer, card) = app.funded_user(500).await;
    let number = app.decision("粤A52835", "440100", 0).await;
    let p = pay(
        &app,
        &payer,
        &number,
        "粤A52835",
        json!({"type": "card", "card_id": card}),
    )
    .await;
    wait_confirmed(&app, &payer, &p).await;
    let date = today();
    let (code, out) = finepay(&app, &["settle", "--city", "440100", "--date", &date]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("net 20000 fen"), "{out}");
    assert!(out.contains("authority: accepted"), "{out}");
    assert_eq!(account_balance(&app, "authority:440100:settled"), 20_000);
    let (code, _) = finepay(&app, &["admin", "grant", "13900000000"]);
    assert_eq!(code, 2);
}

/// The sandbox authority checks a file against its records: a payment settled before, a line
/// twice, a changed hash or a wrong net are each refused, with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_authority_refuses_a_file_that_settles_anything_twice_or_does_not_add_up() {
    let app = TestApp::spawn().await;
    let (payer, _) = app.funded_user(500).await;
    let op = operator(&app).await;
    let number = app.decision("京A52836", "110000", 0).await;
    let p = pay(
        &app,
        &payer,
        &number,
        "京A52836",
        json!({"type": "balance"}),
    )
    .await;
    wait_confirmed(&app, &payer, &p).await;
    let date = today();
    let (status, batch) = json(
        app.post(
            "/api/v1/admin/settlements",
            Some(&op.token),
            &json!({"city_code": "110000", "date": date}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(batch["authority_status"], "accepted", "{batch}");
    let csv = app
        .http
        .get(format!(
            "{}/api/v1/admin/settlements/110000/{date}/{}.csv",
            app.url,
            batch["id"].as_str().unwrap()
        ))
        .bearer_auth(&op.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let endpoints =
        finepay_authority::endpoints::load(&app.dir.path().join("data/endpoints.toml")).unwrap();
    let beijing = endpoints
        .cities
        .iter()
        .find(|c| c.city.code.as_str() == "110000")
        .unwrap();
    let authority = finepay_authority::HttpAuthority::new(
        &beijing.base_url,
        &beijing.key,
        Duration::from_secs(5),
    );
    let send = |id: &str, csv: String, net: i64, count: u64| {
        let file = finepay_authority::SettlementFile {
            batch_id: id.to_owned(),
            date: date.parse().unwrap(),
            count,
            net_fen: net,
            sha256: hex::encode(Sha256::digest(csv.as_bytes())),
            csv,
        };
        let authority = &authority;
        async move {
            finepay_authority::Authority::send_settlement(authority, &file)
                .await
                .unwrap()
        }
    };
    // The same lines in another batch: settled already.
    let again = send("stl_again", csv.clone(), 20_000, 1).await;
    assert_eq!(again.result, "refused");
    assert!(again.problems[0].contains("was settled in"), "{again:?}");
    // A line twice in one file, and totals that do not add up.
    let line = csv.lines().nth(1).unwrap();
    let doubled = format!(
        "kind,payment_id,decision_number,amount_fen,at\n{line}\n{line}\ntotals,2,,40000,\n"
    );
    let twice = send("stl_twice", doubled, 40_000, 2).await;
    assert_eq!(twice.result, "refused");
    assert!(
        twice
            .problems
            .iter()
            .any(|p| p.contains("twice in this file")),
        "{twice:?}"
    );
    let wrong_net = send("stl_net", csv.replace(",20000,", ",20001,"), 20_000, 1).await;
    assert_eq!(wrong_net.result, "refused", "{wrong_net:?}");
    // A hash that is not the file's.
    let mut file = finepay_authority::SettlementFile {
        batch_id: "stl_hash".into(),
        date: date.parse().unwrap(),
        count: 1,
        net_fen: 20_000,
        sha256: "0".repeat(64),
        csv,
    };
    let bad = finepay_authority::Authority::send_settlement(&authority, &file)
        .await
        .unwrap();
    assert!(
        bad.problems.iter().any(|p| p.starts_with("sha256")),
        "{bad:?}"
    );
    // The batch first accepted, sent again, is answered as the first time.
    file.batch_id = batch["id"].as_str().unwrap().to_owned();
    let first = finepay_authority::Authority::send_settlement(&authority, &file)
        .await
        .unwrap();
    assert_eq!(first.result, "accepted");
}
