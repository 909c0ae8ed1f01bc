//! finepay-bank: the platform's only way to a bank.
//!
//! - [`Bank`] is the adapter the platform talks to; [`HttpBank`] implements it over the wire protocol
//!   described in this crate's README (JSON over HTTP).
//! - [`protocol`] holds the wire types both sides use; the sandbox bank (crate `finepay-sandbox`)
//!   answers them with the test cards of SPEC §6.
//!
//! Architecture Invariant: nothing here knows the platform's tables, users or payments. The bank knows
//! card tokens, charge references and amounts in fen, nothing more.
//!
//! Architecture Invariant: a charge reference is the bank's idempotency key. Charging the same reference
//! twice never takes money twice, which is what makes retrying and resolving timeouts safe.

mod adapter;
mod client;
pub mod protocol;

pub use adapter::{Bank, BankError, CardLink, Charge, ChargeStatus};
pub use client::{CardChargeRecord, HttpBank, MAX_ANSWER_BYTES};
