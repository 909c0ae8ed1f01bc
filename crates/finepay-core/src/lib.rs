//! finepay's use cases: register and sign in, link cards, top up, look up and pay penalty
//! decisions, receipts, and the background work that keeps promises after the answer is sent (the
//! outbox dispatcher that tells authorities, the resolver that settles card charges left in doubt).
//!
//! Architecture Invariant: this crate writes no SQL text and knows nothing of axum; it calls the
//! store's verb-named functions inside writer jobs, and adapters through their traits.
//! Architecture Invariant: every money movement happens inside one writer job, together with the
//! state change that causes it, its idempotency record and its outbox row.

mod accounts;
mod authorities;
pub mod credit;
mod decisions;
mod dispatcher;
mod error;
pub mod events;
mod favourites;
mod feeds;
mod hashing;
mod idempotency;
mod notifications;
mod payments;
mod ratelimit;
pub mod receipts;
mod refunds;
mod resolver;
pub mod services;
mod vehicles;
pub mod views;
pub mod violations;

pub use accounts::{PaymentOption, Registration};
pub use authorities::{Authorities, AuthorityRoute, NumberProblem, NumberRule};
pub use error::CoreError;
pub use idempotency::{IdempotencyKey, Reply};
pub use notifications::NotificationView;
pub use payments::{PayMethod, PayRequest};
pub use ratelimit::LookupLimits;
pub use vehicles::VehicleView;

use finepay_bank::Bank;
use finepay_receipts::ReceiptSigner;
use finepay_store::Db;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// Settings of the platform (sandbox defaults; every one configurable).
#[derive(Clone, Debug)]
pub struct PlatformConfig {
    /// The credit line granted to every real-name user, in fen (SPEC: 2,000.00 yuan).
    pub credit_limit_fen: i64,
    pub lookup_limits: LookupLimits,
    pub session_ttl: Duration,
    /// The code of the bank behind linked cards, used for its clearing account in the ledger.
    pub bank_code: String,
    /// Card payments and top-ups left `processing` longer than this are settled by asking the bank.
    pub resolve_after: Duration,
    /// The day of the month a credit statement is issued (Huabei-like default: the 1st).
    pub credit_statement_day: u32,
    /// The day of the month a credit statement is due (default: the 10th).
    pub credit_due_day: u32,
}

impl Default for PlatformConfig {
    fn default() -> Self {
        PlatformConfig {
            credit_limit_fen: 200_000,
            lookup_limits: LookupLimits::default(),
            session_ttl: Duration::from_secs(30 * 24 * 3600),
            bank_code: "sandbox".into(),
            resolve_after: Duration::from_secs(15),
            credit_statement_day: 1,
            credit_due_day: 10,
        }
    }
}

/// The platform: cheap to clone, shared by every request handler and background task.
#[derive(Clone)]
pub struct Platform {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    authorities: Authorities,
    bank: Arc<dyn Bank>,
    signer: ReceiptSigner,
    config: PlatformConfig,
    limiter: ratelimit::RateLimiter,
    outbox_wake: Notify,
    events: Arc<events::EventBus>,
    hashing: hashing::HashPool,
    /// Outbox groups (kind and city) this instance is delivering right now.
    groups_in_flight: Mutex<HashSet<String>>,
    /// Bank references whose charge a request is handling right now; the resolver leaves them be.
    charges_in_flight: Mutex<HashSet<String>>,
    /// Which cities' feeds are followed closely enough to serve kept decisions.
    freshness: feeds::Freshness,
}

impl Platform {
    pub fn new(
        db: Db,
        authorities: Authorities,
        bank: Arc<dyn Bank>,
        signer: ReceiptSigner,
        events: Arc<events::EventBus>,
        config: PlatformConfig,
    ) -> Platform {
        let limiter = ratelimit::RateLimiter::new(config.lookup_limits);
        let freshness = feeds::Freshness::new(authorities.all().iter().map(|r| r.city.as_str()));
        Platform {
            inner: Arc::new(Inner {
                db,
                authorities,
                bank,
                signer,
                config,
                limiter,
                outbox_wake: Notify::new(),
                charges_in_flight: Mutex::new(HashSet::new()),
                events,
                hashing: hashing::HashPool::start(),
                groups_in_flight: Mutex::new(HashSet::new()),
                freshness,
            }),
        }
    }

    /// Starts the background workers (outbox dispatcher, card resolver). They run until the
    /// runtime stops.
    pub fn start_workers(&self) {
        tokio::spawn(dispatcher::run(self.clone()));
        tokio::spawn(resolver::run(self.clone()));
        feeds::start(self);
        tokio::spawn(self.inner.events.clone().consume());
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    pub fn signer(&self) -> &ReceiptSigner {
        &self.inner.signer
    }

    pub fn config(&self) -> &PlatformConfig {
        &self.inner.config
    }

    fn authorities(&self) -> &Authorities {
        &self.inner.authorities
    }

    fn bank(&self) -> &dyn Bank {
        self.inner.bank.as_ref()
    }

    /// Marks a bank reference as being charged by this request until the guard drops, so the
    /// resolver does not settle it underneath (a crash empties the set: then the resolver may).
    fn hold_charge(&self, reference: &str) -> ChargeHold {
        self.inner
            .charges_in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(reference.to_string());
        ChargeHold {
            platform: self.clone(),
            reference: reference.to_string(),
        }
    }

    fn charge_in_flight(&self, reference: &str) -> bool {
        self.inner
            .charges_in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(reference)
    }

    /// Wakes the outbox dispatcher after a commit that enqueued a notice.
    fn wake_dispatcher(&self) {
        self.inner.outbox_wake.notify_one();
    }
}

/// Today's date where the authorities are (Asia/Shanghai): the date every deadline is counted in.
pub fn today_in_china() -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
}

/// A city of the catalogue by its code, with its names (the code alone when unknown).
pub fn city_view(code: &str) -> views::CityView {
    let city = finepay_authority::Catalogue::builtin().city(code);
    views::CityView {
        code: code.to_string(),
        name: city
            .map(|c| c.name.clone())
            .unwrap_or_else(|| code.to_string()),
        name_zh: city
            .map(|c| c.name_zh.clone())
            .unwrap_or_else(|| code.to_string()),
    }
}

/// A new identifier: a prefix and a time-ordered UUID (v7), so ids sort by creation.
pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

/// See [`Platform::hold_charge`].
struct ChargeHold {
    platform: Platform,
    reference: String,
}

impl Drop for ChargeHold {
    fn drop(&mut self) {
        self.platform
            .inner
            .charges_in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.reference);
    }
}
