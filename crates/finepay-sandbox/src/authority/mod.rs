//! The sandbox authority: one server that plays the traffic authorities of the catalogue's cities.
//!
//! It is another organisation's system, simulated: it keeps its own state in its own SQLite file and
//! the platform reaches it only over HTTP, through [`finepay_authority::HttpAuthority`], with HMAC-signed
//! requests ([`SandboxAuthority::protocol_router`]). Tests and the demo drive it through the control
//! API of SPEC §4 ([`SandboxAuthority::control_router`]) or the direct Rust API below, which the
//! control routes call.
//!
//! **Architecture Invariant:** nothing here reads or writes the platform's tables, and nothing in
//! the platform reads these.
//!
//! Fault injection ([`Mode`]) applies to the protocol router only; the control API always works, so
//! a test can bring an authority back up. Modes are reset to `up` whenever the file is opened: a
//! restarted sandbox is a recovered authority, and a test never inherits another run's outage.

mod books;
mod control_api;
mod feed;
mod protocol_api;
mod services;
mod store;

pub use books::{Tamper, SETTLEMENT_HEADER};
pub use services::{
    HandlingRefused, MAX_EVENTS_PER_PAGE, ONLINE_HANDLING_MAX_FINE_FEN, ONLINE_HANDLING_MAX_POINTS,
};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Asia::Shanghai;
use finepay_authority::catalogue::{Catalogue, City, ViolationType};
use finepay_authority::protocol::{
    AcceptedNotice, DecisionRecord, EventKind, NoticeList, PaymentNotice, RecordStatus,
    ViolationRecord,
};
use finepay_domain::{charges_on, due_on, luhn_check_digit, Fen, IdNumber, Plate, PlateError};
use rusqlite::{Connection, TransactionBehavior};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use store::{AcceptedNoticeRow, DecisionRow, NewDecisionRow, VehicleRow, ViolationRow};

/// How the sandbox is set up.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The HMAC secret shared with the platform.
    pub secret: Vec<u8>,
    /// How long a `slow` authority waits before answering (SPEC: 5 s; tests use less).
    pub slow_delay: Duration,
}

impl SandboxConfig {
    /// SPEC's defaults: a `slow` authority answers after 5 s.
    pub fn new(secret: &[u8]) -> SandboxConfig {
        SandboxConfig {
            secret: secret.to_vec(),
            slow_delay: DEFAULT_SLOW_DELAY,
        }
    }
}

/// SPEC §4: `slow` answers every call after 5 s.
pub const DEFAULT_SLOW_DELAY: Duration = Duration::from_secs(5);

/// The largest serial a 9-digit field holds.
const MAX_SERIAL: i64 = 999_999_999;

/// Fault injection for one city's authority, as the platform sees it (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Normal.
    Up,
    /// Every call is answered 503 at once.
    Down,
    /// Every call is answered after the configured delay.
    Slow,
    /// About half of the calls are answered 503, at random, before anything is done.
    Flaky,
}

impl Mode {
    /// The name used in the control API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Up => "up",
            Mode::Down => "down",
            Mode::Slow => "slow",
            Mode::Flaky => "flaky",
        }
    }

    /// The mode named by [`Mode::as_str`].
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "up" => Some(Mode::Up),
            "down" => Some(Mode::Down),
            "slow" => Some(Mode::Slow),
            "flaky" => Some(Mode::Flaky),
            _ => None,
        }
    }
}

