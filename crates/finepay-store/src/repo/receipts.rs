//! Signed electronic receipts, stored as the exact JSON that was signed.

use crate::{params, Sql, StoreError};

pub fn insert_receipt(
    c: &dyn Sql,
    id: &str,
    payment_id: &str,
    number: &str,
    body_json: &str,
    now: &str,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO receipts (id, payment_id, number, body_json, created_at) VALUES ($1, $2, $3, $4, $5)",
        params![id, payment_id, number, body_json, now],
    )?;
    Ok(())
}

/// The receipt body and the user who paid (for the ownership check).
pub fn find_receipt(c: &dyn Sql, id: &str) -> Result<Option<(String, String)>, StoreError> {
    c.query_opt(
        "SELECT r.body_json, p.user_id FROM receipts r JOIN payments p ON p.id = r.payment_id WHERE r.id = $1",
        params![id],
    )?
    .map(|r| Ok((r.text("body_json")?, r.text("user_id")?)))
    .transpose()
}

/// Stores a signed refund receipt and links it from its payment.
pub fn insert_refund_receipt(
    c: &dyn Sql,
    id: &str,
    payment_id: &str,
    body_json: &str,
    now: &str,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO refund_receipts (id, payment_id, body_json, created_at) VALUES ($1, $2, $3, $4)",
        params![id, payment_id, body_json, now],
    )?;
    c.execute(
        "UPDATE payments SET refund_receipt_id = $2 WHERE id = $1",
        params![payment_id, id],
    )?;
    Ok(())
}

/// A refund receipt's body and the user who paid.
pub fn find_refund_receipt(c: &dyn Sql, id: &str) -> Result<Option<(String, String)>, StoreError> {
    c.query_opt(
        "SELECT r.body_json, p.user_id FROM refund_receipts r JOIN payments p ON p.id = r.payment_id WHERE r.id = $1",
        params![id],
    )?
    .map(|r| Ok((r.text("body_json")?, r.text("user_id")?)))
    .transpose()
}

/// The refund receipt id of a payment, if refunded.
pub fn refund_receipt_of(c: &dyn Sql, payment_id: &str) -> Result<Option<String>, StoreError> {
    c.query_opt(
        "SELECT id FROM refund_receipts WHERE payment_id = $1",
        params![payment_id],
    )?
    .map(|r| r.text("id"))
    .transpose()
}
