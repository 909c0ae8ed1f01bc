//! `finepay-bench`: load a finepay server on this machine and report what it did.
//!
//!     finepay-bench run --url http://127.0.0.1:8080 --sandbox-token T --scenario pay-balance
//!     finepay-bench verify-acks --url http://127.0.0.1:8080 --acks acks.tsv

use clap::{Args, Parser, Subcommand, ValueEnum};
use finepay_bench::driver::{LoadPlan, Mode};
use finepay_bench::error::BenchError;
use finepay_bench::http::Target;
use finepay_bench::scenario::{ScenarioKind, Sizing};
use finepay_bench::{acks, default_pay_decisions, RunOptions};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Parser)]
#[command(
    name = "finepay-bench",
    version,
    about = "Load generator for finepay (loopback only)"
)]
struct Cli {
    /// Tokio worker threads of the load generator (it shares the machine with the server).
    #[arg(long, global = true, default_value_t = 1)]
    threads: usize,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create fixtures, run one scenario, print a summary line and a JSON line.
    Run(RunArgs),
    /// Read back every payment of an acknowledgement file; exit 1 if any is missing.
    VerifyAcks {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long)]
        acks: PathBuf,
    },
    /// Wait until /healthz answers 200; print the milliseconds since --since-ns (Unix time, ns).
    Wait {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long, default_value_t = 30)]
        timeout_s: u64,
        /// When the server was launched (`date +%s%N`).
        #[arg(long)]
        since_ns: Option<u128>,
    },
    /// Print the markdown table of medians from the result lines of scripts/bench.
    Table { results: PathBuf },
}

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    Closed,
    Open,
}

#[derive(Args)]
struct RunArgs {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    #[arg(long, env = "FINEPAY_SANDBOX_TOKEN")]
    sandbox_token: String,
    #[arg(long, value_enum)]
    scenario: ScenarioKind,
    #[arg(long, value_enum, default_value = "closed")]
    mode: ModeArg,
    /// Concurrent workers, each with its own keep-alive connection.
    #[arg(long, default_value_t = 64)]
    workers: usize,
    /// Target rate of the open loop, operations per second.
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    #[arg(long, default_value_t = 10)]
    duration_s: u64,
    #[arg(long, default_value_t = 10_000)]
    timeout_ms: u64,
    /// Users to create (operations are spread over them round robin).
    #[arg(long, default_value_t = 64)]
    users: usize,
    /// Decisions to create for a pay scenario (default: enough for the run, see --closed-guess).
    #[arg(long)]
    decisions: Option<usize>,
    /// Closed-loop pay rate to size the decisions for when --decisions is not given.
    #[arg(long, default_value_t = 6_000)]
    closed_guess: u64,
    /// Decisions in the lookup pool.
    #[arg(long, default_value_t = 1000)]
    lookup_decisions: usize,
    #[arg(long, default_value_t = 16)]
    setup_connections: usize,
    /// Write acknowledged payments here (for `verify-acks` after a crash).
    #[arg(long)]
    acks: Option<PathBuf>,
    /// Payments to sample for the authority confirmation latency (0: skip).
    #[arg(long, default_value_t = 200)]
    confirm_samples: usize,
    #[arg(long, default_value_t = 30)]
    confirm_wait_s: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cli.threads.max(1))
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Run(args) => runtime.block_on(run(args)),
        Command::VerifyAcks { url, acks } => runtime.block_on(verify(&url, &acks)),
        Command::Wait {
            url,
            timeout_s,
            since_ns,
        } => runtime.block_on(wait(&url, Duration::from_secs(timeout_s), since_ns)),
        Command::Table { results } => table(&results),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn options(args: RunArgs) -> Result<RunOptions, BenchError> {
    let mode = match args.mode {
        ModeArg::Closed => Mode::Closed,
        ModeArg::Open => Mode::Open {
            rate_per_s: args.rate,
        },
    };
    let duration = Duration::from_secs(args.duration_s);
    let pay_decisions = args
        .decisions
        .unwrap_or_else(|| default_pay_decisions(mode, duration, args.closed_guess));
    Ok(RunOptions {
        target: Target::parse(&args.url)?,
        sandbox_token: args.sandbox_token,
        scenario: args.scenario,
        load: LoadPlan {
            mode,
            workers: args.workers,
            duration,
            request_timeout: Duration::from_millis(args.timeout_ms),
        },
        sizing: Sizing {
            users: args.users,
            pay_decisions,
            lookup_decisions: args.lookup_decisions,
            connections: args.setup_connections,
        },
        acks: args.acks,
        confirm_samples: args.confirm_samples,
        confirm_wait: Duration::from_secs(args.confirm_wait_s),
    })
}

async fn run(args: RunArgs) -> Result<ExitCode, BenchError> {
    let summary = finepay_bench::run(options(args)?).await?;
    println!("{}", summary.human());
    println!("{}", summary.json());
    Ok(ExitCode::SUCCESS)
}

async fn verify(url: &str, path: &Path) -> Result<ExitCode, BenchError> {
    let target = Target::parse(url)?;
    let lines = acks::read(path)?;
    let v = acks::verify(&target, lines).await?;
    let statuses: Vec<String> = v
        .statuses
        .iter()
        .map(|(s, n)| format!("{s}: {n}"))
        .collect();
    println!(
        "verify-acks: {} acknowledged payments checked, {} missing ({})",
        v.checked,
        v.missing.len(),
        statuses.join(", ")
    );
    for id in v.missing.iter().take(20) {
        println!("missing: {id}");
    }
    Ok(if v.missing.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn wait(
    url: &str,
    timeout: Duration,
    since_ns: Option<u128>,
) -> Result<ExitCode, BenchError> {
    let target = Target::parse(url)?;
    if !finepay_bench::wait_ready(&target, timeout).await {
        eprintln!(
            "no answer from {url}/healthz within {} s",
            timeout.as_secs()
        );
        return Ok(ExitCode::from(1));
    }
    if let Some(since) = since_ns {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        println!("{}", now.saturating_sub(since) / 1_000_000);
    }
    Ok(ExitCode::SUCCESS)
}

fn table(path: &Path) -> Result<ExitCode, BenchError> {
    let text = std::fs::read_to_string(path).map_err(|source| BenchError::File {
        path: path.display().to_string(),
        source,
    })?;
    print!(
        "{}",
        finepay_bench::table::markdown(&finepay_bench::table::parse(&text)?)
    );
    Ok(ExitCode::SUCCESS)
}
