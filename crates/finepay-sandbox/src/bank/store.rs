//! The sandbox bank's own SQLite file: schema and one small function per statement.
//!
//! Architecture Invariant: only the sandbox opens this file. The platform knows the bank through
//! HTTP alone, as it would a real bank.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

/// Bumped with every schema change; `migrate` brings an older file up to it.
const SCHEMA_VERSION: i32 = 1;

/// Waits this long for another connection to the same file (e.g. a second sandbox in a test).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const SCHEMA_V1: &str = "
CREATE TABLE cards (
    token       TEXT PRIMARY KEY,
    number      TEXT NOT NULL UNIQUE,
    bank        TEXT NOT NULL,
    holder_name TEXT NOT NULL,
    linked_at   TEXT NOT NULL
);
CREATE TABLE charges (
    reference   TEXT PRIMARY KEY,
    card_token  TEXT NOT NULL,
    card_number TEXT,
    amount_fen  INTEGER NOT NULL CHECK (amount_fen > 0),
    status      TEXT NOT NULL CHECK (status IN ('succeeded', 'declined')),
    reason      TEXT,
    created_at  TEXT NOT NULL,
    CHECK ((status = 'declined') = (reason IS NOT NULL))
);
CREATE INDEX charges_by_card ON charges (card_number);
CREATE TABLE refunds (
    refund_reference TEXT PRIMARY KEY,
    charge_reference TEXT NOT NULL REFERENCES charges (reference),
    amount_fen       INTEGER NOT NULL CHECK (amount_fen > 0),
    created_at       TEXT NOT NULL
);
CREATE INDEX refunds_by_charge ON refunds (charge_reference);
-- One row per card whose one-time fault (SPEC section 6) has fired: kept here so that a restarted
-- sandbox does not fire it again.
CREATE TABLE faults_fired (
    card_number TEXT PRIMARY KEY,
    fired_at    TEXT NOT NULL
);
";

/// A linked card as the sandbox keeps it (the number stays inside the sandbox).
#[derive(Debug, Clone)]
pub(crate) struct CardRow {
    pub token: String,
    pub number: String,
    pub bank: String,
}

/// How a charge ended when it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChargeOutcome {
    Succeeded,
    Declined { reason: String },
}

#[derive(Debug, Clone)]
pub(crate) struct ChargeRow {
    pub reference: String,
    pub card_token: String,
    pub amount_fen: i64,
    pub outcome: ChargeOutcome,
    /// Sum of the refunds of this charge; never above `amount_fen`.
    pub refunded_fen: i64,
    pub created_at: DateTime<Utc>,
}

/// A charge about to be recorded.
pub(crate) struct NewCharge<'a> {
    pub reference: &'a str,
    pub card_token: &'a str,
    /// `None` when the token is unknown: the attempt is still recorded, as declined.
    pub card_number: Option<&'a str>,
    pub amount_fen: i64,
    pub outcome: ChargeOutcome,
}

#[derive(Debug, Clone)]
pub(crate) struct RefundRow {
    pub refund_reference: String,
    pub charge_reference: String,
    pub amount_fen: i64,
    pub created_at: DateTime<Utc>,
}

/// Opens (creating if needed) the file in WAL mode with full fsync: an answered charge is on disk.
pub(crate) fn open(path: &Path) -> rusqlite::Result<Connection> {
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    migrate(&mut conn)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let version: i32 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if version < 1 {
        tx.execute_batch(SCHEMA_V1)?;
    }
    if version < SCHEMA_VERSION {
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    }
    tx.commit()
}

pub(crate) fn find_card_by_number(
    conn: &Connection,
    number: &str,
) -> rusqlite::Result<Option<CardRow>> {
    conn.query_row(
        "SELECT token, number, bank FROM cards WHERE number = ?1",
        [number],
        card_row,
    )
    .optional()
}

pub(crate) fn find_card_by_token(
    conn: &Connection,
    token: &str,
) -> rusqlite::Result<Option<CardRow>> {
    conn.query_row(
        "SELECT token, number, bank FROM cards WHERE token = ?1",
        [token],
        card_row,
    )
    .optional()
}

