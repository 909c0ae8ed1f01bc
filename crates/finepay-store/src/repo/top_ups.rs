//! Wallet top-ups from a linked card.

use crate::{params, time_text, Row, Sql, StoreError};
use chrono::{DateTime, Utc};
use finepay_domain::{ChargeStatus, Fen};

#[derive(Clone, Debug)]
pub struct TopUpRow {
    pub id: String,
    pub user_id: String,
    pub card_id: String,
    pub amount: Fen,
    pub status: ChargeStatus,
    pub bank_reference: String,
    pub failure_reason: Option<String>,
    pub ledger_tx_id: Option<String>,
    pub idempotency_key: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, user_id, card_id, amount, status, bank_reference, failure_reason,
    ledger_tx_id, idempotency_key, created_at, updated_at";

fn from_row(r: Row) -> Result<TopUpRow, StoreError> {
    Ok(TopUpRow {
        id: r.text("id")?,
        user_id: r.text("user_id")?,
        card_id: r.text("card_id")?,
        amount: r.fen("amount")?,
        status: r.named("status", ChargeStatus::parse)?,
        bank_reference: r.text("bank_reference")?,
        failure_reason: r.opt_text("failure_reason")?,
        ledger_tx_id: r.opt_text("ledger_tx_id")?,
        idempotency_key: r.opt_text("idempotency_key")?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
    })
}

pub fn insert_top_up(c: &dyn Sql, t: &TopUpRow) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO top_ups ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    );
    let (created_at, updated_at) = (time_text(t.created_at), time_text(t.updated_at));
    c.execute(
        &sql,
        params![
            &t.id,
            &t.user_id,
            &t.card_id,
            t.amount,
            t.status.as_str(),
            &t.bank_reference,
            &t.failure_reason,
            &t.ledger_tx_id,
            &t.idempotency_key,
            &created_at,
            &updated_at
        ],
    )?;
    Ok(())
}

pub fn find_top_up(c: &dyn Sql, id: &str) -> Result<Option<TopUpRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM top_ups WHERE id = $1");
    c.query_opt(&sql, params![id])?.map(from_row).transpose()
}

pub fn mark_top_up_succeeded(
    c: &dyn Sql,
    id: &str,
    ledger_tx_id: &str,
    now: &str,
) -> Result<bool, StoreError> {
    let n = c.execute(
        "UPDATE top_ups SET status = 'succeeded', ledger_tx_id = $2, updated_at = $3
         WHERE id = $1 AND status = 'processing'",
        params![id, ledger_tx_id, now],
    )?;
    Ok(n == 1)
}

pub fn mark_top_up_failed(
    c: &dyn Sql,
    id: &str,
    reason: &str,
    now: &str,
) -> Result<bool, StoreError> {
    let n = c.execute(
        "UPDATE top_ups SET status = 'failed', failure_reason = $2, updated_at = $3
         WHERE id = $1 AND status = 'processing'",
        params![id, reason, now],
    )?;
    Ok(n == 1)
}

/// Notes that the resolver asked the bank about a row still `processing` and learnt nothing: it
/// goes to the back of the resolver's queue (`updated_at` is when it was last asked), so charges
/// the bank never answers about cannot starve the ones behind them.
pub fn note_asked(c: &dyn Sql, id: &str, now: &str) -> Result<(), StoreError> {
    c.execute(
        "UPDATE top_ups SET updated_at = $2 WHERE id = $1 AND status = 'processing'",
        params![id, now],
    )?;
    Ok(())
}

pub fn processing_top_ups(c: &dyn Sql, older_than: &str) -> Result<Vec<TopUpRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM top_ups WHERE status = 'processing' AND updated_at < $1
         ORDER BY updated_at, id LIMIT 100"
    );
    c.query(&sql, params![older_than])?
        .into_iter()
        .map(from_row)
        .collect()
}
