//! RFC 8785 canonical JSON, checked against the RFC's own examples where they apply.

// Tests may unwrap: a panic is exactly how a test reports a broken expectation.
#![allow(clippy::unwrap_used)]

use finepay_receipts::{canonical_json, ReceiptError};
use serde_json::{json, Value};

fn canonical_of(text: &str) -> Result<String, ReceiptError> {
    let value: Value = serde_json::from_str(text).unwrap();
    canonical_json(&value)
}

#[test]
fn members_are_sorted_without_whitespace_and_non_ascii_stays_utf8() {
    let value = json!({"b": 1, "a": "é", "c": {"z": true, "y": null}});
    assert_eq!(
        canonical_json(&value).unwrap(),
        r#"{"a":"é","b":1,"c":{"y":null,"z":true}}"#
    );
}

#[test]
fn rfc8785_sorting_example_orders_by_utf16_code_units() {
    // RFC 8785 §3.2.3: the emoji (a surrogate pair, 0xD83D...) sorts before U+FB33,
    // although its UTF-8 bytes would sort after.
    let text = r#"{
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\ud83d\ude00": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis"
    }"#;
    let expected = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
        \"ö\":\"Latin Small Letter O With Diaeresis\",\"€\":\"Euro Sign\",\
        \"😀\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
    assert_eq!(canonical_of(text).unwrap(), expected);
}

#[test]
fn rfc8785_string_and_literal_example_uses_only_mandatory_escapes() {
    // RFC 8785 §3.2.2 example without its "numbers" member (floats are never in receipts).
    let text = r#"{
        "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
        "literals": [null, true, false]
    }"#;
    let expected = r#"{"literals":[null,true,false],"string":"€$\u000f\nA'B\"\\\\\"/"}"#;
    assert_eq!(canonical_of(text).unwrap(), expected);
}

#[test]
fn a_name_sorts_before_longer_names_it_prefixes() {
    let value = json!({"a b": 2, "a!": 3, "a": 1});
    assert_eq!(canonical_json(&value).unwrap(), r#"{"a":1,"a b":2,"a!":3}"#);
}

#[test]
fn every_control_character_is_escaped_and_nothing_else() {
    let value = json!("\u{0}\u{8}\t\n\u{b}\u{c}\r\u{1f} \u{7f}\u{2028}/<>&'");
    assert_eq!(
        canonical_json(&value).unwrap(),
        "\"\\u0000\\b\\t\\n\\u000b\\f\\r\\u001f \u{7f}\u{2028}/<>&'\""
    );
}

#[test]
fn chinese_text_is_kept_as_utf8() {
    let value = json!({"payee": "北京市公安局公安交通管理局"});
    assert_eq!(
        canonical_json(&value).unwrap(),
        r#"{"payee":"北京市公安局公安交通管理局"}"#
    );
}

#[test]
fn integers_up_to_two_to_the_53_are_plain_decimals() {
    // RFC 8785 Appendix B: 4340000000000000 → 9007199254740992, c340000000000000 → -9007199254740992.
    let value = json!([
        0,
        -1,
        20000,
        9_007_199_254_740_992_i64,
        -9_007_199_254_740_992_i64
    ]);
    assert_eq!(
        canonical_json(&value).unwrap(),
        "[0,-1,20000,9007199254740992,-9007199254740992]"
    );
}

#[test]
fn a_float_is_refused_with_its_location() {
    let error = canonical_of(r#"{"city": {"codes": [1, 2.5]}}"#).unwrap_err();
    match error {
        ReceiptError::FloatNotAllowed { pointer, value } => {
            assert_eq!(pointer, "/city/codes/1");
            assert_eq!(value, "2.5");
        }
        other => panic!("expected FloatNotAllowed, got {other:?}"),
    }
}

#[test]
fn floats_with_integral_values_and_negative_zero_are_refused_too() {
    for text in ["1.0", "1e3", "-0", "1E30"] {
        assert!(
            matches!(
                canonical_of(text),
                Err(ReceiptError::FloatNotAllowed { .. })
            ),
            "{text} should be refused"
        );
    }
}

#[test]
fn integers_beyond_two_to_the_53_are_refused() {
    for text in [
        "9007199254740993",
        "-9007199254740993",
        "18446744073709551615",
    ] {
        let error = canonical_of(&format!(r#"{{"a/b~":{text}}}"#)).unwrap_err();
        match error {
            ReceiptError::IntegerOutOfRange { pointer, value } => {
                assert_eq!(pointer, "/a~1b~0");
                assert_eq!(value, text);
            }
            other => panic!("expected IntegerOutOfRange for {text}, got {other:?}"),
        }
    }
}
