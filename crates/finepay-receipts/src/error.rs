//! Errors of signing (something is wrong on our side or with our input) and of verifying (the
//! receipt in hand is not one we vouch for). They are separate types because a caller handles them
//! differently: a signing error is a bug or a broken key file, a verification failure is an answer.

use std::path::PathBuf;

/// Why a receipt could not be canonicalised or signed, or the signing key not loaded.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    /// A file-system operation on the key directory failed.
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        /// What we were doing, e.g. "read" or "create directory".
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A key file is not JSON of the expected shape.
    #[error("{} is not valid JSON of the expected shape: {source}", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// A number with a fraction or exponent: receipts carry money as integer fen.
    #[error("number {value} at {pointer:?} is not an integer; receipts carry only integers")]
    FloatNotAllowed { pointer: String, value: String },
    /// An integer beyond ±2^53, which verifiers that parse numbers as doubles could not reproduce.
    #[error("integer {value} at {pointer:?} is beyond ±2^53 and cannot be canonicalised exactly")]
    IntegerOutOfRange { pointer: String, value: String },
    /// The signing key file exists but cannot be trusted as our key.
    #[error("signing key file {} is malformed: {problem}", path.display())]
    KeyFile {
        path: PathBuf,
        problem: &'static str,
    },
    /// The receipt to sign names a different key than ours.
    #[error("receipt names kid {found} but this signer's kid is {ours:?}")]
    KidMismatch { ours: String, found: String },
    /// Only a JSON object can be a receipt.
    #[error("a receipt must be a JSON object")]
    NotAnObject,
    /// The receipt to sign already has a `signature`; signing over it would hide the old one.
    #[error("the receipt already has a signature")]
    AlreadySigned,
}

/// Why a receipt did not verify. [`VerifyError::reason`] gives the stable code for API answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("a receipt must be a JSON object")]
    NotAnObject,
    #[error("the receipt has no signature")]
    MissingSignature,
    #[error("the receipt has no kid naming its signing key")]
    MissingKid,
    #[error("no published key has the receipt's kid")]
    UnknownKey,
    #[error("the signature is not base64url of 64 bytes")]
    MalformedSignature,
    #[error("the signature does not match the receipt")]
    BadSignature,
    #[error("the key's algorithm is not Ed25519")]
    UnsupportedAlgorithm,
    #[error("the published key is not base64url of a valid 32-byte Ed25519 public key")]
    MalformedKey,
    /// The receipt holds a float or an over-large integer, which we never sign.
    #[error("the receipt holds a value that is never signed: {0}")]
    UnsupportedValue(String),
}

impl VerifyError {
    /// The snake_case code used as `reason` in `POST /api/v1/receipts/verify` answers.
    pub fn reason(&self) -> &'static str {
        match self {
            VerifyError::NotAnObject => "not_an_object",
            VerifyError::MissingSignature => "missing_signature",
            VerifyError::MissingKid => "missing_kid",
            VerifyError::UnknownKey => "unknown_key",
            VerifyError::MalformedSignature => "malformed_signature",
            VerifyError::BadSignature => "signature_mismatch",
            VerifyError::UnsupportedAlgorithm => "unsupported_algorithm",
            VerifyError::MalformedKey => "malformed_key",
            VerifyError::UnsupportedValue(_) => "unsupported_value",
        }
    }
}