/// Why the sandbox refused a request or failed.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// A field is missing or malformed.
    #[error("{field}: {message}")]
    InvalidField {
        /// The request field.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The plate breaks SPEC's plate rules.
    #[error(transparent)]
    InvalidPlate(#[from] PlateError),
    /// A violation for a plate that is not in the vehicle register.
    #[error("the plate {0} is not in the vehicle register")]
    VehicleNotRegistered(String),
    /// A vehicle registered in a city whose plates start differently.
    #[error("the plate {plate} was not issued in {city_code}: plates there start with {prefix}")]
    PlateCityMismatch {
        /// The plate.
        plate: String,
        /// The city given.
        city_code: String,
        /// What that city's plates start with.
        prefix: String,
    },
    /// The plate is already registered with other details.
    #[error("the plate {0} is already registered with different details")]
    VehicleConflict(String),
    /// No such violation, decision or authority.
    #[error("no {what} {id}")]
    NotFound {
        /// "violation", "decision" or "authority".
        what: &'static str,
        /// The id asked for.
        id: String,
    },
    /// A violation can be handled only once.
    #[error("violation {0} already has a decision")]
    AlreadyDecided(String),
    /// A city has used every 9-digit serial.
    #[error("city {0} has no decision serials left")]
    SerialsExhausted(String),
    /// `tamper` on a decision with no payment record.
    #[error("decision {0} is not paid: there is no payment record to tamper with")]
    NotPaid(String),
    /// The database failed.
    #[error("sandbox database: {0}")]
    Database(#[from] rusqlite::Error),
    /// The database holds something this code never writes.
    #[error("sandbox database is corrupt: {0}")]
    Corrupt(String),
}

fn invalid(field: &'static str, message: impl Into<String>) -> SandboxError {
    SandboxError::InvalidField {
        field,
        message: message.into(),
    }
}

/// A vehicle to put in the register.
#[derive(Debug, Clone)]
pub struct NewVehicle {
    /// Plate as typed; normalised and validated.
    pub plate: String,
    /// 17-character vehicle identification number.
    pub vin: String,
    /// Registered owner's name.
    pub owner_name: String,
    /// Registered owner's resident ID number (18 characters, GB 11643).
    pub owner_id_number: String,
    /// The city where the vehicle is registered; the plate must carry that city's prefix.
    pub city_code: String,
}

/// A vehicle as the register holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vehicle {
    /// Normalised plate.
    pub plate: String,
    /// Upper-case VIN.
    pub vin: String,
    /// Owner's name.
    pub owner_name: String,
    /// Owner's ID number, upper case.
    pub owner_id_number: String,
    /// Registration city.
    pub city_code: String,
}

/// A violation to record.
#[derive(Debug, Clone)]
pub struct NewViolation {
    /// The city where it happened: that city's authority records and decides it.
    pub city_code: String,
    /// The vehicle's plate; it must be in the register (of any city).
    pub plate: String,
    /// A catalogue violation code.
    pub code: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Where it happened.
    pub location: String,
}

/// The id of a recorded violation (a string of digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ViolationId(String);

impl ViolationId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ViolationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A decision just issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedDecision {
    /// 16 digits: city code, 9-digit serial, Luhn check digit.
    pub decision_number: String,
    /// Issuing city.
    pub city_code: String,
    /// Normalised plate.
    pub plate: String,
    /// Fine in fen.
    pub fine_fen: i64,
    /// Points.
    pub points: u8,
    /// The day it was served.
    pub issued_on: NaiveDate,
    /// `issued_on + 15`.
    pub due_on: NaiveDate,
}

/// What became of a delivered payment notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeVerdict {
    /// First delivery of this payment id; the decision is now paid.
    Accepted,
    /// This payment id was accepted before; nothing changed.
    Duplicate,
    /// Refused with a reason.
    Rejected(&'static str),
}

impl NoticeVerdict {
    fn outcome(&self) -> &'static str {
        match self {
            NoticeVerdict::Accepted => "accepted",
            NoticeVerdict::Duplicate => "duplicate",
            NoticeVerdict::Rejected(reason) => reason,
        }
    }
}

/// The authority's own view of a decision, for the control API and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionState {
    /// What a protocol lookup would return today.
    pub record: DecisionRecord,
    /// How many payment notices for this decision arrived, duplicates and rejections included.
    pub notice_deliveries: u32,
}

