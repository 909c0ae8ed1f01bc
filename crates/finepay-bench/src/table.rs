//! The markdown table of `scripts/bench`: medians over the runs of each variant, the group-commit
//! ratio, and the issue's targets side by side with what was measured.
//!
//! Input: one JSON object per line, written by the script around each run's JSON summary:
//! `{"variant", "run", "start_ms", "rss_peak_kb", "rss_load_kb", "result": {summary}}`.

use crate::error::BenchError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The variant whose throughput is divided by the no-group-commit one.
pub const PAY: &str = "pay-balance";
pub const PAY_NO_GROUP_COMMIT: &str = "pay-balance-no-group-commit";
/// The same payments in an open loop, below saturation: the latency a paying citizen sees.
pub const PAY_OPEN: &str = "pay-balance-open";
pub const PAY_POSTGRES: &str = "pay-balance-postgres";
/// pgbench's built-in simple-update transaction on the same PostgreSQL server: the reference.
pub const PGBENCH: &str = "pgbench";

#[derive(Clone, Debug, Deserialize)]
pub struct RunRecord {
    pub variant: String,
    pub start_ms: Option<f64>,
    pub rss_peak_kb: Option<f64>,
    pub rss_load_kb: Option<f64>,
    pub result: RunResult,
}

#[derive(Clone, Debug, Deserialize)]
pub struct RunResult {
    #[serde(default)]
    pub target_rate_per_s: Option<f64>,
    pub ok: u64,
    pub requests: u64,
    pub throughput_per_s: f64,
    /// Absent for a reference without a latency distribution (pgbench's summary).
    #[serde(default)]
    pub p50_ms: Option<f64>,
    #[serde(default)]
    pub p99_ms: Option<f64>,
    #[serde(default)]
    pub confirm: Option<ConfirmResult>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ConfirmResult {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub sampled: u64,
    pub confirmed: u64,
}

/// Parses the script's result lines; blank lines are skipped.
pub fn parse(text: &str) -> Result<Vec<RunRecord>, BenchError> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).map_err(|source| BenchError::BadAnswer {
                what: "a result line",
                source,
            })
        })
        .collect()
}

/// Medians of one variant's runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub runs: usize,
    /// The open loop's target rate; `None` for a closed loop.
    pub target_rate_per_s: Option<f64>,
    pub throughput_per_s: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub error_pct: f64,
    pub confirm_p50_ms: Option<f64>,
    pub confirm_p99_ms: Option<f64>,
    pub rss_peak_mb: Option<f64>,
    pub rss_load_mb: Option<f64>,
    pub start_ms: Option<f64>,
}

