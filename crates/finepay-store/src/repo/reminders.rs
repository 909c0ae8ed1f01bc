//! Due-soon and overdue reminders (SPEC §8): the decisions of bound plates that the authorities'
//! feeds told of, and which reminders went out (each once per decision, user and kind).

use crate::{params, Row, Sql, StoreError};

/// A decision a reminder may be due for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchedDecision {
    pub decision_number: String,
    pub city_code: String,
    pub plate: String,
    pub due_on: String,
}

fn watched(r: &Row) -> Result<WatchedDecision, StoreError> {
    Ok(WatchedDecision {
        decision_number: r.text("decision_number")?,
        city_code: r.text("city_code")?,
        plate: r.text("plate")?,
        due_on: r.text("due_on")?,
    })
}

/// Keeps (or refreshes) a decision of a bound plate as its feed tells of it.
pub fn watch(
    c: &dyn Sql,
    d: &WatchedDecision,
    issued_on: &str,
    status: &str,
    now: &str,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO watched_decisions (decision_number, city_code, plate, issued_on, due_on,
                                        status, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (decision_number) DO UPDATE SET status = excluded.status,
             updated_at = excluded.updated_at",
        params![
            &d.decision_number,
            &d.city_code,
            &d.plate,
            issued_on,
            &d.due_on,
            status,
            now
        ],
    )?;
    Ok(())
}

/// A watched decision's new status (paid or revoked at its authority); unknown ones are ignored.
pub fn set_status(c: &dyn Sql, number: &str, status: &str, now: &str) -> Result<(), StoreError> {
    c.execute(
        "UPDATE watched_decisions SET status = $2, updated_at = $3 WHERE decision_number = $1",
        params![number, status, now],
    )?;
    Ok(())
}

/// Unpaid watched decisions due on or before `until` (`YYYY-MM-DD`) with no live payment here:
/// those a reminder may be due for today (`until` = today + 3 days).
pub fn unpaid_due_by(c: &dyn Sql, until: &str) -> Result<Vec<WatchedDecision>, StoreError> {
    c.query(
        "SELECT w.decision_number, w.city_code, w.plate, w.due_on FROM watched_decisions w
         WHERE w.status = 'unpaid' AND w.due_on <= $1
           AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.decision_number = w.decision_number
                           AND p.status IN ('processing', 'succeeded'))
         ORDER BY w.due_on, w.decision_number",
        params![until],
    )?
    .iter()
    .map(watched)
    .collect()
}

/// A plate's unpaid watched decisions.
pub fn unpaid_of_plate(c: &dyn Sql, plate: &str) -> Result<Vec<WatchedDecision>, StoreError> {
    c.query(
        "SELECT decision_number, city_code, plate, due_on FROM watched_decisions
         WHERE plate = $1 AND status = 'unpaid' ORDER BY due_on, decision_number",
        params![plate],
    )?
    .iter()
    .map(watched)
    .collect()
}

/// Whether a decision has a live payment here (being paid, or paid).
pub fn has_live_payment(c: &dyn Sql, number: &str) -> Result<bool, StoreError> {
    Ok(c.query_opt(
        "SELECT 1 AS one FROM payments WHERE decision_number = $1
         AND status IN ('processing', 'succeeded')",
        params![number],
    )?
    .is_some())
}

/// Claims the reminder `kind` of a decision for a user: true the first time only.
pub fn claim(
    c: &dyn Sql,
    user_id: &str,
    number: &str,
    kind: &str,
    notification_id: &str,
    now: &str,
) -> Result<bool, StoreError> {
    Ok(c.execute(
        "INSERT INTO decision_reminders (user_id, decision_number, kind, notification_id, created_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, decision_number, kind) DO NOTHING",
        params![user_id, number, kind, notification_id, now],
    )? == 1)
}

/// The day of the last daily sweep.
pub fn last_sweep(c: &dyn Sql) -> Result<Option<String>, StoreError> {
    c.query_opt("SELECT last_day FROM reminder_sweeps WHERE id = 1", &[])?
        .map(|r| r.text("last_day"))
        .transpose()
}

/// Records the day of a sweep.
pub fn set_last_sweep(c: &dyn Sql, day: &str) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO reminder_sweeps (id, last_day) VALUES (1, $1)
         ON CONFLICT (id) DO UPDATE SET last_day = excluded.last_day",
        params![day],
    )?;
    Ok(())
}
