//! Signing and verifying receipts shaped like SPEC §3's Receipt, and every way tampering shows.

// Tests may unwrap: a panic is exactly how a test reports a broken expectation.
#![allow(clippy::unwrap_used)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use finepay_receipts::{
    verify, PublishedKey, PublishedKeys, ReceiptError, ReceiptSigner, VerifyError,
};
use serde_json::{json, Value};

/// A receipt as the platform would issue it, before signing: amounts in fen.
fn unsigned_receipt() -> Value {
    json!({
        "id": "rcp_01J9ZK4Q6W8E",
        "number": "FP-20240315-000042",
        "issued_at": "2024-03-15T10:21:07+08:00",
        "payment_id": "pay_01J9ZK4P2A7C",
        "decision_number": "1100000000000015",
        "city": {"code": "110000", "name": "北京"},
        "payee": "北京市公安局公安交通管理局",
        "payer_masked": "张*",
        "fine": 20000,
        "late_fee": 600,
        "amount": 20600,
        "currency": "CNY",
        "method": {"type": "card", "last4": "0018"}
    })
}

fn signed() -> (Value, PublishedKeys) {
    let signer = ReceiptSigner::generate();
    let receipt = signer.sign(&unsigned_receipt()).unwrap();
    (receipt, signer.published_keys())
}

fn verify_after(
    change: impl FnOnce(&mut serde_json::Map<String, Value>),
) -> Result<(), VerifyError> {
    let (mut receipt, keys) = signed();
    change(receipt.as_object_mut().unwrap());
    verify(&receipt, &keys)
}

fn assert_fails_with(result: Result<(), VerifyError>, reason: &str) {
    match result {
        Err(error) => assert_eq!(error.reason(), reason, "{error}"),
        Ok(()) => panic!("expected {reason}, but the receipt verified"),
    }
}

#[test]
fn a_signed_receipt_verifies() {
    let (receipt, keys) = signed();
    assert_eq!(verify(&receipt, &keys), Ok(()));
}

#[test]
fn signing_adds_our_kid_and_a_base64url_signature_and_keeps_every_field() {
    let signer = ReceiptSigner::generate();
    let receipt = signer.sign(&unsigned_receipt()).unwrap();
    assert_eq!(receipt["kid"], signer.kid());
    let signature = receipt["signature"].as_str().unwrap();
    assert_eq!(URL_SAFE_NO_PAD.decode(signature).unwrap().len(), 64);
    let mut without = receipt.as_object().unwrap().clone();
    without.remove("kid");
    without.remove("signature");
    assert_eq!(Value::Object(without), unsigned_receipt());
}

#[test]
fn a_receipt_survives_a_trip_through_json_text() {
    let (receipt, keys) = signed();
    let text = serde_json::to_string_pretty(&receipt).unwrap();
    let reparsed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(verify(&reparsed, &keys), Ok(()));
}

#[test]
fn a_receipt_that_already_names_our_kid_can_be_signed() {
    let signer = ReceiptSigner::generate();
    let mut receipt = unsigned_receipt();
    receipt["kid"] = json!(signer.kid());
    let signed = signer.sign(&receipt).unwrap();
    assert_eq!(verify(&signed, &signer.published_keys()), Ok(()));
}

#[test]
fn changing_the_amount_breaks_the_signature() {
    assert_fails_with(
        verify_after(|r| {
            r.insert("amount".into(), json!(600));
        }),
        "signature_mismatch",
    );
}

#[test]
fn changing_the_masked_payer_breaks_the_signature() {
    assert_fails_with(
        verify_after(|r| {
            r.insert("payer_masked".into(), json!("李*"));
        }),
        "signature_mismatch",
    );
}

#[test]
fn changing_a_nested_field_breaks_the_signature() {
    assert_fails_with(
        verify_after(|r| {
            r["city"]["name"] = json!("上海");
        }),
        "signature_mismatch",
    );
}

#[test]
fn changing_the_payee_by_one_character_breaks_the_signature() {
    assert_fails_with(
        verify_after(|r| {
            r.insert("payee".into(), json!("北京市公安局公安交通管理處"));
        }),
        "signature_mismatch",
    );
}

#[test]
fn adding_a_field_breaks_the_signature() {
    assert_fails_with(
        verify_after(|r| {
            r.insert("refunded".into(), json!(false));
        }),
        "signature_mismatch",
    );
}

#[test]
fn adding_a_null_field_breaks_the_signature() {
    assert_fails_with(
        verify_after(|r| {
            r["method"]["bank"] = Value::Null;
        }),
        "signature_mismatch",
    );
}

#[test]
fn removing_a_field_breaks_the_signature() {
    assert_fails_with(
        verify_after(|r| {
            r.remove("late_fee");
        }),
        "signature_mismatch",
    );
}

#[test]
fn turning_an_amount_into_a_float_is_refused() {
    assert_fails_with(
        verify_after(|r| {
            r.insert("amount".into(), json!(20600.0));
        }),
        "unsupported_value",
    );
}

#[test]
fn changing_the_kid_makes_the_key_unknown() {
    assert_fails_with(
        verify_after(|r| {
            r.insert("kid".into(), json!("rk-0000000000000000"));
        }),
        "unknown_key",
    );
}

#[test]
fn a_kid_of_another_published_key_breaks_the_signature() {
    let (mut receipt, mut keys) = signed();
    let other = ReceiptSigner::generate();
    keys.keys.extend(other.published_keys().keys);
    receipt["kid"] = json!(other.kid());
    assert_fails_with(verify(&receipt, &keys), "signature_mismatch");
}

