//! finepay-bank: the platform's only way to a bank.
//!
//! - [`Bank`] is the adapter the platform talks to; [`HttpBank`] implements it over the wire protocol
//!   described in this crate's README (JSON over HTTP).
//! - [`sandbox`] is a stand-in for an external bank, with the test cards of SPEC §6. It is another
//!   organisation's system: it keeps its own state in its own SQLite file and is reached only over HTTP.
//!
//! Architecture Invariant: nothing here knows the platform's tables, users or payments. The bank knows
//! card tokens, charge references and amounts in fen, nothing more.
//!
//! Architecture Invariant: a charge reference is the bank's idempotency key. Charging the same reference
//! twice never takes money twice, which is what makes retrying and resolving timeouts safe.

mod adapter;
mod client;
mod luhn;
mod protocol;
pub mod sandbox;

pub use adapter::{Bank, BankError, CardLink, Charge, ChargeStatus};
pub use client::{CardChargeRecord, HttpBank, MAX_ANSWER_BYTES};
