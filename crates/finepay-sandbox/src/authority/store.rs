//! The sandbox authority's own SQLite schema and queries.
//!
//! Every function takes a `&Connection` (or a transaction, which derefs to one) and does one thing;
//! the callers in `mod.rs` open the transactions. Times are stored as RFC 3339 UTC text with
//! microseconds (fixed width, so text order is time order), dates as `YYYY-MM-DD`.

use super::SandboxError;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use finepay_authority::protocol::{AuthorityEvent, EventKind, RecordStatus};
use rusqlite::{params, Connection, OptionalExtension, Params, Row};

/// `execute` and `query_row` through the connection's statement cache: the notice and lookup
/// paths run thousands of times a second under the benchmark, and re-preparing each statement was
/// a visible share of the process's CPU.
trait Cached {
    fn exec_cached<P: Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
    fn row_cached<T, P: Params, F: FnOnce(&Row<'_>) -> rusqlite::Result<T>>(
        &self,
        sql: &str,
        params: P,
        f: F,
    ) -> rusqlite::Result<T>;
}

impl Cached for Connection {
    fn exec_cached<P: Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn row_cached<T, P: Params, F: FnOnce(&Row<'_>) -> rusqlite::Result<T>>(
        &self,
        sql: &str,
        params: P,
        f: F,
    ) -> rusqlite::Result<T> {
        self.prepare_cached(sql)?.query_row(params, f)
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS vehicles (
    plate           TEXT PRIMARY KEY,
    vin             TEXT NOT NULL,
    owner_name      TEXT NOT NULL,
    owner_id_number TEXT NOT NULL,
    city_code       TEXT NOT NULL,
    registered_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS violations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    city_code   TEXT NOT NULL,
    plate       TEXT NOT NULL REFERENCES vehicles(plate),
    code        TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    location    TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS violations_by_plate ON violations(plate);
CREATE TABLE IF NOT EXISTS decisions (
    number          TEXT PRIMARY KEY,
    violation_id    INTEGER NOT NULL UNIQUE REFERENCES violations(id),
    city_code       TEXT NOT NULL,
    fine_fen        INTEGER NOT NULL CHECK (fine_fen > 0),
    points          INTEGER NOT NULL,
    issued_on       TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('unpaid', 'paid', 'revoked')),
    licence_number  TEXT NOT NULL,
    payment_id      TEXT UNIQUE,
    paid_amount_fen INTEGER,
    paid_at         TEXT,
    revoked_at      TEXT
);
CREATE TABLE IF NOT EXISTS notices (
    payment_id      TEXT PRIMARY KEY,
    decision_number TEXT NOT NULL REFERENCES decisions(number),
    city_code       TEXT NOT NULL,
    amount_fen      INTEGER NOT NULL,
    paid_at         TEXT NOT NULL,
    paid_on         TEXT NOT NULL,
    accepted_at     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notices_by_day ON notices(city_code, paid_on);
CREATE INDEX IF NOT EXISTS notices_by_day_and_payment ON notices(city_code, paid_on, payment_id);
-- A payment recorded a second time (the `duplicate` tamper of SPEC §4): the authority's books gone
-- wrong, for reconciliation tests.
CREATE TABLE IF NOT EXISTS notice_copies (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_id      TEXT NOT NULL,
    decision_number TEXT NOT NULL,
    city_code       TEXT NOT NULL,
    amount_fen      INTEGER NOT NULL,
    paid_at         TEXT NOT NULL,
    paid_on         TEXT NOT NULL,
    accepted_at     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notice_copies_by_day ON notice_copies(city_code, paid_on, payment_id);
-- What accepted settlement files settled: each payment and each refund once.
CREATE TABLE IF NOT EXISTS settled_lines (
    kind       TEXT NOT NULL,
    payment_id TEXT NOT NULL,
    batch_id   TEXT NOT NULL,
    PRIMARY KEY (kind, payment_id)
);
-- Settlement files received and the verdict given (a file sent again is answered the same).
CREATE TABLE IF NOT EXISTS settlements (
    batch_id    TEXT PRIMARY KEY,
    city_code   TEXT NOT NULL,
    date        TEXT NOT NULL,
    net_fen     INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    result      TEXT NOT NULL,
    problems    TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS notice_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_id      TEXT NOT NULL,
    decision_number TEXT NOT NULL,
    city_code       TEXT NOT NULL,
    received_at     TEXT NOT NULL,
    outcome         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_by_payment ON notice_deliveries(payment_id);
CREATE INDEX IF NOT EXISTS deliveries_by_decision ON notice_deliveries(decision_number);
CREATE INDEX IF NOT EXISTS decisions_by_licence ON decisions(licence_number);
CREATE TABLE IF NOT EXISTS events (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    city_code       TEXT NOT NULL,
    kind            TEXT NOT NULL,
    plate           TEXT NOT NULL,
    violation_id    INTEGER NOT NULL,
    decision_number TEXT,
    at              TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_city ON events(city_code, seq);
CREATE TABLE IF NOT EXISTS modes (
    city_code TEXT PRIMARY KEY,
    mode      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS serial_counters (
    city_code   TEXT PRIMARY KEY,
    last_serial INTEGER NOT NULL
);
";

/// Open settings and schema. WAL so that reads never wait for the writer; `synchronous=NORMAL` is
/// durable across process crashes in WAL mode, which is all a sandbox needs.
pub(super) fn prepare(conn: &Connection) -> Result<(), SandboxError> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.set_prepared_statement_cache_capacity(64);
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.execute_batch(SCHEMA)?;
    Ok(())
}

/// Text form of a time, fixed width.
pub(super) fn time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(super) fn parse_time(s: &str) -> Result<DateTime<Utc>, SandboxError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| SandboxError::Corrupt(format!("time {s:?}: {e}")))
}

pub(super) fn parse_date(s: &str) -> Result<NaiveDate, SandboxError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| SandboxError::Corrupt(format!("date {s:?}: {e}")))
}

/// A row of `vehicles`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct VehicleRow {
    pub plate: String,
    pub vin: String,
    pub owner_name: String,
    pub owner_id_number: String,
    pub city_code: String,
}

pub(super) fn find_vehicle(
    conn: &Connection,
    plate: &str,
) -> Result<Option<VehicleRow>, SandboxError> {
    let row = conn
        .row_cached(
            "SELECT plate, vin, owner_name, owner_id_number, city_code FROM vehicles WHERE plate = ?1",
            [plate],
            |r| {
                Ok(VehicleRow {
                    plate: r.get(0)?,
                    vin: r.get(1)?,
                    owner_name: r.get(2)?,
                    owner_id_number: r.get(3)?,
                    city_code: r.get(4)?,
                })
            },
        )
        .optional()?;
    Ok(row)
}

pub(super) fn insert_vehicle(
    conn: &Connection,
    v: &VehicleRow,
    now: DateTime<Utc>,
) -> Result<(), SandboxError> {
    conn.exec_cached(
        "INSERT INTO vehicles (plate, vin, owner_name, owner_id_number, city_code, registered_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            v.plate,
            v.vin,
            v.owner_name,
            v.owner_id_number,
            v.city_code,
            time_text(now)
        ],
    )?;
    Ok(())
}

