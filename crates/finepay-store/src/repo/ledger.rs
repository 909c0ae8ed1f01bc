//! Double-entry ledger. `post_transaction` writes one balanced transaction and keeps each account's
//! cached balance in step, inside the caller's transaction.

use crate::{params, Backend, Sql, StoreError};

/// One signed amount on one account (account keys come from the domain's `Account::key`).
pub struct PostingRow<'a> {
    pub account_key: &'a str,
    pub amount: i64,
}

/// Writes a ledger transaction. The caller passes postings already proven balanced by the domain
/// type; this checks again, because a ledger that does not balance must never reach the disk.
pub fn post_transaction(
    c: &dyn Sql,
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
    c.execute(
        "INSERT INTO ledger_transactions (id, kind, reference, created_at) VALUES ($1, $2, $3, $4)",
        params![id, kind, reference, now],
    )?;
    for p in postings {
        // Creates the account on its first posting, else moves its cached balance: one statement.
        c.execute(
            "INSERT INTO accounts (key, balance, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (key) DO UPDATE SET balance = accounts.balance + excluded.balance",
            params![p.account_key, p.amount, now],
        )?;
        c.execute(
            "INSERT INTO postings (transaction_id, account_key, amount) VALUES ($1, $2, $3)",
            params![id, p.account_key, p.amount],
        )?;
    }
    Ok(())
}

/// The cached balance of an account (0 for an account that has never been posted to).
pub fn balance(c: &dyn Sql, account_key: &str) -> Result<i64, StoreError> {
    Ok(c.query_opt(
        "SELECT balance FROM accounts WHERE key = $1",
        params![account_key],
    )?
    .map(|r| r.int("balance"))
    .transpose()?
    .unwrap_or(0))
}

/// The balance, locked until the end of the transaction on PostgreSQL (so two instances cannot
/// both spend it); SQLite's single writer already serialises every write transaction.
pub fn balance_for_update(c: &dyn Sql, account_key: &str) -> Result<i64, StoreError> {
    let sql = match c.backend() {
        Backend::Sqlite => "SELECT balance FROM accounts WHERE key = $1",
        Backend::Postgres => {
            // A lock needs a row: make sure the account exists, so two first payments serialise.
            c.execute(
                "INSERT INTO accounts (key, balance, created_at) VALUES ($1, 0, $2) ON CONFLICT (key) DO NOTHING",
                params![account_key, crate::now_text().as_str()],
            )?;
            "SELECT balance FROM accounts WHERE key = $1 FOR UPDATE"
        }
    };
    Ok(c.query_opt(sql, params![account_key])?
        .map(|r| r.int("balance"))
        .transpose()?
        .unwrap_or(0))
}

/// The postings of one ledger transaction, as (account key, amount).
pub fn postings_of(c: &dyn Sql, transaction_id: &str) -> Result<Vec<(String, i64)>, StoreError> {
    c.query(
        "SELECT account_key, amount FROM postings WHERE transaction_id = $1 ORDER BY id",
        params![transaction_id],
    )?
    .into_iter()
    .map(|r| Ok((r.text("account_key")?, r.int("amount")?)))
    .collect()
}
