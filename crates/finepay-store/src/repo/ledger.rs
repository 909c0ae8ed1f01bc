//! Double-entry ledger. `post_transaction` writes one balanced transaction and keeps each account's
//! cached balance in step, inside the caller's transaction.

use crate::StoreError;
use rusqlite::{params, Connection, OptionalExtension};

/// One signed amount on one account (account keys come from the domain's `Account::key`).
pub struct PostingRow<'a> {
    pub account_key: &'a str,
    pub amount: i64,
}

/// Writes a ledger transaction. The caller passes postings already proven balanced by the domain
/// type; this checks again, because a ledger that does not balance must never reach the disk.
pub fn post_transaction(
    conn: &Connection,
    id: &str,
    kind: &str,
    reference: &str,
    postings: &[PostingRow<'_>],
    now: &str,
) -> Result<(), StoreError> {
    let sum: i128 = postings.iter().map(|p| i128::from(p.amount)).sum();
    if sum != 0 || postings.len() < 2 {
        return Err(StoreError::Corrupt(format!(
            "ledger transaction {id} does not balance (sum {sum}, {} postings)",
            postings.len()
        )));
    }
    conn.prepare_cached(
        "INSERT INTO ledger_transactions (id, kind, reference, created_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![id, kind, reference, now])?;
    let mut ensure = conn.prepare_cached(
        "INSERT INTO accounts (key, balance, created_at) VALUES (?1, 0, ?2)
         ON CONFLICT (key) DO NOTHING",
    )?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO postings (transaction_id, account_key, amount) VALUES (?1, ?2, ?3)",
    )?;
    let mut bump =
        conn.prepare_cached("UPDATE accounts SET balance = balance + ?2 WHERE key = ?1")?;
    for p in postings {
        ensure.execute(params![p.account_key, now])?;
        insert.execute(params![id, p.account_key, p.amount])?;
        bump.execute(params![p.account_key, p.amount])?;
    }
    Ok(())
}

/// The cached balance of an account (0 for an account that has never been posted to).
pub fn balance(conn: &Connection, account_key: &str) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT balance FROM accounts WHERE key = ?1")?
        .query_row([account_key], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// The postings of one ledger transaction, as (account key, amount).
pub fn postings_of(
    conn: &Connection,
    transaction_id: &str,
) -> Result<Vec<(String, i64)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT account_key, amount FROM postings WHERE transaction_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([transaction_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
