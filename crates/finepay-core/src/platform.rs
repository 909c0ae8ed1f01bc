//! The composition root of the use cases: [`Platform::new`] builds every service from the store,
//! the adapters and the settings, giving each only what it uses, and keeps what the background
//! workers (dispatcher, resolver, feed readers) share.

use crate::accounts::Accounts;
use crate::books::Terms;
use crate::card::CardDesk;
use crate::credit::Credit;
use crate::decisions::Decisions;
use crate::favourites::Favourites;
use crate::notifications::Notifications;
use crate::payments::Payments;
use crate::receipts::Receipts;
use crate::refunds::Refunds;
use crate::vehicles::Vehicles;
use crate::violations::Violations;
use crate::wallet::Wallet;
use crate::{events, freshness, hashing, ratelimit, views};
use finepay_bank::Bank;
use finepay_domain::StatementDays;
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
    /// How webhooks reach the outside world (`None`: webhooks cannot be registered).
    pub webhook_sender: Option<crate::webhooks::WebhookSenderHandle>,
    pub lookup_limits: ratelimit::LookupLimits,
    /// Limits on binding plates (each answer says whether a VIN matches a plate).
    pub binding_limits: ratelimit::LookupLimits,
    /// Sign-ins per phone number (`per_user`) and per client address; a wrong password costs
    /// `failed_lookup_cost`.
    pub sign_in_limits: ratelimit::LookupLimits,
    /// Registrations per client address (`per_client`; the rest unused).
    pub registration_limits: ratelimit::LookupLimits,
    pub session_ttl: Duration,
    /// The code of the bank behind linked cards, used for its clearing account in the ledger.
    pub bank_code: String,
    /// Card payments and top-ups left `processing` longer than this are settled by asking the bank.
    pub resolve_after: Duration,
    /// How long after a charge was asked for "the bank has never seen this reference" is believed
    /// final. Before that the charge stays `processing` (its key held), since a bank may still
    /// book it late; giving it up sooner would let a retry charge a second time.
    pub give_up_after: Duration,
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
            binding_limits: ratelimit::LookupLimits {
                per_user_per_minute: 20,
                per_client_per_minute: 200,
                failed_lookup_cost: 5,
            },
            // Five wrong passwords a minute per phone; an address may sign in 10 times a second,
            // below what the two hashing threads serve, so one address cannot starve the rest.
            sign_in_limits: ratelimit::LookupLimits {
                per_user_per_minute: 20,
                per_client_per_minute: 600,
                failed_lookup_cost: 4,
            },
            registration_limits: ratelimit::LookupLimits {
                per_user_per_minute: u32::MAX,
                per_client_per_minute: 300,
                failed_lookup_cost: 1,
            },
            session_ttl: Duration::from_secs(30 * 24 * 3600),
            bank_code: "sandbox".into(),
            resolve_after: Duration::from_secs(15),
            give_up_after: Duration::from_secs(600),
            credit_statement_day: 1,
            credit_due_day: 10,
            webhook_sender: None,
        }
    }
}

