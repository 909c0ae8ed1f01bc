//! The `finepay` command line (SPEC §5).

use clap::{Parser, Subcommand};
use finepay::{demo, offline, ServeConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: glibc keeps a memory arena per thread that touched the
/// heap (tokio workers, the blocking pool, the writer, the hashing threads) and returns little of
/// it, which roughly doubled the server's resident memory under load (BENCHMARKS.md).
/// Threads of the runtime's blocking pool (tokio's default is 512).
const BLOCKING_THREADS: usize = 24;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "finepay",
    version,
    about = "Pay traffic-violation fines online"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the platform with the sandbox authorities and bank.
    Serve {
        #[arg(long, env = "FINEPAY_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// sqlite://PATH or postgres://USER@HOST:PORT/DB (default: finepay.db in the data directory).
        #[arg(long, env = "FINEPAY_DATABASE_URL")]
        database: Option<String>,
        /// Holds the receipt signing key and the sandboxes' state.
        #[arg(long, env = "FINEPAY_DATA_DIR", default_value = "finepay-data")]
        data_dir: PathBuf,
        /// Seed a demo user, card, vehicle and decisions, and print how to use them.
        #[arg(long)]
        demo: bool,
        /// The bearer token of the sandbox control API (random when not given).
        #[arg(long, env = "FINEPAY_SANDBOX_TOKEN")]
        sandbox_token: Option<String>,
        /// nats://HOST:PORT: share events between instances through NATS JetStream.
        #[arg(long, env = "FINEPAY_EVENTS")]
        events: Option<String>,
        /// Commit one payment per transaction (for benchmarks; slower, same durability).
        #[arg(long)]
        no_group_commit: bool,
        /// Decision lookups allowed per user per minute (SPEC default 60; benchmarks raise it).
        #[arg(long, env = "FINEPAY_LOOKUPS_PER_USER", default_value_t = 60)]
        lookups_per_user_per_minute: u32,
        /// Reach the authorities and the bank named in this endpoints file (written by
        /// `finepay sandbox`, or by hand for real cities) instead of in-process sandboxes.
        #[arg(long, env = "FINEPAY_ENDPOINTS")]
        endpoints: Option<PathBuf>,
        /// Reverse proxies (addresses or CIDR blocks, comma separated) whose X-Forwarded-For,
        /// -Proto and -Host headers are believed; from anyone else they are ignored.
        #[arg(long, env = "FINEPAY_TRUSTED_PROXIES", default_value = "")]
        trusted_proxies: String,
        /// Decision lookups allowed per client address per minute (SPEC default 1,000).
        #[arg(long, env = "FINEPAY_LOOKUPS_PER_CLIENT", default_value_t = 1000)]
        lookups_per_client_per_minute: u32,
    },
    /// Run the sandbox authorities and bank as a service of their own (control API at
    /// /sandbox/v1) and write DATA_DIR/endpoints.toml, the file that points a platform at them.
    Sandbox {
        #[arg(long, env = "FINEPAY_SANDBOX_LISTEN", default_value = "127.0.0.1:8090")]
        listen: SocketAddr,
        #[arg(long, env = "FINEPAY_DATA_DIR", default_value = "finepay-sandbox-data")]
        data_dir: PathBuf,
        /// The bearer token of the control API (random when not given; at least 16 characters).
        #[arg(long, env = "FINEPAY_SANDBOX_TOKEN")]
        sandbox_token: Option<String>,
    },
    /// Verify the ledger's invariants.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// Work with signed receipts.
    Receipt {
        #[command(subcommand)]
        command: ReceiptCommand,
    },
    /// A city's day, the platform's payments against the authority's records. Exit 0 when all
    /// match (after mending, with --mend), 1 when a discrepancy remains, 2 on an error.
    Reconcile {
        /// The city's 6-digit code, e.g. 110000.
        #[arg(long)]
        city: String,
        /// The business day (Asia/Shanghai), YYYY-MM-DD.
        #[arg(long)]
        date: chrono::NaiveDate,
        /// Print the report as JSON (SPEC §9).
        #[arg(long)]
        json: bool,
        /// Re-send the notices the authority never recorded, then check again.
        #[arg(long)]
        mend: bool,
        #[arg(long, env = "FINEPAY_DATABASE_URL")]
        database: Option<String>,
        #[arg(long, env = "FINEPAY_DATA_DIR", default_value = "finepay-data")]
        data_dir: PathBuf,
        /// The endpoints file naming the authorities (default: the one `serve` keeps in the
        /// data directory).
        #[arg(long, env = "FINEPAY_ENDPOINTS")]
        endpoints: Option<PathBuf>,
    },
    /// Close a settlement batch of a city's day now.
    Settle {
        #[arg(long)]
        city: String,
        #[arg(long)]
        date: chrono::NaiveDate,
        #[arg(long, env = "FINEPAY_DATABASE_URL")]
        database: Option<String>,
        #[arg(long, env = "FINEPAY_DATA_DIR", default_value = "finepay-data")]
        data_dir: PathBuf,
        #[arg(long, env = "FINEPAY_ENDPOINTS")]
        endpoints: Option<PathBuf>,
    },
    /// Operators.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Make a registered user an operator (/admin and /api/v1/admin).
    Grant {
        /// The user's mobile number.
        phone: String,
        #[arg(long, env = "FINEPAY_DATABASE_URL")]
        database: Option<String>,
        #[arg(long, env = "FINEPAY_DATA_DIR", default_value = "finepay-data")]
        data_dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum LedgerCommand {
    /// Exit 0 when every invariant holds, 1 when one does not.
    Check {
        #[arg(long, env = "FINEPAY_DATABASE_URL")]
        database: Option<String>,
        #[arg(long, env = "FINEPAY_DATA_DIR", default_value = "finepay-data")]
        data_dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum ReceiptCommand {
    /// Check a receipt's signature offline against saved published keys.
    Verify {
        file: PathBuf,
        /// A saved copy of /.well-known/finepay/receipt-keys (default: the data directory's).
        #[arg(long)]
        keys: Option<PathBuf>,
        #[arg(long, env = "FINEPAY_DATA_DIR", default_value = "finepay-data")]
        data_dir: PathBuf,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "finepay=info,warn".into()),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, not in a log file or a journal.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve {
            listen,
            database,
            data_dir,
            demo,
            sandbox_token,
            no_group_commit,
            events,
            lookups_per_user_per_minute,
            lookups_per_client_per_minute,
            trusted_proxies,
            endpoints,
        } => {
            if demo && endpoints.is_some() {
                anyhow::bail!(
                    "--demo seeds the in-process sandboxes: it cannot be used with --endpoints"
                );
            }
            let mut config = ServeConfig::new(data_dir);
            config.endpoints = endpoints;
            config.trusted_proxies = finepay_http::TrustedProxies::parse(&trusted_proxies)
                .map_err(|e| anyhow::anyhow!("--trusted-proxies: {e}"))?;
            config.platform.lookup_limits.per_user_per_minute = lookups_per_user_per_minute;
            config.platform.lookup_limits.per_client_per_minute = lookups_per_client_per_minute;
            config.listen = listen;
            config.database = database;
            config.sandbox_token = sandbox_token;
            config.events = events;
            if no_group_commit {
                config.writer.max_batch = 1;
            }
            // Blocking work is short (PostgreSQL reads, the sandboxes' SQLite calls, which take one
            // connection's lock in turn): a few threads do it as fast as hundreds would, and each
            // idle thread keeps an allocator heap of its own.
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .max_blocking_threads(BLOCKING_THREADS)
                .build()?;
            runtime.block_on(serve(config, demo))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Sandbox {
            listen,
            data_dir,
            sandbox_token,
        } => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(sandbox(listen, data_dir, sandbox_token))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Ledger {
            command: LedgerCommand::Check { database, data_dir },
        } => {
            let location = finepay::database_location(database.as_deref(), &data_dir)?;
            let (rules, findings) = offline::ledger_check(&location)?;
            if findings.is_empty() {
                println!("ledger check passed: {rules} invariants hold in {location:?}");
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "ledger check FAILED: {} problem(s) in {location:?}",
                findings.len()
            );
            for f in findings {
                println!("- {}: {}", f.rule, f.detail);
            }
            Ok(ExitCode::from(1))
        }
        Command::Reconcile {
            city,
            date,
            json,
            mend,
            database,
            data_dir,
            endpoints,
        } => {
            let location = finepay::database_location(database.as_deref(), &data_dir)?;
            let (report, cities) = small_runtime()?.block_on(finepay::operate::reconcile(
                &location,
                &data_dir,
                endpoints.as_deref(),
                &city,
                date,
                mend,
            ))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", finepay::operate::readable(&report, &cities));
            }
            Ok(if report.unresolved() == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Settle {
            city,
            date,
            database,
            data_dir,
            endpoints,
        } => {
            let location = finepay::database_location(database.as_deref(), &data_dir)?;
            let batch = small_runtime()?.block_on(finepay::operate::settle(
                &location,
                &data_dir,
                endpoints.as_deref(),
                &city,
                date,
            ))?;
            println!(
                "settlement batch {} closed for {} {}: {} lines, {} fen paid, {} fen refunded, net {} fen; sha256 {}; authority: {}",
                batch.id,
                batch.city_code,
                batch.date,
                batch.count,
                batch.payments_total,
                batch.refunds_total,
                batch.net,
                batch.sha256,
                batch.authority_status
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Admin {
            command:
                AdminCommand::Grant {
                    phone,
                    database,
                    data_dir,
                },
        } => {
            let location = finepay::database_location(database.as_deref(), &data_dir)?;
            let user = small_runtime()?.block_on(finepay::operate::grant(&location, &phone))?;
            println!("{phone} (user {user}) is now an operator");
            Ok(ExitCode::SUCCESS)
        }
        Command::Receipt {
            command:
                ReceiptCommand::Verify {
                    file,
                    keys,
                    data_dir,
                },
        } => {
            let keys = keys.unwrap_or_else(|| data_dir.join(finepay_receipts::PUBLISHED_KEYS_FILE));
            match offline::receipt_verify(&file, &keys)? {
                Ok(()) => {
                    println!("valid: the signature matches the published key");
                    Ok(ExitCode::SUCCESS)
                }
                Err(reason) => {
                    println!("invalid: {reason}");
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

/// A runtime for the operators' commands.
fn small_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

async fn sandbox(
    listen: SocketAddr,
    data_dir: PathBuf,
    token: Option<String>,
) -> anyhow::Result<()> {
    let token = token.unwrap_or_else(finepay::new_sandbox_token);
    if token.chars().count() < finepay::MIN_SANDBOX_TOKEN_CHARS {
        anyhow::bail!(
            "the sandbox token must have at least {} characters",
            finepay::MIN_SANDBOX_TOKEN_CHARS
        );
    }
    let sandboxes = finepay::Sandboxes::start(
        &data_dir,
        std::time::Duration::from_secs(5),
        std::time::Duration::from_secs(10),
        listen,
        Some(token.clone()),
    )
    .await?;
    let file = data_dir.join(finepay_authority::endpoints::FILE_NAME);
    finepay_authority::endpoints::write(
        &file,
        &finepay_authority::endpoints::for_sandbox(
            &format!("http://{}", sandboxes.addr),
            "sandbox-authority-secret",
        ),
    )?;
    println!("finepay sandbox is serving on http://{}", sandboxes.addr);
    println!("sandbox token: {token}");
    println!(
        "endpoints: {}  (finepay serve --endpoints {})",
        file.display(),
        file.display()
    );
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    println!("stopped");
    Ok(())
}

async fn serve(config: ServeConfig, with_demo: bool) -> anyhow::Result<()> {
    let data_dir = config.data_dir.clone();
    let mut running = finepay::start(config).await?;
    println!("finepay is serving on {}", running.url());
    if running.sandbox_authority.is_some() {
        println!("sandbox token: {}", running.sandbox_token);
    }
    if with_demo {
        let seeded = demo::seed(&running, &data_dir).await?;
        println!("{}", demo::instructions(&running, &seeded));
    }
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
        ended = running.server_ended() => return ended,
    }
    println!("stopping: answering the requests in flight");
    running.stop().await?;
    println!("stopped");
    Ok(())
}
