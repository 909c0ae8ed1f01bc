//! The `Bank` adapter: the small trait the platform talks to, and the values it exchanges.

use async_trait::async_trait;

/// What a bank can do for the platform.
///
/// Every money-moving call carries a reference chosen by the platform; the bank treats it as an
/// idempotency key, so calling again with the same reference is always safe.
#[async_trait]
pub trait Bank: Send + Sync + 'static {
    /// Checks a card with its bank before the platform links it to a user.
    ///
    /// The platform keeps only what comes back (token, bank name, last four digits), never the number.
    async fn verify_card(&self, number: &str, holder_name: &str) -> Result<CardLink, BankError>;

    /// Takes `amount_fen` from the card behind `card_token`, once per `reference`.
    ///
    /// `Ok` means the money was taken. [`BankError::Declined`] and [`BankError::InvalidCard`] mean
    /// nothing was taken. Any other error means the outcome is unknown: resolve it with
    /// [`Bank::charge_status`] (or by charging again with the same reference), never with a new one.
    async fn charge(
        &self,
        reference: &str,
        card_token: &str,
        amount_fen: i64,
    ) -> Result<Charge, BankError>;

    /// The bank's record of a charge; `None` when the bank never saw `reference`.
    async fn charge_status(&self, reference: &str) -> Result<Option<ChargeStatus>, BankError>;

    /// Gives back `amount_fen` of a succeeded charge, once per `refund_reference`.
    ///
    /// The bank refuses ([`BankError::Declined`]) a refund of an unknown or declined charge, or one
    /// that would make the refunds exceed the charge.
    async fn refund(
        &self,
        refund_reference: &str,
        charge_reference: &str,
        amount_fen: i64,
    ) -> Result<(), BankError>;
}

/// A card the bank has verified: all the platform may keep about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardLink {
    /// The issuing bank's display name, e.g. "ICBC".
    pub bank: String,
    /// The last four digits, for display.
    pub last4: String,
    /// The bank's opaque handle for the card; charges name the card by it.
    pub card_token: String,
}

/// A charge the bank has made (the money was taken).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    pub reference: String,
    pub amount_fen: i64,
}

/// What the bank recorded for a charge reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeStatus {
    /// The money was taken (and possibly partly refunded: the refunds have not reached the charge).
    Succeeded { amount_fen: i64 },
    /// Nothing was taken.
    Declined { reason: String },
    /// The money was taken and then given back in full; `amount_fen` is the amount refunded.
    Refunded { amount_fen: i64 },
}

/// Why a bank call did not give the answer asked for.
///
/// The variants say what the platform may do next, which is why a timeout and a refused connection
/// are told apart: one leaves the outcome unknown, the other proves the bank never got the request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BankError {
    /// The bank said no: nothing was taken.
    #[error("declined by the bank: {reason}")]
    Declined { reason: String },
    /// The card number is malformed (wrong length or failed check digit).
    #[error("invalid card: {reason}")]
    InvalidCard { reason: String },
    /// No answer in time, or the connection broke after the request was sent: the outcome is
    /// unknown. Ask [`Bank::charge_status`] with the same reference.
    #[error("the bank did not answer in time; the outcome is unknown")]
    Timeout,
    /// The connection failed before the bank got the request: nothing happened, safe to retry.
    #[error("the bank is unavailable: {0}")]
    Unavailable(String),
    /// The bank answered something this client does not understand. For a charge the outcome is
    /// unknown, as with [`BankError::Timeout`].
    #[error("unexpected answer from the bank: {0}")]
    Protocol(String),
}
