//! The wire protocol between the platform and a city's traffic authority (docs/authority-protocol.md).
//!
//! These are DTOs: serde lives here and not on the domain types. Money is integer fen, times RFC 3339
//! in UTC, dates `YYYY-MM-DD` in Asia/Shanghai. Every request is signed with HMAC-SHA256 over
//! `"{METHOD}\n{path}\n{timestamp}\n{hex sha256 of body}"`, so that neither side can be fooled by a
//! replayed or altered request (the timestamp bounds replays to ±[`MAX_CLOCK_SKEW_SECS`]).

use chrono::{DateTime, NaiveDate, Utc};
use finepay_domain::DecisionStatus;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Header carrying the request time in unix seconds.
pub const TIMESTAMP_HEADER: &str = "x-authority-timestamp";
/// Header carrying the lowercase hex HMAC-SHA256 signature.
pub const SIGNATURE_HEADER: &str = "x-authority-signature";
/// How far a request's timestamp may be from the receiver's clock, in seconds.
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;
/// The largest request body an authority accepts; a notice is a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Most bytes of a `POST .../settlements` body: a file of [`MAX_SETTLEMENT_LINES`] lines fits.
pub const MAX_SETTLEMENT_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Most payment and refund lines in one settlement batch; a bigger day settles in several batches.
pub const MAX_SETTLEMENT_LINES: usize = 50_000;

/// A decision's state as the authority reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    /// Issued, not yet paid.
    Unpaid,
    /// A payment notice was accepted.
    Paid,
    /// Withdrawn by the authority.
    Revoked,
}

impl RecordStatus {
    /// The same state in the domain's state machine.
    pub fn to_domain(self) -> DecisionStatus {
        match self {
            RecordStatus::Unpaid => DecisionStatus::Unpaid,
            RecordStatus::Paid => DecisionStatus::Paid,
            RecordStatus::Revoked => DecisionStatus::Revoked,
        }
    }

    /// The stable snake_case name, as on the wire and in the sandbox's database.
    pub fn as_str(self) -> &'static str {
        self.to_domain().as_str()
    }

    /// The state named by [`RecordStatus::as_str`].
    pub fn parse(s: &str) -> Option<RecordStatus> {
        match s {
            "unpaid" => Some(RecordStatus::Unpaid),
            "paid" => Some(RecordStatus::Paid),
            "revoked" => Some(RecordStatus::Revoked),
            _ => None,
        }
    }
}

/// The violation a decision punishes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViolationRecord {
    /// 公安部 violation code, digits.
    pub code: String,
    /// English description.
    pub description: String,
    /// Chinese description.
    pub description_zh: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Where it happened, free text.
    pub location: String,
}

/// A penalty decision as the authority holds it, with the charges computed for the authority's
/// "today" in Asia/Shanghai.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// The 16-digit decision number.
    pub number: String,
    /// unpaid, paid or revoked.
    pub status: RecordStatus,
    /// The issuing authority's city code.
    pub city_code: String,
    /// Normalised plate of the vehicle (unmasked: the platform masks for display).
    pub plate: String,
    /// Registered owner's name (unmasked: the platform masks for display).
    pub owner_name: String,
    /// What was done, where and when.
    pub violation: ViolationRecord,
    /// The fine in fen.
    pub fine_fen: i64,
    /// Points put on the licence.
    pub points: u8,
    /// The day the decision was served.
    pub issued_on: NaiveDate,
    /// The last day the fine alone is due (`issued_on + 15`).
    pub due_on: NaiveDate,
    /// Late fee in fen as of today.
    pub late_fee_fen: i64,
    /// Fine plus late fee as of today.
    pub amount_due_fen: i64,
    /// The accepted payment, when paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    /// The accepted amount, when paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_amount_fen: Option<i64>,
    /// When the payer paid (the notice's `paid_at`), when paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<DateTime<Utc>>,
}

/// The platform telling an authority that a decision was paid. `payment_id` is the dedupe key:
/// sending the same notice again has no further effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentNotice {
    /// The platform's payment id; unique per payment.
    pub payment_id: String,
    /// The decision paid.
    pub decision_number: String,
    /// The amount paid in fen: fine plus late fee as of the payment's date.
    pub amount_fen: i64,
    /// When the payer paid. The amount is checked against this date, not the delivery date.
    pub paid_at: DateTime<Utc>,
}

