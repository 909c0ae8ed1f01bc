//! The wire protocol between [`crate::HttpBank`] and a bank (the sandbox, or a real one behind a
//! gateway that speaks it). The README of this crate is its human-readable description.
//!
//! Both sides use these types, so the client and the sandbox cannot drift apart.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Header the sandbox sets on a 503 to stand in for a refused TCP connection: the request provably
/// did not reach the bank's books, so the client may retry it as it would a failed connect.
pub const FAULT_HEADER: &str = "x-sandbox-fault";
/// The value of [`FAULT_HEADER`] meaning "treat this as a connection that could not be made".
pub const FAULT_CONNECT: &str = "connect";

/// Error codes in the `{"error": {"code", "message"}}` envelope.
pub mod code {
    pub const DECLINED: &str = "declined";
    pub const INVALID_CARD: &str = "invalid_card";
    pub const INVALID_REQUEST: &str = "invalid_request";
    pub const NOT_FOUND: &str = "not_found";
    pub const REFERENCE_REUSED: &str = "reference_reused";
    pub const REFUND_EXCEEDS_CHARGE: &str = "refund_exceeds_charge";
    pub const CHARGE_NOT_REFUNDABLE: &str = "charge_not_refundable";
    pub const UNAVAILABLE: &str = "unavailable";
    pub const INTERNAL: &str = "internal";
}

/// Wire names of a charge's status.
pub mod status {
    pub const SUCCEEDED: &str = "succeeded";
    pub const DECLINED: &str = "declined";
    pub const REFUNDED: &str = "refunded";
}

#[derive(Debug, Serialize, Deserialize)]
pub struct VerifyCardRequest {
    pub number: String,
    pub holder_name: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct VerifyCardResponse {
    pub bank: String,
    pub last4: String,
    pub card_token: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ChargeRequest {
    pub reference: String,
    pub card_token: String,
    pub amount_fen: i64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ChargeResponse {
    pub reference: String,
    pub status: String,
    pub amount_fen: i64,
    pub charged_at: DateTime<Utc>,
}

/// The bank's record of one charge (`GET /bank/v1/charges/{reference}` and the card's list).
#[derive(Debug, Serialize, Deserialize)]
pub struct ChargeRecord {
    pub reference: String,
    pub status: String,
    pub amount_fen: i64,
    pub refunded_fen: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct CardChargesResponse {
    pub data: Vec<ChargeRecord>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct RefundRequest {
    pub refund_reference: String,
    pub charge_reference: String,
    pub amount_fen: i64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct RefundResponse {
    pub refund_reference: String,
    pub charge_reference: String,
    pub amount_fen: i64,
    pub refunded_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}
