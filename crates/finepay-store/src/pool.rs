//! A fixed pool of read connections used from `spawn_blocking`. SQLite's WAL (and PostgreSQL's
//! MVCC) let them read while the writer writes; each sees the last committed state.

use crate::sql::Sql;
use crate::StoreError;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub type BoxedConn = Box<dyn Sql + Send>;

#[derive(Clone)]
pub struct ReadPool {
    conns: Arc<Vec<Mutex<BoxedConn>>>,
    next: Arc<AtomicUsize>,
    inline: bool,
}

impl ReadPool {
    /// `inline`: the connections are local (SQLite), so a read may run on the calling task.
    pub fn new(conns: Vec<BoxedConn>, inline: bool) -> ReadPool {
        ReadPool {
            conns: Arc::new(conns.into_iter().map(Mutex::new).collect()),
            next: Arc::new(AtomicUsize::new(0)),
            inline,
        }
    }

    pub async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Sql) -> Result<T, StoreError> + Send + 'static,
    {
        // A SQLite read of the hot paths (a session, a decision, a key) is a few B-tree lookups in
        // the page cache, tens of microseconds: cheaper on the calling task than the two thread
        // switches of `spawn_blocking`. Only with a free connection, so it never waits on a lock;
        // PostgreSQL reads cross the network and always go to the blocking pool.
        let f = if self.inline {
            match self.on_free_connection(f) {
                Ok(done) => return done,
                Err(f) => f,
            }
        } else {
            f
        };
        self.read_off_runtime(f).await
    }

    /// As [`ReadPool::read`], always on the blocking pool: for reads that may scan many rows.
    pub async fn read_off_runtime<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Sql) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = self.clone();
        tokio::task::spawn_blocking(move || pool.with_connection(f))
            .await
            .map_err(|_| StoreError::WriterGone)?
    }

    /// Runs `f` on a connection nobody holds, or hands `f` back when all are busy.
    fn on_free_connection<R, F: FnOnce(&dyn Sql) -> R>(&self, f: F) -> Result<R, F> {
        for slot in self.conns.iter() {
            if let Ok(conn) = slot.try_lock() {
                return Ok(f(conn.as_ref()));
            }
        }
        Err(f)
    }

    fn with_connection<T>(
        &self,
        f: impl FnOnce(&dyn Sql) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        // Prefer a free connection; otherwise wait on one chosen round-robin.
        let f = match self.on_free_connection(f) {
            Ok(done) => return done,
            Err(f) => f,
        };
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.conns.len().max(1);
        let conn = self.conns[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(conn.as_ref())
    }
}
