//! The transactional outbox of payment notices to authorities.
//!
//! Instances claim due rows by pushing their next attempt to the end of a lease in one statement
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so two instances never send the same row at once; a
//! claim that is never recorded (a crash) simply expires and the row is sent again — harmless,
//! since authorities dedupe by payment id.

use crate::{params, Backend, Row, Sql, StoreError};

/// What an outbox row asks the dispatcher to do (the `kind` column).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Tell a city's authority a payment was made.
    PaymentNotice,
    /// Ask the bank to return a refunded card payment.
    CardRefund,
    /// Ask the bank to return a charge taken after its attempt was given up.
    OrphanChargeRefund,
    /// Publish a notification's event on the bus.
    Event,
    /// POST a notification to one of its user's webhooks.
    Webhook,
}

impl Kind {
    pub const ALL: &'static [Kind] = &[
        Kind::PaymentNotice,
        Kind::CardRefund,
        Kind::OrphanChargeRefund,
        Kind::Event,
        Kind::Webhook,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::PaymentNotice => "payment_notice",
            Kind::CardRefund => "card_refund",
            Kind::OrphanChargeRefund => "orphan_charge_refund",
            Kind::Event => "event",
            Kind::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.as_str() == s)
    }
}

/// How a delivered row ended (the `outcome` column).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The authority recorded the payment.
    Confirmed,
    /// The authority refused the payment notice.
    Rejected,
    /// The bank returned the money.
    Refunded,
    /// The bank refused to return the money: an operator must act.
    RefundRefused,
    /// The event went out on the bus.
    Published,
    /// The row cannot be read (its payload is not a message of its kind): set aside with the
    /// reason in `last_error`, never sent again; an operator must look.
    Unreadable,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Confirmed => "confirmed",
            Outcome::Rejected => "rejected",
            Outcome::Refunded => "refunded",
            Outcome::RefundRefused => "refund_refused",
            Outcome::Published => "published",
            Outcome::Unreadable => "unreadable",
        }
    }
}

#[derive(Clone, Debug)]
pub struct OutboxRow {
    pub id: i64,
    pub kind: Kind,
    pub city_code: String,
    pub payment_id: String,
    pub payload: String,
    pub attempts: i64,
}

fn from_row(r: Row) -> Result<OutboxRow, StoreError> {
    Ok(OutboxRow {
        id: r.int("id")?,
        kind: r.named("kind", Kind::parse)?,
        city_code: r.text("city_code")?,
        payment_id: r.text("payment_id")?,
        payload: r.text("payload")?,
        attempts: r.int("attempts")?,
    })
}

pub fn enqueue(
    c: &dyn Sql,
    kind: Kind,
    city_code: &str,
    payment_id: &str,
    payload: &str,
    now: &str,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO outbox (kind, city_code, payment_id, payload, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $5)",
        params![kind.as_str(), city_code, payment_id, payload, now],
    )?;
    Ok(())
}

/// Enqueues a row unless one of this kind for this id exists (e.g. a refund asked for twice).
pub fn enqueue_once(
    c: &dyn Sql,
    kind: Kind,
    city_code: &str,
    payment_id: &str,
    payload: &str,
    now: &str,
) -> Result<bool, StoreError> {
    Ok(c.execute(
        "INSERT INTO outbox (kind, city_code, payment_id, payload, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (kind, payment_id) DO NOTHING",
        params![kind.as_str(), city_code, payment_id, payload, now],
    )? == 1)
}

/// The delivery groups (kind and city) with an undelivered row due by `now`. A read, so the
/// dispatcher can look as often as it is woken without taking the writer.
pub fn due_groups(c: &dyn Sql, now: &str) -> Result<Vec<(Kind, String)>, StoreError> {
    c.query(
        "SELECT DISTINCT kind, city_code FROM outbox
         WHERE delivered_at IS NULL AND next_attempt_at <= $1",
        params![now],
    )?
    .into_iter()
    .map(|r| Ok((r.named("kind", Kind::parse)?, r.text("city_code")?)))
    .collect()
}

/// Claims up to `limit` due rows of one delivery group (oldest first) until `lease_until`,
/// returning them. On PostgreSQL rows another instance holds are skipped, not waited for.
pub fn claim_due(
    c: &dyn Sql,
    now: &str,
    lease_until: &str,
    limit: u32,
    kind: Kind,
    city_code: &str,
) -> Result<Vec<OutboxRow>, StoreError> {
    let sql = match c.backend() {
        Backend::Sqlite => CLAIM_SQLITE,
        Backend::Postgres => CLAIM_POSTGRES,
    };
    c.query(
        sql,
        params![now, lease_until, limit, kind.as_str(), city_code],
    )?
    .into_iter()
    .map(from_row)
    .collect()
}

