//! The use cases' error type. Each variant is one of SPEC's error codes ([`ErrorCode`]); the core
//! knows nothing of HTTP: the edge maps a code to its status, for fresh errors and for the
//! idempotent replies the core stores (which keep the code, never a status).

use finepay_store::StoreError;

/// SPEC §3's error codes, by their stable names.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidPlate,
    InvalidDecisionNumber,
    Unauthenticated,
    InvalidCredentials,
    PhoneTaken,
    NotFound,
    DecisionNotFound,
    DecisionAlreadyPaid,
    DecisionRevoked,
    AmountChanged,
    PlateMismatch,
    InsufficientFunds,
    InsufficientCredit,
    CardDeclined,
    CreditOverdue,
    VehicleVerificationFailed,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    RequestInProgress,
    RateLimited,
    AuthorityUnavailable,
    BankUnavailable,
    ServiceBusy,
    Conflict,
    OnlineHandlingNotAllowed,
    Forbidden,
    InternalError,
}

finepay_domain::named!(ErrorCode, {
    InvalidRequest => "invalid_request",
    InvalidPlate => "invalid_plate",
    InvalidDecisionNumber => "invalid_decision_number",
    Unauthenticated => "unauthenticated",
    InvalidCredentials => "invalid_credentials",
    PhoneTaken => "phone_taken",
    NotFound => "not_found",
    DecisionNotFound => "decision_not_found",
    DecisionAlreadyPaid => "decision_already_paid",
    DecisionRevoked => "decision_revoked",
    AmountChanged => "amount_changed",
    PlateMismatch => "plate_mismatch",
    InsufficientFunds => "insufficient_funds",
    InsufficientCredit => "insufficient_credit",
    CardDeclined => "card_declined",
    CreditOverdue => "credit_overdue",
    VehicleVerificationFailed => "vehicle_verification_failed",
    IdempotencyKeyRequired => "idempotency_key_required",
    IdempotencyKeyReused => "idempotency_key_reused",
    RequestInProgress => "request_in_progress",
    RateLimited => "rate_limited",
    AuthorityUnavailable => "authority_unavailable",
    BankUnavailable => "bank_unavailable",
    ServiceBusy => "service_busy",
    Conflict => "conflict",
    OnlineHandlingNotAllowed => "online_handling_not_allowed",
    Forbidden => "forbidden",
    InternalError => "internal_error",
});

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("{message}")]
    InvalidRequest {
        field: Option<String>,
        message: String,
    },
    #[error("{0}")]
    InvalidPlate(String),
    #[error("{0}")]
    InvalidDecisionNumber(String),
    #[error("sign in first: send Authorization: Bearer <token> from POST /api/v1/sessions")]
    Unauthenticated,
    #[error("the phone number or password is wrong")]
    InvalidCredentials,
    #[error("this phone number is already registered; sign in instead")]
    PhoneTaken,
    #[error("{0}")]
    NotFound(&'static str),
    #[error("no penalty decision with this number; check the number on your ticket")]
    DecisionNotFound,
    #[error("this penalty decision is already paid")]
    DecisionAlreadyPaid,
    #[error("this penalty decision was revoked by the authority; nothing to pay")]
    DecisionRevoked,
    #[error("the amount due is now {now_due} fen, not {stated} fen; look the decision up again and pay the new amount")]
    AmountChanged { stated: i64, now_due: i64 },
    #[error("the plate you confirmed does not match the vehicle on this decision")]
    PlateMismatch,
    #[error("your balance is {balance} fen, less than {amount} fen; top up or pay another way")]
    InsufficientFunds { balance: i64, amount: i64 },
    #[error("your available credit is {available} fen, less than {amount} fen; pay another way")]
    InsufficientCredit { available: i64, amount: i64 },
    #[error("a credit statement is past its due date; repay it (POST /api/v1/credit/repayments) before paying with credit again, or pay another way")]
    CreditOverdue,
    #[error("the bank declined the card: {0}")]
    CardDeclined(String),
    #[error("{0}")]
    VehicleVerificationFailed(String),
    #[error("the Idempotency-Key header is required for this request (1 to 255 characters)")]
    IdempotencyKeyRequired,
    #[error("this Idempotency-Key was already used with a different request body; use a new key")]
    IdempotencyKeyReused,
    #[error("a request with this Idempotency-Key is still being processed; retry shortly")]
    RequestInProgress,
    #[error("too many lookups; retry in {retry_after_s} s")]
    RateLimited { retry_after_s: u64 },
    #[error("the traffic authority for this decision cannot be reached right now; nothing was charged, try again later")]
    AuthorityUnavailable,
    #[error("the bank cannot be reached right now; nothing was charged, try again later")]
    BankUnavailable,
    #[error("the service is busy; retry shortly")]
    Busy,
    #[error("{message}")]
    OnlineHandlingNotAllowed { reason: String, message: String },
    #[error("another instance did this first")]
    Conflict,
    #[error("this is for operators only; ask an operator to run `finepay admin grant` for your phone number")]
    Forbidden,
    #[error("internal error")]
    Internal(String),
}

