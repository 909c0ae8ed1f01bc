//! The open-loop schedule. At a target rate R the run has one send slot every 1/R s; worker `k` of
//! `N` owns slots `k, k+N, k+2N, …`. A worker that falls behind sends late, and its latency is
//! still counted from the slot's intended time: a stalled server then shows as the queueing delay
//! real users would see, instead of hiding it (coordinated omission).

use std::time::Duration;

const NANOS_PER_S: u128 = 1_000_000_000;

#[derive(Clone, Copy, Debug)]
pub struct OpenSchedule {
    rate_per_s: u64,
    workers: u64,
    worker: u64,
}

impl OpenSchedule {
    /// `None` when the rate or the worker count is zero or `worker` is out of range.
    pub fn new(rate_per_s: u64, workers: usize, worker: usize) -> Option<Self> {
        let (workers, worker) = (workers as u64, worker as u64);
        (rate_per_s > 0 && workers > 0 && worker < workers).then_some(Self {
            rate_per_s,
            workers,
            worker,
        })
    }

    /// When, after the start, this worker's `j`-th request is meant to leave. Computed from the
    /// slot number, not by adding intervals, so no rounding error accumulates over a long run.
    pub fn intended(&self, j: u64) -> Duration {
        let slot = u128::from(self.worker) + u128::from(j) * u128::from(self.workers);
        let nanos = slot * NANOS_PER_S / u128::from(self.rate_per_s);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// How many of this worker's slots fall inside a run of `duration`.
    pub fn slots_within(&self, duration: Duration) -> u64 {
        let total = duration.as_nanos() * u128::from(self.rate_per_s);
        // Slots s with s / rate < duration, i.e. s * 1e9 < duration_ns * rate.
        let all = total.div_ceil(NANOS_PER_S);
        let mine = all
            .saturating_sub(u128::from(self.worker))
            .div_ceil(u128::from(self.workers));
        u64::try_from(mine).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn workers_interleave_so_the_run_sends_exactly_one_request_per_slot() {
        let rate = 1000;
        let mut all: Vec<Duration> = (0..4)
            .flat_map(|k| {
                let s = OpenSchedule::new(rate, 4, k).unwrap();
                (0..s.slots_within(Duration::from_millis(10))).map(move |j| s.intended(j))
            })
            .collect();
        all.sort();
        let expected: Vec<Duration> = (0..10).map(Duration::from_millis).collect();
        assert_eq!(all, expected);
    }

    #[test]
    fn a_late_slot_is_computed_without_drift() {
        let s = OpenSchedule::new(3, 1, 0).unwrap();
        // 3 per second: slot 3_000_000 is exactly one million seconds in.
        assert_eq!(s.intended(3_000_000), Duration::from_secs(1_000_000));
        assert_eq!(s.intended(1), Duration::from_nanos(333_333_333));
    }

    #[test]
    fn a_schedule_needs_a_rate_and_a_worker_in_range() {
        assert!(OpenSchedule::new(0, 4, 0).is_none());
        assert!(OpenSchedule::new(10, 0, 0).is_none());
        assert!(OpenSchedule::new(10, 4, 4).is_none());
    }
}
