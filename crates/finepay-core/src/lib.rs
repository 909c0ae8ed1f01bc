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
mod refunds;
mod resolver;
pub mod services;
mod vehicles;
pub mod views;
pub mod violations;
mod wallet;
mod workers;

pub use accounts::Registration;
pub use authorities::{Authorities, AuthorityRoute, City, NumberProblem, NumberRule};
pub use error::{CoreError, ErrorCode};
pub use idempotency::{IdempotencyKey, Outcome, Reply};
pub use notifications::NotificationView;
pub use payments::{PayMethod, PayRequest};
pub(crate) use platform::new_id;
pub use platform::{today_in_china, Platform, PlatformConfig};
pub use ratelimit::LookupLimits;
pub use vehicles::VehicleView;
pub use wallet::PaymentOption;
