//! The transactional outbox of payment notices to authorities.
//!
//! Instances claim due rows by pushing their next attempt to the end of a lease in one statement
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so two instances never send the same row at once; a
//! claim that is never recorded (a crash) simply expires and the row is sent again — harmless,
//! since authorities dedupe by payment id.

use crate::{params, Backend, Row, Sql, StoreError};

#[derive(Clone, Debug)]
pub struct OutboxRow {
    pub id: i64,
    pub kind: String,
    pub city_code: String,
    pub payment_id: String,
    pub payload: String,
    pub attempts: i64,
}

fn from_row(r: Row) -> Result<OutboxRow, StoreError> {
    Ok(OutboxRow {
        id: r.int(0)?,
        kind: r.text(1)?,
        city_code: r.text(2)?,
        payment_id: r.text(3)?,
        payload: r.text(4)?,
        attempts: r.int(5)?,
    })
}

pub fn enqueue(
    c: &dyn Sql,
    kind: &str,
    city_code: &str,
    payment_id: &str,
    payload: &str,
    now: &str,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO outbox (kind, city_code, payment_id, payload, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $5)",
        params![kind, city_code, payment_id, payload, now],
    )?;
    Ok(())
}

/// Enqueues a row unless one of this kind for this id exists (e.g. a refund asked for twice).
pub fn enqueue_once(
    c: &dyn Sql,
    kind: &str,
    city_code: &str,
    payment_id: &str,
    payload: &str,
    now: &str,
) -> Result<bool, StoreError> {
    Ok(c.execute(
        "INSERT INTO outbox (kind, city_code, payment_id, payload, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (kind, payment_id) DO NOTHING",
        params![kind, city_code, payment_id, payload, now],
    )? == 1)
}

/// The delivery groups (kind and city) with an undelivered row due by `now`. A read, so the
/// dispatcher can look as often as it is woken without taking the writer.
pub fn due_groups(c: &dyn Sql, now: &str) -> Result<Vec<(String, String)>, StoreError> {
    c.query(
        "SELECT DISTINCT kind, city_code FROM outbox
         WHERE delivered_at IS NULL AND next_attempt_at <= $1",
        params![now],
    )?
    .into_iter()
    .map(|r| Ok((r.text(0)?, r.text(1)?)))
    .collect()
}

/// Claims up to `limit` due rows of one delivery group (oldest first) until `lease_until`,
/// returning them. On PostgreSQL rows another instance holds are skipped, not waited for.
pub fn claim_due(
    c: &dyn Sql,
    now: &str,
    lease_until: &str,
    limit: u32,
    kind: &str,
    city_code: &str,
) -> Result<Vec<OutboxRow>, StoreError> {
    let sql = match c.backend() {
        Backend::Sqlite => CLAIM_SQLITE,
        Backend::Postgres => CLAIM_POSTGRES,
    };
    c.query(sql, params![now, lease_until, limit, kind, city_code])?
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

/// Marks a row delivered with the authority's outcome. False when it was already delivered.
pub fn mark_delivered(c: &dyn Sql, id: i64, outcome: &str, now: &str) -> Result<bool, StoreError> {
    let n = c.execute(
        "UPDATE outbox SET delivered_at = $3, outcome = $2, attempts = attempts + 1
         WHERE id = $1 AND delivered_at IS NULL",
        params![id, outcome, now],
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
        "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL",
        &[],
    )?
    .int(0)
}

/// Deletes published event rows delivered before `before` (notices and refunds are kept: they are
/// the record that each payment was announced once, which `ledger check` verifies).
pub fn purge_delivered_events(c: &dyn Sql, before: &str) -> Result<u64, StoreError> {
    c.execute(
        "DELETE FROM outbox WHERE kind = 'event' AND delivered_at IS NOT NULL AND delivered_at < $1",
        params![before],
    )
}
