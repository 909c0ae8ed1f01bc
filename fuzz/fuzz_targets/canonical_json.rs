//! Canonical JSON is a fixed point: the canonical text of any JSON value, read back, has the same
//! canonical text, and means the same value; nothing panics.
#![no_main]
use finepay_receipts::canonical_json;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if let Ok(text) = canonical_json(&value) {
        let again: Value = serde_json::from_str(&text).expect("canonical JSON is JSON");
        assert_eq!(again, value, "canonical JSON changed the value");
        assert_eq!(canonical_json(&again).expect("still canonical"), text);
    }
});
