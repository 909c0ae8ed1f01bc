//! Checking a receipt against the published keys. Needs no secret and no network, so the server,
//! the CLI (`finepay receipt verify`) and anyone holding a saved key set run the same check.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::{Signature, VerifyingKey};
use serde_json::{Map, Value};

use crate::keys::{PublishedKey, PublishedKeys, ALG_ED25519};
use crate::{canonical_json, VerifyError};

/// `Ok(())` when `receipt` carries a valid signature by one of `keys` over all its other fields.
///
/// The signed bytes are the canonical JSON of the receipt minus `signature`, so changing, adding or
/// removing any field, at any depth, invalidates it. Checks run cheapest first and the first
/// failure is returned.
pub fn verify(receipt: &Value, keys: &PublishedKeys) -> Result<(), VerifyError> {
    let members = receipt.as_object().ok_or(VerifyError::NotAnObject)?;
    let signature = match members.get("signature") {
        None => return Err(VerifyError::MissingSignature),
        Some(Value::String(text)) => text,
        Some(_) => return Err(VerifyError::MalformedSignature),
    };
    let kid = members
        .get("kid")
        .and_then(Value::as_str)
        .ok_or(VerifyError::MissingKid)?;
    let key = verifying_key(keys.find(kid).ok_or(VerifyError::UnknownKey)?)?;
    let signature = decode_signature(signature)?;
    let signed_bytes = canonical_without_signature(members)?;
    key.verify_strict(signed_bytes.as_bytes(), &signature)
        .map_err(|_| VerifyError::BadSignature)
}

fn verifying_key(published: &PublishedKey) -> Result<VerifyingKey, VerifyError> {
    if published.alg != ALG_ED25519 {
        return Err(VerifyError::UnsupportedAlgorithm);
    }
    let bytes: [u8; 32] = URL_SAFE_NO_PAD
        .decode(published.public_key.as_bytes())
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(VerifyError::MalformedKey)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| VerifyError::MalformedKey)
}

/// The base64 engine is strict (no padding, no stray trailing bits), so each signature has exactly
/// one accepted spelling.
fn decode_signature(text: &str) -> Result<Signature, VerifyError> {
    let bytes: [u8; 64] = URL_SAFE_NO_PAD
        .decode(text.as_bytes())
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(VerifyError::MalformedSignature)?;
    Ok(Signature::from_bytes(&bytes))
}

fn canonical_without_signature(members: &Map<String, Value>) -> Result<String, VerifyError> {
    let mut unsigned = members.clone();
    unsigned.remove("signature");
    canonical_json(&Value::Object(unsigned))
        .map_err(|error| VerifyError::UnsupportedValue(error.to_string()))
}
