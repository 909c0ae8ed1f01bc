//! Payments of penalty decisions.

use crate::StoreError;
use rusqlite::{params, Connection, OptionalExtension};

#[derive(Clone, Debug)]
pub struct PaymentRow {
    pub id: String,
    pub user_id: String,
    pub decision_number: String,
    pub city_code: String,
    pub amount: i64,
    pub fine: i64,
    pub late_fee: i64,
    pub method_type: String,
    pub card_id: Option<String>,
    pub card_last4: Option<String>,
    pub bank_reference: Option<String>,
    pub status: String,
    pub failure_reason: Option<String>,
    pub ledger_tx_id: Option<String>,
    pub receipt_id: Option<String>,
    pub authority_status: String,
    pub authority_confirmed_at: Option<String>,
    pub authority_reason: Option<String>,
    pub idempotency_key: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "id, user_id, decision_number, city_code, amount, fine, late_fee, method_type,
    card_id, card_last4, bank_reference, status, failure_reason, ledger_tx_id, receipt_id,
    authority_status, authority_confirmed_at, authority_reason, idempotency_key, created_at, updated_at";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PaymentRow> {
    Ok(PaymentRow {
        id: r.get(0)?,
        user_id: r.get(1)?,
        decision_number: r.get(2)?,
        city_code: r.get(3)?,
        amount: r.get(4)?,
        fine: r.get(5)?,
        late_fee: r.get(6)?,
        method_type: r.get(7)?,
        card_id: r.get(8)?,
        card_last4: r.get(9)?,
        bank_reference: r.get(10)?,
        status: r.get(11)?,
        failure_reason: r.get(12)?,
        ledger_tx_id: r.get(13)?,
        receipt_id: r.get(14)?,
        authority_status: r.get(15)?,
        authority_confirmed_at: r.get(16)?,
        authority_reason: r.get(17)?,
        idempotency_key: r.get(18)?,
        created_at: r.get(19)?,
        updated_at: r.get(20)?,
    })
}

/// Inserts a payment. A second live payment of the same decision violates
/// `payments_one_live_per_decision` and surfaces as a unique violation.
pub fn insert_payment(conn: &Connection, p: &PaymentRow) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO payments ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,
         ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)"
    );
    conn.prepare_cached(&sql)?.execute(params![
        p.id,
        p.user_id,
        p.decision_number,
        p.city_code,
        p.amount,
        p.fine,
        p.late_fee,
        p.method_type,
        p.card_id,
        p.card_last4,
        p.bank_reference,
        p.status,
        p.failure_reason,
        p.ledger_tx_id,
        p.receipt_id,
        p.authority_status,
        p.authority_confirmed_at,
        p.authority_reason,
        p.idempotency_key,
        p.created_at,
        p.updated_at
    ])?;
    Ok(())
}

pub fn find_payment(conn: &Connection, id: &str) -> Result<Option<PaymentRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM payments WHERE id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], from_row)
        .optional()?)
}

/// The live (processing or succeeded) payment of a decision, if any.
pub fn live_payment_of_decision(
    conn: &Connection,
    decision_number: &str,
) -> Result<Option<PaymentRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM payments
         WHERE decision_number = ?1 AND status IN ('processing', 'succeeded')"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([decision_number], from_row)
        .optional()?)
}

/// A user's payments, newest first, after the cursor (a payment id) when given.
pub fn list_payments(
    conn: &Connection,
    user_id: &str,
    before: Option<(&str, &str)>,
    limit: u32,
) -> Result<Vec<PaymentRow>, StoreError> {
    let rows = match before {
        Some((created_at, id)) => {
            let sql = format!(
                "SELECT {COLUMNS} FROM payments WHERE user_id = ?1 AND (created_at, id) < (?2, ?3)
                 ORDER BY created_at DESC, id DESC LIMIT ?4"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(params![user_id, created_at, id, limit], from_row)?;
            rows.collect::<Result<Vec<_>, _>>()?
        }
        None => {
            let sql = format!(
                "SELECT {COLUMNS} FROM payments WHERE user_id = ?1
                 ORDER BY created_at DESC, id DESC LIMIT ?2"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(params![user_id, limit], from_row)?;
            rows.collect::<Result<Vec<_>, _>>()?
        }
    };
    Ok(rows)
}

/// Marks a processing payment succeeded with its ledger transaction and receipt. Returns false when
/// the payment was not processing (already settled by someone else).
pub fn mark_succeeded(
    conn: &Connection,
    id: &str,
    ledger_tx_id: &str,
    receipt_id: &str,
    now: &str,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE payments SET status = 'succeeded', ledger_tx_id = ?2, receipt_id = ?3,
                updated_at = ?4 WHERE id = ?1 AND status = 'processing'",
        )?
        .execute(params![id, ledger_tx_id, receipt_id, now])?;
    Ok(n == 1)
}

pub fn mark_failed(
    conn: &Connection,
    id: &str,
    reason: &str,
    now: &str,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE payments SET status = 'failed', failure_reason = ?2, updated_at = ?3
             WHERE id = ?1 AND status = 'processing'",
        )?
        .execute(params![id, reason, now])?;
    Ok(n == 1)
}

/// Records the authority's answer to the payment notice (pending → confirmed | rejected).
pub fn set_authority_status(
    conn: &Connection,
    id: &str,
    status: &str,
    reason: Option<&str>,
    now: &str,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE payments SET authority_status = ?2, authority_reason = ?3,
                authority_confirmed_at = CASE WHEN ?2 = 'confirmed' THEN ?4 ELSE authority_confirmed_at END,
                updated_at = ?4
             WHERE id = ?1 AND authority_status = 'pending'",
        )?
        .execute(params![id, status, reason, now])?;
    Ok(n == 1)
}

/// Card payments left in `processing` (a bank timeout or a crash between the two steps).
pub fn processing_card_payments(
    conn: &Connection,
    older_than: &str,
) -> Result<Vec<PaymentRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM payments WHERE status = 'processing' AND updated_at < ?1 LIMIT 100"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([older_than], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}
