//! Operators and the append-only audit log of their actions (SPEC §9).

use crate::{params, Sql, StoreError};

/// Makes the user with this phone an operator; the user's id, or `None` when no user has it.
pub fn grant_operator(c: &dyn Sql, phone: &str) -> Result<Option<String>, StoreError> {
    c.execute(
        "UPDATE users SET is_operator = 1 WHERE phone = $1",
        params![phone],
    )?;
    c.query_opt("SELECT id FROM users WHERE phone = $1", params![phone])?
        .map(|r| r.text("id"))
        .transpose()
}

/// Whether the user is an operator (false for an unknown user).
pub fn is_operator(c: &dyn Sql, user_id: &str) -> Result<bool, StoreError> {
    Ok(c.query_opt(
        "SELECT is_operator FROM users WHERE id = $1",
        params![user_id],
    )?
    .map(|r| r.int("is_operator"))
    .transpose()?
        == Some(1))
}

/// One admin action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRow {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

/// Appends an action to the audit log (rows are never changed or deleted: the schema refuses).
pub fn append(
    c: &dyn Sql,
    at: &str,
    actor: &str,
    action: &str,
    detail: &str,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO admin_audit (at, actor, action, detail) VALUES ($1, $2, $3, $4)",
        params![at, actor, action, detail],
    )?;
    Ok(())
}

/// The newest actions first, those older than `before` (an id) when given, at most `limit`.
pub fn list(c: &dyn Sql, before: Option<i64>, limit: u32) -> Result<Vec<AuditRow>, StoreError> {
    c.query(
        "SELECT id, at, actor, action, detail FROM admin_audit
         WHERE ($1 = 0 OR id < $1) ORDER BY id DESC LIMIT $2",
        params![before.unwrap_or(0), limit],
    )?
    .into_iter()
    .map(|r| {
        Ok(AuditRow {
            id: r.int("id")?,
            at: r.text("at")?,
            actor: r.text("actor")?,
            action: r.text("action")?,
            detail: r.text("detail")?,
        })
    })
    .collect()
}

/// One city's payments of a business day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CityDay {
    pub city_code: String,
    pub payments: i64,
    pub amount: i64,
    pub refunded: i64,
}

/// A city's payments of `business_date` that moved money (refunded ones counted apart too).
pub fn totals_of_day(
    c: &dyn Sql,
    city: &str,
    business_date: &str,
) -> Result<Vec<CityDay>, StoreError> {
    c.query(
        "SELECT city_code, COUNT(*) AS n, CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS amount,
                CAST(COALESCE(SUM(CASE WHEN status = 'refunded' THEN amount ELSE 0 END), 0)
                     AS BIGINT) AS refunded
         FROM payments WHERE city_code = $1 AND business_date = $2
           AND status IN ('succeeded', 'refunded')
         GROUP BY city_code",
        params![city, business_date],
    )?
    .into_iter()
    .map(|r| {
        Ok(CityDay {
            city_code: r.text("city_code")?,
            payments: r.int("n")?,
            amount: r.int("amount")?,
            refunded: r.int("refunded")?,
        })
    })
    .collect()
}

/// A city's notices not yet delivered: how many, and since when the oldest waits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingNotices {
    pub city_code: String,
    pub count: i64,
    pub oldest_at: String,
}

pub fn pending_notices(c: &dyn Sql) -> Result<Vec<PendingNotices>, StoreError> {
    c.query(
        "SELECT city_code, COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox
         WHERE kind = 'payment_notice' AND delivered_at IS NULL
         GROUP BY city_code ORDER BY city_code",
        &[],
    )?
    .into_iter()
    .map(|r| {
        Ok(PendingNotices {
            city_code: r.text("city_code")?,
            count: r.int("n")?,
            oldest_at: r.text("oldest")?,
        })
    })
    .collect()
}

/// (city, paid, confirmed) of a city's payments of `business_date` confirmed since `since`, at
/// most 5,000: the caller takes the median wait (not portable SQL).
pub fn recent_confirmations(
    c: &dyn Sql,
    city: &str,
    business_date: &str,
    since: &str,
) -> Result<Vec<(String, String, String)>, StoreError> {
    c.query(
        "SELECT city_code, created_at, authority_confirmed_at FROM payments
         WHERE city_code = $1 AND business_date = $2
           AND authority_confirmed_at IS NOT NULL AND authority_confirmed_at >= $3
         LIMIT 5000",
        params![city, business_date, since],
    )?
    .into_iter()
    .map(|r| {
        Ok((
            r.text("city_code")?,
            r.text("created_at")?,
            r.text("authority_confirmed_at")?,
        ))
    })
    .collect()
}

/// A city's payments of `business_date` per minute since `since` (UTC text):
/// (`YYYY-MM-DDTHH:MM`, count), oldest first.
pub fn payments_per_minute(
    c: &dyn Sql,
    city: &str,
    business_date: &str,
    since: &str,
) -> Result<Vec<(String, i64)>, StoreError> {
    c.query(
        "SELECT substr(created_at, 1, 16) AS minute, COUNT(*) AS n FROM payments
         WHERE city_code = $1 AND business_date = $2 AND created_at >= $3
           AND status IN ('succeeded', 'refunded')
         GROUP BY substr(created_at, 1, 16) ORDER BY minute",
        params![city, business_date, since],
    )?
    .into_iter()
    .map(|r| Ok((r.text("minute")?, r.int("n")?)))
    .collect()
}
