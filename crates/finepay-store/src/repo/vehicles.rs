//! Plates bound to users, and the read position in each authority's event feed.

use crate::{params, Sql, StoreError};

/// Binds a plate to a user; binding again keeps the first time. Returns when it was bound.
pub fn bind(c: &dyn Sql, user_id: &str, plate: &str, now: &str) -> Result<String, StoreError> {
    c.execute(
        "INSERT INTO vehicles (user_id, plate, bound_at) VALUES ($1, $2, $3) ON CONFLICT (user_id, plate) DO NOTHING",
        params![user_id, plate, now],
    )?;
    c.query_one(
        "SELECT bound_at FROM vehicles WHERE user_id = $1 AND plate = $2",
        params![user_id, plate],
    )?
    .text("bound_at")
}

/// Unbinds; false when the plate was not bound to this user.
pub fn unbind(c: &dyn Sql, user_id: &str, plate: &str) -> Result<bool, StoreError> {
    Ok(c.execute(
        "DELETE FROM vehicles WHERE user_id = $1 AND plate = $2",
        params![user_id, plate],
    )? == 1)
}

/// The user's plates with when they were bound, oldest first.
pub fn list(c: &dyn Sql, user_id: &str) -> Result<Vec<(String, String)>, StoreError> {
    c.query(
        "SELECT plate, bound_at FROM vehicles WHERE user_id = $1 ORDER BY bound_at, plate",
        params![user_id],
    )?
    .into_iter()
    .map(|r| Ok((r.text("plate")?, r.text("bound_at")?)))
    .collect()
}

pub fn is_bound(c: &dyn Sql, user_id: &str, plate: &str) -> Result<bool, StoreError> {
    Ok(c.query_opt(
        "SELECT 1 FROM vehicles WHERE user_id = $1 AND plate = $2",
        params![user_id, plate],
    )?
    .is_some())
}

/// Every user who bound this plate.
pub fn users_of_plate(c: &dyn Sql, plate: &str) -> Result<Vec<String>, StoreError> {
    c.query(
        "SELECT user_id FROM vehicles WHERE plate = $1",
        params![plate],
    )?
    .into_iter()
    .map(|r| r.text("user_id"))
    .collect()
}

/// How far the feed of `city` has been read (0 at first).
pub fn cursor(c: &dyn Sql, city: &str) -> Result<i64, StoreError> {
    Ok(c.query_opt(
        "SELECT after_seq FROM authority_cursors WHERE city_code = $1",
        params![city],
    )?
    .map(|r| r.int("after_seq"))
    .transpose()?
    .unwrap_or(0))
}

/// Moves the cursor from `from` to `to`; false when another instance moved it first (then the
/// caller's job must roll back, so each event is turned into notifications once).
pub fn advance_cursor(c: &dyn Sql, city: &str, from: i64, to: i64) -> Result<bool, StoreError> {
    c.execute(
        "INSERT INTO authority_cursors (city_code, after_seq) VALUES ($1, 0) ON CONFLICT (city_code) DO NOTHING",
        params![city],
    )?;
    Ok(c.execute(
        "UPDATE authority_cursors SET after_seq = $3 WHERE city_code = $1 AND after_seq = $2",
        params![city, from, to],
    )? == 1)
}
