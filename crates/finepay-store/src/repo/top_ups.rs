//! Wallet top-ups from a linked card.

use crate::StoreError;
use rusqlite::{params, Connection, OptionalExtension};

#[derive(Clone, Debug)]
pub struct TopUpRow {
    pub id: String,
    pub user_id: String,
    pub card_id: String,
    pub amount: i64,
    pub status: String,
    pub bank_reference: String,
    pub failure_reason: Option<String>,
    pub ledger_tx_id: Option<String>,
    pub idempotency_key: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "id, user_id, card_id, amount, status, bank_reference, failure_reason,
    ledger_tx_id, idempotency_key, created_at, updated_at";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TopUpRow> {
    Ok(TopUpRow {
        id: r.get(0)?,
        user_id: r.get(1)?,
        card_id: r.get(2)?,
        amount: r.get(3)?,
        status: r.get(4)?,
        bank_reference: r.get(5)?,
        failure_reason: r.get(6)?,
        ledger_tx_id: r.get(7)?,
        idempotency_key: r.get(8)?,
        created_at: r.get(9)?,
        updated_at: r.get(10)?,
    })
}

pub fn insert_top_up(conn: &Connection, t: &TopUpRow) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO top_ups ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    );
    conn.prepare_cached(&sql)?.execute(params![
        t.id,
        t.user_id,
        t.card_id,
        t.amount,
        t.status,
        t.bank_reference,
        t.failure_reason,
        t.ledger_tx_id,
        t.idempotency_key,
        t.created_at,
        t.updated_at
    ])?;
    Ok(())
}

pub fn find_top_up(conn: &Connection, id: &str) -> Result<Option<TopUpRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM top_ups WHERE id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], from_row)
        .optional()?)
}

pub fn mark_top_up_succeeded(
    conn: &Connection,
    id: &str,
    ledger_tx_id: &str,
    now: &str,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE top_ups SET status = 'succeeded', ledger_tx_id = ?2, updated_at = ?3
             WHERE id = ?1 AND status = 'processing'",
        )?
        .execute(params![id, ledger_tx_id, now])?;
    Ok(n == 1)
}

pub fn mark_top_up_failed(
    conn: &Connection,
    id: &str,
    reason: &str,
    now: &str,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE top_ups SET status = 'failed', failure_reason = ?2, updated_at = ?3
             WHERE id = ?1 AND status = 'processing'",
        )?
        .execute(params![id, reason, now])?;
    Ok(n == 1)
}

pub fn processing_top_ups(
    conn: &Connection,
    older_than: &str,
) -> Result<Vec<TopUpRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM top_ups WHERE status = 'processing' AND updated_at < ?1 LIMIT 100"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([older_than], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}
