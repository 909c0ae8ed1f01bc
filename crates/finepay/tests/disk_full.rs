//! The disk under the SQLite file fills up: a payment answers 503 `service_busy` with nothing of
//! it written (no payment, no money moved), `/readyz` says the writer cannot commit, and once
//! there is room again the same request under its key pays — without a restart. The disk is real
//! and really full: a small tmpfs mounted for the test (it needs root; where it cannot mount, the
//! test says so and passes without checking). SQLite only.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_503_writes_nothing_and_pays_once_there_is_room() {
    if std::env::var("FINEPAY_TEST_POSTGRES").is_ok() {
        return; // PostgreSQL's disk is the server's
    }
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=8m", "finepay-full-disk"])
        .arg(&disk)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("cannot mount a tmpfs here (not root?): the full-disk test checks nothing");
        return;
    }
    let _unmount = Mounted(disk.clone());
    let file = disk.join("finepay.db");
    let app =
        TestApp::spawn_with(|c| c.database = Some(format!("sqlite://{}", file.display()))).await;
    let (user, _) = app.funded_user(1_000).await;
    let number = app.decision("京A12345", "110000", 0).await;

    // Empty the WAL (so the next commit must grow a file), then fill the disk to the last byte.
    app.with_db(|c| {
        c.query_one("PRAGMA wal_checkpoint(TRUNCATE)", &[]).unwrap();
    });
    let filler = disk.join("filler");
    {
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 4096];
        while f.write_all(&chunk).is_ok() {}
        while f.write_all(&[0]).is_ok() {}
    }

    let body = json!({"decision_number": number, "amount": 20_000,
        "confirm_plate": "京A12345", "method": {"type": "balance"}});
    let (status, answer) = json(
        app.post_idem("/api/v1/payments", &user.token, "full", &body)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
    assert_eq!(answer["error"]["code"], "service_busy", "{answer}");
    let (status, ready) = json(app.get("/readyz", None).await).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    let payments = app.with_db(|c| {
        c.query_one("SELECT COUNT(*) AS n FROM payments", &[])
            .unwrap()
            .int("n")
            .unwrap()
    });
    assert_eq!(payments, 0, "nothing of the refused payment is written");
    assert_eq!(app.balance(&user).await, 100_000, "no money moved");

    // Room again: the same request under the same key pays, once.
    std::fs::remove_file(&filler).unwrap();
    let (status, paid) = json(
        app.post_idem("/api/v1/payments", &user.token, "full", &body)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{paid}");
    assert_eq!(paid["status"], "succeeded");
    assert_eq!(app.balance(&user).await, 80_000);
    let (status, _) = json(app.get("/readyz", None).await).await;
    assert_eq!(status, StatusCode::OK);
}