/// `result` of a notice answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeResult {
    /// First delivery; the decision is now paid.
    Accepted,
    /// This payment id was accepted before; nothing changed.
    Duplicate,
    /// Refused; see `reason`.
    Rejected,
}

/// The body of a notice answer (200 accepted/duplicate, 409 rejected).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeAnswer {
    /// What happened.
    pub result: NoticeResult,
    /// Why it was rejected: `already_paid`, `revoked`, `amount_mismatch`, `not_found`,
    /// `payment_id_reused`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Most notices in one batch (`POST .../payment-notices/batch`); keeps the body under 64 KiB.
pub const MAX_NOTICES_PER_BATCH: usize = 200;

/// `POST .../payment-notices/batch`: several notices in one request, judged in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeBatch {
    /// At most [`MAX_NOTICES_PER_BATCH`].
    pub notices: Vec<PaymentNotice>,
}

/// The verdict on one notice of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchVerdict {
    /// The notice's payment id.
    pub payment_id: String,
    /// What happened, as for a single notice.
    pub result: NoticeResult,
    /// Why it was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The answer to a batch: one verdict per notice, in the order sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeBatchAnswer {
    /// Verdicts, in the order of the batch.
    pub results: Vec<BatchVerdict>,
}

/// One accepted notice in a day's list (`GET .../notices?date=`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptedNotice {
    /// The platform's payment id.
    pub payment_id: String,
    /// The decision paid.
    pub decision_number: String,
    /// Amount in fen.
    pub amount_fen: i64,
    /// When the payer paid.
    pub paid_at: DateTime<Utc>,
    /// When the authority accepted the notice.
    pub accepted_at: DateTime<Utc>,
}

/// A day's accepted notices for one city, for reconciliation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeList {
    /// The city.
    pub city_code: String,
    /// The Asia/Shanghai date of `paid_at` the list is for.
    pub date: NaiveDate,
    /// Number of notices.
    pub count: u64,
    /// Sum of `amount_fen`.
    pub total_fen: i64,
    /// The notices, in order of `paid_at`.
    pub notices: Vec<AcceptedNotice>,
}

/// Most notices in one page of `GET .../notices?date=&after=&limit=`.
pub const MAX_NOTICES_PER_PAGE: u32 = 10_000;

/// One page of a day's accepted notices in payment id order (`GET .../notices?date=&after=&limit=`),
/// for reconciliation that streams a day of any size. A payment the authority recorded twice
/// appears twice; a page never splits the records of one payment id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticePage {
    /// The city.
    pub city_code: String,
    /// The Asia/Shanghai date of `paid_at`.
    pub date: NaiveDate,
    /// The records, by payment id (equal ids adjacent).
    pub notices: Vec<AcceptedNotice>,
    /// The `after` of the next page; `None` on the last page.
    pub next_after: Option<String>,
}

/// `POST .../settlements`: a settlement batch's file, for the authority to check against its own
/// records before it takes the money (SPEC §9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementFile {
    /// The platform's batch id; sending the same batch again is answered as before.
    pub batch_id: String,
    /// The business day (Asia/Shanghai) the batch settles.
    pub date: NaiveDate,
    /// Lines of payments and refunds in the file.
    pub count: u64,
    /// The batch's net in fen: payments less refunds.
    pub net_fen: i64,
    /// Lowercase hex SHA-256 of `csv`'s bytes.
    pub sha256: String,
    /// The file: `kind,payment_id,decision_number,amount_fen,at`, one line per item, a totals line.
    pub csv: String,
}

/// The header line of a settlement file (its lines: `kind,payment_id,decision_number,amount_fen,at`,
/// then `totals,<lines>,,<net>,`).
pub const SETTLEMENT_CSV_HEADER: &str = "kind,payment_id,decision_number,amount_fen,at";

