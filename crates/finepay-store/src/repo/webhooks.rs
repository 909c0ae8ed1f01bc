//! A user's webhooks (SPEC §8). Deleting one keeps its row (`deleted_at`), so a delivery queued
//! before can see it is gone.

use crate::{params, Row, Sql, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookRow {
    pub id: String,
    pub user_id: String,
    pub url: String,
    /// The notification kinds it wants, comma separated; empty for all.
    pub kinds: String,
    pub secret: String,
    pub created_at: String,
    pub deleted: bool,
}

fn from_row(r: &Row) -> Result<WebhookRow, StoreError> {
    Ok(WebhookRow {
        id: r.text("id")?,
        user_id: r.text("user_id")?,
        url: r.text("url")?,
        kinds: r.text("kinds")?,
        secret: r.text("secret")?,
        created_at: r.text("created_at")?,
        deleted: r.opt_text("deleted_at")?.is_some(),
    })
}

const COLUMNS: &str = "id, user_id, url, kinds, secret, created_at, deleted_at";

pub fn insert(c: &dyn Sql, w: &WebhookRow) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO webhooks (id, user_id, url, kinds, secret, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        params![
            &w.id,
            &w.user_id,
            &w.url,
            &w.kinds,
            &w.secret,
            &w.created_at
        ],
    )?;
    Ok(())
}

/// The user's webhooks that are not deleted, oldest first.
pub fn active_of_user(c: &dyn Sql, user_id: &str) -> Result<Vec<WebhookRow>, StoreError> {
    c.query(
        &format!(
            "SELECT {COLUMNS} FROM webhooks WHERE user_id = $1 AND deleted_at IS NULL
             ORDER BY created_at, id"
        ),
        params![user_id],
    )?
    .iter()
    .map(from_row)
    .collect()
}

pub fn find(c: &dyn Sql, id: &str) -> Result<Option<WebhookRow>, StoreError> {
    c.query_opt(
        &format!("SELECT {COLUMNS} FROM webhooks WHERE id = $1"),
        params![id],
    )?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Deletes one of the user's webhooks; false when the user has no such (live) webhook.
pub fn delete(c: &dyn Sql, user_id: &str, id: &str, now: &str) -> Result<bool, StoreError> {
    Ok(c.execute(
        "UPDATE webhooks SET deleted_at = $3 WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL",
        params![id, user_id, now],
    )? == 1)
}
