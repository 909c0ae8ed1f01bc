//! Password hashing on two dedicated threads. Argon2id with its recommended parameters takes about
//! 19 MiB per hash; run on tokio's blocking pool, every one of its (up to 512) threads gets a malloc
//! arena that keeps that memory after the hash is done, so a burst of sign-ins grew the server to
//! gigabytes. Two threads bound both the memory (two arenas) and the CPU taken from payments; a
//! bounded queue refuses a flood at once instead of letting it pile up.

use crate::CoreError;
use std::sync::mpsc;
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send>;

const THREADS: usize = 2;
const QUEUE: usize = 256;

pub(crate) struct HashPool {
    queue: mpsc::SyncSender<Job>,
}

impl HashPool {
    pub fn start() -> HashPool {
        let (queue, jobs) = mpsc::sync_channel::<Job>(QUEUE);
        let jobs = std::sync::Arc::new(std::sync::Mutex::new(jobs));
        for i in 0..THREADS {
            let jobs = jobs.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("finepay-hash-{i}"))
                .spawn(move || loop {
                    let job = match jobs.lock() {
                        Ok(rx) => rx.recv(),
                        Err(poisoned) => poisoned.into_inner().recv(),
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => break,
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password hashing thread");
            }
        }
        HashPool { queue }
    }

    /// Runs `f` on a hashing thread; `Busy` when the queue is full.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, CoreError> {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = answer.send(f());
        });
        self.queue.try_send(job).map_err(|e| match e {
            mpsc::TrySendError::Full(_) => CoreError::Busy,
            mpsc::TrySendError::Disconnected(_) => {
                CoreError::Internal("password hashing stopped".into())
            }
        })?;
        answered
            .await
            .map_err(|_| CoreError::Internal("password hashing failed".into()))
    }
}
