//! Reconciliation (SPEC §9): the platform's side of a city's day, read in pages in payment id
//! order (the authority lists its side in the same order), and the stored runs.

use crate::{params, Backend, Row, Sql, StoreError};

/// One payment of the day as the platform holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlatformRecord {
    pub payment_id: String,
    pub decision_number: String,
    pub amount: i64,
    /// When the payer paid (the notice's `paid_at`), UTC text.
    pub created_at: String,
}

/// The payments of (city, business day) that the authority should have recorded, after the
/// payment id `after`, at most `limit`, in payment id order: every payment that moved money
/// (succeeded, or succeeded and later refunded), but not one the authority rejected (it never
/// recorded it, and its money went back).
pub fn platform_page(
    c: &dyn Sql,
    city: &str,
    business_date: &str,
    after: &str,
    limit: u32,
) -> Result<Vec<PlatformRecord>, StoreError> {
    // Byte order on both backends (the authority's pages come in byte order too; PostgreSQL's
    // default collation would follow the locale).
    let collate = match c.backend() {
        Backend::Sqlite => "",
        Backend::Postgres => " COLLATE \"C\"",
    };
    c.query(
        &format!(
            "SELECT id, decision_number, amount, created_at FROM payments
             WHERE city_code = $1 AND business_date = $2 AND id{collate} > $3
               AND status IN ('succeeded', 'refunded') AND authority_status <> 'rejected'
             ORDER BY id{collate} LIMIT $4"
        ),
        params![city, business_date, after, limit],
    )?
    .iter()
    .map(|r| {
        Ok(PlatformRecord {
            payment_id: r.text("id")?,
            decision_number: r.text("decision_number")?,
            amount: r.int("amount")?,
            created_at: r.text("created_at")?,
        })
    })
    .collect()
}

/// How many payments [`platform_page`] will yield for the day (for a progress bar).
pub fn platform_count(c: &dyn Sql, city: &str, business_date: &str) -> Result<i64, StoreError> {
    c.query_one(
        "SELECT COUNT(*) AS n FROM payments
         WHERE city_code = $1 AND business_date = $2
           AND status IN ('succeeded', 'refunded') AND authority_status <> 'rejected'",
        params![city, business_date],
    )?
    .int("n")
}

/// A finished run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunRow {
    pub id: String,
    pub city_code: String,
    pub business_date: String,
    pub started_at: String,
    pub finished_at: String,
    pub run_by: String,
    pub matched: i64,
    pub discrepancies: i64,
    pub mended: i64,
    pub platform_total: i64,
    pub authority_total: i64,
    /// The whole report as the API answered it.
    pub report_json: String,
}

const RUN: &str = "id, city_code, business_date, started_at, finished_at, run_by, matched,
    discrepancies, mended, platform_total, authority_total, report_json";

fn run(r: &Row) -> Result<RunRow, StoreError> {
    Ok(RunRow {
        id: r.text("id")?,
        city_code: r.text("city_code")?,
        business_date: r.text("business_date")?,
        started_at: r.text("started_at")?,
        finished_at: r.text("finished_at")?,
        run_by: r.text("run_by")?,
        matched: r.int("matched")?,
        discrepancies: r.int("discrepancies")?,
        mended: r.int("mended")?,
        platform_total: r.int("platform_total")?,
        authority_total: r.int("authority_total")?,
        report_json: r.text("report_json")?,
    })
}

pub fn insert_run(c: &dyn Sql, r: &RunRow) -> Result<(), StoreError> {
    c.execute(
        &format!(
            "INSERT INTO reconciliation_runs ({RUN}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,
             $10, $11, $12)"
        ),
        params![
            &r.id,
            &r.city_code,
            &r.business_date,
            &r.started_at,
            &r.finished_at,
            &r.run_by,
            r.matched,
            r.discrepancies,
            r.mended,
            r.platform_total,
            r.authority_total,
            &r.report_json
        ],
    )?;
    Ok(())
}

/// Each city's latest run (one per city).
pub fn last_per_city(c: &dyn Sql) -> Result<Vec<RunRow>, StoreError> {
    let rows = c
        .query(
            &format!(
                "SELECT {RUN} FROM reconciliation_runs r WHERE r.finished_at = (SELECT MAX(finished_at)
                 FROM reconciliation_runs x WHERE x.city_code = r.city_code)
                 ORDER BY city_code, id DESC"
            ),
            &[],
        )?
        .iter()
        .map(run)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(super::first_of_each(rows, |r| r.city_code.as_str()))
}