/// A row of `violations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ViolationRow {
    pub id: i64,
    pub city_code: String,
    pub plate: String,
    pub code: String,
    pub occurred_at: DateTime<Utc>,
    pub location: String,
}

pub(super) fn insert_violation(
    conn: &Connection,
    v: &ViolationRow,
    now: DateTime<Utc>,
) -> Result<i64, SandboxError> {
    conn.exec_cached(
        "INSERT INTO violations (city_code, plate, code, occurred_at, location, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            v.city_code,
            v.plate,
            v.code,
            time_text(v.occurred_at),
            v.location,
            time_text(now)
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

pub(super) fn find_violation(
    conn: &Connection,
    id: i64,
) -> Result<Option<ViolationRow>, SandboxError> {
    let row = conn
        .row_cached(
            "SELECT id, city_code, plate, code, occurred_at, location FROM violations WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ))
            },
        )
        .optional()?;
    row.map(|(id, city_code, plate, code, occurred_at, location)| {
        Ok(ViolationRow {
            id,
            city_code,
            plate,
            code,
            occurred_at: parse_time(&occurred_at)?,
            location,
        })
    })
    .transpose()
}

pub(super) fn violation_has_decision(
    conn: &Connection,
    violation_id: i64,
) -> Result<bool, SandboxError> {
    let n: i64 = conn.row_cached(
        "SELECT COUNT(*) FROM decisions WHERE violation_id = ?1",
        [violation_id],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

/// Take the next serial of a city's decision numbers (1, 2, ...). Call inside a transaction.
pub(super) fn next_serial(conn: &Connection, city_code: &str) -> Result<i64, SandboxError> {
    conn.exec_cached(
        "INSERT INTO serial_counters (city_code, last_serial) VALUES (?1, 1)
         ON CONFLICT (city_code) DO UPDATE SET last_serial = last_serial + 1",
        [city_code],
    )?;
    let serial = conn.row_cached(
        "SELECT last_serial FROM serial_counters WHERE city_code = ?1",
        [city_code],
        |r| r.get(0),
    )?;
    Ok(serial)
}

/// A new row of `decisions`.
pub(super) struct NewDecisionRow<'a> {
    pub number: &'a str,
    pub violation_id: i64,
    pub city_code: &'a str,
    pub fine_fen: i64,
    pub points: u8,
    pub issued_on: NaiveDate,
    /// Whose licence takes the points: the handler's ID number, or the owner's.
    pub licence_number: &'a str,
}

pub(super) fn insert_decision(
    conn: &Connection,
    d: &NewDecisionRow<'_>,
) -> Result<(), SandboxError> {
    conn.exec_cached(
        "INSERT INTO decisions
             (number, violation_id, city_code, fine_fen, points, issued_on, status, licence_number)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'unpaid', ?7)",
        params![
            d.number,
            d.violation_id,
            d.city_code,
            d.fine_fen,
            d.points,
            d.issued_on.to_string(),
            d.licence_number
        ],
    )?;
    Ok(())
}

/// A decision joined with its violation and vehicle: everything a lookup shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DecisionRow {
    pub number: String,
    pub status: RecordStatus,
    pub city_code: String,
    pub fine_fen: i64,
    pub points: u8,
    pub issued_on: NaiveDate,
    pub payment_id: Option<String>,
    pub paid_amount_fen: Option<i64>,
    pub paid_at: Option<DateTime<Utc>>,
    pub violation: ViolationRow,
    pub owner_name: String,
}