/// The sandbox authorities of every catalogue city, over one SQLite file. Cheap to clone.
#[derive(Clone)]
pub struct SandboxAuthority {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Mutex<Connection>,
    config: SandboxConfig,
    catalogue: &'static Catalogue,
    feed: feed::Feed,
}

impl std::fmt::Debug for SandboxAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxAuthority")
            .field("slow_delay", &self.inner.config.slow_delay)
            .finish_non_exhaustive()
    }
}

/// Today's date in Asia/Shanghai, the authorities' calendar.
pub fn today_in_shanghai() -> NaiveDate {
    shanghai_date(Utc::now())
}

/// The Asia/Shanghai calendar date of an instant.
pub fn shanghai_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&Shanghai).date_naive()
}

impl SandboxAuthority {
    /// Open (or create) the sandbox's database at `path`, and reset every city to `up`.
    pub fn open(path: &Path, config: SandboxConfig) -> Result<Self, SandboxError> {
        let conn = Connection::open(path)?;
        store::prepare(&conn)?;
        store::reset_modes(&conn)?;
        Ok(SandboxAuthority {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                config,
                catalogue: Catalogue::builtin(),
                feed: feed::Feed::new(),
            }),
        })
    }

    /// The configuration it was opened with.
    pub fn config(&self) -> &SandboxConfig {
        &self.inner.config
    }

    /// The catalogue the sandbox fines by.
    pub fn catalogue(&self) -> &'static Catalogue {
        self.inner.catalogue
    }

    /// The connection. A panic while holding it cannot leave a transaction open (rusqlite rolls back
    /// on drop), so a poisoned lock is safe to take over.
    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.inner
            .conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn known_city(&self, field: &'static str, code: &str) -> Result<&'static City, SandboxError> {
        self.inner.catalogue.city(code).ok_or_else(|| {
            invalid(
                field,
                format!("no sandbox authority for city code {code:?}"),
            )
        })
    }

    /// Put a vehicle in the register. Registering the same vehicle again with the same details is a
    /// no-op (the demo seeds on every start); with different details it is a conflict.
    pub fn register_vehicle(&self, v: NewVehicle) -> Result<Vehicle, SandboxError> {
        let vehicle = validate_vehicle(self, v)?;
        let conn = self.conn();
        let row = VehicleRow {
            plate: vehicle.plate.clone(),
            vin: vehicle.vin.clone(),
            owner_name: vehicle.owner_name.clone(),
            owner_id_number: vehicle.owner_id_number.clone(),
            city_code: vehicle.city_code.clone(),
        };
        match store::find_vehicle(&conn, &row.plate)? {
            Some(existing) if existing == row => Ok(vehicle),
            Some(_) => Err(SandboxError::VehicleConflict(row.plate)),
            None => {
                store::insert_vehicle(&conn, &row, Utc::now())?;
                Ok(vehicle)
            }
        }
    }

    /// A vehicle in the register.
    pub fn vehicle(&self, plate: &str) -> Result<Option<Vehicle>, SandboxError> {
        let plate = Plate::parse(plate)?;
        let row = store::find_vehicle(&self.conn(), plate.as_str())?;
        Ok(row.map(|r| Vehicle {
            plate: r.plate,
            vin: r.vin,
            owner_name: r.owner_name,
            owner_id_number: r.owner_id_number,
            city_code: r.city_code,
        }))
    }

    /// Record a violation seen in `city_code` by a registered vehicle (of any city).
    pub fn record_violation(&self, v: NewViolation) -> Result<ViolationId, SandboxError> {
        self.known_city("city_code", &v.city_code)?;
        let plate = Plate::parse(&v.plate)?;
        if self.inner.catalogue.violation(&v.code).is_none() {
            return Err(invalid(
                "code",
                format!("{:?} is not in the violation catalogue", v.code),
            ));
        }
        let location = v.location.trim();
        if location.is_empty() || location.chars().count() > 200 {
            return Err(invalid(
                "location",
                "give a location of 1 to 200 characters",
            ));
        }
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if store::find_vehicle(&tx, plate.as_str())?.is_none() {
            return Err(SandboxError::VehicleNotRegistered(
                plate.as_str().to_owned(),
            ));
        }
        let mut row = ViolationRow {
            id: 0,
            city_code: v.city_code,
            plate: plate.as_str().to_owned(),
            code: v.code,
            occurred_at: v.occurred_at,
            location: location.to_owned(),
        };
        let now = Utc::now();
        row.id = store::insert_violation(&tx, &row, now)?;
        store::insert_event(&tx, EventKind::ViolationRecorded, &row, None, now)?;
        tx.commit()?;
        self.inner.feed.committed();
        Ok(ViolationId(row.id.to_string()))
    }

    /// Handle a violation: issue its penalty decision, served on `issued_on` (default today in
    /// Asia/Shanghai), with the points on the registered owner's licence. The number is the city
    /// code, the city's next 9-digit serial and a Luhn digit.
    pub fn issue_decision(
        &self,
        violation_id: &str,
        issued_on: Option<NaiveDate>,
    ) -> Result<IssuedDecision, SandboxError> {
        let id = parse_violation_id(violation_id)?;
        let issued_on = issued_on.unwrap_or_else(today_in_shanghai);
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let violation =
            store::find_violation(&tx, id)?.ok_or_else(|| violation_not_found(violation_id))?;
        let owner = store::find_vehicle(&tx, &violation.plate)?
            .ok_or_else(|| SandboxError::Corrupt(format!("violation {id} has no vehicle")))?;
        let issued = self.decide(&tx, violation, issued_on, &owner.owner_id_number)?;
        tx.commit()?;
        self.inner.feed.committed();
        Ok(issued)
    }

    /// Issue the decision of a violation inside the caller's transaction, and log the event.
    fn decide(
        &self,
        conn: &Connection,
        violation: ViolationRow,
        issued_on: NaiveDate,
        licence_number: &str,
    ) -> Result<IssuedDecision, SandboxError> {
        if store::violation_has_decision(conn, violation.id)? {
            return Err(SandboxError::AlreadyDecided(violation.id.to_string()));
        }
        let kind = self.violation_type(&violation.code)?;
        let fine_fen = kind.fine_fen(&violation.city_code).ok_or_else(|| {
            SandboxError::Corrupt(format!(
                "no fine for {} in {}",
                kind.code, violation.city_code
            ))
        })?;
        let serial = store::next_serial(conn, &violation.city_code)?;
        let number = decision_number(&violation.city_code, serial)?;
        store::insert_decision(
            conn,
            &NewDecisionRow {
                number: &number,
                violation_id: violation.id,
                city_code: &violation.city_code,
                fine_fen,
                points: kind.points,
                issued_on,
                licence_number,
            },
        )?;
        store::insert_event(
            conn,
            EventKind::DecisionIssued,
            &violation,
            Some(&number),
            Utc::now(),
        )?;
        Ok(IssuedDecision {
            decision_number: number,
            city_code: violation.city_code,
            plate: violation.plate,
            fine_fen,
            points: kind.points,
            issued_on,
            due_on: due_on(issued_on),
        })
    }

    fn violation_type(&self, code: &str) -> Result<&'static ViolationType, SandboxError> {
        self.inner.catalogue.violation(code).ok_or_else(|| {
            SandboxError::Corrupt(format!("violation code {code} left the catalogue"))
        })
    }

    /// Withdraw a decision, paid or not. Revoking a revoked decision is a no-op. Returns the
    /// city and the feed position of the `decision.revoked` event, if one was logged.
    pub fn revoke(&self, number: &str) -> Result<Option<(String, i64)>, SandboxError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let decision =
            store::find_decision(&tx, number)?.ok_or_else(|| SandboxError::NotFound {
                what: "decision",
                id: number.to_owned(),
            })?;
        let now = Utc::now();
        let mut logged = None;
        if store::mark_revoked(&tx, number, now)? {
            let seq = store::insert_event(
                &tx,
                EventKind::DecisionRevoked,
                &decision.violation,
                Some(number),
                now,
            )?;
            logged = Some((decision.city_code.clone(), seq));
        }
        tx.commit()?;
        self.inner.feed.committed();
        Ok(logged)
    }

    /// Set a city's fault-injection mode.
    pub fn set_mode(&self, city: &str, mode: Mode) -> Result<(), SandboxError> {
        self.authority_city(city)?;
        store::write_mode(&self.conn(), city, mode.as_str())
    }

    /// A city's current mode.
    pub fn mode(&self, city: &str) -> Result<Mode, SandboxError> {
        self.authority_city(city)?;
        match store::read_mode(&self.conn(), city)? {
            None => Ok(Mode::Up),
            Some(name) => Mode::parse(&name)
                .ok_or_else(|| SandboxError::Corrupt(format!("mode {name:?} for {city}"))),
        }
    }

    fn authority_city(&self, city: &str) -> Result<&'static City, SandboxError> {
        self.inner
            .catalogue
            .city(city)
            .ok_or_else(|| SandboxError::NotFound {
                what: "authority",
                id: city.to_owned(),
            })
    }

    /// A decision as a protocol lookup would return it today, or `None`.
    pub fn decision_record(&self, number: &str) -> Result<Option<DecisionRecord>, SandboxError> {
        let row = store::find_decision(&self.conn(), number)?;
        row.map(|r| self.to_record(r, today_in_shanghai()))
            .transpose()
    }

    /// A decision with the count of notices delivered for it, for the control API.
    pub fn decision_state(&self, number: &str) -> Result<Option<DecisionState>, SandboxError> {
        let conn = self.conn();
        let Some(row) = store::find_decision(&conn, number)? else {
            return Ok(None);
        };
        let notice_deliveries = store::count_deliveries_for_decision(&conn, number)?;
        drop(conn);
        Ok(Some(DecisionState {
            record: self.to_record(row, today_in_shanghai())?,
            notice_deliveries,
        }))
    }

    fn to_record(
        &self,
        row: DecisionRow,
        today: NaiveDate,
    ) -> Result<DecisionRecord, SandboxError> {
        let kind = self.violation_type(&row.violation.code)?;
        let charges = charges_on(Fen::from_fen(row.fine_fen), row.issued_on, today);
        Ok(DecisionRecord {
            number: row.number,
            status: row.status,
            city_code: row.city_code,
            plate: row.violation.plate,
            owner_name: row.owner_name,
            violation: ViolationRecord {
                code: row.violation.code,
                description: kind.description.clone(),
                description_zh: kind.description_zh.clone(),
                occurred_at: row.violation.occurred_at,
                location: row.violation.location,
            },
            fine_fen: row.fine_fen,
            points: row.points,
            issued_on: row.issued_on,
            due_on: charges.due_on,
            late_fee_fen: charges.late_fee.fen(),
            amount_due_fen: charges.amount_due.fen(),
            payment_id: row.payment_id,
            paid_amount_fen: row.paid_amount_fen,
            paid_at: row.paid_at,
        })
    }

    /// How many times a notice with this payment id arrived (duplicates and rejections included).
    pub fn notice_deliveries(&self, payment_id: &str) -> Result<u32, SandboxError> {
        store::count_deliveries_for_payment(&self.conn(), payment_id)
    }

    /// Take a payment notice for `city`: exactly-once by `payment_id`, amount checked against the
    /// charges on the payment's own date (so a payment made during an outage and delivered later
    /// is still accepted). Every delivery is recorded, whatever its verdict.
    pub fn receive_notice(
        &self,
        city: &str,
        notice: &PaymentNotice,
    ) -> Result<NoticeVerdict, SandboxError> {
        let mut verdicts = self.receive_notices(city, std::slice::from_ref(notice))?;
        verdicts
            .pop()
            .ok_or_else(|| SandboxError::Corrupt("a notice got no verdict".to_owned()))
    }

    /// Take several notices for `city` in one transaction, judged in order as if sent one by one
    /// (two notices for one decision in a batch: the second is `already_paid`).
    pub fn receive_notices(
        &self,
        city: &str,
        notices: &[PaymentNotice],
    ) -> Result<Vec<NoticeVerdict>, SandboxError> {
        let now = Utc::now();
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut verdicts = Vec::with_capacity(notices.len());
        for notice in notices {
            let verdict = judge_notice(&tx, city, notice, now)?;
            store::insert_delivery(
                &tx,
                &notice.payment_id,
                &notice.decision_number,
                city,
                verdict.outcome(),
                now,
            )?;
            verdicts.push(verdict);
        }
        tx.commit()?;
        drop(conn);
        if verdicts
            .iter()
            .any(|v| matches!(v, NoticeVerdict::Accepted))
        {
            self.inner.feed.committed();
        }
        for (notice, verdict) in notices.iter().zip(&verdicts) {
            tracing::debug!(
                city_code = city,
                payment_id = %notice.payment_id,
                decision_number = %notice.decision_number,
                outcome = verdict.outcome(),
                "sandbox authority received a payment notice"
            );
        }
        Ok(verdicts)
    }

    /// A city's accepted notices whose payment fell on `date` (Asia/Shanghai), for reconciliation.
    pub fn accepted_notices(
        &self,
        city: &str,
        date: NaiveDate,
    ) -> Result<NoticeList, SandboxError> {
        self.authority_city(city)?;
        let rows = store::notices_of_day(&self.conn(), city, date)?;
        let mut notices = Vec::with_capacity(rows.len());
        let mut total_fen: i64 = 0;
        for row in rows {
            total_fen = total_fen
                .checked_add(row.amount_fen)
                .ok_or_else(|| SandboxError::Corrupt("notice total overflows".to_owned()))?;
            notices.push(AcceptedNotice {
                paid_at: store::parse_time(&row.paid_at)?,
                accepted_at: store::parse_time(&row.accepted_at)?,
                payment_id: row.payment_id,
                decision_number: row.decision_number,
                amount_fen: row.amount_fen,
            });
        }
        Ok(NoticeList {
            city_code: city.to_owned(),
            date,
            count: notices.len() as u64,
            total_fen,
            notices,
        })
    }

    /// The protocol router: `/authority/v1/{city}/...`, HMAC-checked, modes applied.
    pub fn protocol_router(&self) -> axum::Router {
        protocol_api::router(self.clone())
    }

    /// The control router: `/sandbox/v1/...` of SPEC §4. No authentication here: the platform
    /// wraps it with its sandbox bearer token.
    pub fn control_router(&self) -> axum::Router {
        control_api::router(self.clone())
    }
}

