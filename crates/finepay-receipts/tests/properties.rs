//! Properties over random receipts made of strings and integers.

// Tests may unwrap: a panic is exactly how a test reports a broken expectation.
#![allow(clippy::unwrap_used)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use finepay_receipts::{canonical_json, verify, ReceiptSigner, VerifyError};
use proptest::prelude::*;
use serde_json::{Map, Value};

const MAX_SAFE: i64 = 1 << 53;

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<String>().prop_map(Value::from),
        (-MAX_SAFE..=MAX_SAFE).prop_map(Value::from),
    ]
}

/// Distinct member names with values; nested objects appear as values too.
fn members() -> impl Strategy<Value = Vec<(String, Value)>> {
    let value = leaf().prop_recursive(3, 24, 6, |inner| {
        prop::collection::btree_map(any::<String>(), inner, 0..6)
            .prop_map(|map| Value::Object(map.into_iter().collect()))
    });
    prop::collection::btree_map(any::<String>(), value, 0..10)
        .prop_map(|map| map.into_iter().collect())
}

fn object(members: &[(String, Value)]) -> Value {
    let mut map = Map::new();
    for (name, value) in members {
        map.insert(name.clone(), value.clone());
    }
    Value::Object(map)
}

proptest! {
    #[test]
    fn canonical_form_does_not_depend_on_member_order(
        (members, shuffled) in members().prop_flat_map(|m| (Just(m.clone()), Just(m).prop_shuffle()))
    ) {
        prop_assert_eq!(canonical_json(&object(&members)).unwrap(), canonical_json(&object(&shuffled)).unwrap());
    }

    #[test]
    fn canonical_form_is_json_of_the_same_value_and_a_fixed_point(members in members()) {
        let value = object(&members);
        let canonical = canonical_json(&value).unwrap();
        let reparsed: Value = serde_json::from_str(&canonical).unwrap();
        prop_assert_eq!(&reparsed, &value);
        prop_assert_eq!(canonical_json(&reparsed).unwrap(), canonical);
    }

    #[test]
    fn strings_are_escaped_exactly_as_serde_json_escapes_them(text in any::<String>()) {
        // serde_json escapes only '"', '\' and C0 controls, with lowercase hex: RFC 8785's rule.
        prop_assert_eq!(canonical_json(&Value::from(text.clone())).unwrap(), serde_json::to_string(&text).unwrap());
    }

    #[test]
    fn a_signed_random_receipt_verifies(members in members()) {
        let signer = ReceiptSigner::generate();
        let receipt = object(&members.into_iter().filter(|(n, _)| n != "kid" && n != "signature").collect::<Vec<_>>());
        let signed = signer.sign(&receipt).unwrap();
        prop_assert_eq!(verify(&signed, &signer.published_keys()), Ok(()));
    }

    #[test]
    fn flipping_any_byte_of_the_signature_fails(index in 0usize..64, mask in 1u8..=255) {
        let signer = ReceiptSigner::generate();
        let signed = signer.sign(&serde_json::json!({"amount": 20000, "payee": "北京市公安局公安交通管理局"})).unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(signed["signature"].as_str().unwrap()).unwrap();
        bytes[index] ^= mask;
        let mut tampered = signed.clone();
        tampered["signature"] = Value::from(URL_SAFE_NO_PAD.encode(bytes));
        prop_assert_eq!(verify(&tampered, &signer.published_keys()), Err(VerifyError::BadSignature));
    }
}
