//! Payments of penalty decisions.

use crate::{params, time_text, Row, Sql, StoreError};
use chrono::{DateTime, Utc};
use finepay_domain::{AuthoritySync, Fen, PayMethodKind, PaymentStatus};

#[derive(Clone, Debug)]
pub struct PaymentRow {
    pub id: String,
    pub user_id: String,
    pub decision_number: String,
    pub city_code: String,
    pub amount: Fen,
    pub fine: Fen,
    pub late_fee: Fen,
    pub method: PayMethodKind,
    pub card_id: Option<String>,
    pub card_last4: Option<String>,
    pub bank_reference: Option<String>,
    pub status: PaymentStatus,
    pub failure_reason: Option<String>,
    pub ledger_tx_id: Option<String>,
    pub receipt_id: Option<String>,
    pub authority_status: AuthoritySync,
    pub authority_confirmed_at: Option<DateTime<Utc>>,
    pub authority_reason: Option<String>,
    pub idempotency_key: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Set when the payment is refunded (not written by `insert_payment`).
    pub refund_receipt_id: Option<String>,
}

const COLUMNS: &str = "id, user_id, decision_number, city_code, amount, fine, late_fee, method_type,
    card_id, card_last4, bank_reference, status, failure_reason, ledger_tx_id, receipt_id,
    authority_status, authority_confirmed_at, authority_reason, idempotency_key, created_at, updated_at";
/// What every read selects: the inserted columns and those set later.
const READ: &str = "id, user_id, decision_number, city_code, amount, fine, late_fee, method_type,
    card_id, card_last4, bank_reference, status, failure_reason, ledger_tx_id, receipt_id,
    authority_status, authority_confirmed_at, authority_reason, idempotency_key, created_at, updated_at,
    refund_receipt_id";

fn from_row(r: Row) -> Result<PaymentRow, StoreError> {
    Ok(PaymentRow {
        id: r.text("id")?,
        user_id: r.text("user_id")?,
        decision_number: r.text("decision_number")?,
        city_code: r.text("city_code")?,
        amount: r.fen("amount")?,
        fine: r.fen("fine")?,
        late_fee: r.fen("late_fee")?,
        method: r.named("method_type", PayMethodKind::parse)?,
        card_id: r.opt_text("card_id")?,
        card_last4: r.opt_text("card_last4")?,
        bank_reference: r.opt_text("bank_reference")?,
        status: r.named("status", PaymentStatus::parse)?,
        failure_reason: r.opt_text("failure_reason")?,
        ledger_tx_id: r.opt_text("ledger_tx_id")?,
        receipt_id: r.opt_text("receipt_id")?,
        authority_status: r.named("authority_status", AuthoritySync::parse)?,
        authority_confirmed_at: r.opt_time("authority_confirmed_at")?,
        authority_reason: r.opt_text("authority_reason")?,
        idempotency_key: r.opt_text("idempotency_key")?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
        refund_receipt_id: r.opt_text("refund_receipt_id")?,
    })
}

fn many(rows: Vec<Row>) -> Result<Vec<PaymentRow>, StoreError> {
    rows.into_iter().map(from_row).collect()
}

/// Inserts a payment. A second live payment of the same decision violates
/// `payments_one_live_per_decision` and surfaces as a unique violation.
pub fn insert_payment(c: &dyn Sql, p: &PaymentRow) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO payments ({COLUMNS}, business_date) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,
         $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)"
    );
    let confirmed_at = p.authority_confirmed_at.map(time_text);
    let (created_at, updated_at) = (time_text(p.created_at), time_text(p.updated_at));
    let business_date = business_date_of(p.created_at);
    c.execute(
        &sql,
        params![
            &p.id,
            &p.user_id,
            &p.decision_number,
            &p.city_code,
            p.amount,
            p.fine,
            p.late_fee,
            p.method.as_str(),
            &p.card_id,
            &p.card_last4,
            &p.bank_reference,
            p.status.as_str(),
            &p.failure_reason,
            &p.ledger_tx_id,
            &p.receipt_id,
            p.authority_status.as_str(),
            &confirmed_at,
            &p.authority_reason,
            &p.idempotency_key,
            &created_at,
            &updated_at,
            &business_date
        ],
    )?;
    Ok(())
}

/// The business day a payment made at `t` belongs to: its date in Asia/Shanghai, the calendar of
/// the authorities' deadlines, settlements and reconciliations (`YYYY-MM-DD`).
pub fn business_date_of(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
        .to_string()
}

