//! finepay-domain: the rules of SPEC §2 as pure types and functions.
//!
//! Everything here is a value: parse at the edge into a newtype ([`Plate`], [`DecisionNumber`],
//! [`CityCode`], [`IdNumber`], [`Phone`], [`Fen`]), then compute late fees, state transitions and
//! ledger postings as functions of their inputs and a date.
//!
//! **Architecture Invariant:** this crate knows no I/O, no clock, no serde, no SQL and no HTTP.
//! "Today" is always a parameter, so every rule can be tested exhaustively.
//!
//! ```
//! use chrono::NaiveDate;
//! use finepay_domain::{charges_on, pay_by_card, refund, CityCode, DecisionNumber, Fen, Plate};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let plate = Plate::parse("京a·123 45")?;
//! assert_eq!((plate.as_str(), plate.masked().as_str()), ("京A12345", "京A***45"));
//!
//! let number = DecisionNumber::parse("1100 0000 0000 0015")?.require_luhn()?;
//! assert!(number.starts_with("110000"));
//!
//! let fine = Fen::from_yuan(200).ok_or("fine too large")?;
//! let issued = NaiveDate::from_ymd_opt(2024, 5, 1).ok_or("bad date")?;
//! let today = NaiveDate::from_ymd_opt(2024, 6, 18).ok_or("bad date")?;
//! let c = charges_on(fine, issued, today);
//! assert_eq!((c.days_late, c.late_fee.to_string(), c.amount_due.to_string()),
//!            (33, "198.00".to_string(), "398.00".to_string()));
//!
//! let paid = pay_by_card("icbc", &CityCode::parse("110000")?, c.amount_due)?;
//! let reversed = refund(&paid)?;
//! assert_eq!(reversed.postings()[0].amount, Fen::from_fen(-39_800));
//! # Ok(())
//! # }
//! ```

pub mod charges;
pub mod city;
pub mod decision_number;
pub mod identity;
pub mod ledger;
pub mod money;
pub mod plate;
pub mod statement;
pub mod status;

pub use charges::{charges_on, due_on, Charges, PAYMENT_WINDOW_DAYS};
pub use city::{City, CityCode, CityCodeError};
pub use decision_number::{luhn_check_digit, luhn_valid, DecisionNumber, DecisionNumberError};
pub use identity::{mask_name, IdNumber, IdNumberError, Phone, PhoneError};
pub use ledger::{
    credit_repayment, pay_by_card, pay_by_credit, pay_from_balance, refund,
    repay_credit_from_balance, top_up, Account, LedgerError, LedgerTransaction, Posting, TxKind,
};
pub use money::{Fen, MoneyError, ParseFenError};
pub use plate::{Plate, PlateError, PlateKind, PROVINCES};
pub use statement::{StatementDays, StatementStatus};
pub use status::{
    AuthoritySync, ChargeStatus, DecisionStatus, Named, PayMethodKind, PaymentStatus,
    TransitionError,
};
