//! What the handlers and the core enforce, written into the OpenAPI document where the generated
//! part cannot say it: every status each operation can answer (each error with the envelope of
//! SPEC §3), the rules of every parameter and body field as the server applies them, and the
//! headers some answers carry.
//!
//! A rule written here is the server's rule, no stricter and no looser where a schema can say it:
//! a request the document allows is not refused for its shape, and one it forbids is refused
//! (schemathesis, `st run … --checks all`, holds the server to that). What no schema can say (a
//! Luhn or GB 11643 check digit, a card the bank does not know, a cursor from another list) is
//! named in the description of the 4xx the server answers for it.

use finepay_domain::{Fen, PROVINCES};
use serde_json::{json, Value};

use finepay_core::{MAX_KEY_LEN, MAX_NAME_CHARS, MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS};

/// SPEC §3: an `Idempotency-Key` of 1 to 255 characters (the core's rule).
const MAX_IDEMPOTENCY_KEY_CHARS: usize = MAX_KEY_LEN;

/// Rust's `char::is_whitespace` (what `str::trim` removes) as the inside of a regex class.
const WHITESPACE: &str =
    r"\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

/// Edge codes answered outside the core's error mapping (`error::plain_error`).
pub const EDGE_CODES: [&str; 2] = ["payload_too_large", "method_not_allowed"];

/// Completes the generated document: error answers, parameter rules, body field rules.
pub fn complete(doc: &mut Value) {
    document_bodies(doc);
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            document_parameters(path, op);
            document_answers(method, path, op);
        }
    }
}

/// A plate as `Plate::parse` accepts it once normalised (SPEC §2): province character, issuing
/// letter (no I or O), then an ordinary or a new-energy serial.
pub fn plate_pattern() -> String {
    format!(
        "^[{PROVINCES}][A-HJ-NP-Z]([A-HJ-NP-Z0-9]{{5}}|[DF][A-HJ-NP-Z0-9][0-9]{{4}}|[0-9]{{5}}[DF])$"
    )
}

/// 15 or 16 digits (`DecisionNumber::parse`); the authority's own rule (the sandbox's Luhn digit,
/// a known prefix) is checked after, answering 400 `invalid_decision_number`.
const DECISION_NUMBER_PATTERN: &str = "^[0-9]{15,16}$";

fn plate_schema() -> Value {
    json!({"type": "string", "pattern": plate_pattern(),
        "description": "a licence plate, e.g. 京A12345, 沪AD12345, 粤B12345F (SPEC §2)"})
}

/// A city code as `CityCode::parse` takes it; whether an authority serves it is checked after.
pub fn city_code_schema() -> Value {
    json!({"type": "string", "pattern": "^[0-9]{6}$", "description": "6-digit GB/T 2260 code, e.g. 110000"})
}

