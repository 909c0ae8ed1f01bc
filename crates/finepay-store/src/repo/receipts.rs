//! Signed electronic receipts, stored as the exact JSON that was signed.

use crate::StoreError;
use rusqlite::{params, Connection, OptionalExtension};

pub fn insert_receipt(
    conn: &Connection,
    id: &str,
    payment_id: &str,
    number: &str,
    body_json: &str,
    now: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO receipts (id, payment_id, number, body_json, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![id, payment_id, number, body_json, now])?;
    Ok(())
}

/// The receipt body and the user who paid (for the ownership check).
pub fn find_receipt(conn: &Connection, id: &str) -> Result<Option<(String, String)>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT r.body_json, p.user_id FROM receipts r JOIN payments p ON p.id = r.payment_id
             WHERE r.id = ?1",
        )?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}
