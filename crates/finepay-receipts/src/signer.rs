//! The platform's receipt-signing key and the act of signing.
//!
//! The key must survive restarts: every receipt ever issued names it by `kid`, so a new key on each
//! start would make yesterday's receipts unverifiable. It therefore lives in the data directory,
//! created once and then only read.

use std::fmt;
use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::files;
use crate::keys::{PublishedKey, PublishedKeys, ALG_ED25519};
use crate::{canonical_json, ReceiptError};

/// Name of the private key file inside the key directory (mode 0600 on unix).
pub const SIGNING_KEY_FILE: &str = "receipt-signing-key.json";
/// Name of the published key set written beside it, for offline `finepay receipt verify`.
pub const PUBLISHED_KEYS_FILE: &str = "receipt-keys.json";

/// Holds the Ed25519 signing key and its `kid`. `Debug` shows only the `kid`.
pub struct ReceiptSigner {
    key: SigningKey,
    kid: String,
}

/// On-disk shape of [`SIGNING_KEY_FILE`].
#[derive(Serialize, Deserialize)]
struct KeyFile {
    kid: String,
    alg: String,
    secret_key: String,
}

impl ReceiptSigner {
    /// A fresh in-memory key, for tests and throwaway setups; nothing is written anywhere.
    pub fn generate() -> ReceiptSigner {
        ReceiptSigner::from_key(SigningKey::generate(&mut rand::rngs::OsRng))
    }

    /// Loads the key kept in `dir`, creating `dir` and a fresh key on first start. Also writes
    /// (or refreshes) `dir/receipt-keys.json` with [`ReceiptSigner::published_keys`].
    ///
    /// A key file that exists but is unreadable or inconsistent is an error, never replaced: a
    /// silent new key would orphan every receipt signed with the old one.
    pub fn load_or_create(dir: &Path) -> Result<ReceiptSigner, ReceiptError> {
        files::create_dir(dir)?;
        let path = dir.join(SIGNING_KEY_FILE);
        let signer = match ReceiptSigner::read_key_file(&path)? {
            Some(signer) => signer,
            None => ReceiptSigner::create_key_file(&path)?,
        };
        let published =
            serde_json::to_string_pretty(&signer.published_keys()).map_err(|source| {
                ReceiptError::Json {
                    path: dir.join(PUBLISHED_KEYS_FILE),
                    source,
                }
            })?;
        files::replace_public(&dir.join(PUBLISHED_KEYS_FILE), &(published + "\n"))?;
        Ok(signer)
    }

    /// The key id receipts carry in `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// base64url (no padding) of the 32 raw public-key bytes.
    pub fn public_key(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.key.verifying_key().as_bytes())
    }

    /// The key set to serve at `GET /.well-known/finepay/receipt-keys`.
    pub fn published_keys(&self) -> PublishedKeys {
        PublishedKeys {
            keys: vec![PublishedKey {
                kid: self.kid.clone(),
                alg: ALG_ED25519.to_owned(),
                public_key: self.public_key(),
            }],
        }
    }

    /// Signs a receipt object that has no `signature` yet.
    ///
    /// Inserts our `kid` if absent (a present `kid` must be ours), then adds `signature`: base64url
    /// of the Ed25519 signature over the UTF-8 bytes of the canonical JSON of everything else.
    pub fn sign(&self, receipt: &Value) -> Result<Value, ReceiptError> {
        let mut members = receipt
            .as_object()
            .cloned()
            .ok_or(ReceiptError::NotAnObject)?;
        if members.contains_key("signature") {
            return Err(ReceiptError::AlreadySigned);
        }
        match members.get("kid") {
            None => {
                members.insert("kid".to_owned(), Value::String(self.kid.clone()));
            }
            Some(Value::String(kid)) if *kid == self.kid => {}
            Some(other) => {
                return Err(ReceiptError::KidMismatch {
                    ours: self.kid.clone(),
                    found: other.to_string(),
                })
            }
        }
        let mut unsigned = Value::Object(members);
        let signature = self.key.sign(canonical_json(&unsigned)?.as_bytes());
        if let Some(members) = unsigned.as_object_mut() {
            let encoded = URL_SAFE_NO_PAD.encode(signature.to_bytes());
            members.insert("signature".to_owned(), Value::String(encoded));
        }
        Ok(unsigned)
    }

    fn from_key(key: SigningKey) -> ReceiptSigner {
        let kid = kid_for(&key.verifying_key());
        ReceiptSigner { key, kid }
    }

    /// `Ok(None)` when there is no key file yet.
    fn read_key_file(path: &Path) -> Result<Option<ReceiptSigner>, ReceiptError> {
        let Some(text) = files::read_if_exists(path)? else {
            return Ok(None);
        };
        let file: KeyFile = serde_json::from_str(&text).map_err(|source| ReceiptError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        let malformed = |problem| ReceiptError::KeyFile {
            path: path.to_path_buf(),
            problem,
        };
        if file.alg != ALG_ED25519 {
            return Err(malformed("alg is not Ed25519"));
        }
        let secret: [u8; 32] = URL_SAFE_NO_PAD
            .decode(file.secret_key.as_bytes())
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| malformed("secret_key is not base64url of 32 bytes"))?;
        let signer = ReceiptSigner::from_key(SigningKey::from_bytes(&secret));
        if signer.kid != file.kid {
            return Err(malformed("kid does not match the key"));
        }
        Ok(Some(signer))
    }

    /// Writes a fresh key; if another process created one first, uses theirs.
    fn create_key_file(path: &Path) -> Result<ReceiptSigner, ReceiptError> {
        let signer = ReceiptSigner::generate();
        let file = KeyFile {
            kid: signer.kid.clone(),
            alg: ALG_ED25519.to_owned(),
            secret_key: URL_SAFE_NO_PAD.encode(signer.key.to_bytes()),
        };
        let text = serde_json::to_string_pretty(&file).map_err(|source| ReceiptError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        if files::create_private(path, &(text + "\n"))? {
            return Ok(signer);
        }
        ReceiptSigner::read_key_file(path)?.ok_or(ReceiptError::KeyFile {
            path: path.to_path_buf(),
            problem: "vanished right after another process created it",
        })
    }
}

impl fmt::Debug for ReceiptSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiptSigner")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// `rk-` + the first 16 hex digits of sha256 of the raw public key: short, and derived from the
/// key itself so a key file cannot pair a key with someone else's id.
pub fn kid_for(public_key: &VerifyingKey) -> String {
    let digest = Sha256::digest(public_key.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("rk-{hex}")
}
