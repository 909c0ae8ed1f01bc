//! Migration 0010 on a database that has stored replies: each keeps its outcome by name.
#![allow(clippy::unwrap_used)]

use finepay_store::repo::idempotency::{self, KeyState};
use finepay_store::{Db, DbLocation, WriterConfig};

#[tokio::test]
async fn stored_replies_keep_their_outcome_by_name_after_migration_10() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        // A database as version 9 left it, with a created reply, a refusal and a key still running.
        let old = rusqlite::Connection::open(&path).unwrap();
        for sql in &finepay_store::SQLITE_MIGRATIONS[..9] {
            old.execute_batch(sql).unwrap();
        }
        old.execute_batch(
            r#"PRAGMA user_version = 9;
            INSERT INTO idempotency_keys VALUES
              ('u1', 'made', 'h1', 'done', 201, '{"id":"pay_1","status":"succeeded"}', '2026-11-01T00:00:00.000Z'),
              ('u1', 'refused', 'h2', 'done', 402, '{"error":{"code":"card_declined","message":"no"}}', '2026-11-01T00:00:00.000Z'),
              ('u1', 'running', 'h3', 'running', NULL, NULL, '2026-11-01T00:00:00.000Z');"#,
        )
        .unwrap();
    }
    let db = Db::open(&DbLocation::Sqlite(path), WriterConfig::default()).unwrap();
    let state = |key: &'static str| {
        let db = db.clone();
        async move {
            db.read(move |c| idempotency::find_key(c, "u1", key))
                .await
                .unwrap()
        }
    };
    let outcome = |s: Option<KeyState>| match s {
        Some(KeyState::Done { outcome, .. }) => outcome,
        other => format!("{other:?}"),
    };
    assert_eq!(outcome(state("made").await), "created");
    assert_eq!(outcome(state("refused").await), "card_declined");
    assert_eq!(
        state("running").await,
        Some(KeyState::Running {
            request_hash: "h3".into()
        })
    );
}