/// Median of the values (mean of the middle two for an even count); `None` for none.
pub fn median(mut values: Vec<f64>) -> Option<f64> {
    values.retain(|v| v.is_finite());
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

fn row(runs: &[&RunRecord]) -> Row {
    let m =
        |f: &dyn Fn(&RunRecord) -> Option<f64>| median(runs.iter().filter_map(|r| f(r)).collect());
    let mb = |kb: Option<f64>| kb.map(|k| k / 1024.0);
    Row {
        runs: runs.len(),
        target_rate_per_s: m(&|r| r.result.target_rate_per_s),
        throughput_per_s: m(&|r| Some(r.result.throughput_per_s)).unwrap_or(0.0),
        p50_ms: m(&|r| r.result.p50_ms),
        p99_ms: m(&|r| r.result.p99_ms),
        error_pct: m(&|r| Some(error_pct(&r.result))).unwrap_or(0.0),
        confirm_p50_ms: m(&|r| confirmed(r).map(|c| c.p50_ms)),
        confirm_p99_ms: m(&|r| confirmed(r).map(|c| c.p99_ms)),
        rss_peak_mb: m(&|r| mb(r.rss_peak_kb)),
        rss_load_mb: m(&|r| mb(r.rss_load_kb)),
        start_ms: m(&|r| r.start_ms),
    }
}

/// A run whose sample confirmed nothing has no confirmation latency to report.
fn confirmed(r: &RunRecord) -> Option<&ConfirmResult> {
    r.result.confirm.as_ref().filter(|c| c.confirmed > 0)
}

fn error_pct(r: &RunResult) -> f64 {
    if r.requests == 0 {
        return 0.0;
    }
    (r.requests - r.ok.min(r.requests)) as f64 * 100.0 / r.requests as f64
}

/// Rows in the order the variants first appear.
pub fn rows(records: &[RunRecord]) -> Vec<(String, Row)> {
    let mut order: Vec<&str> = Vec::new();
    let mut by: BTreeMap<&str, Vec<&RunRecord>> = BTreeMap::new();
    for r in records {
        if !by.contains_key(r.variant.as_str()) {
            order.push(&r.variant);
        }
        by.entry(&r.variant).or_default().push(r);
    }
    order
        .into_iter()
        .map(|v| (v.to_string(), row(&by[v])))
        .collect()
}

fn opt(v: Option<f64>, decimals: usize) -> String {
    v.map_or("–".to_string(), |x| format!("{x:.decimals$}"))
}

/// The whole markdown: the medians table, the ratio, the targets.
pub fn markdown(records: &[RunRecord]) -> String {
    let rows = rows(records);
    let mut out = String::from(
        "| variant | runs | ops/s | p50 ms | p99 ms | errors % | confirmed p50 / p99 ms | RSS load / peak MB | start ms |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for (name, r) in &rows {
        let name = match r.target_rate_per_s {
            Some(rate) => format!("{name} @ {rate:.0}/s"),
            None => name.clone(),
        };
        let _ = writeln!(
            out,
            "| {name} | {} | {:.0} | {} | {} | {:.2} | {} / {} | {} / {} | {} |",
            r.runs,
            r.throughput_per_s,
            opt(r.p50_ms, 2),
            opt(r.p99_ms, 2),
            r.error_pct,
            opt(r.confirm_p50_ms, 0),
            opt(r.confirm_p99_ms, 0),
            opt(r.rss_load_mb, 1),
            opt(r.rss_peak_mb, 1),
            opt(r.start_ms, 0),
        );
    }
    let find = |v: &str| rows.iter().find(|(n, _)| n == v).map(|(_, r)| r.clone());
    let ratio_of = |a: &str, b: &str| match (find(a), find(b)) {
        (Some(a), Some(b)) if b.throughput_per_s > 0.0 => {
            Some(a.throughput_per_s / b.throughput_per_s)
        }
        _ => None,
    };
    let ratio = ratio_of(PAY, PAY_NO_GROUP_COMMIT);
    let pg_ratio = ratio_of(PAY_POSTGRES, PGBENCH);
    let _ = writeln!(
        out,
        "\nratio {PAY} / {PAY_NO_GROUP_COMMIT} (ops/s): {}",
        opt(ratio, 2)
    );
    let _ = writeln!(
        out,
        "ratio {PAY_POSTGRES} / {PGBENCH} (ops/s): {}\n",
        opt(pg_ratio, 2)
    );
    out.push_str(&targets(&find, ratio, pg_ratio));
    out
}

/// Which side of its bound a target's measurement must be on.
#[derive(Clone, Copy)]
enum Bound {
    AtLeast(f64),
    Below(f64),
}

impl Bound {
    fn met(self, value: f64) -> bool {
        match self {
            Self::AtLeast(b) => value >= b,
            Self::Below(b) => value < b,
        }
    }
}

/// The issue's targets against the medians; a variant that did not run is "not measured".
fn targets(
    find: &dyn Fn(&str) -> Option<Row>,
    ratio: Option<f64>,
    pg_ratio: Option<f64>,
) -> String {
    let pay = find(PAY);
    let open = find(PAY_OPEN);
    let pg = find(PAY_POSTGRES);
    let lookup = find("lookup");
    let worst = |f: fn(&Row) -> Option<f64>| {
        [
            "healthz",
            "lookup",
            PAY,
            "pay-card",
            "mixed",
            PAY_NO_GROUP_COMMIT,
        ]
        .iter()
        .filter_map(|v| find(v).as_ref().and_then(f))
        .reduce(f64::max)
    };
    let checks = [
        (
            "pay (balance) ops/s ≥ 10,000",
            pay.as_ref().map(|r| r.throughput_per_s),
            Bound::AtLeast(10_000.0),
        ),
        (
            "pay (balance) p99 < 25 ms",
            pay.as_ref().and_then(|r| r.p99_ms),
            Bound::Below(25.0),
        ),
        (
            "pay (balance, open loop) p99 < 25 ms",
            open.as_ref().and_then(|r| r.p99_ms),
            Bound::Below(25.0),
        ),
        ("pay / no group commit ≥ 3×", ratio, Bound::AtLeast(3.0)),
        (
            "pay on PostgreSQL ops/s ≥ 5,000",
            pg.as_ref().map(|r| r.throughput_per_s),
            Bound::AtLeast(5_000.0),
        ),
        (
            "pay on PostgreSQL / pgbench tps > 1×",
            pg_ratio,
            Bound::AtLeast(1.0),
        ),
        (
            "lookup ops/s ≥ 20,000",
            lookup.as_ref().map(|r| r.throughput_per_s),
            Bound::AtLeast(20_000.0),
        ),
        (
            "lookup p99 < 10 ms",
            lookup.as_ref().and_then(|r| r.p99_ms),
            Bound::Below(10.0),
        ),
        (
            "pay → confirmed p99 < 1,000 ms",
            pay.as_ref().and_then(|r| r.confirm_p99_ms),
            Bound::Below(1000.0),
        ),
        (
            "RSS peak, worst variant < 150 MB",
            worst(|r| r.rss_peak_mb),
            Bound::Below(150.0),
        ),
        (
            "start to first answer, worst variant < 200 ms",
            worst(|r| r.start_ms),
            Bound::Below(200.0),
        ),
    ];
    let mut out = String::from("| target | measured (median) | met |\n|---|---|---|\n");
    for (name, value, bound) in checks {
        let met = value.map_or("not measured", |v| if bound.met(v) { "yes" } else { "NO" });
        let _ = writeln!(out, "| {name} | {} | {met} |", opt(value, 2));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn line(variant: &str, tput: f64, p99: f64) -> String {
        format!(
            r#"{{"variant":"{variant}","run":1,"start_ms":40,"rss_peak_kb":51200,"rss_load_kb":40960,"result":{{"ok":90,"requests":100,"throughput_per_s":{tput},"p50_ms":1.0,"p99_ms":{p99},"confirm":null}}}}"#
        )
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(vec![]), None);
    }

    #[test]
    fn the_table_shows_medians_and_the_group_commit_ratio() {
        let text = [
            line(PAY, 9000.0, 30.0),
            line(PAY, 12000.0, 20.0),
            line(PAY, 11000.0, 22.0),
            line(PAY_NO_GROUP_COMMIT, 3000.0, 5.0),
        ]
        .join("\n");
        let md = markdown(&parse(&text).unwrap());
        assert!(
            md.contains(
                "| pay-balance | 3 | 11000 | 1.00 | 22.00 | 10.00 | – / – | 40.0 / 50.0 | 40 |"
            ),
            "{md}"
        );
        assert!(md.contains("(ops/s): 3.67"), "{md}");
        assert!(
            md.contains("| pay (balance) ops/s ≥ 10,000 | 11000.00 | yes |"),
            "{md}"
        );
        assert!(
            md.contains("| lookup ops/s ≥ 20,000 | – | not measured |"),
            "{md}"
        );
    }
}
