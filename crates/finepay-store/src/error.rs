use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database error: {0}")]
    Postgres(#[from] postgres::Error),
    #[error("cannot use {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://USER@HOST:PORT/DB")]
    BadUrl(String),
    #[error("the write queue is full; try again shortly")]
    Busy,
    #[error("the database writer has stopped")]
    WriterGone,
    #[error("the batch could not be committed: {0}")]
    CommitFailed(String),
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// True when the database gave up on the transaction to break a deadlock, a serialisation
    /// conflict or a lock wait: nothing was written and the request may simply be retried.
    pub fn is_transient(&self) -> bool {
        use postgres::error::SqlState;
        match self {
            StoreError::Postgres(e) => matches!(
                e.code(),
                Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED
                    || *c == SqlState::T_R_SERIALIZATION_FAILURE
                    || *c == SqlState::LOCK_NOT_AVAILABLE
            ),
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                e.code == rusqlite::ErrorCode::DatabaseBusy
                    || e.code == rusqlite::ErrorCode::DatabaseLocked
            }
            _ => false,
        }
    }

    /// True when the database cannot serve right now but nothing says the request was wrong: the
    /// writer has stopped, a batch could not be committed (rolled back whole), the PostgreSQL
    /// connection is gone, or SQLite cannot write (disk full, I/O error, read-only file). The
    /// caller answers 503 and may retry; nothing of the failed transaction is on disk. (Lock
    /// waits and deadlocks are [`StoreError::is_transient`].)
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::WriterGone | StoreError::CommitFailed(_) | StoreError::Io { .. } => true,
            StoreError::Postgres(e) => {
                e.is_closed()
                    || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
                    // The server is shutting down or restarting (57P01 admin_shutdown on a fast
                    // stop, 57P02, 57P03 while it starts), or the connection broke (class 08).
                    || e.code().is_some_and(|c| {
                        c.code().starts_with("57P") || c.code().starts_with("08")
                    })
            }
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.code,
                rusqlite::ErrorCode::DiskFull
                    | rusqlite::ErrorCode::SystemIoFailure
                    | rusqlite::ErrorCode::ReadOnly
                    | rusqlite::ErrorCode::CannotOpen
            ),
            _ => false,
        }
    }

    /// True when the error is a unique-constraint violation (a lost race, not a fault).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            }
            StoreError::Postgres(e) => {
                e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION)
            }
            _ => false,
        }
    }
}