/// The authority's verdict on a settlement file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementVerdict {
    /// `accepted` or `refused`.
    pub result: String,
    /// What did not agree, one line each (empty when accepted).
    #[serde(default)]
    pub problems: Vec<String>,
}

/// `POST .../vehicle-checks`: does this plate belong to a vehicle whose VIN ends so?
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VehicleCheckRequest {
    /// The plate, normalised.
    pub plate: String,
    /// The last 6 characters of the VIN, as the user typed them.
    pub vin_last6: String,
}

/// The answer to a vehicle check. Says nothing more than yes or no, so the check cannot be used to
/// read the register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VehicleCheck {
    /// The plate checked.
    pub plate: String,
    /// Whether the plate is registered with this authority and the VIN ends with `vin_last6`.
    pub verified: bool,
}

/// One violation an authority recorded for a plate, with its decision if it was handled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViolationSummary {
    /// The authority's violation id (digits).
    pub id: String,
    /// Where it happened.
    pub city_code: String,
    /// The vehicle's plate.
    pub plate: String,
    /// What, where and when.
    pub violation: ViolationRecord,
    /// The fine in fen this city sets for it.
    pub fine_fen: i64,
    /// Points it carries.
    pub points: u8,
    /// Camera-recorded (非现场): a precondition for online handling.
    pub camera_recorded: bool,
    /// The decision, once handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_number: Option<String>,
    /// The decision's state, once handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_status: Option<RecordStatus>,
}

/// `GET .../vehicles/{plate}/violations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViolationList {
    /// The plate asked about.
    pub plate: String,
    /// The authority answering.
    pub city_code: String,
    /// Its violations for the plate, newest first.
    pub violations: Vec<ViolationSummary>,
}

/// `POST .../violations/{id}/handling`: the person handling a violation online (处理), who takes the
/// points on their licence (licence number = resident ID number).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandlingRequest {
    /// Real name, as registered with the platform.
    pub name: String,
    /// Resident ID number, as registered with the platform.
    pub id_number: String,
}

/// Why an authority refused online handling (403).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandlingRefusal {
    /// Always "refused".
    pub result: String,
    /// `not_owner`, `not_camera_recorded`, `fine_over_limit`, `points_over_limit`, `already_decided`.
    pub reason: String,
    /// Human-readable explanation, saying to visit a traffic management office.
    pub message: String,
}

/// `POST .../licence-points`: points this authority put on a licence between two dates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicencePointsRequest {
    /// Licence number (= resident ID number).
    pub licence_number: String,
    /// First day, inclusive (decision `issued_on`).
    pub from: NaiveDate,
    /// Last day, inclusive.
    pub to: NaiveDate,
}

/// The answer to [`LicencePointsRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicencePoints {
    /// The authority answering.
    pub city_code: String,
    /// Sum of points of its decisions on the licence in the period, revoked ones excluded.
    pub points: u32,
}

/// What happened at an authority that a plate's owner wants to hear of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    /// A violation was recorded.
    #[serde(rename = "violation.recorded")]
    ViolationRecorded,
    /// A penalty decision was issued.
    #[serde(rename = "decision.issued")]
    DecisionIssued,
    /// A decision was revoked.
    #[serde(rename = "decision.revoked")]
    DecisionRevoked,
    /// A decision was paid (a payment notice was accepted, from any platform or channel).
    #[serde(rename = "decision.paid")]
    DecisionPaid,
}

impl EventKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ViolationRecorded => "violation.recorded",
            EventKind::DecisionIssued => "decision.issued",
            EventKind::DecisionRevoked => "decision.revoked",
            EventKind::DecisionPaid => "decision.paid",
        }
    }

    /// The kind named by [`EventKind::as_str`].
    pub fn parse(s: &str) -> Option<EventKind> {
        match s {
            "violation.recorded" => Some(EventKind::ViolationRecorded),
            "decision.issued" => Some(EventKind::DecisionIssued),
            "decision.revoked" => Some(EventKind::DecisionRevoked),
            "decision.paid" => Some(EventKind::DecisionPaid),
            _ => None,
        }
    }
}

