//! The notification inbox.

use crate::{params, Row, Sql, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotificationRow {
    pub id: String,
    pub user_id: String,
    pub kind: String,
    pub plate: Option<String>,
    pub city_code: String,
    pub decision_number: Option<String>,
    pub payment_id: Option<String>,
    pub created_at: String,
    pub read: bool,
}

fn from_row(r: Row) -> Result<NotificationRow, StoreError> {
    Ok(NotificationRow {
        id: r.text("id")?,
        user_id: r.text("user_id")?,
        kind: r.text("kind")?,
        plate: r.opt_text("plate")?,
        city_code: r.text("city_code")?,
        decision_number: r.opt_text("decision_number")?,
        payment_id: r.opt_text("payment_id")?,
        created_at: r.text("created_at")?,
        read: r.opt_text("read_at")?.is_some(),
    })
}

pub fn insert_notification(c: &dyn Sql, n: &NotificationRow) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO notifications (id, user_id, kind, plate, city_code, decision_number, payment_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        params![&n.id, &n.user_id, &n.kind, &n.plate, &n.city_code, &n.decision_number, &n.payment_id, &n.created_at],
    )?;
    Ok(())
}

/// A user's notifications, newest first.
pub fn list_notifications(
    c: &dyn Sql,
    user_id: &str,
    before: Option<(&str, &str)>,
    limit: u32,
) -> Result<Vec<NotificationRow>, StoreError> {
    let (after_time, after_id) = before.unwrap_or(("9999", ""));
    c.query(
        "SELECT id, user_id, kind, plate, city_code, decision_number, payment_id, created_at, read_at
         FROM notifications WHERE user_id = $1 AND (created_at < $2 OR (created_at = $2 AND id < $3))
         ORDER BY created_at DESC, id DESC LIMIT $4",
        params![user_id, after_time, after_id, limit],
    )?
    .into_iter()
    .map(from_row)
    .collect()
}

/// The (created_at, id) of a user's notification, for paging.
pub fn position(
    c: &dyn Sql,
    user_id: &str,
    id: &str,
) -> Result<Option<(String, String)>, StoreError> {
    c.query_opt(
        "SELECT created_at, id FROM notifications WHERE user_id = $1 AND id = $2",
        params![user_id, id],
    )?
    .map(|r| Ok((r.text("created_at")?, r.text("id")?)))
    .transpose()
}

/// Marks the user's notification read (once: a second time keeps the first time). False when the
/// user has no notification with this id.
pub fn mark_read(c: &dyn Sql, user_id: &str, id: &str, now: &str) -> Result<bool, StoreError> {
    let n = c.execute(
        "UPDATE notifications SET read_at = COALESCE(read_at, $3) WHERE id = $1 AND user_id = $2",
        params![id, user_id, now],
    )?;
    Ok(n == 1)
}

/// A user's notifications after the position `(created_at, id)`, oldest first, at most `limit`:
/// what a stream that reconnects with `Last-Event-ID` missed.
pub fn list_after(
    c: &dyn Sql,
    user_id: &str,
    after: (&str, &str),
    limit: u32,
) -> Result<Vec<NotificationRow>, StoreError> {
    c.query(
        "SELECT id, user_id, kind, plate, city_code, decision_number, payment_id, created_at, read_at
         FROM notifications WHERE user_id = $1 AND (created_at > $2 OR (created_at = $2 AND id > $3))
         ORDER BY created_at, id LIMIT $4",
        params![user_id, after.0, after.1, limit],
    )?
    .into_iter()
    .map(from_row)
    .collect()
}

/// Marks every unread notification of the user read; how many were.
pub fn mark_all_read(c: &dyn Sql, user_id: &str, now: &str) -> Result<u64, StoreError> {
    c.execute(
        "UPDATE notifications SET read_at = $2 WHERE user_id = $1 AND read_at IS NULL",
        params![user_id, now],
    )
}

/// How many of the user's notifications are unread.
pub fn unread_count(c: &dyn Sql, user_id: &str) -> Result<i64, StoreError> {
    c.query_one(
        "SELECT COUNT(*) AS n FROM notifications WHERE user_id = $1 AND read_at IS NULL",
        params![user_id],
    )?
    .int("n")
}