const DECISION_SELECT: &str = "
SELECT d.number, d.status, d.city_code, d.fine_fen, d.points, d.issued_on,
       d.payment_id, d.paid_amount_fen, d.paid_at,
       v.id, v.city_code, v.plate, v.code, v.occurred_at, v.location,
       h.owner_name
FROM decisions d
JOIN violations v ON v.id = d.violation_id
JOIN vehicles h ON h.plate = v.plate
WHERE d.number = ?1";

/// The raw text columns of a decision row, converted after the query so that conversion errors are
/// ours (`Corrupt`) and not rusqlite's.
type RawDecision = (
    (String, String, String, i64, u8, String),
    (Option<String>, Option<i64>, Option<String>),
    (i64, String, String, String, String, String),
    String,
);

fn read_raw_decision(r: &Row<'_>) -> rusqlite::Result<RawDecision> {
    Ok((
        (
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
        ),
        (r.get(6)?, r.get(7)?, r.get(8)?),
        (
            r.get(9)?,
            r.get(10)?,
            r.get(11)?,
            r.get(12)?,
            r.get(13)?,
            r.get(14)?,
        ),
        r.get(15)?,
    ))
}

pub(super) fn find_decision(
    conn: &Connection,
    number: &str,
) -> Result<Option<DecisionRow>, SandboxError> {
    let raw = conn
        .row_cached(DECISION_SELECT, [number], read_raw_decision)
        .optional()?;
    raw.map(decision_from_raw).transpose()
}

