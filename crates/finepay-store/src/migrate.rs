//! Migrations: numbered SQL files per backend, applied in order. SQLite tracks the version in
//! `user_version`; PostgreSQL in `finepay_schema`, under an advisory lock so that instances starting
//! together migrate once.

use crate::sql::{Backend, Sql};
use crate::{params, StoreError};

/// The SQLite migrations in order (the `n`th sets `user_version = n`).
pub const SQLITE: &[&str] = &[
    include_str!("../migrations/sqlite/0001_foundation.sql"),
    include_str!("../migrations/sqlite/0002_notifications.sql"),
    include_str!("../migrations/sqlite/0003_vehicles.sql"),
    include_str!("../migrations/sqlite/0004_refund_receipts.sql"),
    include_str!("../migrations/sqlite/0005_credit.sql"),
    include_str!("../migrations/sqlite/0006_outbox_groups.sql"),
    include_str!("../migrations/sqlite/0007_decision_revocations.sql"),
    include_str!("../migrations/sqlite/0008_favourites.sql"),
    include_str!("../migrations/sqlite/0009_status_checks.sql"),
    include_str!("../migrations/sqlite/0010_reply_outcomes.sql"),
    include_str!("../migrations/sqlite/0011_unreadable_outbox_rows.sql"),
    include_str!("../migrations/sqlite/0012_readiness.sql"),
    include_str!("../migrations/sqlite/0013_operations.sql"),
    include_str!("../migrations/sqlite/0014_reminders.sql"),
    include_str!("../migrations/sqlite/0015_webhooks.sql"),
];
const POSTGRES: &[&str] = &[
    include_str!("../migrations/postgres/0001_foundation.sql"),
    include_str!("../migrations/postgres/0002_notifications.sql"),
    include_str!("../migrations/postgres/0003_vehicles.sql"),
    include_str!("../migrations/postgres/0004_refund_receipts.sql"),
    include_str!("../migrations/postgres/0005_credit.sql"),
    include_str!("../migrations/postgres/0006_outbox_groups.sql"),
    include_str!("../migrations/postgres/0007_decision_revocations.sql"),
    include_str!("../migrations/postgres/0008_favourites.sql"),
    include_str!("../migrations/postgres/0009_status_checks.sql"),
    include_str!("../migrations/postgres/0010_reply_outcomes.sql"),
    include_str!("../migrations/postgres/0011_unreadable_outbox_rows.sql"),
    include_str!("../migrations/postgres/0012_operations.sql"),
    include_str!("../migrations/postgres/0013_reminders.sql"),
    include_str!("../migrations/postgres/0014_webhooks.sql"),
    include_str!("../migrations/postgres/0015_payment_days.sql"),
];
/// Any constant: the advisory lock key for migrations.
const MIGRATION_LOCK: i64 = 0x0066_696e_6570_6179;

pub fn apply(conn: &dyn Sql) -> Result<(), StoreError> {
    match conn.backend() {
        Backend::Sqlite => apply_sqlite(conn),
        Backend::Postgres => apply_postgres(conn),
    }
}

fn apply_sqlite(conn: &dyn Sql) -> Result<(), StoreError> {
    let current = conn
        .query_one("PRAGMA user_version", &[])?
        .int("user_version")?;
    for (index, sql) in SQLITE
        .iter()
        .enumerate()
        .skip(usize::try_from(current).unwrap_or(0))
    {
        conn.batch(&format!(
            "BEGIN IMMEDIATE; {sql}; PRAGMA user_version = {}; COMMIT;",
            index + 1
        ))?;
        tracing::info!(version = index + 1, "applied SQLite migration");
    }
    Ok(())
}

fn apply_postgres(conn: &dyn Sql) -> Result<(), StoreError> {
    conn.execute("SELECT pg_advisory_lock($1)", params![MIGRATION_LOCK])?;
    let result: Result<(), StoreError> = (|| {
        conn.batch("CREATE TABLE IF NOT EXISTS finepay_schema (version BIGINT NOT NULL)")?;
        let current = conn
            .query_opt("SELECT MAX(version) AS version FROM finepay_schema", &[])?
            .and_then(|r| r.opt_int("version").ok().flatten())
            .unwrap_or(0);
        for (index, sql) in POSTGRES
            .iter()
            .enumerate()
            .skip(usize::try_from(current).unwrap_or(0))
        {
            conn.batch(&format!(
                "BEGIN; {sql}; INSERT INTO finepay_schema (version) VALUES ({}); COMMIT;",
                index + 1
            ))?;
            tracing::info!(version = index + 1, "applied PostgreSQL migration");
        }
        Ok(())
    })();
    if result.is_err() {
        // A failed migration leaves the transaction aborted; end it so the unlock can run.
        let _ = conn.batch("ROLLBACK");
    }
    let unlocked = conn.execute("SELECT pg_advisory_unlock($1)", params![MIGRATION_LOCK]);
    // The migration's own error matters more than the unlock's.
    result?;
    unlocked.map(|_| ())
}
