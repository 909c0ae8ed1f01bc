//! finepay-authority: the platform's only way to a city's traffic authority.
//!
//! - [`Authority`]: the adapter trait (look up a decision, send a payment notice; also the day's
//!   notices, vehicle checks, a plate's violations, online handling, licence points and the event
//!   feed), with [`HttpAuthority`], its HMAC-signing HTTP client;
//! - [`protocol`]: the wire types and the signature (docs/authority-protocol.md);
//! - [`Catalogue`]: the violation codes, points and per-city fines, and the city list, embedded in
//!   the binary;
//!
//! The sandbox authority that plays six cities' authorities for tests and demos is another
//! organisation's system and lives in its own crate, `finepay-sandbox`.
//!
//! **Architecture Invariant:** this crate knows nothing of the platform's tables; the platform knows
//! nothing of the sandbox's.

pub mod catalogue;
pub mod client;
pub mod endpoints;
pub mod protocol;

pub use catalogue::{Catalogue, City, ViolationType};
pub use client::{
    Authority, AuthorityError, HandlingOutcome, HttpAuthority, NoticeOutcome, MAX_ANSWER_BYTES,
};
pub use protocol::{
    AcceptedNotice, AuthorityEvent, DecisionRecord, EventKind, EventPage, HandlingRequest,
    NoticeList, NoticePage, PaymentNotice, RecordStatus, SettlementFile, SettlementVerdict,
    ViolationList, ViolationRecord, ViolationSummary, MAX_NOTICES_PER_BATCH, MAX_NOTICES_PER_PAGE,
    MAX_SETTLEMENT_BODY_BYTES, MAX_SETTLEMENT_LINES, SETTLEMENT_CSV_HEADER,
};