pub(crate) fn insert_card(
    conn: &Connection,
    card: &CardRow,
    holder_name: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO cards (token, number, bank, holder_name, linked_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![card.token, card.number, card.bank, holder_name, Utc::now()],
    )?;
    Ok(())
}

fn card_row(row: &Row<'_>) -> rusqlite::Result<CardRow> {
    Ok(CardRow {
        token: row.get(0)?,
        number: row.get(1)?,
        bank: row.get(2)?,
    })
}

const CHARGE_COLUMNS: &str = "c.reference, c.card_token, c.amount_fen, c.status, c.reason,
    (SELECT COALESCE(SUM(r.amount_fen), 0) FROM refunds r WHERE r.charge_reference = c.reference),
    c.created_at";

pub(crate) fn find_charge(
    conn: &Connection,
    reference: &str,
) -> rusqlite::Result<Option<ChargeRow>> {
    let sql = format!("SELECT {CHARGE_COLUMNS} FROM charges c WHERE c.reference = ?1");
    conn.query_row(&sql, [reference], charge_row).optional()
}

/// Every charge attempt on the card number, oldest first.
pub(crate) fn charges_on_card(conn: &Connection, number: &str) -> rusqlite::Result<Vec<ChargeRow>> {
    let sql =
        format!("SELECT {CHARGE_COLUMNS} FROM charges c WHERE c.card_number = ?1 ORDER BY c.rowid");
    let mut statement = conn.prepare(&sql)?;
    let rows = statement.query_map([number], charge_row)?;
    rows.collect()
}

pub(crate) fn insert_charge(conn: &Connection, charge: &NewCharge<'_>) -> rusqlite::Result<()> {
    let (status, reason) = match &charge.outcome {
        ChargeOutcome::Succeeded => ("succeeded", None),
        ChargeOutcome::Declined { reason } => ("declined", Some(reason.as_str())),
    };
    conn.execute(
        "INSERT INTO charges (reference, card_token, card_number, amount_fen, status, reason, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            charge.reference,
            charge.card_token,
            charge.card_number,
            charge.amount_fen,
            status,
            reason,
            Utc::now()
        ],
    )?;
    Ok(())
}

fn charge_row(row: &Row<'_>) -> rusqlite::Result<ChargeRow> {
    let status: String = row.get(3)?;
    let outcome = match status.as_str() {
        "succeeded" => ChargeOutcome::Succeeded,
        _ => ChargeOutcome::Declined {
            reason: row.get::<_, Option<String>>(4)?.unwrap_or_default(),
        },
    };
    Ok(ChargeRow {
        reference: row.get(0)?,
        card_token: row.get(1)?,
        amount_fen: row.get(2)?,
        outcome,
        refunded_fen: row.get(5)?,
        created_at: row.get(6)?,
    })
}

/// Marks the card's one-time fault as fired; true when this call is the one that fired it.
pub(crate) fn claim_fault(conn: &Connection, card_number: &str) -> rusqlite::Result<bool> {
    let inserted = conn.execute(
        "INSERT OR IGNORE INTO faults_fired (card_number, fired_at) VALUES (?1, ?2)",
        params![card_number, Utc::now()],
    )?;
    Ok(inserted == 1)
}

pub(crate) fn find_refund(
    conn: &Connection,
    refund_reference: &str,
) -> rusqlite::Result<Option<RefundRow>> {
    conn.query_row(
        "SELECT refund_reference, charge_reference, amount_fen, created_at FROM refunds
         WHERE refund_reference = ?1",
        [refund_reference],
        |row| {
            Ok(RefundRow {
                refund_reference: row.get(0)?,
                charge_reference: row.get(1)?,
                amount_fen: row.get(2)?,
                created_at: row.get(3)?,
            })
        },
    )
    .optional()
}

pub(crate) fn insert_refund(conn: &Connection, refund: &RefundRow) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO refunds (refund_reference, charge_reference, amount_fen, created_at)
         VALUES (?1, ?2, ?3, ?4)",
        params![
            refund.refund_reference,
            refund.charge_reference,
            refund.amount_fen,
            refund.created_at
        ],
    )?;
    Ok(())
}