/// Decide what a notice does, inside the caller's transaction.
fn judge_notice(
    conn: &Connection,
    city: &str,
    notice: &PaymentNotice,
    now: DateTime<Utc>,
) -> Result<NoticeVerdict, SandboxError> {
    if let Some(paid_number) = store::accepted_notice_decision(conn, &notice.payment_id)? {
        return Ok(if paid_number == notice.decision_number {
            NoticeVerdict::Duplicate
        } else {
            NoticeVerdict::Rejected("payment_id_reused")
        });
    }
    let Some(decision) = store::find_decision(conn, &notice.decision_number)? else {
        return Ok(NoticeVerdict::Rejected("not_found"));
    };
    if decision.city_code != city {
        return Ok(NoticeVerdict::Rejected("not_found"));
    }
    match decision.status {
        RecordStatus::Revoked => return Ok(NoticeVerdict::Rejected("revoked")),
        RecordStatus::Paid => return Ok(NoticeVerdict::Rejected("already_paid")),
        RecordStatus::Unpaid => {}
    }
    let paid_on = shanghai_date(notice.paid_at);
    let charges = charges_on(
        Fen::from_fen(decision.fine_fen),
        decision.issued_on,
        paid_on,
    );
    if charges.amount_due.fen() != notice.amount_fen {
        return Ok(NoticeVerdict::Rejected("amount_mismatch"));
    }
    if !store::mark_paid(
        conn,
        &decision.number,
        &notice.payment_id,
        notice.amount_fen,
        notice.paid_at,
    )? {
        // Impossible under the immediate transaction; refuse rather than double-book.
        return Ok(NoticeVerdict::Rejected("already_paid"));
    }
    store::insert_notice(
        conn,
        &AcceptedNoticeRow {
            payment_id: &notice.payment_id,
            decision_number: &decision.number,
            city_code: city,
            amount_fen: notice.amount_fen,
            paid_at: notice.paid_at,
            paid_on,
        },
        now,
    )?;
    // Followers of the feed keep copies of decisions: every status change is published.
    store::insert_event(
        conn,
        EventKind::DecisionPaid,
        &decision.violation,
        Some(&decision.number),
        now,
    )?;
    Ok(NoticeVerdict::Accepted)
}

