//! The `finepay` binary's library: assembling the platform from its parts (`start`), the demo
//! data, and the offline commands (`ledger check`, `receipt verify`). Integration tests start the
//! real server through `start` on a random port.

pub mod demo;
pub mod http_server;
pub mod offline;
pub mod operate;
pub mod webhook_sender;

use anyhow::Context;
use finepay_authority::{endpoints, HttpAuthority};
use finepay_bank::HttpBank;
use finepay_core::events::EventBus;
use finepay_core::{Authorities, AuthorityRoute, NumberRule, Platform, PlatformConfig};
use finepay_receipts::ReceiptSigner;
use finepay_sandbox::authority::{SandboxAuthority, SandboxConfig as AuthoritySandboxConfig};
use finepay_sandbox::bank::{SandboxBank, SandboxConfig as BankSandboxConfig};
use finepay_store::{Db, DbLocation, WriterConfig};
use rand::RngCore;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Everything `finepay serve` can be told.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    /// `sqlite://PATH` (or a bare path) or `postgres://…`; default: `finepay.db` in the data directory.
    pub database: Option<String>,
    pub data_dir: PathBuf,
    pub sandbox_token: Option<String>,
    /// `nats://HOST:PORT` to share events between instances through JetStream; in-process if none.
    pub events: Option<String>,
    pub writer: WriterConfig,
    pub platform: PlatformConfig,
    /// How long the platform waits for an authority before treating it as unreachable.
    pub authority_timeout: Duration,
    /// How long the platform waits for the bank before asking it about the charge instead.
    pub bank_timeout: Duration,
    /// Reach the authorities and the bank named in this file instead of starting the sandboxes
    /// in-process (`--endpoints`); the sandbox control API is then not mounted.
    pub endpoints: Option<PathBuf>,
    /// Reverse proxies whose `X-Forwarded-*` headers are believed (`--trusted-proxies`).
    pub trusted_proxies: finepay_http::TrustedProxies,
    /// Caps on open event streams, in all and per user.
    pub stream_limits: finepay_http::StreamLimits,
    /// How long a request's headers may take to arrive, and how many connections are served.
    pub connection_limits: http_server::ConnectionLimits,
    /// How long a `slow` sandbox authority takes to answer (SPEC: 5 s).
    pub sandbox_slow_delay: Duration,
    /// How long the sandbox bank holds the answer of card …0042's first charge.
    pub sandbox_bank_timeout_delay: Duration,
}

impl ServeConfig {
    pub fn new(data_dir: PathBuf) -> ServeConfig {
        ServeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database: None,
            data_dir,
            sandbox_token: None,
            events: None,
            writer: WriterConfig::default(),
            platform: PlatformConfig::default(),
            authority_timeout: Duration::from_secs(8),
            bank_timeout: Duration::from_secs(5),
            trusted_proxies: finepay_http::TrustedProxies::none(),
            endpoints: None,
            stream_limits: finepay_http::StreamLimits::default(),
            connection_limits: http_server::ConnectionLimits::default(),
            sandbox_slow_delay: Duration::from_secs(5),
            sandbox_bank_timeout_delay: Duration::from_secs(10),
        }
    }

    /// The database the URL names (default: `finepay.db` in the data directory).
    pub fn database_location(&self) -> anyhow::Result<DbLocation> {
        database_location(self.database.as_deref(), &self.data_dir)
    }
}

/// Resolves a database URL (SPEC §5: `sqlite://…` or `postgres://…`), defaulting to the data
/// directory's SQLite file.
pub fn database_location(url: Option<&str>, data_dir: &Path) -> anyhow::Result<DbLocation> {
    match url {
        None => Ok(DbLocation::Sqlite(data_dir.join("finepay.db"))),
        Some(u) => Ok(DbLocation::parse(u)?),
    }
}

/// A running platform: its address, the sandbox token, and handles for tests.
pub struct Running {
    pub addr: SocketAddr,
    pub sandbox_token: String,
    pub platform: Platform,
    /// The in-process sandbox authority; `None` when serving real endpoints (`--endpoints`).
    pub sandbox_authority: Option<SandboxAuthority>,
    pub bank: HttpBank,
    server: tokio::task::JoinHandle<()>,
    stopping: tokio::sync::watch::Sender<bool>,
}

/// How long a stop waits for the requests in flight before it cuts the rest off.
pub const STOP_GRACE: Duration = Duration::from_secs(10);
/// How long a clean stop waits for the dispatcher's deliveries in flight (longer than the
/// authority client's 8 s timeout, so a slow authority's answer is still recorded).
pub const DRAIN_GRACE: Duration = Duration::from_secs(10);

impl Running {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Serves until the process is stopped.
    pub async fn wait(self) -> anyhow::Result<()> {
        self.server.await.context("the server task failed")
    }