fn decision_from_raw(raw: RawDecision) -> Result<DecisionRow, SandboxError> {
    let ((number, status, city_code, fine_fen, points, issued_on), paid, violation, owner_name) =
        raw;
    let (payment_id, paid_amount_fen, paid_at) = paid;
    let (vid, vcity, plate, code, occurred_at, location) = violation;
    Ok(DecisionRow {
        status: RecordStatus::parse(&status).ok_or_else(|| {
            SandboxError::Corrupt(format!("decision {number}: status {status:?}"))
        })?,
        number,
        city_code,
        fine_fen,
        points,
        issued_on: parse_date(&issued_on)?,
        payment_id,
        paid_amount_fen,
        paid_at: paid_at.as_deref().map(parse_time).transpose()?,
        violation: ViolationRow {
            id: vid,
            city_code: vcity,
            plate,
            code,
            occurred_at: parse_time(&occurred_at)?,
            location,
        },
        owner_name,
    })
}

/// `unpaid → paid` with the accepted payment. Returns whether the row changed (the status guard
/// makes a lost race visible instead of overwriting another payment).
pub(super) fn mark_paid(
    conn: &Connection,
    number: &str,
    payment_id: &str,
    amount_fen: i64,
    paid_at: DateTime<Utc>,
) -> Result<bool, SandboxError> {
    let changed = conn.exec_cached(
        "UPDATE decisions SET status = 'paid', payment_id = ?2, paid_amount_fen = ?3, paid_at = ?4
         WHERE number = ?1 AND status = 'unpaid'",
        params![number, payment_id, amount_fen, time_text(paid_at)],
    )?;
    Ok(changed == 1)
}

/// `unpaid | paid → revoked`. Returns whether the row changed.
pub(super) fn mark_revoked(
    conn: &Connection,
    number: &str,
    now: DateTime<Utc>,
) -> Result<bool, SandboxError> {
    let changed = conn.exec_cached(
        "UPDATE decisions SET status = 'revoked', revoked_at = ?2
         WHERE number = ?1 AND status IN ('unpaid', 'paid')",
        params![number, time_text(now)],
    )?;
    Ok(changed == 1)
}

/// The decision an accepted notice with this payment id paid, if any.
pub(super) fn accepted_notice_decision(
    conn: &Connection,
    payment_id: &str,
) -> Result<Option<String>, SandboxError> {
    let number = conn
        .row_cached(
            "SELECT decision_number FROM notices WHERE payment_id = ?1",
            [payment_id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(number)
}

/// A new row of `notices`.
pub(super) struct AcceptedNoticeRow<'a> {
    pub payment_id: &'a str,
    pub decision_number: &'a str,
    pub city_code: &'a str,
    pub amount_fen: i64,
    pub paid_at: DateTime<Utc>,
    pub paid_on: NaiveDate,
}

pub(super) fn insert_notice(
    conn: &Connection,
    n: &AcceptedNoticeRow<'_>,
    now: DateTime<Utc>,
) -> Result<(), SandboxError> {
    conn.exec_cached(
        "INSERT INTO notices (payment_id, decision_number, city_code, amount_fen, paid_at, paid_on, accepted_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            n.payment_id,
            n.decision_number,
            n.city_code,
            n.amount_fen,
            time_text(n.paid_at),
            n.paid_on.to_string(),
            time_text(now)
        ],
    )?;
    Ok(())
}

/// Record that a notice arrived, whatever became of it.
pub(super) fn insert_delivery(
    conn: &Connection,
    payment_id: &str,
    decision_number: &str,
    city_code: &str,
    outcome: &str,
    now: DateTime<Utc>,
) -> Result<(), SandboxError> {
    conn.exec_cached(
        "INSERT INTO notice_deliveries (payment_id, decision_number, city_code, received_at, outcome)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![payment_id, decision_number, city_code, time_text(now), outcome],
    )?;
    Ok(())
}

