//! The group-commit writer: jobs share commits, yet each gets its own answer and a failing job
//! leaves no trace while its neighbours commit.
#![allow(clippy::unwrap_used)]

use finepay_store::{params, Db, DbLocation, Sql, StoreError, WriterConfig};

async fn open(config: WriterConfig) -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&DbLocation::Sqlite(dir.path().join("w.db")), config).unwrap();
    (dir, db)
}

fn count_accounts(c: &dyn Sql) -> Result<i64, StoreError> {
    c.query_one("SELECT COUNT(*) AS n FROM accounts", &[])?
        .int("n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_job_is_rolled_back_alone_while_its_batch_commits() {
    let (_dir, db) = open(WriterConfig::default()).await;
    let mut tasks = Vec::new();
    for i in 0..300i64 {
        let writer = db.writer().clone();
        tasks.push(tokio::spawn(async move {
            writer
                .run(move |c| -> Result<i64, StoreError> {
                    c.execute(
                        "INSERT INTO accounts (key, balance, created_at) VALUES ($1, $2, 'now')",
                        params![format!("acct:{i}").as_str(), i],
                    )?;
                    if i % 3 == 0 {
                        return Err(StoreError::Corrupt(format!("job {i} refuses")));
                    }
                    Ok(i)
                })
                .await
        }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        match t.await.unwrap().unwrap() {
            Ok(v) => assert_eq!(v, i as i64),
            Err(_) => assert_eq!(i % 3, 0),
        }
    }
    let n = db.read(count_accounts).await.unwrap();
    assert_eq!(n, 200, "exactly the 200 jobs that succeeded are committed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_busy_at_once() {
    let (_dir, db) = open(WriterConfig {
        queue_capacity: 1,
        max_batch: 1,
    })
    .await;
    // Hold the writer with a slow job, fill the one slot, then the next is refused.
    let w = db.writer().clone();
    let slow = tokio::spawn(async move {
        w.run(|_| -> Result<(), StoreError> {
            std::thread::sleep(std::time::Duration::from_millis(300));
            Ok(())
        })
        .await
    });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let w = db.writer().clone();
    let queued = tokio::spawn(async move { w.run(|_| -> Result<(), StoreError> { Ok(()) }).await });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let refused = db
        .writer()
        .run(|_| -> Result<(), StoreError> { Ok(()) })
        .await;
    assert!(matches!(refused, Err(StoreError::Busy)), "{refused:?}");
    assert!(slow.await.unwrap().is_ok());
    assert!(queued.await.unwrap().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_group_commit_off_every_job_still_commits() {
    let (_dir, db) = open(WriterConfig {
        queue_capacity: 64,
        max_batch: 1,
    })
    .await;
    for i in 0..20i64 {
        db.writer()
            .run(move |c| {
                c.execute(
                    "INSERT INTO accounts (key, balance, created_at) VALUES ($1, 0, 'now')",
                    params![format!("k{i}").as_str()],
                )
            })
            .await
            .unwrap()
            .unwrap();
    }
    assert_eq!(db.read(count_accounts).await.unwrap(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purging_drops_old_published_events_and_keeps_payment_notices() {
    use finepay_store::repo::outbox;
    let (_dir, db) = open(WriterConfig::default()).await;
    db.writer()
        .run(|c| -> Result<(), StoreError> {
            outbox::enqueue(c, outbox::Kind::Event, "110000", "ntf_1", "{}", "2026-01-01T00:00:00.000Z")?;
            outbox::enqueue(c, outbox::Kind::PaymentNotice, "110000", "pay_1", "{}", "2026-01-01T00:00:00.000Z")?;
            outbox::enqueue(c, outbox::Kind::Event, "110000", "ntf_2", "{}", "2026-01-01T00:00:00.000Z")?;
            c.execute("UPDATE outbox SET delivered_at = '2026-01-02T00:00:00.000Z' WHERE payment_id IN ('ntf_1', 'pay_1')", &[])?;
            let purged = outbox::purge_delivered_events(c, "2026-02-01T00:00:00.000Z")?;
            assert_eq!(purged, 1, "only the delivered event");
            Ok(())
        })
        .await
        .unwrap()
        .unwrap();
    let left = db
        .read(|c| c.query("SELECT payment_id FROM outbox ORDER BY id", &[]))
        .await
        .unwrap()
        .iter()
        .map(|r| r.text("payment_id").unwrap())
        .collect::<Vec<_>>();
    assert_eq!(left, ["pay_1", "ntf_2"]);
}

/// SQLite rolls the whole transaction back by itself when the disk is full. The jobs of the batch
/// run before it are answered with the failure (nothing of them is on disk), and the jobs after it
/// go on in a new transaction and commit: every caller's answer matches the disk. (Before, the
/// later jobs ran outside any transaction, were committed, and were answered "commit failed".)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_transaction_the_database_rolls_back_answers_each_job_as_the_disk_has_it() {
    let (_dir, db) = open(WriterConfig::default()).await;
    // A tiny file: room for small rows, not for a 1 MB one.
    db.writer()
        .run(|c| -> Result<(), StoreError> {
            let pages = c.query_one("PRAGMA page_count", &[])?.int("page_count")?;
            c.query_opt(&format!("PRAGMA max_page_count = {}", pages + 8), &[])?;
            Ok(())
        })
        .await
        .unwrap()
        .unwrap();
    // Hold the writer (its job waits for our word) so the next jobs share one batch, in this
    // order: small, huge, small, small.
    let (started_tx, started) = std::sync::mpsc::channel::<()>();
    let (go, go_rx) = std::sync::mpsc::channel::<()>();
    let w = db.writer().clone();
    let hold = tokio::spawn(async move {
        w.run(move |_| -> Result<(), StoreError> {
            let _ = started_tx.send(());
            let _ = go_rx.recv_timeout(std::time::Duration::from_secs(10));
            Ok(())
        })
        .await
    });
    started
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the holding job runs");
    let mut queued = Vec::new();
    for (i, size) in [10usize, 1_000_000, 10, 10].into_iter().enumerate() {
        let job = db.writer().run(move |c| -> Result<(), StoreError> {
            let key = format!("acct:{i}:{}", "x".repeat(size));
            c.execute(
                "INSERT INTO accounts (key, balance, created_at) VALUES ($1, 0, 'now')",
                params![key.as_str()],
            )?;
            Ok(())
        });
        // The first poll queues the job; it is answered after the batch commits.
        let mut job = Box::pin(job);
        let first = std::future::Future::poll(
            job.as_mut(),
            &mut std::task::Context::from_waker(std::task::Waker::noop()),
        );
        assert!(first.is_pending(), "a queued job waits for its batch");
        queued.push(job);
    }
    go.send(()).unwrap();
    hold.await.unwrap().unwrap().unwrap();
    let mut answered_ok = Vec::new();
    for job in queued {
        answered_ok.push(matches!(job.await, Ok(Ok(()))));
    }
    let on_disk = db
        .read(|c| {
            (0..4)
                .map(|i| {
                    c.query_one(
                        "SELECT COUNT(*) AS n FROM accounts WHERE key LIKE $1",
                        params![format!("acct:{i}:%").as_str()],
                    )
                    .and_then(|r| r.int("n"))
                    .map(|n| n == 1)
                })
                .collect::<Result<Vec<bool>, StoreError>>()
        })
        .await
        .unwrap();
    assert_eq!(answered_ok, on_disk, "each answer matches the disk");
    assert!(!on_disk[1], "the row that filled the disk is not there");
    assert!(
        on_disk[2] && on_disk[3],
        "the jobs after it committed in a new transaction"
    );
}
