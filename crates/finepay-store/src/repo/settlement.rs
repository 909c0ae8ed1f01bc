//! Settlement batches and their items (SPEC §9): which payments and refunds of a city's business
//! day are settled, and the batches that settled them.

use crate::{params, Row, Sql, StoreError};

/// A payment or refund in (or due for) a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemRow {
    /// `payment` or `refund`.
    pub kind: String,
    pub payment_id: String,
    pub decision_number: String,
    /// Positive fen: the payment's amount (a refund returns all of it).
    pub amount: i64,
    /// When the authority confirmed the payment, or when it was refunded.
    pub at: String,
}

/// A closed batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchRow {
    pub id: String,
    pub city_code: String,
    pub business_date: String,
    pub closed_at: String,
    pub closed_by: String,
    pub end_of_day: bool,
    pub count: i64,
    pub payments_total: i64,
    pub refunds_total: i64,
    pub net: i64,
    pub sha256: String,
    pub ledger_tx_id: Option<String>,
    pub authority_status: String,
    pub authority_reason: Option<String>,
}

const BATCH: &str = "id, city_code, business_date, closed_at, closed_by, end_of_day, count,
    payments_total, refunds_total, net, sha256, ledger_tx_id, authority_status, authority_reason";

fn batch(r: &Row) -> Result<BatchRow, StoreError> {
    Ok(BatchRow {
        id: r.text("id")?,
        city_code: r.text("city_code")?,
        business_date: r.text("business_date")?,
        closed_at: r.text("closed_at")?,
        closed_by: r.text("closed_by")?,
        end_of_day: r.int("end_of_day")? == 1,
        count: r.int("count")?,
        payments_total: r.int("payments_total")?,
        refunds_total: r.int("refunds_total")?,
        net: r.int("net")?,
        sha256: r.text("sha256")?,
        ledger_tx_id: r.opt_text("ledger_tx_id")?,
        authority_status: r.text("authority_status")?,
        authority_reason: r.opt_text("authority_reason")?,
    })
}

fn item(r: &Row) -> Result<ItemRow, StoreError> {
    Ok(ItemRow {
        kind: r.text("kind")?,
        payment_id: r.text("payment_id")?,
        decision_number: r.text("decision_number")?,
        amount: r.int("amount")?,
        at: r.text("at")?,
    })
}

/// Everything of (city, business day) no batch has taken yet, payments then refunds, each in
/// payment id order: the payments the authority confirmed (paid that day), and the refunds made
/// that day (`[refunded_from, refunded_until)`, UTC text) of payments it had confirmed. A payment
/// the authority rejected was never the city's, so neither it nor its refund is settled.
pub fn unsettled(
    c: &dyn Sql,
    city: &str,
    business_date: &str,
    refunded_from: &str,
    refunded_until: &str,
    limit: u32,
) -> Result<Vec<ItemRow>, StoreError> {
    c.query(
        "SELECT 'payment' AS kind, p.id AS payment_id, p.decision_number, p.amount,
                p.authority_confirmed_at AS at
         FROM payments p
         WHERE p.city_code = $1 AND p.business_date = $2 AND p.authority_status = 'confirmed'
           AND p.status IN ('succeeded', 'refunded')
           AND NOT EXISTS (SELECT 1 FROM settlement_items i
                           WHERE i.kind = 'payment' AND i.payment_id = p.id)
         UNION ALL
         SELECT 'refund' AS kind, p.id AS payment_id, p.decision_number, p.amount,
                r.created_at AS at
         FROM payments p JOIN refund_receipts r ON r.payment_id = p.id
         WHERE p.city_code = $1 AND p.status = 'refunded' AND p.authority_status = 'confirmed'
           AND r.created_at >= $3 AND r.created_at < $4
           AND NOT EXISTS (SELECT 1 FROM settlement_items i
                           WHERE i.kind = 'refund' AND i.payment_id = p.id)
         ORDER BY kind, payment_id LIMIT $5",
        params![city, business_date, refunded_from, refunded_until, limit],
    )?
    .iter()
    .map(item)
    .collect()
}

/// The business days before `before` (a date) of a city that have something unsettled: payments
/// confirmed late, refunds of payments confirmed late. Dates as `YYYY-MM-DD`, oldest first.
pub fn days_with_unsettled(
    c: &dyn Sql,
    city: &str,
    before: &str,
) -> Result<Vec<String>, StoreError> {
    c.query(
        "SELECT DISTINCT p.business_date AS day FROM payments p
         WHERE p.city_code = $1 AND p.business_date < $2 AND p.authority_status = 'confirmed'
           AND p.status IN ('succeeded', 'refunded')
           AND NOT EXISTS (SELECT 1 FROM settlement_items i
                           WHERE i.kind = 'payment' AND i.payment_id = p.id)
         ORDER BY day",
        params![city, before],
    )?
    .iter()
    .map(|r| r.text("day"))
    .collect()
}

/// Refunds of confirmed payments no batch has taken, with their refund times (UTC text), oldest
/// first: the scheduler files each under the business day it was made on.
pub fn unsettled_refund_times(c: &dyn Sql, city: &str) -> Result<Vec<String>, StoreError> {
    c.query(
        "SELECT r.created_at AS at FROM payments p JOIN refund_receipts r ON r.payment_id = p.id
         WHERE p.city_code = $1 AND p.status = 'refunded' AND p.authority_status = 'confirmed'
           AND NOT EXISTS (SELECT 1 FROM settlement_items i
                           WHERE i.kind = 'refund' AND i.payment_id = p.id)
         ORDER BY at",
        params![city],
    )?
    .iter()
    .map(|r| r.text("at"))
    .collect()
}

