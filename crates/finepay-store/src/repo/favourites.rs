//! Services a user bookmarked (the web app pins them on its home page).

use crate::{params, Sql, StoreError};

/// Bookmarks a service; bookmarking again keeps the first time.
pub fn add(c: &dyn Sql, user_id: &str, service_id: &str, now: &str) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO favourites (user_id, service_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (user_id, service_id) DO NOTHING",
        params![user_id, service_id, now],
    )?;
    Ok(())
}

/// Removes a bookmark; false when there was none.
pub fn remove(c: &dyn Sql, user_id: &str, service_id: &str) -> Result<bool, StoreError> {
    Ok(c.execute(
        "DELETE FROM favourites WHERE user_id = $1 AND service_id = $2",
        params![user_id, service_id],
    )? == 1)
}

/// The user's bookmarked service ids, oldest first.
pub fn list(c: &dyn Sql, user_id: &str) -> Result<Vec<String>, StoreError> {
    c.query(
        "SELECT service_id FROM favourites WHERE user_id = $1 ORDER BY created_at, service_id",
        params![user_id],
    )?
    .into_iter()
    .map(|r| r.text("service_id"))
    .collect()
}
