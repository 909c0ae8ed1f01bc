//! SQLite checkpoints on a thread of their own.
//!
//! In WAL mode a commit appends pages to the log; a checkpoint copies them back into the database
//! file and syncs it. By default the connection that commits runs the checkpoint, which here is the
//! one writer thread that every payment waits on: under load about a fifth of its time went to
//! copying pages back (BENCHMARKS.md). This thread does it instead, every [`EVERY`], in `PASSIVE`
//! mode (it never blocks the writer or a reader). The writer keeps a large automatic checkpoint
//! threshold as a safety valve, so the log stays bounded even if this thread falls behind.
//!
//! Durability is unchanged: a commit is durable once its log pages are synced (`synchronous=FULL`),
//! before any checkpoint.

use crate::sqlite::open_sqlite;
use crate::StoreError;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

/// How often the log is copied back.
const EVERY: Duration = Duration::from_millis(100);
/// The writer's own threshold, in pages (about 40 MiB of log with 4 KiB pages).
pub(crate) const WRITER_AUTOCHECKPOINT_PAGES: u32 = 10_000;

/// Stops the thread when the last clone of the database handle is dropped.
pub(crate) struct Checkpointer {
    _stop: mpsc::Sender<()>,
}

impl Checkpointer {
    pub(crate) fn spawn(path: &Path) -> Result<Checkpointer, StoreError> {
        let conn = open_sqlite(path)?;
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("finepay-checkpoint".into())
            .spawn(move || {
                // Disconnected (the handle was dropped) ends the loop; a timeout is the next round.
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(EVERY) {
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        tracing::warn!(error = %e, "a background checkpoint failed; the writer's own threshold still bounds the log");
                    }
                }
            })
            .map_err(|source| StoreError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Checkpointer { _stop: stop })
    }
}
