//! The run's result: one line for a person, one JSON line for `scripts/bench` to tabulate.

use crate::confirm::ConfirmSummary;
use crate::driver::{Mode, Tally};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// What was run, besides what was measured.
#[derive(Clone, Copy, Debug)]
pub struct RunMeta {
    pub scenario: &'static str,
    pub mode: Mode,
    pub workers: usize,
    pub setup: Duration,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub scenario: &'static str,
    pub mode: &'static str,
    pub workers: usize,
    pub target_rate_per_s: Option<u64>,
    pub setup_s: f64,
    pub duration_s: f64,
    /// Operations (a `mixed` operation is a lookup and a payment).
    pub requests: u64,
    pub ok: u64,
    pub errors: BTreeMap<String, u64>,
    /// Successful operations per second of the timed phase.
    pub throughput_per_s: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub confirm: Option<ConfirmSummary>,
}

impl Summary {
    pub fn new(meta: RunMeta, tally: &Tally, confirm: Option<ConfirmSummary>) -> Self {
        let secs = tally.elapsed.as_secs_f64();
        let ms = |q: f64| round3(tally.latency_us.value_at_quantile(q) as f64 / 1000.0);
        let (mode, target_rate_per_s) = match meta.mode {
            Mode::Closed => ("closed", None),
            Mode::Open { rate_per_s } => ("open", Some(rate_per_s)),
        };
        Self {
            scenario: meta.scenario,
            mode,
            workers: meta.workers,
            target_rate_per_s,
            setup_s: round3(meta.setup.as_secs_f64()),
            duration_s: round3(secs),
            requests: tally.ok + tally.error_count(),
            ok: tally.ok,
            errors: tally.errors.clone(),
            throughput_per_s: if secs > 0.0 {
                round3(tally.ok as f64 / secs)
            } else {
                0.0
            },
            p50_ms: ms(0.50),
            p90_ms: ms(0.90),
            p99_ms: ms(0.99),
            max_ms: round3(tally.latency_us.max() as f64 / 1000.0),
            confirm,
        }
    }

    /// One line: what ran, how much got through, how fast, how long it took.
    pub fn human(&self) -> String {
        let rate = match self.target_rate_per_s {
            Some(r) => format!(" at {r}/s"),
            None => String::new(),
        };
        let errors = if self.errors.is_empty() {
            "no errors".to_string()
        } else {
            let parts: Vec<String> = self
                .errors
                .iter()
                .map(|(k, n)| format!("{k}: {n}"))
                .collect();
            format!("errors {{{}}}", parts.join(", "))
        };
        let mut line = format!(
            "{} {}{rate} x{} for {:.1}s: {} ok, {errors}, {:.0}/s, p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            self.scenario, self.mode, self.workers, self.duration_s, self.ok,
            self.throughput_per_s, self.p50_ms, self.p90_ms, self.p99_ms, self.max_ms
        );
        if let Some(c) = &self.confirm {
            line.push_str(&format!(
                "; authority confirmed {}/{} sampled, p50 {} ms, p99 {} ms",
                c.confirmed, c.sampled, c.p50_ms, c.p99_ms
            ));
        }
        line
    }

    pub fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::scenario::{OpResult, Outcome};

    fn tally() -> Tally {
        let mut t = Tally::new().unwrap();
        for ms in 1..=100u64 {
            let ok = OpResult {
                outcome: Outcome::Ok,
                ack: None,
            };
            t.record(ok, Duration::from_millis(ms));
        }
        t.record(
            OpResult {
                outcome: Outcome::Status(409),
                ack: None,
            },
            Duration::from_secs(9),
        );
        t.record(
            OpResult {
                outcome: Outcome::Transport,
                ack: None,
            },
            Duration::ZERO,
        );
        t.elapsed = Duration::from_secs(2);
        t
    }

    fn meta() -> RunMeta {
        RunMeta {
            scenario: "pay-balance",
            mode: Mode::Closed,
            workers: 8,
            setup: Duration::from_millis(1500),
        }
    }

    #[test]
    fn the_summary_counts_only_successes_in_throughput_and_latency() {
        let s = Summary::new(meta(), &tally(), None);
        assert_eq!((s.requests, s.ok), (102, 100));
        assert_eq!(s.throughput_per_s, 50.0);
        assert_eq!(s.errors.get("409"), Some(&1));
        assert_eq!(s.errors.get("transport"), Some(&1));
        assert!((s.p50_ms - 50.0).abs() < 0.1, "p50 {}", s.p50_ms);
        assert!((s.p99_ms - 99.0).abs() < 0.1, "p99 {}", s.p99_ms);
        assert!((s.max_ms - 100.0).abs() < 0.1, "max {}", s.max_ms);
    }

    #[test]
    fn the_json_line_carries_every_field_the_script_reads() {
        let s = Summary::new(meta(), &tally(), None);
        let v: serde_json::Value = serde_json::from_str(&s.json()).unwrap();
        for field in [
            "scenario",
            "mode",
            "requests",
            "errors",
            "throughput_per_s",
            "p50_ms",
            "p90_ms",
            "p99_ms",
            "max_ms",
        ] {
            assert!(v.get(field).is_some(), "{field} missing");
        }
        assert_eq!(v["errors"]["409"], 1);
        assert!(s.human().starts_with(
            "pay-balance closed x8 for 2.0s: 100 ok, errors {409: 1, transport: 1}, 50/s"
        ));
    }
}