/// A calendar date `YYYY-MM-DD` (a date that does not exist, such as 02-30, answers 400).
pub fn date_schema() -> Value {
    json!({"type": "string", "format": "date", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"})
}

fn decision_number_schema() -> Value {
    json!({"type": "string", "pattern": DECISION_NUMBER_PATTERN,
        "description": "15 or 16 digits; the sandbox's numbers end in a Luhn check digit (a failed check answers 400 invalid_decision_number)"})
}

/// Rust's `char::is_control` (Unicode Cc) as the inside of a regex class.
const CONTROL: &str = r"\u0000-\u001f\u007f-\u009f";

/// The whitespace characters that are not control characters (the rest of [`WHITESPACE`]).
const SPACES: &str = r" \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

/// A person's name (a real name, a card holder's): 1 to 50 characters, at least one that is not
/// whitespace, and once trimmed no control character (the bank takes printable names only).
fn name_schema(description: &str) -> Value {
    let visible = format!("[^{CONTROL}{SPACES}]");
    json!({"type": "string", "minLength": 1, "maxLength": MAX_NAME_CHARS,
        "pattern": format!("^[{WHITESPACE}]*{visible}([^{CONTROL}]*{visible})?[{WHITESPACE}]*$"),
        "description": description})
}

/// An amount a person moves (`Fen::payable`): 1 fen to 1,000,000.00 yuan.
fn payable_schema(description: &str) -> Value {
    json!({"type": "integer", "format": "int64", "minimum": 1,
        "maximum": Fen::MAX_PAYABLE.fen(), "description": description})
}

fn id_schema(description: &str) -> Value {
    json!({"type": "string", "minLength": 1, "description": description})
}

/// Sets the schema of `field` of the component schema `name`, if there is one.
fn set(schemas: &mut Value, name: &str, field: &str, schema: Value) {
    if let Some(props) = schemas
        .get_mut(name)
        .and_then(|s| s.get_mut("properties"))
        .and_then(Value::as_object_mut)
    {
        props.insert(field.to_string(), schema);
    }
}

/// The rules of the request bodies' fields.
fn document_bodies(doc: &mut Value) {
    let schemas = &mut doc["components"]["schemas"];
    set(
        schemas,
        "CreateWebhook",
        "url",
        json!({"type": "string", "minLength": 1, "maxLength": finepay_core::webhooks::MAX_URL_LEN,
            "description": "an https:// URL of a public address (plain http and loopback only while the sandbox is on)"}),
    );
    set(
        schemas,
        "CreateWebhook",
        "kinds",
        json!({"type": ["array", "null"], "items": {"type": "string", "enum": finepay_core::webhooks::KINDS},
            "description": "only these kinds (default: all)"}),
    );
    for body in ["CloseBatch", "Reconcile"] {
        set(schemas, body, "city_code", city_code_schema());
        set(schemas, body, "date", date_schema());
    }
    set(
        schemas,
        "CreateUser",
        "phone",
        json!({"type": "string", "pattern": "^1[3-9][0-9]{9}$",
        "description": "Mainland mobile number, 11 digits: 1[3-9] and 9 more"}),
    );
    set(
        schemas,
        "CreateUser",
        "password",
        json!({"type": "string",
        "minLength": MIN_PASSWORD_CHARS, "maxLength": MAX_PASSWORD_CHARS}),
    );
    set(
        schemas,
        "CreateUser",
        "name",
        name_schema("Real name as on the resident ID card."),
    );
    set(
        schemas,
        "CreateUser",
        "id_number",
        json!({"type": "string",
        "pattern": "^[0-9]{10}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]$",
        "description": "18-character resident ID number: 17 digits (characters 7 to 14 the date of birth) and a GB 11643 check character; a date that does not exist or a wrong check character answers 400 invalid_request"}),
    );
    set(
        schemas,
        "CreateCard",
        "number",
        json!({"type": "string", "pattern": "^[0-9]{16,19}$",
        "description": "16 to 19 digits, the last a Luhn check digit (a failed check answers 400 invalid_request)"}),
    );
    set(
        schemas,
        "CreateCard",
        "holder_name",
        name_schema("The name on the card: 1 to 50 characters, no control characters."),
    );
    set(
        schemas,
        "CreateTopUp",
        "card_id",
        id_schema("A linked card's id (another answers 400 invalid_request)."),
    );
    set(
        schemas,
        "CreateTopUp",
        "amount",
        payable_schema("Fen, positive."),
    );
    set(
        schemas,
        "CreatePayment",
        "decision_number",
        decision_number_schema(),
    );
    set(
        schemas,
        "CreatePayment",
        "amount",
        payable_schema("The amount due the payer saw, in fen."),
    );
    set(schemas, "CreatePayment", "confirm_plate", plate_schema());
    set(
        schemas,
        "CreateRepayment",
        "amount",
        payable_schema("Fen, positive, at most what is owed (more answers 400 invalid_request)."),
    );
    set(schemas, "BindVehicle", "plate", plate_schema());
    set(
        schemas,
        "BindVehicle",
        "vin_last6",
        json!({"type": "string", "pattern": "^[0-9A-Za-z]{6}$",
        "description": "The last 6 characters of the VIN, as on the registration certificate."}),
    );
    for name in ["MethodBody", "RepaymentSourceBody"] {
        let Some(variants) = schemas
            .get_mut(name)
            .and_then(|s| s.get_mut("oneOf"))
            .and_then(Value::as_array_mut)
        else {
            continue;
        };
        for variant in variants {
            if let Some(props) = variant
                .get_mut("properties")
                .and_then(Value::as_object_mut)
                .filter(|props| props.contains_key("card_id"))
            {
                props.insert(
                    "card_id".into(),
                    id_schema("A linked card's id (another answers 400 invalid_request)."),
                );
            }
        }
    }
    // The error envelope's code: the core's codes and the edge's own.
    if let Some(codes) = schemas
        .pointer_mut("/Error/properties/error/properties/code/enum")
        .and_then(Value::as_array_mut)
    {
        for code in EDGE_CODES {
            if !codes.iter().any(|c| c == code) {
                codes.push(json!(code));
            }
        }
    }
}

/// Query, path and header parameters as the extractors and use cases read them.
fn document_parameters(path: &str, op: &mut Value) {
    let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
        return;
    };
    for p in params.iter_mut() {
        let name = p["name"].as_str().unwrap_or("").to_string();
        let replacement = match name.as_str() {
            "cursor" => Some(json!({"name": "cursor", "in": "query", "required": false,
                "description": "`next_cursor` of the previous page; a cursor that is not from this list answers 400 invalid_request",
                "schema": {"type": "string", "minLength": 1}})),
            "limit" => {
                let (default, max) = if path.contains("notifications") || path.contains("audit") {
                    (50, 200)
                } else {
                    (20, 100)
                };
                Some(json!({"name": "limit", "in": "query", "required": false,
                    "description": format!("entries per page (default {default}); any whole number up to 4294967295 is taken and brought within 1 to {max}"),
                    "schema": {"type": "integer", "format": "int64", "minimum": 0, "maximum": u32::MAX, "default": default}}))
            }
            "q" => Some(json!({"name": "q", "in": "query", "required": false,
                "description": "Search words in English, Chinese or pinyin.",
                "schema": {"type": "string"}})),
            "Idempotency-Key" => Some(
                json!({"name": "Idempotency-Key", "in": "header", "required": true,
                "description": "1 to 255 visible ASCII characters (SPEC §3); missing or longer answers 400 idempotency_key_required",
                "schema": {"type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY_CHARS,
                    "pattern": "^[!-~]([ -~]*[!-~])?$"}}),
            ),
            "number" => Some(json!({"name": "number", "in": "path", "required": true,
                "description": "the penalty decision number, 15 or 16 digits",
                "schema": decision_number_schema()})),
            "plate" => Some(json!({"name": "plate", "in": "path", "required": true,
                "description": "a bound plate (another valid plate answers 404)",
                "schema": plate_schema()})),
            "month" => Some(json!({"name": "month", "in": "path", "required": true,
                "description": "YYYY-MM",
                "schema": {"type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$"}})),
            "city_code" => Some(json!({"name": "city_code", "in": "path", "required": true,
                "description": "a city's 6-digit GB/T 2260 code (a code with no authority here answers 400)",
                "schema": city_code_schema()})),
            "date" => Some(json!({"name": "date", "in": "path", "required": true,
                "description": "a business day in Asia/Shanghai, YYYY-MM-DD",
                "schema": date_schema()})),
            "file" => Some(json!({"name": "file", "in": "path", "required": true,
                "description": "`{batch_id}.csv`",
                "schema": {"type": "string", "pattern": "^[A-Za-z0-9_]+\\.csv$"}})),
            "id" => Some(json!({"name": "id", "in": "path", "required": true,
                "schema": {"type": "string", "minLength": 1}})),
            _ => None,
        };
        if let Some(r) = replacement {
            *p = r;
        }
    }
}

const BAD_BODY: &str = "invalid_request: the body is not JSON of this shape, or a field breaks its rule (named in `field`)";
const BAD_PATH: &str = "invalid_request: the path cannot be read";
const UNAUTHENTICATED: &str = "unauthenticated: no valid bearer token";
const TOO_LARGE: &str = "payload_too_large: the body is over 64 KiB";
const BUSY: &str = "service_busy: the database cannot serve just now; retry";
const INTERNAL: &str = "internal_error";
const KEY_RULES: &str = "idempotency_key_reused: this Idempotency-Key was used with another body";
const IN_PROGRESS: &str =
    "request_in_progress: a request with this Idempotency-Key is still running";

/// A status and what it means: the error codes behind it.
pub type Answer = (&'static str, &'static str);

fn with(mut base: Vec<Answer>, more: &[Answer]) -> Vec<Answer> {
    base.extend_from_slice(more);
    base
}

/// Every status an operation answers besides its success, with the codes behind it. `None` for
/// an operation this table does not know (a test keeps it complete).
/// 403 of the admin endpoints.
const FORBIDDEN: &str = "forbidden: signed in, but not an operator (`finepay admin grant PHONE`)";

pub fn answers(method: &str, path: &str) -> Option<Vec<Answer>> {
    let secured_read: Vec<Answer> =
        vec![("401", UNAUTHENTICATED), ("500", INTERNAL), ("503", BUSY)];
    let a = match (method, path) {
        ("get", "/healthz") => vec![],
        ("get", "/readyz") => vec![],
        ("get", "/.well-known/finepay/receipt-keys") => vec![],
        ("post", "/api/v1/users") => vec![
            ("400", "invalid_request: bad JSON, or a phone, ID number, name or password that breaks its rule (named in `field`; a wrong ID check character or date too)"),
            ("409", "phone_taken"),
            ("413", TOO_LARGE),
            ("429", "rate_limited: too many registrations from this address (see Retry-After)"),
            ("500", INTERNAL),
            ("503", BUSY),
        ],
        ("post", "/api/v1/sessions") => vec![
            ("400", BAD_BODY),
            ("401", "invalid_credentials"),
            ("413", TOO_LARGE),
            ("429", "rate_limited: too many sign-ins for this phone or from this address (see Retry-After)"),
            ("500", INTERNAL),
            ("503", BUSY),
        ],
        ("get", "/api/v1/services") => vec![("400", "invalid_request: the query string cannot be read")],
        ("post", "/api/v1/receipts/verify") => vec![
            ("400", "invalid_request: the body is not a JSON object"),
            ("413", TOO_LARGE),
        ],
        ("post", "/api/v1/cards") => with(secured_read, &[
            ("400", "invalid_request: bad JSON, a number that is not 16 to 19 digits or fails its Luhn check, an empty holder name (named in `field`)"),
            ("402", "card_declined: the bank declined the card (its reason in `message`)"),
            ("413", TOO_LARGE),
            ("503", "bank_unavailable: the bank cannot be reached"),
        ]),
        ("get", "/api/v1/wallet") => secured_read,
        ("post", "/api/v1/notifications/read") => secured_read,
        ("get", "/api/v1/webhooks") => secured_read,
        ("post", "/api/v1/webhooks") => with(secured_read, &[
            ("400", "invalid_request: bad JSON, a URL that is not https:// to a public address (named in `field`), an unknown kind, or 5 webhooks already"),
            ("413", TOO_LARGE),
        ]),
        ("delete", "/api/v1/webhooks/{id}") => with(secured_read, &[
            ("400", BAD_PATH),
            ("404", "not_found: none of the user's own"),
        ]),
        ("get", "/api/v1/admin/overview") => with(secured_read, &[("403", FORBIDDEN)]),
        ("get", "/api/v1/admin/audit") => with(secured_read, &[
            ("400", "invalid_request: the query string cannot be read, or the cursor is not from this list"),
            ("403", FORBIDDEN),
        ]),
        ("post", "/api/v1/admin/settlements") | ("post", "/api/v1/admin/reconciliations") => with(secured_read, &[
            ("400", "invalid_request: bad JSON, a city code with no authority here, or a date that is not YYYY-MM-DD (named in `field`)"),
            ("403", FORBIDDEN),
            ("413", TOO_LARGE),
            ("503", "authority_unavailable: the city's authority cannot be reached (reconciliation)"),
        ]),
        ("get", "/api/v1/admin/settlements/{city_code}/{date}") => with(secured_read, &[
            ("400", "invalid_request: a city code with no authority here, or a date that is not YYYY-MM-DD"),
            ("403", FORBIDDEN),
        ]),
        ("get", "/api/v1/admin/settlements/{city_code}/{date}/{file}") => with(secured_read, &[
            ("400", BAD_PATH),
            ("403", FORBIDDEN),
            ("404", "not_found: no such batch of this city and day"),
        ]),
        ("post", "/api/v1/wallet/top-ups") => with(secured_read, &[
            ("400", "invalid_request (bad JSON, amount, a card_id that is not a linked card), idempotency_key_required"),
            ("402", "card_declined"),
            ("409", IN_PROGRESS),
            ("413", TOO_LARGE),
            ("422", KEY_RULES),
            ("503", "bank_unavailable: the bank cannot be reached"),
        ]),
        ("get", "/api/v1/penalty-decisions/{number}") => with(secured_read, &[
            ("400", "invalid_decision_number: bad length, a non-digit, no authority for the prefix or a failed check digit (the message says which)"),
            ("404", "decision_not_found"),
            ("429", "rate_limited: too many lookups (see Retry-After)"),
            ("503", "authority_unavailable: the traffic authority cannot be reached"),
        ]),
        ("post", "/api/v1/payments") => with(secured_read, &[
            ("400", "invalid_request (bad JSON, amount, a card_id that is not a linked card), invalid_decision_number, invalid_plate, idempotency_key_required"),
            ("402", "insufficient_funds, insufficient_credit, credit_overdue, card_declined"),
            ("404", "decision_not_found"),
            ("409", "decision_already_paid, amount_changed, decision_revoked, request_in_progress"),
            ("413", TOO_LARGE),
            ("422", "plate_mismatch, idempotency_key_reused"),
            ("429", "rate_limited: guessing decision numbers (see Retry-After)"),
            ("503", "authority_unavailable, bank_unavailable"),
        ]),
        ("get", "/api/v1/payments") | ("get", "/api/v1/notifications") => with(secured_read, &[
            ("400", "invalid_request: the query string cannot be read, or the cursor is not from this list"),
        ]),
        ("get", "/api/v1/payments/{id}")
        | ("get", "/api/v1/receipts/{id}")
        | ("get", "/api/v1/receipts/{id}/pdf")
        | ("post", "/api/v1/notifications/{id}/read")
        | ("get", "/api/v1/credit/statements/{month}") => with(secured_read, &[
            ("400", BAD_PATH),
            ("404", "not_found: none of the user's own"),
        ]),
        ("get", "/api/v1/notifications/stream") => with(secured_read, &[
            ("400", "invalid_request: Last-Event-ID (or last_event_id) is not one of the user's notifications"),
            ("429", "rate_limited: this user has 5 streams open (see Retry-After)"),
            ("503", "service_busy: the server holds all the streams it takes"),
        ]),
        ("post", "/api/v1/vehicles") => with(secured_read, &[
            ("400", "invalid_request (bad JSON, vin_last6), invalid_plate"),
            ("413", TOO_LARGE),
            ("422", "vehicle_verification_failed: the register does not match, or no authority keeps plates like this"),
            ("429", "rate_limited: guessing VINs (see Retry-After)"),
            ("503", "authority_unavailable: the traffic authority cannot be reached"),
        ]),
        ("get", "/api/v1/vehicles") | ("get", "/api/v1/credit/statements") => secured_read,
        ("delete", "/api/v1/vehicles/{plate}") => with(secured_read, &[
            ("400", "invalid_plate"),
            ("404", "not_found: the plate is not bound to this account"),
        ]),
        ("get", "/api/v1/vehicles/{plate}/violations") => with(secured_read, &[
            ("400", "invalid_plate"),
            ("404", "not_found: the plate is not bound to this account"),
        ]),
        ("post", "/api/v1/credit/repayments") => with(secured_read, &[
            ("400", "invalid_request (bad JSON, amount, more than is owed, a card_id that is not a linked card), idempotency_key_required"),
            ("402", "insufficient_funds, card_declined"),
            ("409", IN_PROGRESS),
            ("413", TOO_LARGE),
            ("422", KEY_RULES),
            ("503", "bank_unavailable: the bank cannot be reached"),
        ]),
        ("post", "/api/v1/violations/{id}/handle") => with(secured_read, &[
            ("400", BAD_PATH),
            ("403", "online_handling_not_allowed, with `reason`"),
            ("404", "not_found: no such violation on the plates bound to this account"),
            ("503", "authority_unavailable: the traffic authority cannot be reached"),
        ]),
        ("get", "/api/v1/licence") => with(secured_read, &[
            ("503", "authority_unavailable: the traffic authority cannot be reached"),
        ]),
        _ => return None,
    };
    Some(a)
}

/// Writes an operation's answers: each error status with its codes and the envelope, a 401 on
/// every operation that asks for a bearer token, `Retry-After` on 429s and `Idempotent-Replayed`
/// on the answers of the idempotent operations.
fn document_answers(method: &str, path: &str, op: &mut Value) {
    let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
    let idempotent = op["parameters"]
        .as_array()
        .is_some_and(|ps| ps.iter().any(|p| p["name"] == "Idempotency-Key"));
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    // The table's description replaces the annotation's; a later entry for the same status (a
    // second 503, say) is added to the first.
    let mut written: Vec<&str> = Vec::new();
    for (status, description) in answers(method, path).unwrap_or_default() {
        let response = responses
            .entry(status.to_string())
            .or_insert_with(|| json!({}));
        let text = match response["description"].as_str() {
            Some(before) if written.contains(&status) => format!("{before}; {description}"),
            _ => description.to_string(),
        };
        response["description"] = json!(text);
        written.push(status);
    }
    if secured && !responses.contains_key("401") {
        responses.insert("401".into(), json!({"description": UNAUTHENTICATED}));
    }
    let body = json!({"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}});
    for (status, response) in responses.iter_mut() {
        let error = status.starts_with('4') || status.starts_with('5');
        if error && response.get("content").is_none() {
            response["content"] = body.clone();
        }
        if status == "429" {
            response["headers"]["Retry-After"] = json!({
                "description": "seconds to wait before trying again",
                "schema": {"type": "integer", "minimum": 0}
            });
        }
        if idempotent {
            response["headers"]["Idempotent-Replayed"] = json!({
                "description": "`true` when this is the stored answer to an earlier request with the same key and body",
                "schema": {"type": "string", "enum": ["true"]}
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every operation of the router has its answers here, so a new endpoint cannot go out with
    /// only its success documented.
    #[test]
    fn every_operation_has_its_answers() {
        let doc = crate::openapi_document();
        let paths = doc["paths"].as_object().cloned().unwrap_or_default();
        assert!(!paths.is_empty());
        for (path, item) in paths {
            for (method, _) in item.as_object().cloned().unwrap_or_default() {
                assert!(
                    answers(&method, &path).is_some(),
                    "{method} {path} has no answers"
                );
            }
        }
    }

    #[test]
    fn query_parameters_are_in_the_query() {
        let doc = crate::openapi_document();
        for (path, name) in [
            ("/api/v1/payments", "limit"),
            ("/api/v1/payments", "cursor"),
            ("/api/v1/notifications", "limit"),
            ("/api/v1/services", "q"),
        ] {
            let params = doc["paths"][path]["get"]["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let p = params.iter().find(|p| p["name"] == name);
            assert_eq!(
                p.map(|p| p["in"].clone()),
                Some(json!("query")),
                "{path} {name}"
            );
            assert_eq!(
                p.map(|p| p["required"].clone()),
                Some(json!(false)),
                "{path} {name}"
            );
        }
    }

    #[test]
    fn the_plate_pattern_is_the_domain_s_rule() {
        let re = plate_pattern();
        assert!(re.starts_with("^[京津沪"));
        for plate in ["京A12345", "沪AD12345", "粤B12345F"] {
            assert!(finepay_domain::Plate::parse(plate).is_ok(), "{plate}");
        }
    }
}
