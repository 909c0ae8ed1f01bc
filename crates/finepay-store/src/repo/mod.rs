//! Repository functions, one module per aggregate. Each takes the connection (inside the writer's
//! transaction for writes, a read connection for reads) and does one thing its name says.

pub mod admin;
pub mod check;
pub mod credit;
pub mod decisions;
pub mod favourites;
pub mod idempotency;
pub mod ledger;
pub mod notifications;
pub mod outbox;
pub mod payments;
pub mod receipts;
pub mod reconciliation;
pub mod reminders;
pub mod settlement;
pub mod top_ups;
pub mod users;
pub mod vehicles;
pub mod webhooks;