    /// Resolves only if the server task ends by itself (it should not): then with its error.
    pub async fn server_ended(&mut self) -> anyhow::Result<()> {
        (&mut self.server).await.context("the server task failed")?;
        anyhow::bail!("the server stopped by itself")
    }

    /// Stops cleanly (SPEC §5): no new connections, the requests in flight answered (open event
    /// streams end; at most [`STOP_GRACE`] in all), then every job queued for the writer
    /// committed. A payment answered 201 before the stop is on disk; one cut off by the grace
    /// limit is either committed or not, exactly as after a crash, and its idempotency key tells.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        let _ = self.stopping.send(true);
        if tokio::time::timeout(STOP_GRACE, &mut self.server)
            .await
            .is_err()
        {
            tracing::warn!(
                grace_s = STOP_GRACE.as_secs(),
                "requests still running after the grace period; stopping anyway"
            );
            self.server.abort();
        }
        // The dispatcher's rounds in flight finish and record what the authorities answered.
        if !self.platform.drain_dispatcher(DRAIN_GRACE).await {
            tracing::warn!(
                grace_s = DRAIN_GRACE.as_secs(),
                "outbox deliveries still running after the grace period; they go out again after their lease"
            );
        }
        // A barrier: it runs after every job queued before it, so those are committed.
        self.platform
            .db()
            .writer()
            .run(|_| Ok::<(), finepay_store::StoreError>(()))
            .await??;
        Ok(())
    }
}

/// Opens the database, keys and sandboxes, starts the workers and serves HTTP.
pub async fn start(config: ServeConfig) -> anyhow::Result<Running> {
    let sandbox_token = config.sandbox_token.clone().unwrap_or_else(random_token);
    if sandbox_token.chars().count() < MIN_SANDBOX_TOKEN_CHARS {
        anyhow::bail!(
            "the sandbox token must have at least {MIN_SANDBOX_TOKEN_CHARS} characters (it guards the sandbox control API); leave --sandbox-token out for a random one"
        );
    }
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )
    })?;
    let location = config.database_location()?;
    let db = Db::open(&location, config.writer)
        .with_context(|| format!("cannot open the database {location:?}"))?;
    let signer = ReceiptSigner::load_or_create(&config.data_dir)
        .context("cannot load the receipt signing key")?;
    // The outside world: the sandboxes in-process (the default), or the endpoints of a file.
    let (found, sandbox_authority) = match &config.endpoints {
        None => {
            let sandboxes = Sandboxes::start(
                &config.data_dir,
                config.sandbox_slow_delay,
                config.sandbox_bank_timeout_delay,
                "127.0.0.1:0".parse()?,
                None,
            )
            .await?;
            let file = endpoints::for_sandbox(&format!("http://{}", sandboxes.addr), SECRET_FILE);
            let path = config.data_dir.join(endpoints::FILE_NAME);
            let found = endpoints::resolve(&file, &path)?;
            // For the operators' commands (`finepay reconcile`, `settle`) beside this server:
            // they reach the in-process sandboxes through this file.
            endpoints::write(&path, &file)
                .with_context(|| format!("cannot write {}", path.display()))?;
            (found, Some(sandboxes.authority))
        }
        Some(path) => (endpoints::load(path)?, None),
    };
    let authorities = authorities_of(&found, config.authority_timeout);
    // Webhooks: plain HTTP and private addresses only while the sandboxes are in-process.
    let mut platform_config = config.platform.clone();
    if platform_config.webhook_sender.is_none() {
        platform_config.webhook_sender = Some(finepay_core::WebhookSenderHandle(Arc::new(
            webhook_sender::HttpWebhookSender {
                allow_private: sandbox_authority.is_some(),
            },
        )));
    }
    let bank = HttpBank::new(&found.bank_url, config.bank_timeout);
    let events = match &config.events {
        Some(url) => EventBus::nats(url)
            .await
            .with_context(|| format!("cannot use the event bus at {url}"))?,
        None => EventBus::in_process(),
    };
    let platform = Platform::new(
        db,
        authorities,
        Arc::new(bank.clone()),
        signer,
        Arc::new(events),
        platform_config,
    );
    platform.start_workers();

    let (stopping, stop_signal) = tokio::sync::watch::channel(false);
    let app = finepay_http::router(
        finepay_http::AppState {
            platform: platform.clone(),
            proxies: config.trusted_proxies.clone(),
            stopping: stop_signal.clone(),
            streams: finepay_http::StreamSlots::new(config.stream_limits),
        },
        sandbox_authority
            .as_ref()
            .map(|a| (a.control_router(), sandbox_token.clone())),
    );
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let connection_limits = config.connection_limits;
    let server = tokio::spawn(async move {
        let mut stop = stop_signal;
        let stopped = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        http_server::serve(listener, app, connection_limits, stopped).await;
    });
    Ok(Running {
        addr,
        sandbox_token,
        platform,
        sandbox_authority,
        bank,
        server,
        stopping,
    })
}

