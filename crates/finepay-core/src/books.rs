//! The ledger as the use cases write it: a domain [`LedgerTransaction`] (balanced by construction)
//! posted in the caller's writer transaction, and read back.

use crate::{new_id, CoreError};
use finepay_domain::StatementDays;
use finepay_domain::{Account, Fen, LedgerTransaction, Posting, TxKind};
use finepay_store::repo::ledger as ledger_repo;
use finepay_store::{Sql, StoreError};

/// Writes a domain ledger transaction and returns its id.
pub(crate) fn post(
    c: &dyn Sql,
    tx: &LedgerTransaction,
    reference: &str,
    now: &str,
) -> Result<String, CoreError> {
    let id = new_id("ltx");
    let keys: Vec<String> = tx.postings().iter().map(|p| p.account.key()).collect();
    let rows: Vec<ledger_repo::PostingRow<'_>> = tx
        .postings()
        .iter()
        .zip(&keys)
        .map(|(p, key)| ledger_repo::PostingRow {
            account_key: key,
            amount: p.amount.fen(),
        })
        .collect();
    ledger_repo::post_transaction(c, &id, tx.kind().as_str(), reference, &rows, now)?;
    Ok(id)
}

/// Reads a stored payment's ledger transaction back into the domain type.
pub(crate) fn load_payment(c: &dyn Sql, tx_id: &str) -> Result<LedgerTransaction, CoreError> {
    let postings = ledger_repo::postings_of(c, tx_id)?
        .into_iter()
        .map(|(key, amount)| {
            Account::parse_key(&key)
                .map(|account| Posting {
                    account,
                    amount: Fen::from_fen(amount),
                })
                .ok_or_else(|| CoreError::Internal(format!("unknown account {key} in {tx_id}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    LedgerTransaction::new(TxKind::Payment, postings)
        .map_err(|e| CoreError::Internal(e.to_string()))
}

/// What the user owes on the credit line, in fen (the credit account's balance is minus the debt).
/// `for_update` locks the account on PostgreSQL (inside a writer job that will post to it).
pub(crate) fn credit_owed(c: &dyn Sql, user_id: &str, for_update: bool) -> Result<i64, StoreError> {
    let key = Account::UserCreditReceivable(user_id.to_string()).key();
    let balance = if for_update {
        ledger_repo::balance_for_update(c, &key)?
    } else {
        ledger_repo::balance(c, &key)?
    };
    Ok(-balance)
}

/// The user's wallet balance, in fen (`for_update` as for [`credit_owed`]).
pub(crate) fn wallet_balance(
    c: &dyn Sql,
    user_id: &str,
    for_update: bool,
) -> Result<i64, StoreError> {
    let key = Account::UserBalance(user_id.to_string()).key();
    Ok(if for_update {
        ledger_repo::balance_for_update(c, &key)?
    } else {
        ledger_repo::balance(c, &key)?
    })
}

/// The platform's money terms, as the settings give them: the bank behind linked cards (its
/// clearing account), the credit line granted to every real-name user, the statement days.
#[derive(Clone, Debug)]
pub(crate) struct Terms {
    pub bank_code: String,
    pub credit_limit: i64,
    pub statement_days: StatementDays,
}
