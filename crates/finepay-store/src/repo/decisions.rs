//! The platform's snapshot of penalty decisions, so a decision already seen stays payable while its
//! authority is unreachable.

use crate::StoreError;
use rusqlite::{params, Connection, OptionalExtension};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionRow {
    pub number: String,
    pub city_code: String,
    pub status: String,
    pub plate: String,
    pub owner_name: String,
    pub violation_json: String,
    pub fine: i64,
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

pub fn upsert_decision(conn: &Connection, d: &DecisionRow) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO decisions (number, city_code, status, plate, owner_name, violation_json, fine,
                                points, issued_on, fetched_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (number) DO UPDATE SET
            city_code = excluded.city_code, status = excluded.status, plate = excluded.plate,
            owner_name = excluded.owner_name, violation_json = excluded.violation_json,
            fine = excluded.fine, points = excluded.points, issued_on = excluded.issued_on,
            fetched_at = excluded.fetched_at",
    )?
    .execute(params![
        d.number,
        d.city_code,
        d.status,
        d.plate,
        d.owner_name,
        d.violation_json,
        d.fine,
        d.points,
        d.issued_on,
        d.fetched_at
    ])?;
    Ok(())
}

pub fn find_decision(conn: &Connection, number: &str) -> Result<Option<DecisionRow>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT number, city_code, status, plate, owner_name, violation_json, fine, points,
                    issued_on, fetched_at
             FROM decisions WHERE number = ?1",
        )?
        .query_row([number], |r| {
            Ok(DecisionRow {
                number: r.get(0)?,
                city_code: r.get(1)?,
                status: r.get(2)?,
                plate: r.get(3)?,
                owner_name: r.get(4)?,
                violation_json: r.get(5)?,
                fine: r.get(6)?,
                points: r.get(7)?,
                issued_on: r.get(8)?,
                fetched_at: r.get(9)?,
            })
        })
        .optional()?)
}

pub fn set_decision_status(
    conn: &Connection,
    number: &str,
    status: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE decisions SET status = ?2 WHERE number = ?1")?
        .execute(params![number, status])?;
    Ok(())
}