fn parse_violation_id(id: &str) -> Result<i64, SandboxError> {
    id.parse().map_err(|_| violation_not_found(id))
}

fn violation_not_found(id: &str) -> SandboxError {
    SandboxError::NotFound {
        what: "violation",
        id: id.to_owned(),
    }
}

/// `city_code` + 9-digit serial + Luhn check digit: 16 digits.
fn decision_number(city_code: &str, serial: i64) -> Result<String, SandboxError> {
    if !(1..=MAX_SERIAL).contains(&serial) {
        return Err(SandboxError::SerialsExhausted(city_code.to_owned()));
    }
    let payload = format!("{city_code}{serial:09}");
    let check = luhn_check_digit(&payload)
        .ok_or_else(|| SandboxError::Corrupt(format!("city code {city_code:?} is not digits")))?;
    Ok(format!("{payload}{check}"))
}

fn validate_vehicle(sandbox: &SandboxAuthority, v: NewVehicle) -> Result<Vehicle, SandboxError> {
    let city = sandbox.known_city("city_code", &v.city_code)?;
    let plate = Plate::parse(&v.plate)?;
    if !city.issued_plate(plate.as_str()) {
        return Err(SandboxError::PlateCityMismatch {
            plate: plate.as_str().to_owned(),
            city_code: city.code.clone(),
            prefix: city.plate_prefix.clone(),
        });
    }
    let vin = v.vin.trim().to_ascii_uppercase();
    let vin_ok = vin.len() == 17
        && vin
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() && !matches!(b, b'I' | b'O' | b'Q'));
    if !vin_ok {
        return Err(invalid(
            "vin",
            "a VIN has 17 letters and digits, without I, O or Q",
        ));
    }
    let owner_name = v.owner_name.trim();
    if owner_name.is_empty() || owner_name.chars().count() > 50 {
        return Err(invalid(
            "owner_name",
            "give the owner's name, 1 to 50 characters",
        ));
    }
    let id = IdNumber::parse(&v.owner_id_number)
        .map_err(|e| invalid("owner_id_number", e.to_string()))?;
    Ok(Vehicle {
        plate: plate.as_str().to_owned(),
        vin,
        owner_name: owner_name.to_owned(),
        owner_id_number: id.as_str().to_owned(),
        city_code: city.code.clone(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn beijing_serial_one_is_the_spec_example_number() {
        assert_eq!(decision_number("110000", 1).unwrap(), "1100000000000015");
    }

    #[test]
    fn serials_beyond_nine_digits_are_refused() {
        assert!(decision_number("110000", 1_000_000_000).is_err());
        assert!(decision_number("110000", 0).is_err());
    }

    #[test]
    fn modes_round_trip_through_their_names() {
        for m in [Mode::Up, Mode::Down, Mode::Slow, Mode::Flaky] {
            assert_eq!(Mode::parse(m.as_str()), Some(m));
        }
        assert_eq!(Mode::parse("sideways"), None);
    }
}
