//! The deterministic simulator's runs (see `sim/mod.rs`): thousands of seeded scenarios of
//! payments, top-ups, repayments, refunds, revocations and outages against the real platform, with
//! every invariant checked after every step; a sabotaged platform is caught, and its seed replays
//! to the same failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sim;

use sim::{Lane, Options, Sabotage};

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// Runs lanes of `per_lane` scenarios with seeds `first..first + lanes` on a runtime of their own
/// per thread (two at a time, the machine's cores); panics with the first failure, its seed and
/// its replay command.
fn run_lanes(first: u64, lanes: u64, per_lane: usize) -> sim::Stats {
    let next = std::sync::atomic::AtomicU64::new(first);
    let total = std::sync::Mutex::new(sim::Stats::default());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let seed = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if seed >= first + lanes {
                    break;
                }
                let stats = run_one(seed, per_lane, None).unwrap_or_else(|f| panic!("{f}"));
                let mut t = total.lock().unwrap();
                t.scenarios += stats.scenarios;
                t.steps += stats.steps;
                t.payments_succeeded += stats.payments_succeeded;
                t.refunds += stats.refunds;
                t.top_ups += stats.top_ups;
                t.repayments += stats.repayments;
                t.outages += stats.outages;
            });
        }
    });
    total.into_inner().unwrap()
}

fn run_one(
    seed: u64,
    scenarios: usize,
    sabotage: Option<Sabotage>,
) -> Result<sim::Stats, sim::Failure> {
    run_on(seed, scenarios, sabotage, None)
}

fn run_on(
    seed: u64,
    scenarios: usize,
    sabotage: Option<Sabotage>,
    database: Option<String>,
) -> Result<sim::Stats, sim::Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let opts = Options {
            seed,
            sabotage,
            database,
        };
        Lane::open(&opts).await.run(scenarios).await
    })
}

/// At least 10,000 scenarios (`FINEPAY_SIM_SCENARIOS_TOTAL` sets how many; by hand, a million).
/// On SQLite; the PostgreSQL pass of the suite runs `seeded_scenarios_on_postgres` instead.
#[test]
fn ten_thousand_seeded_scenarios_keep_every_invariant() {
    if std::env::var("FINEPAY_TEST_POSTGRES").is_ok() {
        return;
    }
    let total = env_u64("FINEPAY_SIM_SCENARIOS_TOTAL").unwrap_or(10_000);
    let per_lane: usize = env_u64("FINEPAY_SIM_PER_LANE").map_or(40, |n| n as usize);
    let lanes = total.div_ceil(per_lane as u64);
    let first = env_u64("FINEPAY_SIM_FIRST_SEED").unwrap_or(1);
    let started = std::time::Instant::now();
    let stats = run_lanes(first, lanes, per_lane);
    eprintln!(
        "{} scenarios ({} steps) in {:.1} s: {} payments, {} refunded, {} top-ups, {} repayments, {} outages; seeds {first}..{}",
        stats.scenarios,
        stats.steps,
        started.elapsed().as_secs_f64(),
        stats.payments_succeeded,
        stats.refunds,
        stats.top_ups,
        stats.repayments,
        stats.outages,
        first + lanes
    );
    assert!(stats.scenarios as u64 >= total);
    assert!(stats.payments_succeeded > stats.scenarios / 10, "{stats:?}");
    assert!(stats.outages > stats.scenarios / 10, "{stats:?}");
}

/// A notice marked delivered without being sent (a lost notice; the outbox row is still there, so
/// the ledger check sees nothing wrong) is caught at the end of its scenario, and the same seed
/// fails the same way again.
#[test]
fn a_forgotten_notice_is_caught_and_its_seed_replays_the_failure() {
    // The first scenario of seed 7 whose walk pays successfully.
    let failure = (0..40)
        .find_map(|scenario| {
            run_one(7, scenario + 1, Some(Sabotage::ForgetNotice { scenario })).err()
        })
        .expect("a sabotaged scenario fails");
    assert_eq!(
        failure.invariant, "every kept payment is recorded by its authority",
        "{failure}"
    );
    let text = failure.to_string();
    assert!(text.contains("FINEPAY_SIM_SEED=7"), "{text}");
    let again = run_one(
        7,
        failure.scenario + 1,
        Some(Sabotage::ForgetNotice {
            scenario: failure.scenario,
        }),
    )
    .expect_err("the replay fails too");
    assert_eq!(
        (
            again.scenario,
            again.step,
            again.invariant,
            again.trace.len()
        ),
        (
            failure.scenario,
            failure.step,
            failure.invariant,
            failure.trace.len()
        )
    );
}

/// A fen added to a wallet outside the ledger is caught at the very step.
#[test]
fn a_balance_moved_outside_the_ledger_is_caught_at_once() {
    let failure = (0..40)
        .find_map(|scenario| {
            run_one(11, scenario + 1, Some(Sabotage::SkewWallet { scenario })).err()
        })
        .expect("a sabotaged scenario fails");
    assert_eq!(failure.invariant, "ledger check", "{failure}");
    assert!(
        failure.trace.last().unwrap().starts_with("top up"),
        "{failure}"
    );
}

/// `FINEPAY_SIM_SEED=S FINEPAY_SIM_SCENARIOS=N`: runs seed S's first N scenarios and prints the
/// failure, if any, with every step of its scenario (what a failing run asks to be replayed with).
#[test]
fn replay() {
    let Some(seed) = env_u64("FINEPAY_SIM_SEED") else {
        return;
    };
    let scenarios = env_u64("FINEPAY_SIM_SCENARIOS").unwrap_or(250) as usize;
    match run_one(seed, scenarios, None) {
        Ok(stats) => eprintln!("seed {seed}: {scenarios} scenarios passed: {stats:?}"),
        Err(f) => panic!("{f}"),
    }
}

/// With `FINEPAY_TEST_POSTGRES` set (the suite's PostgreSQL pass): two lanes of 40 scenarios on a
/// fresh PostgreSQL database each, the same walk and the same invariants.
#[test]
fn seeded_scenarios_on_postgres() {
    let Ok(base) = std::env::var("FINEPAY_TEST_POSTGRES") else {
        return;
    };
    for seed in [1u64, 2] {
        let name = format!(
            "fp_t_sim_{}_{seed}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
                % 100_000
        );
        let admin = finepay_store::PgConn::connect(&format!("{base}/postgres")).unwrap();
        finepay_store::Sql::batch(&admin, &format!("CREATE DATABASE {name}")).unwrap();
        let stats = run_on(seed, 40, None, Some(format!("{base}/{name}")))
            .unwrap_or_else(|f| panic!("on PostgreSQL: {f}"));
        assert_eq!(stats.scenarios, 40);
        eprintln!("PostgreSQL, seed {seed}: {stats:?}");
    }
}