pub(super) fn count_deliveries_for_payment(
    conn: &Connection,
    payment_id: &str,
) -> Result<u32, SandboxError> {
    let n: u32 = conn.row_cached(
        "SELECT COUNT(*) FROM notice_deliveries WHERE payment_id = ?1",
        [payment_id],
        |r| r.get(0),
    )?;
    Ok(n)
}

pub(super) fn count_deliveries_for_decision(
    conn: &Connection,
    number: &str,
) -> Result<u32, SandboxError> {
    let n: u32 = conn.row_cached(
        "SELECT COUNT(*) FROM notice_deliveries WHERE decision_number = ?1",
        [number],
        |r| r.get(0),
    )?;
    Ok(n)
}

/// A row of `notices`, times still as text.
pub(super) struct NoticeRow {
    pub payment_id: String,
    pub decision_number: String,
    pub amount_fen: i64,
    pub paid_at: String,
    pub accepted_at: String,
}

/// A `notices` row selected as `payment_id, decision_number, amount_fen, paid_at, accepted_at`.
fn notice_row(r: &Row<'_>) -> rusqlite::Result<NoticeRow> {
    Ok(NoticeRow {
        payment_id: r.get(0)?,
        decision_number: r.get(1)?,
        amount_fen: r.get(2)?,
        paid_at: r.get(3)?,
        accepted_at: r.get(4)?,
    })
}

