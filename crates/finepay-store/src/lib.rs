//! finepay's storage: the SQLite schema and its migrations, the one write path (a group-commit
//! writer), a small pool of read connections, and verb-named repository functions per aggregate.
//!
//! Architecture Invariant: this crate knows SQL and nothing of HTTP, adapters or use cases. Every
//! function takes the connection it works on, so the caller decides the transaction.

mod error;
mod migrate;
mod pool;
pub mod repo;
mod writer;

pub use error::StoreError;
pub use pool::ReadPool;
pub use rusqlite::Connection;
pub use writer::{Writer, WriterConfig};

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The platform database: one writer and several readers on one SQLite file in WAL mode.
#[derive(Clone)]
pub struct Db {
    path: Arc<PathBuf>,
    writer: Writer,
    readers: ReadPool,
}

impl Db {
    /// Opens (creating if needed) the database file, applies migrations and starts the writer.
    pub fn open(path: &Path, config: WriterConfig) -> Result<Db, StoreError> {
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                    path: dir.to_path_buf(),
                    source,
                })?;
            }
        }
        let mut conn = open_connection(path)?;
        migrate::apply(&mut conn)?;
        let writer = Writer::spawn(conn, config)?;
        let readers = ReadPool::open(path, 4)?;
        Ok(Db {
            path: Arc::new(path.to_path_buf()),
            writer,
            readers,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn writer(&self) -> &Writer {
        &self.writer
    }

    /// Runs `f` on a read connection off the async runtime.
    pub async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.readers.read(f).await
    }
}

/// Opens a connection with the settings every finepay connection uses. `synchronous=FULL` because in
/// WAL mode `NORMAL` does not sync at commit: an acknowledged payment must survive a power cut.
pub fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(StoreError::Sqlite)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;",
    )?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

/// Opens an existing database for inspection (`finepay ledger check`), without migrating it.
pub fn open_existing(path: &Path) -> Result<Connection, StoreError> {
    if !path.exists() {
        return Err(StoreError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no database file here"),
        });
    }
    open_connection(path)
}

/// The current time as RFC 3339 UTC text with millisecond precision, as stored everywhere.
pub fn now_text() -> String {
    time_text(chrono::Utc::now())
}

pub fn time_text(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
