//! The timed phase: workers, each with its own connection and its own histogram (merged at the end,
//! so recording never takes a lock), in a closed or an open loop.

use crate::error::BenchError;
use crate::http::{Conn, Target};
use crate::scenario::{Ack, OpResult, Outcome, Scenario};
use crate::schedule::OpenSchedule;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// Latencies are recorded in microseconds, up to one minute, with 3 significant digits.
const MAX_LATENCY_US: u64 = 60_000_000;
/// After a failed connection a closed-loop worker waits this long, so a dead server is not
/// hammered by a hot loop of refused connects.
const RECONNECT_PAUSE: Duration = Duration::from_millis(10);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Each worker sends its next request as soon as the previous one is answered.
    Closed,
    /// Requests leave at a fixed total rate whatever the server does.
    Open { rate_per_s: u64 },
}

#[derive(Clone, Copy, Debug)]
pub struct LoadPlan {
    pub mode: Mode,
    pub workers: usize,
    pub duration: Duration,
    pub request_timeout: Duration,
}

/// What the workers saw. Latencies are of successful operations only: a refused connection
/// answers in microseconds and would make a dead server look fast.
pub struct Tally {
    pub latency_us: Histogram<u64>,
    pub ok: u64,
    /// Failed operations by status code, `transport` for no answer, `unsent` for open-loop slots
    /// that were still waiting when the run's grace period ended.
    pub errors: BTreeMap<String, u64>,
    pub acks: Vec<Ack>,
    pub elapsed: Duration,
}

impl Tally {
    pub fn new() -> Result<Self, BenchError> {
        let latency_us = Histogram::new_with_bounds(1, MAX_LATENCY_US, 3)
            .map_err(|_| BenchError::Invalid("histogram bounds"))?;
        Ok(Self {
            latency_us,
            ok: 0,
            errors: BTreeMap::new(),
            acks: Vec::new(),
            elapsed: Duration::ZERO,
        })
    }

    pub fn record(&mut self, result: OpResult, latency: Duration) {
        match result.outcome {
            Outcome::Ok => {
                self.ok += 1;
                let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
                self.latency_us.saturating_record(us.max(1));
            }
            Outcome::Status(code) => self.count_error(code.to_string(), 1),
            Outcome::Transport => self.count_error("transport".to_string(), 1),
        }
        self.acks.extend(result.ack);
    }

    pub fn count_error(&mut self, key: String, n: u64) {
        if n > 0 {
            *self.errors.entry(key).or_insert(0) += n;
        }
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    fn merge(&mut self, other: Tally) -> Result<(), BenchError> {
        self.latency_us
            .add(&other.latency_us)
            .map_err(|_| BenchError::Invalid("histograms of different bounds"))?;
        self.ok += other.ok;
        for (k, n) in other.errors {
            self.count_error(k, n);
        }
        self.acks.extend(other.acks);
        Ok(())
    }
}

/// Runs `scenario` under `plan` and returns the merged tally.
pub async fn drive(
    target: &Target,
    scenario: Arc<dyn Scenario>,
    plan: LoadPlan,
) -> Result<Tally, BenchError> {
    if plan.workers == 0 {
        return Err(BenchError::Invalid("workers must be at least 1"));
    }
    let next_op = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    for index in 0..plan.workers {
        let conn = Conn::new(target.clone(), plan.request_timeout);
        let worker = Worker {
            scenario: scenario.clone(),
            next_op: next_op.clone(),
            start,
            plan,
        };
        let schedule = match plan.mode {
            Mode::Closed => None,
            Mode::Open { rate_per_s } => {
                Some(OpenSchedule::new(rate_per_s, plan.workers, index).ok_or(
                    BenchError::Invalid("the open-loop rate must be at least 1/s"),
                )?)
            }
        };
        tasks.spawn(worker.run(conn, schedule));
    }
    let mut total = Tally::new()?;
    while let Some(joined) = tasks.join_next().await {
        let tally = joined.map_err(|_| BenchError::Invalid("a load worker panicked"))??;
        total.merge(tally)?;
    }
    total.elapsed = start.elapsed();
    Ok(total)
}

struct Worker {
    scenario: Arc<dyn Scenario>,
    next_op: Arc<AtomicU64>,
    start: Instant,
    plan: LoadPlan,
}

impl Worker {
    async fn run(self, conn: Conn, schedule: Option<OpenSchedule>) -> Result<Tally, BenchError> {
        match schedule {
            None => self.closed(conn).await,
            Some(s) => self.open(conn, s).await,
        }
    }

    /// The next operation number, or `None` when the fixtures are used up.
    fn claim(&self) -> Option<u64> {
        let op = self.next_op.fetch_add(1, Ordering::Relaxed);
        match self.scenario.capacity() {
            Some(cap) if op >= cap => None,
            _ => Some(op),
        }
    }

    async fn closed(self, mut conn: Conn) -> Result<Tally, BenchError> {
        let mut tally = Tally::new()?;
        let deadline = self.start + self.plan.duration;
        while Instant::now() < deadline {
            let Some(op) = self.claim() else { break };
            let sent = Instant::now();
            let result = self.scenario.run(&mut conn, op).await;
            let transport = result.outcome == Outcome::Transport;
            tally.record(result, sent.elapsed());
            if transport {
                tokio::time::sleep(RECONNECT_PAUSE).await;
            }
        }
        Ok(tally)
    }

    /// Sends at the schedule's slots; a worker that is behind sends at once and is charged from
    /// the slot's time. Past the run's end plus one request timeout, unsent slots are counted.
    async fn open(self, mut conn: Conn, schedule: OpenSchedule) -> Result<Tally, BenchError> {
        let mut tally = Tally::new()?;
        let slots = schedule.slots_within(self.plan.duration);
        let give_up = self.start + self.plan.duration + self.plan.request_timeout;
        for j in 0..slots {
            if Instant::now() >= give_up {
                tally.count_error("unsent".to_string(), slots - j);
                break;
            }
            let due = self.start + schedule.intended(j);
            tokio::time::sleep_until(due.into()).await;
            let Some(op) = self.claim() else { break };
            let result = self.scenario.run(&mut conn, op).await;
            tally.record(result, due.elapsed());
        }
        Ok(tally)
    }
}