/// One entry of an authority's event feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorityEvent {
    /// Position in the feed; strictly increasing. Pass the last one seen as `after`.
    pub seq: i64,
    /// What happened.
    pub kind: EventKind,
    /// The authority's city.
    pub city_code: String,
    /// The vehicle concerned.
    pub plate: String,
    /// The violation concerned.
    pub violation_id: String,
    /// The decision, for decision events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_number: Option<String>,
    /// For decision events, the decision as it stands when the page is read (its status may have
    /// moved on since the event), so a follower keeps an up-to-date copy without looking it up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Box<DecisionRecord>>,
    /// When it happened at the authority.
    pub at: DateTime<Utc>,
}

/// `GET .../events?after=N&limit=M`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventPage {
    /// The authority answering.
    pub city_code: String,
    /// Events with `seq > after`, oldest first, at most `limit`.
    pub events: Vec<AuthorityEvent>,
    /// The `after` to ask with next (the last `seq` returned, or the one given).
    pub next_after: i64,
    /// Events of the page this platform cannot read (an unknown kind, a malformed entry), as
    /// `seq: why`. Not on the wire: [`EventPage::decode`] fills it, so one odd event is passed over
    /// (and said) instead of stopping the city's feed for good.
    #[serde(skip)]
    pub skipped: Vec<String>,
}

impl EventPage {
    /// Reads a page event by event: those that do not parse go to `skipped`, the rest are kept,
    /// and `next_after` still moves past all of them.
    pub fn decode(body: &[u8]) -> Result<EventPage, serde_json::Error> {
        #[derive(Deserialize)]
        struct Raw {
            city_code: String,
            events: Vec<serde_json::Value>,
            next_after: i64,
        }
        let raw: Raw = serde_json::from_slice(body)?;
        let mut page = EventPage {
            city_code: raw.city_code,
            events: Vec::with_capacity(raw.events.len()),
            next_after: raw.next_after,
            skipped: Vec::new(),
        };
        for value in raw.events {
            let seq = value.get("seq").and_then(serde_json::Value::as_i64);
            match serde_json::from_value::<AuthorityEvent>(value) {
                Ok(event) => page.events.push(event),
                Err(e) => page.skipped.push(match seq {
                    Some(seq) => format!("{seq}: {e}"),
                    None => format!("(no seq): {e}"),
                }),
            }
        }
        Ok(page)
    }
}

/// The error envelope `{"error": {"code", "message", "field"?}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    /// The error.
    pub error: ErrorBody,
}

/// The inside of [`ErrorEnvelope`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// snake_case code.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// The request field at fault, when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Why a signature check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A header is missing or not ASCII.
    #[error("the request is not signed (missing {0})")]
    Missing(&'static str),
    /// The timestamp is not an integer.
    #[error("the timestamp is not unix seconds")]
    BadTimestamp,
    /// The timestamp is too far from the receiver's clock.
    #[error("the timestamp is more than {MAX_CLOCK_SKEW_SECS} s away from the authority's clock")]
    Skew,
    /// The signature does not match.
    #[error("the signature does not match")]
    Mismatch,
}

/// The text that is signed: `"{METHOD}\n{path}\n{timestamp}\n{hex sha256 of body}"`.
///
/// `path` is the request target as sent: the path plus `?query` when there is one, so that the
/// query (e.g. the date of a notice list) is covered by the signature too.
pub fn string_to_sign(method: &str, path: &str, timestamp: i64, body: &[u8]) -> String {
    let body_hash = hex::encode(Sha256::digest(body));
    format!("{method}\n{path}\n{timestamp}\n{body_hash}")
}

fn mac(secret: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length; new_from_slice cannot fail for it.
    match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC-SHA256 takes keys of any length"),
    }
}