/// The platform: the use-case services, assembled in one place ([`Platform::new`]) from the
/// store, the adapters and the settings, and the shared state of the money core and its
/// background workers. Cheap to clone, shared by every request handler and background task.
#[derive(Clone)]
pub struct Platform {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    // The services that hold only what they use.
    pub(crate) accounts: Accounts,
    pub(crate) vehicles: Vehicles,
    pub(crate) notifications: Notifications,
    pub(crate) favourites: Favourites,
    pub(crate) receipts: Receipts,
    pub(crate) decisions: Decisions,
    pub(crate) violations: Violations,
    pub(crate) payments: Payments,
    pub(crate) wallet: Wallet,
    pub(crate) credit: Credit,
    pub(crate) refunds: Refunds,
    pub(crate) card_desk: CardDesk,
    pub(crate) admin: crate::admin::Admin,
    pub(crate) settlement: crate::settlement::Settlement,
    pub(crate) reconciliation: crate::reconciliation::Reconciliation,
    pub(crate) reminders: crate::reminders::Reminders,
    pub(crate) webhooks: crate::webhooks::Webhooks,
    // What the background workers share.
    pub(crate) db: Db,
    pub(crate) authorities: Arc<crate::authorities::Authorities>,
    pub(crate) signer: Arc<ReceiptSigner>,
    pub(crate) config: PlatformConfig,
    pub(crate) outbox_wake: Arc<Notify>,
    pub(crate) events: Arc<events::EventBus>,
    /// Set by [`Platform::drain_dispatcher`]: the dispatcher starts no new round.
    pub(crate) stopping: std::sync::atomic::AtomicBool,
    /// Outbox groups (kind and city) this instance is delivering right now.
    pub(crate) groups_in_flight: Mutex<HashSet<String>>,
    /// Which cities' feeds are followed closely enough to serve kept decisions.
    pub(crate) freshness: Arc<freshness::Freshness>,
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
        let limiter = Arc::new(ratelimit::RateLimiter::new(config.lookup_limits));
        let freshness = Arc::new(freshness::Freshness::new(
            authorities.all().iter().map(|r| r.city.as_str()),
        ));
        let authorities = Arc::new(authorities);
        let signer = Arc::new(signer);
        let hashing = Arc::new(hashing::HashPool::start());
        let decisions = Decisions::new(
            db.clone(),
            authorities.clone(),
            limiter.clone(),
            freshness.clone(),
        );
        let outbox_wake = Arc::new(Notify::new());
        let card_desk = CardDesk::new(db.clone(), bank.clone(), outbox_wake.clone());
        let terms = Terms {
            bank_code: config.bank_code.clone(),
            credit_limit: config.credit_limit_fen,
            statement_days: StatementDays {
                statement_day: config.credit_statement_day,
                due_day: config.credit_due_day,
            },
        };
        let receipts = Receipts::new(db.clone(), signer.clone(), authorities.clone());
        Platform {
            inner: Arc::new(Inner {
                payments: Payments::new(
                    db.clone(),
                    authorities.clone(),
                    decisions.clone(),
                    receipts.clone(),
                    card_desk.clone(),
                    limiter,
                    terms.clone(),
                ),
                wallet: Wallet::new(db.clone(), card_desk.clone(), terms.clone()),
                credit: Credit::new(db.clone(), card_desk.clone(), terms),
                refunds: Refunds::new(
                    db.clone(),
                    bank.clone(),
                    authorities.clone(),
                    signer.clone(),
                ),
                card_desk,
                admin: crate::admin::Admin::new(db.clone(), authorities.clone(), freshness.clone()),
                settlement: crate::settlement::Settlement::new(db.clone(), authorities.clone()),
                reconciliation: crate::reconciliation::Reconciliation::new(
                    db.clone(),
                    authorities.clone(),
                ),
                reminders: crate::reminders::Reminders::new(db.clone()),
                webhooks: crate::webhooks::Webhooks::new(
                    db.clone(),
                    config.webhook_sender.as_ref().map(|h| h.0.clone()),
                ),
                accounts: Accounts::new(
                    db.clone(),
                    hashing,
                    bank.clone(),
                    config.session_ttl,
                    config.sign_in_limits,
                    config.registration_limits,
                ),
                vehicles: Vehicles::new(
                    db.clone(),
                    authorities.clone(),
                    Arc::new(ratelimit::RateLimiter::new(config.binding_limits)),
                ),
                notifications: Notifications::new(db.clone(), events.clone()),
                favourites: Favourites::new(db.clone()),
                receipts,
                decisions: decisions.clone(),
                violations: Violations::new(db.clone(), authorities.clone(), decisions),
                db,
                authorities,
                signer,
                config,
                outbox_wake,
                events,
                groups_in_flight: Mutex::new(HashSet::new()),
                stopping: std::sync::atomic::AtomicBool::new(false),
                freshness,
            }),
        }
    }

    /// Operators, their audit log and the admin page's figures.
    pub fn admin(&self) -> &crate::admin::Admin {
        &self.inner.admin
    }

    /// Settlement batches with the cities.
    pub fn settlement(&self) -> &crate::settlement::Settlement {
        &self.inner.settlement
    }

    /// Reconciliation runs against the authorities' records.
    pub fn reconciliation(&self) -> &crate::reconciliation::Reconciliation {
        &self.inner.reconciliation
    }

    /// The user's webhooks.
    pub fn webhooks(&self) -> &crate::webhooks::Webhooks {
        &self.inner.webhooks
    }

    /// Due-soon and overdue reminders: the daily sweep.
    pub fn reminders(&self) -> &crate::reminders::Reminders {
        &self.inner.reminders
    }

    /// Users, sessions and linked cards.
    pub fn accounts(&self) -> &Accounts {
        &self.inner.accounts
    }

    /// Plates bound to accounts.
    pub fn vehicles(&self) -> &Vehicles {
        &self.inner.vehicles
    }

    /// The inbox and the live event stream.
    pub fn notifications(&self) -> &Notifications {
        &self.inner.notifications
    }

    /// Bookmarked services.
    pub fn favourites(&self) -> &Favourites {
        &self.inner.favourites
    }

    /// Penalty decisions: looked up, kept, shown.
    pub fn decisions(&self) -> &Decisions {
        &self.inner.decisions
    }

    /// A bound plate's violations, online handling, licence points.
    pub fn violations(&self) -> &Violations {
        &self.inner.violations
    }

    /// Paying penalty decisions; the user's payments.
    pub fn payments(&self) -> &Payments {
        &self.inner.payments
    }

    /// The wallet: balance, credit line, cards, top-ups, payment options.
    pub fn wallet(&self) -> &Wallet {
        &self.inner.wallet
    }

    /// The credit line's statements and repayments.
    pub fn credit(&self) -> &Credit {
        &self.inner.credit
    }

    pub(crate) fn refunds(&self) -> &Refunds {
        &self.inner.refunds
    }

    /// Receipts: shown, printed, verified.
    pub fn receipts(&self) -> &Receipts {
        &self.inner.receipts
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

    /// Wakes the outbox dispatcher after a commit that enqueued a notice.
    pub(crate) fn wake_dispatcher(&self) {
        self.inner.outbox_wake.notify_one();
    }
}
