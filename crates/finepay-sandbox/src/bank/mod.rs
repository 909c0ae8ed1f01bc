//! The sandbox bank: a stand-in for an external bank, with the test cards of SPEC §6.
//!
//! It is another organisation's system in miniature: it keeps its own books in its own SQLite file
//! (WAL), answers only the wire protocol of this crate's README, and is reached only over HTTP, so
//! tests of the platform exercise real timeouts, refused connections and retries.
//!
//! Architecture Invariant: the sandbox shares no state with the platform and knows nothing of it.
//! Architecture Invariant: every one-time fault (the "first charge" cards) is recorded in the file
//! in the same transaction as its effect, so a restart never fires it again.

mod api;
mod books;
mod cards;
mod store;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::Connection;

/// Delays of the sandbox's slow test cards; tests shorten them.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// How long the timeout card (…0042) holds back the answer to its first charge. It must exceed
    /// the client's timeout for the fault to show; 10 s by default.
    pub timeout_delay: Duration,
    /// How long the slow card (…0067) takes to approve; 2 s by default.
    pub slow_delay: Duration,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            timeout_delay: Duration::from_secs(10),
            slow_delay: Duration::from_secs(2),
        }
    }
}

/// The sandbox could not start.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot create the directory {path} for the sandbox bank database")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the sandbox bank database {path}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
}

/// A sandbox bank: cheap to clone, every clone shares one database connection.
#[derive(Clone)]
pub struct SandboxBank {
    inner: Arc<Inner>,
}

struct Inner {
    /// One connection: the sandbox is a test double, and serialising its few writes keeps each
    /// charge's check-then-insert trivially atomic. Locked only inside `spawn_blocking`.
    conn: Mutex<Connection>,
    config: SandboxConfig,
}

impl std::fmt::Debug for SandboxBank {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxBank")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl SandboxBank {
    /// Opens the sandbox's books at `path`, creating the file (and its directory) if needed.
    pub fn open(path: &Path, config: SandboxConfig) -> Result<Self, SandboxError> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| SandboxError::CreateDir {
                path: dir.to_owned(),
                source,
            })?;
        }
        let conn = store::open(path).map_err(|source| SandboxError::Open {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                config,
            }),
        })
    }

    /// The sandbox's HTTP API (`/bank/v1/...`), to serve on its own listener or merge into another
    /// router.
    pub fn router(&self) -> axum::Router {
        api::router(self.clone())
    }

    /// Runs `work` on the database connection in a blocking thread.
    pub(crate) async fn with_books<T, F>(&self, work: F) -> Result<T, api::ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &SandboxConfig) -> rusqlite::Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let joined = tokio::task::spawn_blocking(move || {
            // A panic mid-transaction rolled that transaction back when it unwound, so the
            // connection behind a poisoned lock is still consistent.
            let mut conn = inner.conn.lock().unwrap_or_else(PoisonError::into_inner);
            work(&mut conn, &inner.config)
        })
        .await;
        match joined {
            Ok(result) => result.map_err(api::ApiError::from),
            Err(error) => Err(api::ApiError::Internal(format!(
                "sandbox task failed: {error}"
            ))),
        }
    }
}

/// Serves the sandbox on `listener` until the task is dropped or the listener fails.
pub async fn serve(bank: SandboxBank, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    axum::serve(listener, bank.router()).await
}
