//! The transactional outbox of payment notices to authorities.

use crate::StoreError;
use rusqlite::{params, Connection};

#[derive(Clone, Debug)]
pub struct OutboxRow {
    pub id: i64,
    pub kind: String,
    pub city_code: String,
    pub payment_id: String,
    pub payload: String,
    pub attempts: i64,
}

pub fn enqueue(
    conn: &Connection,
    kind: &str,
    city_code: &str,
    payment_id: &str,
    payload: &str,
    now: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO outbox (kind, city_code, payment_id, payload, next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    )?
    .execute(params![kind, city_code, payment_id, payload, now])?;
    Ok(())
}

/// Undelivered rows whose next attempt is due.
pub fn due(conn: &Connection, now: &str, limit: u32) -> Result<Vec<OutboxRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, kind, city_code, payment_id, payload, attempts FROM outbox
         WHERE delivered_at IS NULL AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now, limit], |r| {
        Ok(OutboxRow {
            id: r.get(0)?,
            kind: r.get(1)?,
            city_code: r.get(2)?,
            payment_id: r.get(3)?,
            payload: r.get(4)?,
            attempts: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The earliest next attempt among undelivered rows, if any.
pub fn next_due_at(conn: &Connection) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT MIN(next_attempt_at) FROM outbox WHERE delivered_at IS NULL")?
        .query_row([], |r| r.get(0))?)
}

/// Marks a row delivered with the authority's outcome. False when it was already delivered.
pub fn mark_delivered(
    conn: &Connection,
    id: i64,
    outcome: &str,
    now: &str,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE outbox SET delivered_at = ?3, outcome = ?2, attempts = attempts + 1
             WHERE id = ?1 AND delivered_at IS NULL",
        )?
        .execute(params![id, outcome, now])?;
    Ok(n == 1)
}

pub fn schedule_retry(
    conn: &Connection,
    id: i64,
    next_attempt_at: &str,
    error: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3
         WHERE id = ?1 AND delivered_at IS NULL",
    )?
    .execute(params![id, next_attempt_at, error])?;
    Ok(())
}

pub fn undelivered_count(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL")?
        .query_row([], |r| r.get(0))?)
}
