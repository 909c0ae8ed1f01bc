//! Charges left `processing` are handed to the resolver oldest first, 100 at a time, so rows that
//! stay unknown (a bank that never answers about them) cannot starve the ones behind them.
#![allow(clippy::unwrap_used)]

use chrono::{Duration, TimeZone, Utc};
use finepay_domain::{ChargeStatus, Fen};
use finepay_store::repo::{top_ups, users};
use finepay_store::{time_text, Db, DbLocation, StoreError, WriterConfig};

#[tokio::test]
async fn the_oldest_processing_charges_come_first_and_asked_ones_go_to_the_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(
        &DbLocation::Sqlite(dir.path().join("p.db")),
        WriterConfig::default(),
    )
    .unwrap();
    let start = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    db.writer()
        .run(move |c| {
            users::insert_user(
                c,
                &users::NewUser {
                    id: "usr_1",
                    phone: "13800000001",
                    password_hash: "x",
                    name: "张三",
                    id_number: "110101199003070011",
                    created_at: "2026-11-01T00:00:00.000Z",
                },
            )?;
            users::insert_card(
                c,
                &users::CardRow {
                    id: "card_1".into(),
                    user_id: "usr_1".into(),
                    bank: "ICBC".into(),
                    last4: "0018".into(),
                    card_token: "tok".into(),
                    holder_name: "张三".into(),
                    created_at: "2026-11-01T00:00:00.000Z".into(),
                },
            )?;
            // 150 top-ups, inserted newest first.
            for i in (0..150).rev() {
                let at = start + Duration::minutes(i);
                top_ups::insert_top_up(
                    c,
                    &top_ups::TopUpRow {
                        id: format!("top_{i:03}"),
                        user_id: "usr_1".into(),
                        card_id: "card_1".into(),
                        amount: Fen::from_fen(100),
                        status: ChargeStatus::Processing,
                        bank_reference: format!("top_{i:03}"),
                        failure_reason: None,
                        ledger_tx_id: None,
                        idempotency_key: None,
                        created_at: at,
                        updated_at: at,
                    },
                )?;
            }
            Ok::<(), StoreError>(())
        })
        .await
        .unwrap()
        .unwrap();
    let cutoff = time_text(start + Duration::days(1));
    let picked = db
        .read(move |c| top_ups::processing_top_ups(c, &cutoff))
        .await
        .unwrap();
    let ids: Vec<String> = picked.into_iter().map(|t| t.id).collect();
    let oldest: Vec<String> = (0..100).map(|i| format!("top_{i:03}")).collect();
    assert_eq!(ids, oldest);

    // The resolver asked about those 100 and learnt nothing (a bank that never answers about
    // them): the next round takes the 50 it has not asked yet first, then those.
    let asked_at = time_text(start + Duration::hours(5));
    db.writer()
        .run(move |c| {
            for id in &ids {
                top_ups::note_asked(c, id, &asked_at)?;
            }
            Ok::<(), StoreError>(())
        })
        .await
        .unwrap()
        .unwrap();
    let cutoff = time_text(start + Duration::days(1));
    let next: Vec<String> = db
        .read(move |c| top_ups::processing_top_ups(c, &cutoff))
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    let never_asked: Vec<String> = (100..150).map(|i| format!("top_{i:03}")).collect();
    assert_eq!(
        next[..50],
        never_asked[..],
        "the rows not asked yet come first"
    );
    assert_eq!(
        next[50..],
        oldest[..50],
        "then the asked ones, oldest first"
    );
}
