//! Signed electronic receipts (SPEC §3 "Receipt", `/.well-known/finepay/receipt-keys`).
//!
//! A receipt is a JSON object; its `signature` is Ed25519 over the RFC 8785 canonical JSON of
//! everything else, base64url without padding, and its `kid` names the key in the published set.
//!
//! **Architecture Invariant:** this crate knows nothing of storage, HTTP or the payment domain. It
//! signs whatever object it is given and verifies against whatever key set it is handed; the only
//! files it touches are the two in the key directory passed to [`ReceiptSigner::load_or_create`].
//!
//! ```
//! use finepay_receipts::{verify, ReceiptSigner};
//! use serde_json::json;
//!
//! let signer = ReceiptSigner::generate(); // servers use ReceiptSigner::load_or_create(data_dir)
//! let receipt = signer.sign(&json!({"amount": 20600, "payee": "北京市公安局公安交通管理局"}))?;
//! assert!(verify(&receipt, &signer.published_keys()).is_ok());
//!
//! let mut forged = receipt.clone();
//! forged["amount"] = json!(600);
//! assert_eq!(verify(&forged, &signer.published_keys()).unwrap_err().reason(), "signature_mismatch");
//! # Ok::<(), finepay_receipts::ReceiptError>(())
//! ```

mod canonical;
mod error;
mod files;
mod keys;
mod signer;
mod verify;

pub use canonical::{canonical_json, MAX_SAFE_MAGNITUDE};
pub use error::{ReceiptError, VerifyError};
pub use keys::{PublishedKey, PublishedKeys, ALG_ED25519};
pub use signer::{kid_for, ReceiptSigner, PUBLISHED_KEYS_FILE, SIGNING_KEY_FILE};
pub use verify::verify;
