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

/// The first of each run of rows with the same key (rows sorted by key): one per city, say.
pub(crate) fn first_of_each<T>(rows: Vec<T>, key: impl Fn(&T) -> &str) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for row in rows {
        if out.last().is_none_or(|last| key(last) != key(&row)) {
            out.push(row);
        }
    }
    out
}
