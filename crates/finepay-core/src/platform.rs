//! The platform handle every use case and worker shares: the store, the adapters, the settings
//! and the little state kept in memory (rate limits, charges and outbox groups in flight).

use crate::{events, freshness, hashing, ratelimit, views};
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
    pub lookup_limits: ratelimit::LookupLimits,
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
            lookup_limits: ratelimit::LookupLimits::default(),
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
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) db: Db,
    pub(crate) authorities: crate::authorities::Authorities,
    pub(crate) bank: Arc<dyn Bank>,
    pub(crate) signer: ReceiptSigner,
    pub(crate) config: PlatformConfig,
    pub(crate) limiter: ratelimit::RateLimiter,
    pub(crate) outbox_wake: Notify,
    pub(crate) events: Arc<events::EventBus>,
    pub(crate) hashing: hashing::HashPool,
    /// Set by [`Platform::drain_dispatcher`]: the dispatcher starts no new round.
    pub(crate) stopping: std::sync::atomic::AtomicBool,
    /// Outbox groups (kind and city) this instance is delivering right now.
    pub(crate) groups_in_flight: Mutex<HashSet<String>>,
    /// Bank references whose charge a request is handling right now; the resolver leaves them be.
    pub(crate) charges_in_flight: Mutex<HashSet<String>>,
    /// Which cities' feeds are followed closely enough to serve kept decisions.
    pub(crate) freshness: freshness::Freshness,
}

impl Platform {
    pub fn new(
        db: Db,
        authorities: crate::authorities::Authorities,
        bank: Arc<dyn Bank>,
        signer: ReceiptSigner,
        events: Arc<events::EventBus>,
        config: PlatformConfig,
    ) -> Platform {
        let limiter = ratelimit::RateLimiter::new(config.lookup_limits);
        let freshness =
            freshness::Freshness::new(authorities.all().iter().map(|r| r.city.as_str()));
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
                stopping: std::sync::atomic::AtomicBool::new(false),
                freshness,
            }),
        }
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

    pub(crate) fn authorities(&self) -> &crate::authorities::Authorities {
        &self.inner.authorities
    }

    /// A city of this deployment by its code, with its names (the code alone when unknown).
    pub fn city_view(&self, code: &str) -> views::CityView {
        self.inner.authorities.city_view(code)
    }

    pub(crate) fn bank(&self) -> &dyn Bank {
        self.inner.bank.as_ref()
    }

    /// Marks a bank reference as being charged by this request until the guard drops, so the
    /// resolver does not settle it underneath (a crash empties the set: then the resolver may).
    pub(crate) fn hold_charge(&self, reference: &str) -> ChargeHold {
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

    pub(crate) fn charge_in_flight(&self, reference: &str) -> bool {
        self.inner
            .charges_in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(reference)
    }

    /// Wakes the outbox dispatcher after a commit that enqueued a notice.
    pub(crate) fn wake_dispatcher(&self) {
        self.inner.outbox_wake.notify_one();
    }
}

/// Today's date where the authorities are (Asia/Shanghai): the date every deadline is counted in.
pub fn today_in_china() -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
}

/// A new identifier: a prefix and a time-ordered UUID (v7), so ids sort by creation.
pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

/// See [`Platform::hold_charge`].
pub(crate) struct ChargeHold {
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