/// Whether the end-of-day batch of (city, day) was closed.
pub fn has_end_of_day(c: &dyn Sql, city: &str, business_date: &str) -> Result<bool, StoreError> {
    Ok(c.query_opt(
        "SELECT 1 AS one FROM settlement_batches
         WHERE city_code = $1 AND business_date = $2 AND end_of_day = 1",
        params![city, business_date],
    )?
    .is_some())
}

/// The latest day whose end-of-day batch was closed for the city.
pub fn last_end_of_day(c: &dyn Sql, city: &str) -> Result<Option<String>, StoreError> {
    c.query_opt(
        "SELECT MAX(business_date) AS day FROM settlement_batches
         WHERE city_code = $1 AND end_of_day = 1",
        params![city],
    )?
    .map(|r| r.opt_text("day"))
    .transpose()
    .map(Option::flatten)
}

/// Writes a closed batch and its items (the caller posts its ledger transaction in the same job).
pub fn insert_batch(c: &dyn Sql, b: &BatchRow, items: &[ItemRow]) -> Result<(), StoreError> {
    c.execute(
        &format!(
            "INSERT INTO settlement_batches ({BATCH}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,
             $10, $11, $12, $13, $14)"
        ),
        params![
            &b.id,
            &b.city_code,
            &b.business_date,
            &b.closed_at,
            &b.closed_by,
            i64::from(b.end_of_day),
            b.count,
            b.payments_total,
            b.refunds_total,
            b.net,
            &b.sha256,
            &b.ledger_tx_id,
            &b.authority_status,
            &b.authority_reason
        ],
    )?;
    for i in items {
        c.execute(
            "INSERT INTO settlement_items (kind, payment_id, batch_id, decision_number, amount, at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            params![
                &i.kind,
                &i.payment_id,
                &b.id,
                &i.decision_number,
                i.amount,
                &i.at
            ],
        )?;
    }
    Ok(())
}

/// The batches of (city, day), in the order they were closed.
pub fn batches_of_day(
    c: &dyn Sql,
    city: &str,
    business_date: &str,
) -> Result<Vec<BatchRow>, StoreError> {
    c.query(
        &format!(
            "SELECT {BATCH} FROM settlement_batches WHERE city_code = $1 AND business_date = $2
             ORDER BY closed_at, id"
        ),
        params![city, business_date],
    )?
    .iter()
    .map(batch)
    .collect()
}

pub fn find_batch(c: &dyn Sql, id: &str) -> Result<Option<BatchRow>, StoreError> {
    c.query_opt(
        &format!("SELECT {BATCH} FROM settlement_batches WHERE id = $1"),
        params![id],
    )?
    .as_ref()
    .map(batch)
    .transpose()
}

/// A page of a batch's items in file order (payments, then refunds; by payment id), after the
/// item `(kind, payment_id)` when given.
pub fn items_page(
    c: &dyn Sql,
    batch_id: &str,
    after: Option<(&str, &str)>,
    limit: u32,
) -> Result<Vec<ItemRow>, StoreError> {
    let (kind, id) = after.unwrap_or(("", ""));
    c.query(
        "SELECT kind, payment_id, decision_number, amount, at FROM settlement_items
         WHERE batch_id = $1 AND (kind > $2 OR (kind = $2 AND payment_id > $3))
         ORDER BY kind, payment_id LIMIT $4",
        params![batch_id, kind, id, limit],
    )?
    .iter()
    .map(item)
    .collect()
}

/// Batches whose file the authority has not yet accepted or refused, oldest first.
pub fn unanswered(c: &dyn Sql, limit: u32) -> Result<Vec<BatchRow>, StoreError> {
    c.query(
        &format!(
            "SELECT {BATCH} FROM settlement_batches WHERE authority_status = 'pending'
             ORDER BY closed_at, id LIMIT $1"
        ),
        params![limit],
    )?
    .iter()
    .map(batch)
    .collect()
}

/// Records the authority's verdict on a batch's file (`accepted` or `refused`).
pub fn set_verdict(
    c: &dyn Sql,
    id: &str,
    status: &str,
    reason: Option<&str>,
    now: &str,
) -> Result<(), StoreError> {
    c.execute(
        "UPDATE settlement_batches SET authority_status = $2, authority_reason = $3,
         authority_answered_at = $4 WHERE id = $1 AND authority_status = 'pending'",
        params![id, status, reason, now],
    )?;
    Ok(())
}

/// Each city's most recently closed batch (one per city, the last id of the last millisecond).
pub fn last_per_city(c: &dyn Sql) -> Result<Vec<BatchRow>, StoreError> {
    let rows = c
        .query(
            &format!(
                "SELECT {BATCH} FROM settlement_batches b WHERE b.closed_at = (SELECT MAX(closed_at)
                 FROM settlement_batches x WHERE x.city_code = b.city_code)
                 ORDER BY city_code, id DESC"
            ),
            &[],
        )?
        .iter()
        .map(batch)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(super::first_of_each(rows, |r| r.city_code.as_str()))
}
