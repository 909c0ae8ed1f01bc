//! finepay-bench: a load generator for finepay over HTTP.
//!
//! A run has two phases. Setup creates users, cards, balances, vehicles and one decision per
//! payment through the public and sandbox APIs; then the timed phase drives one scenario in a
//! closed loop (N workers as fast as they can) or an open loop (a fixed rate, latency measured from
//! each request's intended send time). Pay runs also record every acknowledged payment (for the
//! crash check) and sample how long payments take to be confirmed by the authority.

pub mod acks;
pub mod confirm;
pub mod driver;
pub mod error;
pub mod fixtures;
pub mod http;
pub mod report;
pub mod scenario;
pub mod schedule;
pub mod table;

use driver::{LoadPlan, Mode};
use error::BenchError;
use http::Target;
use report::{RunMeta, Summary};
use scenario::{ScenarioKind, Sizing};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Everything one run needs.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub target: Target,
    pub sandbox_token: String,
    pub scenario: ScenarioKind,
    pub load: LoadPlan,
    pub sizing: Sizing,
    /// Where to write the acknowledged payments, if anywhere.
    pub acks: Option<PathBuf>,
    pub confirm_samples: usize,
    pub confirm_wait: Duration,
}

/// Decisions to create for a pay run when not told: enough for the whole run at the open-loop
/// rate, or at `closed_guess_per_s` for a closed loop, plus 5%, so the run ends by its clock and
/// not by running out of decisions.
pub fn default_pay_decisions(mode: Mode, duration: Duration, closed_guess_per_s: u64) -> usize {
    let per_s = match mode {
        Mode::Closed => closed_guess_per_s,
        Mode::Open { rate_per_s } => rate_per_s,
    };
    // Whole numbers only: duration × rate × 105%, rounded up, in milliseconds.
    let n = (duration.as_millis() * u128::from(per_s) * 105).div_ceil(100_000);
    usize::try_from(n).unwrap_or(usize::MAX).saturating_add(100)
}

/// Setup, timed phase, acknowledgement file, confirmation sample.
pub async fn run(opts: RunOptions) -> Result<Summary, BenchError> {
    let setup_started = Instant::now();
    let plan = opts.scenario.setup_plan(opts.sizing);
    eprintln!(
        "setup: {} users, {} decisions{}",
        plan.users,
        plan.decisions,
        if plan.cards { ", cards" } else { "" }
    );
    let fixtures = if plan.users == 0 && plan.decisions == 0 {
        fixtures::Fixtures::default()
    } else {
        fixtures::create(&opts.target, &opts.sandbox_token, &plan).await?
    };
    let fixtures = Arc::new(fixtures);
    let setup = setup_started.elapsed();
    eprintln!(
        "setup took {:.1} s; timed phase starts",
        setup.as_secs_f64()
    );
    let scenario = opts.scenario.build(fixtures.clone());
    let tally = driver::drive(&opts.target, scenario, opts.load).await?;
    if let Some(path) = &opts.acks {
        acks::write(path, &fixtures, &tally.acks)?;
    }
    let confirm = if opts.scenario.pays() && opts.confirm_samples > 0 {
        let c = confirm::measure(
            &opts.target,
            fixtures,
            &tally.acks,
            opts.confirm_samples,
            opts.confirm_wait,
        );
        Some(c.await?)
    } else {
        None
    };
    let meta = RunMeta {
        scenario: opts.scenario.name(),
        mode: opts.load.mode,
        workers: opts.load.workers,
        setup,
    };
    Ok(Summary::new(meta, &tally, confirm))
}

/// Polls `/healthz` every millisecond until it answers 200; `false` if `timeout` passes first.
/// Used to time "start to first answered request", so it polls far more often than a person would.
pub async fn wait_ready(target: &Target, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let mut conn = http::Conn::new(target.clone(), Duration::from_millis(500));
    while Instant::now() < deadline {
        if let Ok(a) = conn.send(http::Req::get("/healthz", None)).await {
            if a.status == 200 {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pay_run_gets_five_percent_more_decisions_than_its_rate_needs_plus_a_hundred() {
        let ten_s = Duration::from_secs(10);
        assert_eq!(default_pay_decisions(Mode::Closed, ten_s, 3_000), 31_600);
        let open = Mode::Open { rate_per_s: 7 };
        // 7/s for 1.5 s is 10.5, plus 5% is 11.025: rounded up to 12.
        assert_eq!(
            default_pay_decisions(open, Duration::from_millis(1_500), 0),
            112
        );
    }
}
