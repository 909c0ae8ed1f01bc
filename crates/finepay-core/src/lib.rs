//! finepay's use cases: register and sign in, link cards, top up, look up and pay penalty
//! decisions, receipts, and the background work that keeps promises after the answer is sent (the
//! outbox dispatcher that tells authorities, the resolver that settles card charges left in doubt).
//!
//! Architecture Invariant: this crate writes no SQL text and knows nothing of axum; it calls the
//! store's verb-named functions inside writer jobs, and adapters through their traits.
//! Architecture Invariant: every money movement happens inside one writer job, together with the
//! state change that causes it, its idempotency record and its outbox row.

mod accounts;
pub mod admin;
mod authorities;
mod basics;
mod books;
mod card;
pub mod credit;
mod decisions;
mod dispatcher;
mod error;
pub mod events;
mod favourites;
mod feeds;
mod freshness;
mod hashing;
mod idempotency;
mod notifications;
mod outbox;
mod payments;
mod platform;
mod ratelimit;
pub mod receipts;
pub mod reconciliation;
mod refunds;
pub mod reminders;
mod resolver;
pub mod services;
pub mod settlement;
mod vehicles;
pub mod views;
pub mod violations;
mod wallet;
pub mod webhooks;
mod workers;

pub use accounts::{
    Accounts, Registration, MAX_NAME_CHARS, MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS,
};
pub use admin::Admin;
pub use authorities::{Authorities, AuthorityRoute, City, NumberProblem, NumberRule};
pub(crate) use basics::new_id;
pub use basics::today_in_china;
pub use decisions::Decisions;
pub use error::{CoreError, ErrorCode};
pub use favourites::Favourites;
pub use idempotency::{IdempotencyKey, Outcome, Reply, MAX_KEY_LEN};
pub use notifications::{NotificationView, Notifications};
pub use payments::{parse_plate, PayMethod, PayRequest};
pub use platform::{Platform, PlatformConfig};
pub use ratelimit::LookupLimits;
pub use reconciliation::Reconciliation;
pub use reminders::Reminders;
pub use settlement::Settlement;
pub use vehicles::{VehicleView, Vehicles};
pub use wallet::PaymentOption;
pub use webhooks::{WebhookSender, WebhookSenderHandle, Webhooks};
