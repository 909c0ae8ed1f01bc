//! The platform's snapshot of penalty decisions, so a decision already seen stays payable while its
//! authority is unreachable.

use crate::{params, Param, Sql, StoreError};
use finepay_domain::{DecisionStatus, Fen};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionRow {
    pub number: String,
    pub city_code: String,
    pub status: DecisionStatus,
    pub plate: String,
    pub owner_name: String,
    pub violation_json: String,
    pub fine: Fen,
    pub points: i64,
    pub issued_on: String,
    pub fetched_at: String,
}

impl DecisionRow {
    /// True when everything but the fetch time is the same (no need to write).
    pub fn same_content(&self, other: &DecisionRow) -> bool {
        self.number == other.number
            && self.city_code == other.city_code
            && self.status == other.status
            && self.plate == other.plate
            && self.owner_name == other.owner_name
            && self.violation_json == other.violation_json
            && self.fine == other.fine
            && self.points == other.points
            && self.issued_on == other.issued_on
    }
}

/// A copy's columns in the order both writes below number them ($1..$10).
fn copy_params(d: &DecisionRow) -> [Param<'_>; 10] {
    [
        d.number.as_str().into(),
        d.city_code.as_str().into(),
        d.status.as_str().into(),
        d.plate.as_str().into(),
        d.owner_name.as_str().into(),
        d.violation_json.as_str().into(),
        d.fine.into(),
        d.points.into(),
        d.issued_on.as_str().into(),
        d.fetched_at.as_str().into(),
    ]
}

pub fn upsert_decision(c: &dyn Sql, d: &DecisionRow) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO decisions (number, city_code, status, plate, owner_name, violation_json, fine,
                                points, issued_on, fetched_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (number) DO UPDATE SET
            city_code = excluded.city_code, status = excluded.status, plate = excluded.plate,
            owner_name = excluded.owner_name, violation_json = excluded.violation_json,
            fine = excluded.fine, points = excluded.points, issued_on = excluded.issued_on,
            fetched_at = excluded.fetched_at",
        &copy_params(d),
    )?;
    Ok(())
}

/// Bring a kept copy up to date with the authority's record; a decision not kept is left alone
/// (the platform keeps only decisions someone looked up). True when a copy was updated.
pub fn refresh_decision(c: &dyn Sql, d: &DecisionRow) -> Result<bool, StoreError> {
    let changed = c.execute(
        "UPDATE decisions SET city_code = $2, status = $3, plate = $4, owner_name = $5,
                violation_json = $6, fine = $7, points = $8, issued_on = $9, fetched_at = $10
         WHERE number = $1",
        &copy_params(d),
    )?;
    Ok(changed > 0)
}

/// The kept copy of a decision. A revocation heard from the feed wins over the copy's own status,
/// whichever was written last (see `record_revocation`).
pub fn find_decision(c: &dyn Sql, number: &str) -> Result<Option<DecisionRow>, StoreError> {
    c.query_opt(
        "SELECT d.number, d.city_code,
                CASE WHEN r.number IS NULL THEN d.status ELSE 'revoked' END AS status,
                d.plate, d.owner_name, d.violation_json, d.fine, d.points, d.issued_on, d.fetched_at
         FROM decisions d LEFT JOIN decision_revocations r ON r.number = d.number
         WHERE d.number = $1",
        params![number],
    )?
    .map(|r| {
        Ok(DecisionRow {
            number: r.text("number")?,
            city_code: r.text("city_code")?,
            status: r.named("status", DecisionStatus::parse)?,
            plate: r.text("plate")?,
            owner_name: r.text("owner_name")?,
            violation_json: r.text("violation_json")?,
            fine: r.fen("fine")?,
            points: r.int("points")?,
            issued_on: r.text("issued_on")?,
            fetched_at: r.text("fetched_at")?,
        })
    })
    .transpose()
}

/// Remember that the authority revoked `number`, kept copy or not. Idempotent.
pub fn record_revocation(c: &dyn Sql, number: &str, now: &str) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO decision_revocations (number, revoked_at) VALUES ($1, $2)
         ON CONFLICT (number) DO NOTHING",
        params![number, now],
    )?;
    Ok(())
}