/// The shortest sandbox token `serve` accepts (SPEC §10: it guards the control API).
pub const MIN_SANDBOX_TOKEN_CHARS: usize = 16;

/// The HMAC secret's file in the data directory (shared by the platform and the sandbox).
const SECRET_FILE: &str = "sandbox-authority-secret";

/// The platform's cities and one HMAC-signing client per city, as the endpoints name them.
pub(crate) fn authorities_of(found: &endpoints::Endpoints, timeout: Duration) -> Authorities {
    let mut routes = Vec::new();
    for city in &found.cities {
        let client: Arc<dyn finepay_authority::Authority> =
            Arc::new(HttpAuthority::new(&city.base_url, &city.key, timeout));
        for prefix in &city.decision_prefixes {
            routes.push(AuthorityRoute {
                prefix: prefix.clone(),
                city: city.city.code.clone(),
                rule: NumberRule::SixteenDigitsLuhn,
                client: client.clone(),
            });
        }
    }
    Authorities::new(
        routes,
        found.cities.iter().map(|c| c.city.clone()).collect(),
    )
}

/// The sandbox authority and bank on a listener of their own: in-process for `serve`, or as
/// their own service for `finepay sandbox` (then with the control API, under the token).
pub struct Sandboxes {
    pub addr: SocketAddr,
    pub authority: SandboxAuthority,
    pub server: tokio::task::JoinHandle<()>,
}

impl Sandboxes {
    pub async fn start(
        data_dir: &Path,
        slow_delay: Duration,
        bank_timeout_delay: Duration,
        listen: SocketAddr,
        control_token: Option<String>,
    ) -> anyhow::Result<Sandboxes> {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
        let secret = load_or_create_secret(&data_dir.join(SECRET_FILE))?;
        let authority = SandboxAuthority::open(
            &data_dir.join("sandbox-authority.db"),
            AuthoritySandboxConfig { secret, slow_delay },
        )
        .context("cannot open the sandbox authority")?;
        let bank = SandboxBank::open(
            &data_dir.join("sandbox-bank.db"),
            BankSandboxConfig {
                timeout_delay: bank_timeout_delay,
                ..BankSandboxConfig::default()
            },
        )
        .context("cannot open the sandbox bank")?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr()?;
        let mut app = authority.protocol_router().merge(bank.router()).route(
            "/healthz",
            axum::routing::get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
        );
        if let Some(token) = control_token {
            app = app.merge(finepay_http::guarded(authority.control_router(), token));
        }
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "the sandbox server stopped");
            }
        });
        Ok(Sandboxes {
            addr,
            authority,
            server,
        })
    }
}

fn random_token() -> String {
    let mut raw = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut raw);
    format!("sbx_{}", hex::encode(raw))
}

/// A random sandbox token (`sbx_` and 32 hex digits).
pub fn new_sandbox_token() -> String {
    random_token()
}

/// The HMAC secret shared by the platform and the sandbox authority, kept in the data directory:
/// readable by its owner only (0600), written whole to a temporary file and linked into place, so
/// a crash never leaves half a key and two instances starting at once agree on one.
fn load_or_create_secret(path: &Path) -> anyhow::Result<Vec<u8>> {
    let read = |path: &Path| -> anyhow::Result<Option<Vec<u8>>> {
        match std::fs::read_to_string(path) {
            Ok(text) => hex::decode(text.trim())
                .map(Some)
                .with_context(|| format!("{} is not hex", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    };
    if let Some(secret) = read(path)? {
        return Ok(secret);
    }
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    let temporary = path.with_extension(format!("tmp-{}", std::process::id()));
    {
        use std::io::Write as _;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options
            .open(&temporary)
            .with_context(|| format!("cannot create {}", temporary.display()))?;
        file.write_all(hex::encode(raw).as_bytes())
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write {}", temporary.display()))?;
    }
    let linked = std::fs::hard_link(&temporary, path);
    let _ = std::fs::remove_file(&temporary);
    match linked {
        Ok(()) => Ok(raw.to_vec()),
        // Another instance made it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read(path)?.with_context(|| format!("{} vanished", path.display()))
        }
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hmac_secret_is_written_once_for_its_owner_only_and_read_back() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("sandbox-authority-secret");
        let first = load_or_create_secret(&path).unwrap_or_default();
        assert_eq!(first.len(), 32);
        assert_eq!(load_or_create_secret(&path).unwrap_or_default(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o777);
            assert_eq!(mode.ok(), Some(0o600));
        }
        let leftovers = std::fs::read_dir(dir.path())
            .map(|d| d.count())
            .unwrap_or(0);
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }
}