impl CoreError {
    pub fn code(&self) -> ErrorCode {
        use CoreError::*;
        match self {
            InvalidRequest { .. } => ErrorCode::InvalidRequest,
            InvalidPlate(_) => ErrorCode::InvalidPlate,
            InvalidDecisionNumber(_) => ErrorCode::InvalidDecisionNumber,
            Unauthenticated => ErrorCode::Unauthenticated,
            InvalidCredentials => ErrorCode::InvalidCredentials,
            PhoneTaken => ErrorCode::PhoneTaken,
            NotFound(_) => ErrorCode::NotFound,
            DecisionNotFound => ErrorCode::DecisionNotFound,
            DecisionAlreadyPaid => ErrorCode::DecisionAlreadyPaid,
            DecisionRevoked => ErrorCode::DecisionRevoked,
            AmountChanged { .. } => ErrorCode::AmountChanged,
            PlateMismatch => ErrorCode::PlateMismatch,
            InsufficientFunds { .. } => ErrorCode::InsufficientFunds,
            InsufficientCredit { .. } => ErrorCode::InsufficientCredit,
            CardDeclined(_) => ErrorCode::CardDeclined,
            CreditOverdue => ErrorCode::CreditOverdue,
            VehicleVerificationFailed(_) => ErrorCode::VehicleVerificationFailed,
            IdempotencyKeyRequired => ErrorCode::IdempotencyKeyRequired,
            IdempotencyKeyReused => ErrorCode::IdempotencyKeyReused,
            RequestInProgress => ErrorCode::RequestInProgress,
            RateLimited { .. } => ErrorCode::RateLimited,
            AuthorityUnavailable => ErrorCode::AuthorityUnavailable,
            BankUnavailable => ErrorCode::BankUnavailable,
            Busy => ErrorCode::ServiceBusy,
            Conflict => ErrorCode::Conflict,
            OnlineHandlingNotAllowed { .. } => ErrorCode::OnlineHandlingNotAllowed,
            Forbidden => ErrorCode::Forbidden,
            Internal(_) => ErrorCode::InternalError,
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            CoreError::InvalidRequest { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    /// The message shown to the user. Internal details stay in the logs.
    pub fn public_message(&self) -> String {
        self.to_string()
    }

    /// The error envelope of SPEC §3, as JSON text.
    pub fn envelope(&self) -> serde_json::Value {
        let mut error =
            serde_json::json!({ "code": self.code().as_str(), "message": self.public_message() });
        if let Some(field) = self.field() {
            error["field"] = serde_json::Value::String(field.to_string());
        }
        if let CoreError::OnlineHandlingNotAllowed { reason, .. } = self {
            error["reason"] = serde_json::Value::String(reason.clone());
        }
        serde_json::json!({ "error": error })
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> CoreError {
        CoreError::InvalidRequest {
            field: Some(field.to_string()),
            message: message.into(),
        }
    }
}

impl From<StoreError> for CoreError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Busy => CoreError::Busy,
            e if e.is_transient() || e.is_unavailable() => {
                tracing::warn!(error = %e, "the database cannot serve now; answering 503");
                CoreError::Busy
            }
            other => CoreError::Internal(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(code: std::ffi::c_int) -> StoreError {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(code),
            None,
        ))
    }

    /// A database that cannot serve answers 503 (retry), never 500: nothing was written.
    #[test]
    fn database_faults_are_busy_and_bugs_are_internal() {
        for e in [
            StoreError::WriterGone,
            StoreError::CommitFailed("disk I/O error".into()),
            sqlite(rusqlite::ffi::SQLITE_FULL),
            sqlite(rusqlite::ffi::SQLITE_IOERR),
            sqlite(rusqlite::ffi::SQLITE_READONLY),
            sqlite(rusqlite::ffi::SQLITE_BUSY),
        ] {
            let shown = e.to_string();
            assert_eq!(CoreError::from(e).code(), ErrorCode::ServiceBusy, "{shown}");
        }
        for e in [
            StoreError::Corrupt("a row".into()),
            sqlite(rusqlite::ffi::SQLITE_CONSTRAINT),
        ] {
            let shown = e.to_string();
            assert_eq!(
                CoreError::from(e).code(),
                ErrorCode::InternalError,
                "{shown}"
            );
        }
    }
}
