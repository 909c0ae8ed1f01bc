//! The one write path. A dedicated thread owns the write connection and drains a bounded queue of
//! jobs; it runs every job of a batch under its own SAVEPOINT inside one transaction, commits the
//! batch once (one fsync for many payments: group commit), and only then answers each caller with
//! its own result. A job that fails is rolled back to its savepoint without touching its neighbours.
//!
//! Architecture Invariant: a caller is answered only after its writes are durable (or with an error).
//! Architecture Invariant: the queue is bounded; a full queue answers `StoreError::Busy` at once.

use crate::pool::BoxedConn;
use crate::sql::{Backend, Sql};
use crate::StoreError;
use std::panic::{catch_unwind, AssertUnwindSafe};
use tokio::sync::{mpsc, oneshot};

/// What the writer calls after the batch commit (or its failure) to answer one caller.
type Completion = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
/// A job: does its writes, says whether to keep them, and returns how to answer its caller.
type Job = Box<dyn FnOnce(&dyn Sql) -> (bool, Completion) + Send>;

#[derive(Clone, Copy, Debug)]
pub struct WriterConfig {
    /// Jobs waiting beyond this are refused with `Busy` (backpressure, never an unbounded wait).
    pub queue_capacity: usize,
    /// At most this many jobs share one commit. 1 turns group commit off.
    pub max_batch: usize,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            queue_capacity: 4096,
            max_batch: 256,
        }
    }
}

#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Job>,
}

impl Writer {
    pub fn spawn(conn: BoxedConn, config: WriterConfig) -> Result<Writer, StoreError> {
        let (queue, jobs) = mpsc::channel::<Job>(config.queue_capacity.max(1));
        std::thread::Builder::new()
            .name("finepay-writer".into())
            .spawn(move || run(conn, jobs, config.max_batch.max(1)))
            .map_err(|source| StoreError::Io {
                path: "writer thread".into(),
                source,
            })?;
        Ok(Writer { queue })
    }

    /// Runs `f` in the next batch. `Ok(Ok(t))`: `f` succeeded and its writes are committed.
    /// `Ok(Err(e))`: `f` failed and its writes were rolled back. `Err(_)`: nothing was committed.
    pub async fn run<T, E, F>(&self, f: F) -> Result<Result<T, E>, StoreError>
    where
        T: Send + 'static,
        E: Send + 'static,
        F: FnOnce(&dyn Sql) -> Result<T, E> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let result = f(conn);
            let keep = result.is_ok();
            let completion: Completion = Box::new(move |commit| {
                let _ = answer.send(commit.map(|()| result));
            });
            (keep, completion)
        });
        self.queue.try_send(job).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => StoreError::Busy,
            mpsc::error::TrySendError::Closed(_) => StoreError::WriterGone,
        })?;
        answered.await.map_err(|_| StoreError::WriterGone)?
    }
}

fn run(conn: BoxedConn, mut jobs: mpsc::Receiver<Job>, max_batch: usize) {
    let mut batch = Vec::with_capacity(max_batch);
    while let Some(first) = jobs.blocking_recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit_batch(conn.as_ref(), &mut batch);
    }
    tracing::info!("database writer stopped");
}

fn commit_batch(conn: &dyn Sql, batch: &mut Vec<Job>) {
    let mut pending: std::collections::VecDeque<Job> = batch.drain(..).collect();
    while !pending.is_empty() {
        commit_some(conn, &mut pending);
    }
}

/// Runs jobs from the front of `pending` in one transaction and commits it. When the database
/// rolls the whole transaction back by itself (SQLite, on a full disk or an I/O error), the jobs
/// run so far are answered with the failure — none of their writes is on disk — and the rest are
/// left in `pending` for a new transaction: no job runs outside a transaction, and no caller is
/// told "failed" of writes that were committed.
fn commit_some(conn: &dyn Sql, pending: &mut std::collections::VecDeque<Job>) {
    let mut completions: Vec<Completion> = Vec::with_capacity(pending.len());
    let begin = match conn.backend() {
        // IMMEDIATE takes the write lock now, not at the first write (no upgrade deadlocks).
        Backend::Sqlite => "BEGIN IMMEDIATE",
        Backend::Postgres => "BEGIN",
    };
    if let Err(e) = conn.batch(begin) {
        // Dropping the jobs drops their answer channels: each caller sees WriterGone, nothing written.
        tracing::error!(error = %e, "cannot begin a write transaction");
        pending.clear();
        return;
    }
    while let Some(job) = pending.pop_front() {
        if let Some(completion) = run_job(conn, job) {
            completions.push(completion);
        }
        if !conn.in_transaction() {
            tracing::error!(
                jobs = completions.len(),
                "the database rolled a write transaction back by itself (disk full or I/O error); its jobs are answered with the failure, the rest go on in a new transaction"
            );
            for completion in completions {
                completion(Err(StoreError::CommitFailed(
                    "the database rolled the transaction back (disk full or I/O error); nothing of it was written".into(),
                )));
            }
            return;
        }
    }
    let commit = conn
        .batch("COMMIT")
        .map_err(|e| StoreError::CommitFailed(e.to_string()));
    if commit.is_err() {
        let _ = conn.batch("ROLLBACK");
    }
    for completion in completions {
        let result = match &commit {
            Ok(()) => Ok(()),
            Err(e) => Err(StoreError::CommitFailed(e.to_string())),
        };
        completion(result);
    }
}

/// Runs one job under its own savepoint. A panicking job is rolled back and its caller sees
/// `WriterGone` (its answer channel is dropped); the rest of the batch goes on.
fn run_job(conn: &dyn Sql, job: Job) -> Option<Completion> {
    if let Err(e) = control(conn, "SAVEPOINT job") {
        tracing::error!(error = %e, "cannot open a savepoint");
        return None;
    }
    let outcome = catch_unwind(AssertUnwindSafe(|| job(conn)));
    let keep = matches!(&outcome, Ok((true, _)));
    let end = if keep {
        control(conn, "RELEASE SAVEPOINT job")
    } else {
        control(conn, "ROLLBACK TO SAVEPOINT job")
            .and_then(|()| control(conn, "RELEASE SAVEPOINT job"))
    };
    if let Err(e) = end {
        tracing::error!(error = %e, "cannot close a savepoint");
    }
    match outcome {
        Ok((_, completion)) => Some(completion),
        Err(_) => {
            tracing::error!("a write job panicked; its writes were rolled back");
            None
        }
    }
}

/// Runs a transaction-control statement. On SQLite through the statement cache (two of these per
/// job; preparing them each time was a visible share of a payment's CPU); on PostgreSQL as a
/// simple query.
fn control(conn: &dyn Sql, sql: &str) -> Result<(), StoreError> {
    match conn.backend() {
        Backend::Sqlite => conn.execute(sql, &[]).map(|_| ()),
        Backend::Postgres => conn.batch(sql),
    }
}
