//! RFC 8785 (JSON Canonicalization Scheme) for the values a receipt can hold.
//!
//! A signature is over bytes, not over meaning, so the signer and every verifier must turn the same
//! receipt into the same bytes. RFC 8785 fixes those bytes: no whitespace, object members sorted by
//! the UTF-16 code units of their names, strings with only the mandatory escapes, numbers as
//! ECMAScript prints them.
//!
//! Written by hand rather than taken from `serde_jcs` 0.1, which sorts members by their *serialised
//! UTF-8* bytes: it puts `"a b"` before `"a"` and `"\u{fb33}"` before `"😀"`, both against the RFC.
//!
//! Receipts carry money as integer fen, so numbers are integers. Floats are refused instead of
//! reproducing ECMAScript's shortest-round-trip float printing, and integers must lie within ±2^53,
//! where an IEEE double (which is what RFC 8785 verifiers in other languages parse into) holds them
//! exactly and ECMAScript prints them as plain decimals. Outside that range two verifiers could
//! disagree on the bytes, so we refuse rather than sign something ambiguous.

use serde_json::{Map, Number, Value};

use crate::ReceiptError;

/// The largest magnitude an integer may have: 2^53, the edge of exact integers in an IEEE double.
pub const MAX_SAFE_MAGNITUDE: u64 = 1 << 53;

/// The RFC 8785 canonical form of `value`.
///
/// Errors with [`ReceiptError::FloatNotAllowed`] for any non-integer number (serde_json also parses
/// `-0` as a float) and [`ReceiptError::IntegerOutOfRange`] beyond ±2^53; both name the JSON
/// Pointer of the offending value.
pub fn canonical_json(value: &Value) -> Result<String, ReceiptError> {
    let mut out = String::new();
    write_value(&mut out, value).map_err(|fault| fault.into_error())?;
    Ok(out)
}

/// Why a number could not be written, and where (pointer segments, innermost last).
struct NumberFault {
    kind: FaultKind,
    segments: Vec<String>,
}

enum FaultKind {
    Float(String),
    OutOfRange(String),
}

impl NumberFault {
    fn at(mut self, segment: String) -> Self {
        self.segments.push(segment);
        self
    }

    fn into_error(self) -> ReceiptError {
        let pointer = self
            .segments
            .iter()
            .rev()
            .map(|s| format!("/{}", s.replace('~', "~0").replace('/', "~1")))
            .collect::<String>();
        match self.kind {
            FaultKind::Float(value) => ReceiptError::FloatNotAllowed { pointer, value },
            FaultKind::OutOfRange(value) => ReceiptError::IntegerOutOfRange { pointer, value },
        }
    }
}

fn write_value(out: &mut String, value: &Value) -> Result<(), NumberFault> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => write_number(out, number)?,
        Value::String(text) => write_string(out, text),
        Value::Array(items) => write_array(out, items)?,
        Value::Object(members) => write_object(out, members)?,
    }
    Ok(())
}

fn write_number(out: &mut String, number: &Number) -> Result<(), NumberFault> {
    let fault = |kind| NumberFault {
        kind,
        segments: Vec::new(),
    };
    let magnitude = if let Some(n) = number.as_i64() {
        n.unsigned_abs()
    } else if let Some(n) = number.as_u64() {
        n
    } else {
        return Err(fault(FaultKind::Float(number.to_string())));
    };
    if magnitude > MAX_SAFE_MAGNITUDE {
        return Err(fault(FaultKind::OutOfRange(number.to_string())));
    }
    // An integer's Display is plain decimal with a leading '-' when negative: what ECMAScript
    // prints for integers below 1e21.
    out.push_str(&number.to_string());
    Ok(())
}

/// Writes `text` quoted, escaping only what RFC 8785 §3.2.2.2 requires: `"`, `\` and the C0
/// controls (with the short forms `\b \t \n \f \r`). Everything else, non-ASCII included, stays
/// as UTF-8.
fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if c < '\u{20}' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_array(out: &mut String, items: &[Value]) -> Result<(), NumberFault> {
    out.push('[');
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        write_value(out, item).map_err(|fault| fault.at(index.to_string()))?;
    }
    out.push(']');
    Ok(())
}

fn write_object(out: &mut String, members: &Map<String, Value>) -> Result<(), NumberFault> {
    // serde_json's map order (UTF-8 bytes, or insertion order with `preserve_order`) is not the
    // RFC's, so sort explicitly by UTF-16 code units.
    let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
    sorted.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
    out.push('{');
    for (index, (name, value)) in sorted.into_iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        write_string(out, name);
        out.push(':');
        write_value(out, value).map_err(|fault| fault.at(name.clone()))?;
    }
    out.push('}');
    Ok(())
}