const CLAIM_SQLITE: &str = "UPDATE outbox SET next_attempt_at = $2
     WHERE id IN (SELECT id FROM outbox
                  WHERE kind = $4 AND city_code = $5 AND delivered_at IS NULL
                    AND next_attempt_at <= $1
                  ORDER BY next_attempt_at LIMIT $3)
     RETURNING id, kind, city_code, payment_id, payload, attempts";

const CLAIM_POSTGRES: &str = "UPDATE outbox SET next_attempt_at = $2
     WHERE id IN (SELECT id FROM outbox
                  WHERE kind = $4 AND city_code = $5 AND delivered_at IS NULL
                    AND next_attempt_at <= $1
                  ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
     RETURNING id, kind, city_code, payment_id, payload, attempts";

/// Claims a group's due rows in id order, stopping before the first undelivered row of the group
/// that is not due (backing off, or leased by another delivery): a group delivered strictly in
/// order, as a user's webhooks are (SPEC §8: in order per user).
pub fn claim_in_order(
    c: &dyn Sql,
    now: &str,
    lease_until: &str,
    limit: u32,
    kind: Kind,
    group: &str,
) -> Result<Vec<OutboxRow>, StoreError> {
    let lock = match c.backend() {
        Backend::Sqlite => "",
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
    };
    c.query(
        &format!(
            "UPDATE outbox SET next_attempt_at = $2
             WHERE id IN (SELECT id FROM outbox
                          WHERE kind = $4 AND city_code = $5 AND delivered_at IS NULL
                            AND next_attempt_at <= $1
                            AND id < COALESCE((SELECT MIN(b.id) FROM outbox b
                                WHERE b.kind = $4 AND b.city_code = $5
                                  AND b.delivered_at IS NULL AND b.next_attempt_at > $1),
                                9223372036854775807)
                          ORDER BY id LIMIT $3{lock})
             RETURNING id, kind, city_code, payment_id, payload, attempts"
        ),
        params![now, lease_until, limit, kind.as_str(), group],
    )?
    .into_iter()
    .map(from_row)
    .collect()
}

/// Marks a row delivered with the authority's outcome. False when it was already delivered.
pub fn mark_delivered(
    c: &dyn Sql,
    id: i64,
    outcome: Outcome,
    now: &str,
) -> Result<bool, StoreError> {
    let n = c.execute(
        "UPDATE outbox SET delivered_at = $3, outcome = $2, attempts = attempts + 1
         WHERE id = $1 AND delivered_at IS NULL",
        params![id, outcome.as_str(), now],
    )?;
    Ok(n == 1)
}

/// Sets a row that cannot be read aside (`unreadable`, the reason in `last_error`): it is not
/// attempted again, and no other row waits behind it.
pub fn park_unreadable(c: &dyn Sql, id: i64, why: &str, now: &str) -> Result<bool, StoreError> {
    let n = c.execute(
        "UPDATE outbox SET delivered_at = $3, outcome = 'unreadable', last_error = $2,
             attempts = attempts + 1
         WHERE id = $1 AND delivered_at IS NULL",
        params![id, why, now],
    )?;
    Ok(n == 1)
}

/// Gives a claimed row back to the queue (not an attempt): due again at `at`.
pub fn release(c: &dyn Sql, id: i64, at: &str) -> Result<(), StoreError> {
    c.execute(
        "UPDATE outbox SET next_attempt_at = $2 WHERE id = $1 AND delivered_at IS NULL",
        params![id, at],
    )?;
    Ok(())
}

pub fn schedule_retry(
    c: &dyn Sql,
    id: i64,
    next_attempt_at: &str,
    error: &str,
) -> Result<(), StoreError> {
    c.execute(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3
         WHERE id = $1 AND delivered_at IS NULL",
        params![id, next_attempt_at, error],
    )?;
    Ok(())
}

pub fn undelivered_count(c: &dyn Sql) -> Result<i64, StoreError> {
    c.query_one(
        "SELECT COUNT(*) AS n FROM outbox WHERE delivered_at IS NULL",
        &[],
    )?
    .int("n")
}

/// Deletes published event rows delivered before `before` (notices and refunds are kept: they are
/// the record that each payment was announced once, which `ledger check` verifies).
pub fn purge_delivered_events(c: &dyn Sql, before: &str) -> Result<u64, StoreError> {
    c.execute(
        "DELETE FROM outbox WHERE kind = 'event' AND delivered_at IS NOT NULL AND delivered_at < $1",
        params![before],
    )
}

/// Undelivered rows per kind (`finepay_outbox_depth{kind}`).
pub fn undelivered_by_kind(c: &dyn Sql) -> Result<Vec<(String, i64)>, StoreError> {
    c.query(
        "SELECT kind, COUNT(*) AS n FROM outbox WHERE delivered_at IS NULL GROUP BY kind",
        &[],
    )?
    .into_iter()
    .map(|r| Ok((r.text("kind")?, r.int("n")?)))
    .collect()
}
