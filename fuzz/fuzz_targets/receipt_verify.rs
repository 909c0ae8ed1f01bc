//! No forgery: a signed receipt with any bytes changed either fails to verify or still means
//! exactly the receipt that was signed (same canonical JSON, signature included); arbitrary
//! JSON never panics the verifier.
#![no_main]
use std::sync::OnceLock;

use finepay_receipts::{canonical_json, verify, PublishedKeys, ReceiptSigner};
use libfuzzer_sys::{arbitrary, fuzz_target};
use serde_json::{json, Value};

struct Fixture {
    keys: PublishedKeys,
    signed: Value,
    signed_text: Vec<u8>,
    canonical: String,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let signer = ReceiptSigner::generate();
        let receipt = json!({
            "receipt_id": "rcpt_0001",
            "payment_id": "pay_0001",
            "decision_number": "110101202600000018",
            "plate": "京A12345",
            "amount": 22000,
            "fine": 20000,
            "late_fee": 2000,
            "payee": "北京市公安局公安交通管理局",
            "paid_at": "2026-12-02T10:00:00Z",
        });
        let signed = signer.sign(&receipt).expect("the fixture signs");
        let signed_text = serde_json::to_vec(&signed).expect("serialises");
        let canonical = canonical_json(&signed).expect("canonical");
        Fixture {
            keys: signer.published_keys(),
            signed,
            signed_text,
            canonical,
        }
    })
}

#[derive(Debug, arbitrary::Arbitrary)]
enum Input<'a> {
    /// Byte edits to the signed receipt's JSON text.
    Tamper(Vec<(u16, u8)>),
    /// Any JSON at all.
    Raw(&'a [u8]),
}

fuzz_target!(|input: Input<'_>| {
    let fixture = fixture();
    match input {
        Input::Tamper(edits) => {
            let mut text = fixture.signed_text.clone();
            for (at, byte) in edits {
                let at = usize::from(at) % text.len();
                text[at] = byte;
            }
            let Ok(value) = serde_json::from_slice::<Value>(&text) else {
                return;
            };
            if verify(&value, &fixture.keys).is_ok() {
                let canonical = canonical_json(&value).expect("a verified receipt is canonical");
                assert_eq!(canonical, fixture.canonical, "a changed receipt verified");
            }
        }
        Input::Raw(data) => {
            if let Ok(value) = serde_json::from_slice::<Value>(data) {
                let _ = verify(&value, &fixture.keys);
            }
        }
    }
    assert!(verify(&fixture.signed, &fixture.keys).is_ok());
});