pub fn find_payment(c: &dyn Sql, id: &str) -> Result<Option<PaymentRow>, StoreError> {
    let sql = format!("SELECT {READ} FROM payments WHERE id = $1");
    c.query_opt(&sql, params![id])?.map(from_row).transpose()
}

/// The live (processing or succeeded) payment of a decision, if any.
pub fn live_payment_of_decision(
    c: &dyn Sql,
    decision_number: &str,
) -> Result<Option<PaymentRow>, StoreError> {
    let sql = format!(
        "SELECT {READ} FROM payments WHERE decision_number = $1 AND status IN ('processing', 'succeeded')"
    );
    c.query_opt(&sql, params![decision_number])?
        .map(from_row)
        .transpose()
}

/// A user's payments, newest first, after `(created_at, id)` when given.
pub fn list_payments(
    c: &dyn Sql,
    user_id: &str,
    before: Option<(&str, &str)>,
    limit: u32,
) -> Result<Vec<PaymentRow>, StoreError> {
    match before {
        Some((created_at, id)) => {
            let sql = format!(
                "SELECT {READ} FROM payments WHERE user_id = $1 AND (created_at, id) < ($2, $3)
                 ORDER BY created_at DESC, id DESC LIMIT $4"
            );
            many(c.query(&sql, params![user_id, created_at, id, limit])?)
        }
        None => {
            let sql = format!(
                "SELECT {READ} FROM payments WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
            );
            many(c.query(&sql, params![user_id, limit])?)
        }
    }
}

/// Marks a processing payment succeeded with its ledger transaction and receipt. Returns false when
/// the payment was not processing (already settled by someone else).
pub fn mark_succeeded(
    c: &dyn Sql,
    id: &str,
    ledger_tx_id: &str,
    receipt_id: &str,
    now: &str,
) -> Result<bool, StoreError> {
    let n = c.execute(
        "UPDATE payments SET status = 'succeeded', ledger_tx_id = $2, receipt_id = $3, updated_at = $4
         WHERE id = $1 AND status = 'processing'",
        params![id, ledger_tx_id, receipt_id, now],
    )?;
    Ok(n == 1)
}

pub fn mark_failed(c: &dyn Sql, id: &str, reason: &str, now: &str) -> Result<bool, StoreError> {
    let n = c.execute(
        "UPDATE payments SET status = 'failed', failure_reason = $2, updated_at = $3
         WHERE id = $1 AND status = 'processing'",
        params![id, reason, now],
    )?;
    Ok(n == 1)
}

/// A succeeded payment whose money went back (succeeded → refunded). False if it was not succeeded.
pub fn mark_refunded(c: &dyn Sql, id: &str, now: &str) -> Result<bool, StoreError> {
    let n = c.execute(
        "UPDATE payments SET status = 'refunded', updated_at = $2 WHERE id = $1 AND status = 'succeeded'",
        params![id, now],
    )?;
    Ok(n == 1)
}

/// Records the authority's answer to the payment notice (pending → confirmed | rejected).
pub fn set_authority_status(
    c: &dyn Sql,
    id: &str,
    status: AuthoritySync,
    reason: Option<&str>,
    now: &str,
) -> Result<bool, StoreError> {
    let confirmed_at = (status == AuthoritySync::Confirmed).then_some(now);
    let n = c.execute(
        "UPDATE payments SET authority_status = $2, authority_reason = $3,
            authority_confirmed_at = COALESCE($4, authority_confirmed_at), updated_at = $5
         WHERE id = $1 AND authority_status = 'pending'",
        params![id, status.as_str(), reason, confirmed_at, now],
    )?;
    Ok(n == 1)
}

/// Notes that the resolver asked the bank about a row still `processing` and learnt nothing: it
/// goes to the back of the resolver's queue (`updated_at` is when it was last asked), so charges
/// the bank never answers about cannot starve the ones behind them.
pub fn note_asked(c: &dyn Sql, id: &str, now: &str) -> Result<(), StoreError> {
    c.execute(
        "UPDATE payments SET updated_at = $2 WHERE id = $1 AND status = 'processing'",
        params![id, now],
    )?;
    Ok(())
}

/// Payments left in `processing` since before `older_than` (a bank timeout, or a crash between the
/// two steps of a card payment).
pub fn processing_card_payments(
    c: &dyn Sql,
    older_than: &str,
) -> Result<Vec<PaymentRow>, StoreError> {
    let sql = format!(
        "SELECT {READ} FROM payments WHERE status = 'processing' AND updated_at < $1
         ORDER BY updated_at, id LIMIT 100"
    );
    many(c.query(&sql, params![older_than])?)
}
