//! Idempotency keys, scoped to the user. A key is claimed (`running`) inside the same transaction as
//! the work it guards and completed (`done`, with the response) in the transaction that finishes it.

use crate::{params, Sql, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyState {
    /// The key was free and is now claimed by the caller.
    Claimed,
    /// Another request holds it and has not finished.
    Running { request_hash: String },
    /// Finished: the stored response.
    Done {
        request_hash: String,
        /// How the request ended, by name (`created`, or an error code): the caller's vocabulary.
        outcome: String,
        body: String,
    },
}

/// The key's current state, without claiming it.
pub fn find_key(c: &dyn Sql, user_id: &str, key: &str) -> Result<Option<KeyState>, StoreError> {
    let Some(r) = c.query_opt(
        "SELECT request_hash, state, response_outcome, response_body
         FROM idempotency_keys WHERE user_id = $1 AND key = $2",
        params![user_id, key],
    )?
    else {
        return Ok(None);
    };
    let request_hash = r.text("request_hash")?;
    let state = r.text("state")?;
    Ok(Some(
        match (
            state.as_str(),
            r.opt_text("response_outcome")?,
            r.opt_text("response_body")?,
        ) {
            ("done", Some(outcome), Some(body)) => KeyState::Done {
                request_hash,
                outcome,
                body,
            },
            _ => KeyState::Running { request_hash },
        },
    ))
}

/// Claims the key, or reports who holds it.
pub fn claim_key(
    c: &dyn Sql,
    user_id: &str,
    key: &str,
    request_hash: &str,
    now: &str,
) -> Result<KeyState, StoreError> {
    let inserted = c.execute(
        "INSERT INTO idempotency_keys (user_id, key, request_hash, state, created_at)
         VALUES ($1, $2, $3, 'running', $4) ON CONFLICT (user_id, key) DO NOTHING",
        params![user_id, key, request_hash, now],
    )?;
    if inserted == 1 {
        return Ok(KeyState::Claimed);
    }
    find_key(c, user_id, key)?
        .ok_or_else(|| StoreError::Corrupt(format!("idempotency key {key} vanished")))
}

/// Stores the response that every replay of this key will get.
pub fn complete_key(
    c: &dyn Sql,
    user_id: &str,
    key: &str,
    outcome: &str,
    body: &str,
) -> Result<(), StoreError> {
    c.execute(
        "UPDATE idempotency_keys SET state = 'done', response_outcome = $3, response_body = $4
         WHERE user_id = $1 AND key = $2",
        params![user_id, key, outcome, body],
    )?;
    Ok(())
}

/// Frees a key whose request ended in a transient failure, so the client may retry with it.
pub fn release_key(c: &dyn Sql, user_id: &str, key: &str) -> Result<(), StoreError> {
    c.execute(
        "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND state = 'running'",
        params![user_id, key],
    )?;
    Ok(())
}

/// Deletes finished keys older than `before` (kept at least 24 h by the caller's choice of `before`).
pub fn purge_keys(c: &dyn Sql, before: &str) -> Result<u64, StoreError> {
    c.execute(
        "DELETE FROM idempotency_keys WHERE state = 'done' AND created_at < $1",
        params![before],
    )
}
