//! The credit line: repayments, and the postings on a user's credit account that statements are
//! computed from.

use crate::{params, time_text, Row, Sql, StoreError};
use chrono::{DateTime, Utc};
use finepay_domain::{ChargeStatus, Fen, PayMethodKind, TxKind};

#[derive(Clone, Debug)]
pub struct RepaymentRow {
    pub id: String,
    pub user_id: String,
    pub amount: Fen,
    /// `Balance` or `Card`.
    pub source: PayMethodKind,
    pub card_id: Option<String>,
    pub card_last4: Option<String>,
    pub status: ChargeStatus,
    pub bank_reference: Option<String>,
    pub failure_reason: Option<String>,
    pub ledger_tx_id: Option<String>,
    pub idempotency_key: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub fn insert_repayment(c: &dyn Sql, r: &RepaymentRow) -> Result<(), StoreError> {
    let (created_at, updated_at) = (time_text(r.created_at), time_text(r.updated_at));
    c.execute(
        "INSERT INTO credit_repayments (id, user_id, amount, source_type, card_id, card_last4, status,
            bank_reference, failure_reason, ledger_tx_id, idempotency_key, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        params![
            &r.id, &r.user_id, r.amount, r.source.as_str(), &r.card_id, &r.card_last4, r.status.as_str(), &r.bank_reference,
            &r.failure_reason, &r.ledger_tx_id, &r.idempotency_key, &created_at, &updated_at
        ],
    )?;
    Ok(())
}

/// processing → succeeded with its ledger transaction; false if it was not processing.
pub fn mark_repayment_succeeded(
    c: &dyn Sql,
    id: &str,
    ledger_tx_id: &str,
    now: &str,
) -> Result<bool, StoreError> {
    Ok(c.execute(
        "UPDATE credit_repayments SET status = 'succeeded', ledger_tx_id = $2, updated_at = $3
         WHERE id = $1 AND status = 'processing'",
        params![id, ledger_tx_id, now],
    )? == 1)
}

pub fn mark_repayment_failed(
    c: &dyn Sql,
    id: &str,
    reason: &str,
    now: &str,
) -> Result<bool, StoreError> {
    Ok(c.execute(
        "UPDATE credit_repayments SET status = 'failed', failure_reason = $2, updated_at = $3
         WHERE id = $1 AND status = 'processing'",
        params![id, reason, now],
    )? == 1)
}

/// One posting on a credit account, with its transaction.
#[derive(Clone, Debug)]
pub struct CreditPosting {
    pub transaction_id: String,
    pub kind: TxKind,
    pub reference: String,
    pub created_at: DateTime<Utc>,
    pub amount: Fen,
}

fn posting(r: Row) -> Result<CreditPosting, StoreError> {
    Ok(CreditPosting {
        transaction_id: r.text("transaction_id")?,
        kind: r.named("kind", TxKind::parse)?,
        reference: r.text("reference")?,
        created_at: r.time("created_at")?,
        amount: r.fen("amount")?,
    })
}

/// Every posting on `account_key`, oldest first.
pub fn postings(c: &dyn Sql, account_key: &str) -> Result<Vec<CreditPosting>, StoreError> {
    c.query(
        "SELECT t.id AS transaction_id, t.kind, t.reference, t.created_at, p.amount FROM postings p
         JOIN ledger_transactions t ON t.id = p.transaction_id
         WHERE p.account_key = $1 ORDER BY t.created_at, p.id",
        params![account_key],
    )?
    .into_iter()
    .map(posting)
    .collect()
}

/// Card repayments left `processing` since before `older_than`.
/// Notes that the resolver asked the bank about a row still `processing` and learnt nothing: it
/// goes to the back of the resolver's queue (`updated_at` is when it was last asked), so charges
/// the bank never answers about cannot starve the ones behind them.
pub fn note_asked(c: &dyn Sql, id: &str, now: &str) -> Result<(), StoreError> {
    c.execute(
        "UPDATE credit_repayments SET updated_at = $2 WHERE id = $1 AND status = 'processing'",
        params![id, now],
    )?;
    Ok(())
}

pub fn processing_repayments(
    c: &dyn Sql,
    older_than: &str,
) -> Result<Vec<RepaymentRow>, StoreError> {
    c.query(
        "SELECT id, user_id, amount, source_type, card_id, card_last4, status, bank_reference, failure_reason,
                ledger_tx_id, idempotency_key, created_at, updated_at
         FROM credit_repayments WHERE status = 'processing' AND updated_at < $1
         ORDER BY updated_at, id LIMIT 100",
        params![older_than],
    )?
    .into_iter()
    .map(|r| {
        Ok(RepaymentRow {
            id: r.text("id")?,
            user_id: r.text("user_id")?,
            amount: r.fen("amount")?,
            source: r.named("source_type", PayMethodKind::parse)?,
            card_id: r.opt_text("card_id")?,
            card_last4: r.opt_text("card_last4")?,
            status: r.named("status", ChargeStatus::parse)?,
            bank_reference: r.opt_text("bank_reference")?,
            failure_reason: r.opt_text("failure_reason")?,
            ledger_tx_id: r.opt_text("ledger_tx_id")?,
            idempotency_key: r.opt_text("idempotency_key")?,
            created_at: r.time("created_at")?,
            updated_at: r.time("updated_at")?,
        })
    })
    .collect()
}

/// The sum of the user's repayments still `processing`.
pub fn processing_total(c: &dyn Sql, user_id: &str) -> Result<i64, StoreError> {
    let rows = c.query(
        "SELECT amount FROM credit_repayments WHERE user_id = $1 AND status = 'processing'",
        params![user_id],
    )?;
    rows.into_iter().map(|r| r.int("amount")).sum()
}

pub fn repayment_status(c: &dyn Sql, id: &str) -> Result<Option<ChargeStatus>, StoreError> {
    c.query_opt(
        "SELECT status FROM credit_repayments WHERE id = $1",
        params![id],
    )?
    .map(|r| r.named("status", ChargeStatus::parse))
    .transpose()
}
