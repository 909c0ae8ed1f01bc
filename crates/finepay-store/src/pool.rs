//! A fixed pool of read connections used from `spawn_blocking`. WAL lets them read while the writer
//! writes; each sees the last committed state.

use crate::{open_connection, StoreError};
use rusqlite::Connection;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct ReadPool {
    conns: Arc<Vec<Mutex<Connection>>>,
    next: Arc<AtomicUsize>,
}

impl ReadPool {
    pub fn open(path: &Path, size: usize) -> Result<ReadPool, StoreError> {
        let conns = (0..size.max(1))
            .map(|_| open_connection(path).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ReadPool {
            conns: Arc::new(conns),
            next: Arc::new(AtomicUsize::new(0)),
        })
    }

    pub async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = self.clone();
        tokio::task::spawn_blocking(move || pool.with_connection(f))
            .await
            .map_err(|_| StoreError::WriterGone)?
    }

    fn with_connection<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        // Prefer a free connection; otherwise wait on one chosen round-robin.
        for slot in self.conns.iter() {
            if let Ok(conn) = slot.try_lock() {
                return f(&conn);
            }
        }
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.conns.len();
        let conn = self.conns[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&conn)
    }
}