/// Accepted notices of one city whose payment fell on `paid_on`, in order of payment time.
pub(super) fn notices_of_day(
    conn: &Connection,
    city_code: &str,
    paid_on: NaiveDate,
) -> Result<Vec<NoticeRow>, SandboxError> {
    let mut stmt = conn.prepare_cached(
        "SELECT payment_id, decision_number, amount_fen, paid_at, accepted_at FROM notices
         WHERE city_code = ?1 AND paid_on = ?2 ORDER BY paid_at, payment_id",
    )?;
    let rows = stmt
        .query_map(params![city_code, paid_on.to_string()], notice_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub(super) fn read_mode(
    conn: &Connection,
    city_code: &str,
) -> Result<Option<String>, SandboxError> {
    let mode = conn
        .row_cached(
            "SELECT mode FROM modes WHERE city_code = ?1",
            [city_code],
            |r| r.get(0),
        )
        .optional()?;
    Ok(mode)
}

pub(super) fn write_mode(
    conn: &Connection,
    city_code: &str,
    mode: &str,
) -> Result<(), SandboxError> {
    conn.exec_cached(
        "INSERT INTO modes (city_code, mode) VALUES (?1, ?2)
         ON CONFLICT (city_code) DO UPDATE SET mode = excluded.mode",
        params![city_code, mode],
    )?;
    Ok(())
}

/// Forget every fault injection: a restarted sandbox is a recovered authority.
pub(super) fn reset_modes(conn: &Connection) -> Result<(), SandboxError> {
    conn.exec_cached("DELETE FROM modes", [])?;
    Ok(())
}

/// Append to the event feed.
pub(super) fn insert_event(
    conn: &Connection,
    kind: EventKind,
    violation: &ViolationRow,
    decision_number: Option<&str>,
    now: DateTime<Utc>,
) -> Result<i64, SandboxError> {
    conn.exec_cached(
        "INSERT INTO events (city_code, kind, plate, violation_id, decision_number, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            violation.city_code,
            kind.as_str(),
            violation.plate,
            violation.id,
            decision_number,
            time_text(now)
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// A city's events after `after`, oldest first.
pub(super) fn events_after(
    conn: &Connection,
    city_code: &str,
    after: i64,
    limit: u32,
) -> Result<Vec<AuthorityEvent>, SandboxError> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, kind, plate, violation_id, decision_number, at FROM events
         WHERE city_code = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
    )?;
    let raw = stmt
        .query_map(params![city_code, after, limit], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    raw.into_iter()
        .map(|(seq, kind, plate, violation_id, decision_number, at)| {
            Ok(AuthorityEvent {
                seq,
                kind: EventKind::parse(&kind)
                    .ok_or_else(|| SandboxError::Corrupt(format!("event kind {kind:?}")))?,
                city_code: city_code.to_owned(),
                plate,
                violation_id: violation_id.to_string(),
                decision_number,
                decision: None,
                at: parse_time(&at)?,
            })
        })
        .collect()
}

/// A violation with its decision's number and state, if handled.
pub(super) struct PlateViolationRow {
    pub violation: ViolationRow,
    pub decision: Option<(String, RecordStatus)>,
}

/// Every violation a city recorded for a plate, newest first.
pub(super) fn violations_of_plate(
    conn: &Connection,
    city_code: &str,
    plate: &str,
) -> Result<Vec<PlateViolationRow>, SandboxError> {
    let mut stmt = conn.prepare_cached(
        "SELECT v.id, v.code, v.occurred_at, v.location, d.number, d.status
         FROM violations v LEFT JOIN decisions d ON d.violation_id = v.id
         WHERE v.city_code = ?1 AND v.plate = ?2 ORDER BY v.occurred_at DESC, v.id DESC",
    )?;
    let raw = stmt
        .query_map(params![city_code, plate], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    raw.into_iter()
        .map(|(id, code, occurred_at, location, number, status)| {
            let decision = match (number, status) {
                (Some(number), Some(status)) => Some((
                    number,
                    RecordStatus::parse(&status)
                        .ok_or_else(|| SandboxError::Corrupt(format!("status {status:?}")))?,
                )),
                _ => None,
            };
            Ok(PlateViolationRow {
                violation: ViolationRow {
                    id,
                    city_code: city_code.to_owned(),
                    plate: plate.to_owned(),
                    code,
                    occurred_at: parse_time(&occurred_at)?,
                    location,
                },
                decision,
            })
        })
        .collect()
}

/// Points a city put on a licence with decisions issued between two days, revoked ones excluded.
pub(super) fn licence_points(
    conn: &Connection,
    city_code: &str,
    licence_number: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<u32, SandboxError> {
    let points: u32 = conn.row_cached(
        "SELECT COALESCE(SUM(points), 0) FROM decisions
         WHERE city_code = ?1 AND licence_number = ?2 AND status <> 'revoked'
           AND issued_on >= ?3 AND issued_on <= ?4",
        params![city_code, licence_number, from.to_string(), to.to_string()],
        |r| r.get(0),
    )?;
    Ok(points)
}

/// One page of a day's records in payment id order (copies included), after `after`, at most
/// `limit` records of `notices` and every copy among them, so the copies of one payment never
/// straddle two pages. Also says whether more follow. Each query walks an index from `after`
/// (`notices_by_day_and_payment`, `notice_copies_by_day`): a page costs the same at the end of
/// a million-record day as at its start.
pub(super) fn notices_page(
    conn: &Connection,
    city_code: &str,
    paid_on: NaiveDate,
    after: &str,
    limit: u32,
) -> Result<(Vec<NoticeRow>, bool), SandboxError> {
    let day = paid_on.to_string();
    let mut originals: Vec<NoticeRow> = conn
        .prepare_cached(
            "SELECT payment_id, decision_number, amount_fen, paid_at, accepted_at FROM notices
             WHERE city_code = ?1 AND paid_on = ?2 AND payment_id > ?3
             ORDER BY payment_id LIMIT ?4",
        )?
        .query_map(
            params![city_code, day, after, i64::from(limit) + 1],
            notice_row,
        )?
        .collect::<Result<_, _>>()?;
    let more = originals.len() > limit as usize;
    originals.truncate(limit as usize);
    // The page ends at its last original when more follow; else it runs to the end of the day.
    let last = if more {
        originals.last().map(|r| r.payment_id.clone())
    } else {
        None
    };
    let copies: Vec<NoticeRow> = conn
        .prepare_cached(
            "SELECT payment_id, decision_number, amount_fen, paid_at, accepted_at FROM notice_copies
             WHERE city_code = ?1 AND paid_on = ?2 AND payment_id > ?3
               AND (?4 IS NULL OR payment_id <= ?4)
             ORDER BY payment_id, id",
        )?
        .query_map(params![city_code, day, after, last], notice_row)?
        .collect::<Result<_, _>>()?;
    if copies.is_empty() {
        return Ok((originals, more));
    }
    // Merge by payment id; a copy goes after its original.
    let mut merged = Vec::with_capacity(originals.len() + copies.len());
    let mut copies = copies.into_iter().peekable();
    for original in originals {
        while copies
            .peek()
            .is_some_and(|c| c.payment_id < original.payment_id)
        {
            merged.extend(copies.next());
        }
        let id = original.payment_id.clone();
        merged.push(original);
        while copies.peek().is_some_and(|c| c.payment_id == id) {
            merged.extend(copies.next());
        }
    }
    merged.extend(copies);
    Ok((merged, more))
}

/// The accepted notice of a payment id: (decision number, city, amount, paid on).
pub(super) fn notice_of_payment(
    conn: &Connection,
    payment_id: &str,
) -> Result<Option<(String, String, i64, String)>, SandboxError> {
    Ok(conn
        .row_cached(
            "SELECT decision_number, city_code, amount_fen, paid_on FROM notices
             WHERE payment_id = ?1",
            [payment_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?)
}

/// The batch that settled (kind, payment id) before, if one did.
pub(super) fn settled_in(
    conn: &Connection,
    kind: &str,
    payment_id: &str,
) -> Result<Option<String>, SandboxError> {
    Ok(conn
        .row_cached(
            "SELECT batch_id FROM settled_lines WHERE kind = ?1 AND payment_id = ?2",
            [kind, payment_id],
            |r| r.get(0),
        )
        .optional()?)
}

/// Records what an accepted file settled.
pub(super) fn insert_settled(
    conn: &Connection,
    kind: &str,
    payment_id: &str,
    batch_id: &str,
) -> Result<(), SandboxError> {
    conn.exec_cached(
        "INSERT INTO settled_lines (kind, payment_id, batch_id) VALUES (?1, ?2, ?3)
         ON CONFLICT (kind, payment_id) DO NOTHING",
        params![kind, payment_id, batch_id],
    )?;
    Ok(())
}

/// `forget`: the accepted notice of a paid decision is dropped and the decision is unpaid again.
pub(super) fn forget_payment(conn: &Connection, number: &str) -> Result<bool, SandboxError> {
    conn.exec_cached(
        "DELETE FROM notices WHERE decision_number = ?1
         AND payment_id = (SELECT payment_id FROM decisions WHERE number = ?1 AND status = 'paid')",
        [number],
    )?;
    let changed = conn.exec_cached(
        "UPDATE decisions SET status = 'unpaid', payment_id = NULL, paid_amount_fen = NULL,
         paid_at = NULL WHERE number = ?1 AND status = 'paid'",
        [number],
    )?;
    Ok(changed == 1)
}

/// `duplicate`: the accepted notice of a paid decision is recorded a second time.
pub(super) fn duplicate_payment(conn: &Connection, number: &str) -> Result<bool, SandboxError> {
    let copied = conn.exec_cached(
        "INSERT INTO notice_copies (payment_id, decision_number, city_code, amount_fen, paid_at,
                                    paid_on, accepted_at)
         SELECT n.payment_id, n.decision_number, n.city_code, n.amount_fen, n.paid_at, n.paid_on,
                n.accepted_at
         FROM notices n JOIN decisions d ON d.payment_id = n.payment_id
         WHERE d.number = ?1 AND d.status = 'paid'",
        [number],
    )?;
    Ok(copied == 1)
}

/// `set_amount`: the recorded amount of a paid decision's payment becomes `amount_fen`.
pub(super) fn set_paid_amount(
    conn: &Connection,
    number: &str,
    amount_fen: i64,
) -> Result<bool, SandboxError> {
    conn.exec_cached(
        "UPDATE notices SET amount_fen = ?2 WHERE payment_id =
         (SELECT payment_id FROM decisions WHERE number = ?1 AND status = 'paid')",
        params![number, amount_fen],
    )?;
    let changed = conn.exec_cached(
        "UPDATE decisions SET paid_amount_fen = ?2 WHERE number = ?1 AND status = 'paid'",
        params![number, amount_fen],
    )?;
    Ok(changed == 1)
}

/// The verdict already given on a batch: (result, problems as JSON).
pub(super) fn settlement_verdict(
    conn: &Connection,
    batch_id: &str,
) -> Result<Option<(String, String)>, SandboxError> {
    Ok(conn
        .row_cached(
            "SELECT result, problems FROM settlements WHERE batch_id = ?1",
            [batch_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// A settlement file received, with its verdict.
pub(super) struct SettlementRow<'a> {
    pub batch_id: &'a str,
    pub city_code: &'a str,
    pub date: NaiveDate,
    pub net_fen: i64,
    pub sha256: &'a str,
    pub result: &'a str,
    pub problems_json: &'a str,
}

pub(super) fn insert_settlement(
    conn: &Connection,
    s: &SettlementRow<'_>,
    now: DateTime<Utc>,
) -> Result<(), SandboxError> {
    conn.exec_cached(
        "INSERT INTO settlements (batch_id, city_code, date, net_fen, sha256, result, problems,
                                  received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (batch_id) DO NOTHING",
        params![
            s.batch_id,
            s.city_code,
            s.date.to_string(),
            s.net_fen,
            s.sha256,
            s.result,
            s.problems_json,
            time_text(now)
        ],
    )?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pages_walk_the_day_in_payment_id_order_and_keep_copies_with_their_original() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        // The records only: no decisions behind them.
        conn.pragma_update(None, "foreign_keys", "OFF").unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        let insert = |table: &str, id: &str, amount: i64| {
            conn.execute(
                &format!(
                    "INSERT INTO {table} (payment_id, decision_number, city_code, amount_fen,
                     paid_at, paid_on, accepted_at) VALUES (?1, 'd', '110000', ?2,
                     '2026-12-04T01:00:00Z', '2026-12-04', '2026-12-04T01:00:01Z')"
                ),
                params![id, amount],
            )
            .unwrap();
        };
        for id in ["pay_a", "pay_b", "pay_c", "pay_d", "pay_e"] {
            insert("notices", id, 1);
        }
        insert("notice_copies", "pay_b", 2);
        insert("notice_copies", "pay_b", 3);
        insert("notice_copies", "pay_d", 4);
        // A copy whose original was since forgotten, past the last original.
        insert("notice_copies", "pay_z", 5);
        // Another city and another day are not this page's.
        conn.execute(
            "INSERT INTO notices (payment_id, decision_number, city_code, amount_fen, paid_at,
             paid_on, accepted_at) VALUES ('pay_0', 'd', '310000', 1, 'x', '2026-12-04', 'x'),
             ('pay_00', 'd', '110000', 1, 'x', '2026-12-03', 'x')",
            [],
        )
        .unwrap();
        let page = |after: &str| {
            let (rows, more) = notices_page(&conn, "110000", day, after, 2).unwrap();
            let seen: Vec<(String, i64)> = rows
                .into_iter()
                .map(|r| (r.payment_id, r.amount_fen))
                .collect();
            (seen, more)
        };
        let ids = |v: &[(&str, i64)]| -> Vec<(String, i64)> {
            v.iter().map(|(i, a)| ((*i).to_owned(), *a)).collect()
        };
        assert_eq!(
            page(""),
            (
                ids(&[("pay_a", 1), ("pay_b", 1), ("pay_b", 2), ("pay_b", 3)]),
                true
            )
        );
        assert_eq!(
            page("pay_b"),
            (ids(&[("pay_c", 1), ("pay_d", 1), ("pay_d", 4)]), true)
        );
        assert_eq!(page("pay_d"), (ids(&[("pay_e", 1), ("pay_z", 5)]), false));
        assert_eq!(page("pay_z"), (Vec::new(), false));
    }
}
