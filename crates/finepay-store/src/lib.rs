//! finepay's storage: the schema and migrations of each backend (SQLite, the embedded default, and
//! PostgreSQL for many instances), the one write path (a group-commit writer), a small pool of read
//! connections, and verb-named repository functions per aggregate, written once over [`Sql`].
//!
//! Architecture Invariant: this crate knows SQL and nothing of HTTP, adapters or use cases. Every
//! function takes the connection it works on, so the caller decides the transaction.

mod checkpoint;
mod clock;
mod error;
mod migrate;
mod pg_tls;
mod pool;
mod postgres;
pub mod repo;
mod sql;
mod sqlite;
mod writer;

pub use crate::postgres::PgConn;
pub use clock::Clock;
pub use error::StoreError;
/// The SQLite migrations in order, for tests that build an older schema.
pub use migrate::SQLITE as SQLITE_MIGRATIONS;
pub use pool::{BoxedConn, ReadPool};
pub use sql::{Backend, Param, Row, Sql, Value};
pub use sqlite::open_sqlite;
pub use writer::{Writer, WriterConfig};

use std::path::{Path, PathBuf};

/// Where the platform database is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DbLocation {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DbLocation {
    /// `sqlite://PATH`, a bare path, or `postgres://…` / `postgresql://…`.
    pub fn parse(url: &str) -> Result<DbLocation, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DbLocation::Postgres(url.to_string()));
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            return Ok(DbLocation::Sqlite(PathBuf::from(path)));
        }
        if url.contains("://") || url.is_empty() {
            return Err(StoreError::BadUrl(url.to_string()));
        }
        Ok(DbLocation::Sqlite(PathBuf::from(url)))
    }

    /// Opens one connection (the offline commands use this; they do not migrate).
    pub fn connect(&self) -> Result<BoxedConn, StoreError> {
        match self {
            DbLocation::Sqlite(path) => {
                if !path.exists() {
                    return Err(StoreError::Io {
                        path: path.clone(),
                        source: std::io::Error::new(
                            std::io::ErrorKind::NotFound,
                            "no database file here",
                        ),
                    });
                }
                Ok(Box::new(open_sqlite(path)?))
            }
            DbLocation::Postgres(url) => Ok(Box::new(PgConn::connect(url)?)),
        }
    }
}

/// The platform database: one writer and several readers.
#[derive(Clone)]
pub struct Db {
    backend: Backend,
    writer: Writer,
    readers: ReadPool,
    /// The time rows are stamped with, and every rule counting time reads.
    clock: Clock,
    /// SQLite only: checkpoints off the writer thread, for as long as a clone of this lives.
    _checkpointer: Option<std::sync::Arc<checkpoint::Checkpointer>>,
}

const READERS: usize = 4;
/// The writer connection's page cache, as SQLite's negative `cache_size` (KiB).
const WRITER_CACHE_KIB: i64 = -16 * 1024;

impl Db {
    /// Opens (creating a SQLite file if needed) the database, applies migrations, starts the writer.
    /// Runs on a thread of its own, so it may be called from async code (the PostgreSQL client
    /// blocks).
    pub fn open(location: &DbLocation, config: WriterConfig) -> Result<Db, StoreError> {
        std::thread::scope(|s| {
            s.spawn(|| Db::open_here(location, config))
                .join()
                .map_err(|_| StoreError::WriterGone)?
        })
    }