#[test]
fn a_receipt_verifies_among_several_published_keys() {
    let (receipt, mut keys) = signed();
    keys.keys.insert(
        0,
        ReceiptSigner::generate().published_keys().keys[0].clone(),
    );
    assert_eq!(verify(&receipt, &keys), Ok(()));
}

#[test]
fn a_signature_from_another_key_is_a_mismatch() {
    let (receipt, keys) = signed();
    let impostor = ReceiptSigner::generate().sign(&unsigned_receipt()).unwrap();
    let mut forged = receipt.clone();
    forged["signature"] = impostor["signature"].clone();
    assert_fails_with(verify(&forged, &keys), "signature_mismatch");
}

#[test]
fn changing_the_signature_breaks_it() {
    let (receipt, keys) = signed();
    let mut bytes = URL_SAFE_NO_PAD
        .decode(receipt["signature"].as_str().unwrap())
        .unwrap();
    bytes[10] ^= 0x01;
    let mut tampered = receipt.clone();
    tampered["signature"] = json!(URL_SAFE_NO_PAD.encode(bytes));
    assert_fails_with(verify(&tampered, &keys), "signature_mismatch");
}

#[test]
fn a_signature_that_is_not_base64url_of_64_bytes_is_malformed() {
    let (receipt, keys) = signed();
    let signature = receipt["signature"].as_str().unwrap().to_owned();
    let raw = URL_SAFE_NO_PAD.decode(&signature).unwrap();
    for bad in [
        json!("not base64!"),
        json!(format!("{signature}==")),
        json!(&signature[..40]),
        json!(base64::engine::general_purpose::STANDARD.encode(&raw)),
        json!(with_stray_trailing_bits(&signature)),
        json!(42),
    ] {
        let mut tampered = receipt.clone();
        tampered["signature"] = bad;
        assert_fails_with(verify(&tampered, &keys), "malformed_signature");
    }
}

/// The same 64 bytes spelled differently: 86 characters carry 516 bits, and setting one of the
/// 4 unused bits must not be accepted as a second spelling of the signature.
fn with_stray_trailing_bits(signature: &str) -> String {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let (head, last) = signature.split_at(signature.len() - 1);
    let index = ALPHABET.find(last).unwrap() | 1;
    format!("{head}{}", &ALPHABET[index..=index])
}

#[test]
fn a_missing_signature_is_reported() {
    assert_fails_with(
        verify_after(|r| {
            r.remove("signature");
        }),
        "missing_signature",
    );
}

#[test]
fn a_missing_kid_is_reported() {
    assert_fails_with(
        verify_after(|r| {
            r.remove("kid");
        }),
        "missing_kid",
    );
}

#[test]
fn a_kid_that_is_not_a_string_is_reported_as_missing() {
    assert_fails_with(
        verify_after(|r| {
            r.insert("kid".into(), json!(7));
        }),
        "missing_kid",
    );
}

#[test]
fn something_other_than_an_object_is_not_a_receipt() {
    let keys = ReceiptSigner::generate().published_keys();
    for value in [json!([1]), json!("receipt"), json!(null)] {
        assert_fails_with(verify(&value, &keys), "not_an_object");
    }
}

#[test]
fn a_key_with_another_algorithm_is_unsupported() {
    let (receipt, mut keys) = signed();
    keys.keys[0].alg = "ES256".into();
    assert_fails_with(verify(&receipt, &keys), "unsupported_algorithm");
}

#[test]
fn a_key_that_is_not_32_bytes_is_malformed() {
    let (receipt, mut keys) = signed();
    let kid = keys.keys[0].kid.clone();
    keys.keys[0] = PublishedKey {
        kid,
        alg: "Ed25519".into(),
        public_key: URL_SAFE_NO_PAD.encode([1u8; 31]),
    };
    assert_fails_with(verify(&receipt, &keys), "malformed_key");
}

#[test]
fn signing_refuses_a_receipt_with_another_kid() {
    let mut receipt = unsigned_receipt();
    receipt["kid"] = json!("rk-ffffffffffffffff");
    let error = ReceiptSigner::generate().sign(&receipt).unwrap_err();
    assert!(
        matches!(error, ReceiptError::KidMismatch { .. }),
        "{error:?}"
    );
}

#[test]
fn signing_refuses_a_receipt_that_is_already_signed() {
    let (receipt, _) = signed();
    let error = ReceiptSigner::generate().sign(&receipt).unwrap_err();
    assert!(matches!(error, ReceiptError::AlreadySigned), "{error:?}");
}

#[test]
fn signing_refuses_floats_and_non_objects() {
    let signer = ReceiptSigner::generate();
    let mut receipt = unsigned_receipt();
    receipt["amount"] = json!(206.0);
    assert!(matches!(
        signer.sign(&receipt),
        Err(ReceiptError::FloatNotAllowed { .. })
    ));
    assert!(matches!(
        signer.sign(&json!([])),
        Err(ReceiptError::NotAnObject)
    ));
}

#[test]
fn the_kid_is_rk_and_16_hex_digits_of_the_public_key_hash() {
    use sha2::Digest as _;
    let signer = ReceiptSigner::generate();
    let public_key = URL_SAFE_NO_PAD.decode(signer.public_key()).unwrap();
    let digest = sha2::Sha256::digest(&public_key);
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    assert_eq!(signer.kid(), format!("rk-{hex}"));
    assert_eq!(signer.published_keys().keys[0].kid, signer.kid());
}

#[test]
fn debug_output_shows_the_kid_but_not_the_secret() {
    let signer = ReceiptSigner::generate();
    let debug = format!("{signer:?}");
    assert!(debug.contains(signer.kid()), "{debug}");
    assert!(!debug.contains("key:"), "{debug}");
}