/// The lowercase hex signature of a request.
pub fn sign(secret: &[u8], method: &str, path: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = mac(secret);
    mac.update(string_to_sign(method, path, timestamp, body).as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Check a request's signature headers against the secret and the receiver's clock `now_unix`.
///
/// The comparison is constant-time (`verify_slice`), so the signature cannot be guessed byte by byte.
pub fn verify(
    secret: &[u8],
    request: &SignedParts<'_>,
    body: &[u8],
    now_unix: i64,
) -> Result<(), SignatureError> {
    let timestamp_text = request
        .timestamp
        .ok_or(SignatureError::Missing(TIMESTAMP_HEADER))?;
    let signature_hex = request
        .signature
        .ok_or(SignatureError::Missing(SIGNATURE_HEADER))?;
    let timestamp: i64 = timestamp_text
        .trim()
        .parse()
        .map_err(|_| SignatureError::BadTimestamp)?;
    if now_unix.abs_diff(timestamp) > MAX_CLOCK_SKEW_SECS.unsigned_abs() {
        return Err(SignatureError::Skew);
    }
    let signature = hex::decode(signature_hex.trim()).map_err(|_| SignatureError::Mismatch)?;
    let mut mac = mac(secret);
    mac.update(string_to_sign(request.method, request.path, timestamp, body).as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| SignatureError::Mismatch)
}

/// The parts of a request that the signature covers, besides the body.
#[derive(Debug, Clone, Copy)]
pub struct SignedParts<'a> {
    /// HTTP method, upper case.
    pub method: &'a str,
    /// Path plus `?query` when present.
    pub path: &'a str,
    /// The timestamp header, if present.
    pub timestamp: Option<&'a str>,
    /// The signature header, if present.
    pub signature: Option<&'a str>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parts<'a>(path: &'a str, ts: &'a str, sig: &'a str) -> SignedParts<'a> {
        SignedParts {
            method: "POST",
            path,
            timestamp: Some(ts),
            signature: Some(sig),
        }
    }

    #[test]
    fn the_documented_signature_example_holds() {
        let sig = sign(
            b"s3cret",
            "GET",
            "/authority/v1/110000/decisions/1100000000000015",
            1_700_000_000,
            b"",
        );
        assert_eq!(
            sig,
            "7cb3f9bd052e0396bc4c62826e60cbc0f5e7085992a26b8da37ac7e380d0f29d"
        );
    }

    #[test]
    fn a_signed_request_verifies() {
        let sig = sign(
            b"secret",
            "POST",
            "/authority/v1/110000/payment-notices",
            1_700_000_000,
            b"{}",
        );
        assert_eq!(sig.len(), 64);
        let p = parts("/authority/v1/110000/payment-notices", "1700000000", &sig);
        assert_eq!(verify(b"secret", &p, b"{}", 1_700_000_100), Ok(()));
    }

    #[test]
    fn changing_the_body_path_or_secret_breaks_the_signature() {
        let path = "/authority/v1/110000/payment-notices";
        let sig = sign(b"secret", "POST", path, 1_700_000_000, b"{}");
        let p = parts(path, "1700000000", &sig);
        assert_eq!(
            verify(b"secret", &p, b"{ }", 1_700_000_000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"other", &p, b"{}", 1_700_000_000),
            Err(SignatureError::Mismatch)
        );
        let moved = parts("/authority/v1/310000/payment-notices", "1700000000", &sig);
        assert_eq!(
            verify(b"secret", &moved, b"{}", 1_700_000_000),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_timestamp_more_than_five_minutes_off_is_refused() {
        let sig = sign(b"s", "POST", "/p", 1_700_000_000, b"");
        let p = parts("/p", "1700000000", &sig);
        assert_eq!(
            verify(b"s", &p, b"", 1_700_000_301),
            Err(SignatureError::Skew)
        );
        assert_eq!(
            verify(b"s", &p, b"", 1_699_999_699),
            Err(SignatureError::Skew)
        );
        assert_eq!(verify(b"s", &p, b"", 1_700_000_300), Ok(()));
    }

    #[test]
    fn missing_headers_are_named() {
        let p = SignedParts {
            method: "GET",
            path: "/p",
            timestamp: None,
            signature: Some("00"),
        };
        assert_eq!(
            verify(b"s", &p, b"", 0),
            Err(SignatureError::Missing(TIMESTAMP_HEADER))
        );
    }

    #[test]
    fn record_status_round_trips_through_its_name() {
        for s in [
            RecordStatus::Unpaid,
            RecordStatus::Paid,
            RecordStatus::Revoked,
        ] {
            assert_eq!(RecordStatus::parse(s.as_str()), Some(s));
        }
    }
}
