//! The published key set: the JSON served at `GET /.well-known/finepay/receipt-keys`.
//!
//! It is a set, not a single key, so that a rotated-out key can stay published and receipts signed
//! with it keep verifying.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::ReceiptError;

/// The only signature algorithm finepay signs receipts with.
pub const ALG_ED25519: &str = "Ed25519";

/// `{"keys": [{kid, alg, public_key}, ...]}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PublishedKeys {
    pub keys: Vec<PublishedKey>,
}

/// One public key that receipts may name in their `kid`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PublishedKey {
    /// `rk-` + the first 16 hex digits of sha256 of the raw public key.
    pub kid: String,
    /// Always `"Ed25519"` for keys finepay publishes.
    pub alg: String,
    /// base64url (no padding) of the 32 raw public-key bytes.
    pub public_key: String,
}

impl PublishedKeys {
    /// Reads a saved copy of the published key set, e.g. for `finepay receipt verify --keys FILE`.
    pub fn load(path: &Path) -> Result<Self, ReceiptError> {
        let text = std::fs::read_to_string(path).map_err(|source| ReceiptError::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| ReceiptError::Json {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The key with this `kid`, if published.
    pub fn find(&self, kid: &str) -> Option<&PublishedKey> {
        self.keys.iter().find(|key| key.kid == kid)
    }
}