    fn open_here(location: &DbLocation, config: WriterConfig) -> Result<Db, StoreError> {
        let mut checkpointer = None;
        let (writer_conn, readers, backend): (BoxedConn, Vec<BoxedConn>, Backend) = match location {
            DbLocation::Sqlite(path) => {
                create_parent(path)?;
                let conn = open_sqlite(path)?;
                migrate::apply(&conn)?;
                conn.pragma_update(
                    None,
                    "wal_autocheckpoint",
                    checkpoint::WRITER_AUTOCHECKPOINT_PAGES,
                )?;
                // The writer touches every table's hot index pages each batch; with SQLite's
                // default 2 MiB cache it re-read them from the file about a tenth of its time.
                conn.pragma_update(None, "cache_size", WRITER_CACHE_KIB)?;
                checkpointer = Some(std::sync::Arc::new(checkpoint::Checkpointer::spawn(path)?));
                let readers = (0..READERS)
                    .map(|_| open_sqlite(path).map(|c| Box::new(c) as BoxedConn))
                    .collect::<Result<_, _>>()?;
                (Box::new(conn), readers, Backend::Sqlite)
            }
            DbLocation::Postgres(url) => {
                let conn = PgConn::connect(url)?;
                migrate::apply(&conn)?;
                let readers = (0..READERS)
                    .map(|_| PgConn::connect(url).map(|c| Box::new(c) as BoxedConn))
                    .collect::<Result<_, _>>()?;
                (Box::new(conn), readers, Backend::Postgres)
            }
        };
        Ok(Db {
            backend,
            writer: Writer::spawn(writer_conn, config)?,
            readers: ReadPool::new(readers, backend == Backend::Sqlite),
            clock: Clock::system(),
            _checkpointer: checkpointer,
        })
    }

    /// The same database read with another clock (a simulator's).
    pub fn with_clock(self, clock: Clock) -> Db {
        Db { clock, ..self }
    }

    /// The clock rows are stamped with.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn writer(&self) -> &Writer {
        &self.writer
    }

    /// Runs `f` on a read connection off the async runtime.
    pub async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Sql) -> Result<T, StoreError> + Send + 'static,
    {
        self.readers.read(f).await
    }

    /// Runs `f` on a read connection on the blocking pool, never on the calling task: for reads
    /// that may scan many rows (a backlog), which must not stall a runtime worker.
    pub async fn read_scan<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Sql) -> Result<T, StoreError> + Send + 'static,
    {
        self.readers.read_off_runtime(f).await
    }

    /// Whether the database serves: a read answers and the writer commits a job, each within
    /// `within`. The error says which did not (for `/readyz`).
    pub async fn ready(&self, within: std::time::Duration) -> Result<(), String> {
        let read = tokio::time::timeout(
            within,
            self.read(|c| c.query_one("SELECT 1 AS one", &[]).map(|_| ())),
        )
        .await;
        match read {
            Err(_) => return Err("the database does not answer".into()),
            Ok(Err(e)) => return Err(format!("the database cannot be read: {e}")),
            Ok(Ok(())) => {}
        }
        // On SQLite the writer must write (a commit with nothing in it succeeds on a full disk);
        // on PostgreSQL the disk is the server's, and a row every instance wrote would be a hot
        // one, so a commit is enough.
        let now = self.clock.now_text();
        let probe = self.writer.run(move |c| {
            if c.backend() == Backend::Sqlite {
                c.execute(
                    "UPDATE readiness SET checked_at = $1 WHERE id = 1",
                    crate::params![now.as_str()],
                )?;
            }
            Ok::<(), StoreError>(())
        });
        match tokio::time::timeout(within, probe).await {
            Err(_) => Err("the writer does not answer".into()),
            Ok(Err(e)) | Ok(Ok(Err(e))) => Err(format!("the writer cannot commit: {e}")),
            Ok(Ok(Ok(()))) => Ok(()),
        }
    }
}

fn create_parent(path: &Path) -> Result<(), StoreError> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                path: dir.to_path_buf(),
                source,
            })
        }
        _ => Ok(()),
    }
}

/// The current time as RFC 3339 UTC text with millisecond precision, as stored everywhere (text of
/// one fixed format orders like the time it names, on both backends).
pub fn now_text() -> String {
    time_text(chrono::Utc::now())
}

pub fn time_text(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Now, to the millisecond the store keeps (so a row built with it equals the row read back).
pub fn now() -> chrono::DateTime<chrono::Utc> {
    let now = chrono::Utc::now();
    parse_time(&time_text(now)).unwrap_or(now)
}

/// A time as the store writes it (RFC 3339), or `None`.
pub fn parse_time(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}
