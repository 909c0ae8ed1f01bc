//! The signing key lives in the data directory and must be the same key on every start.

// Tests may unwrap: a panic is exactly how a test reports a broken expectation.
#![allow(clippy::unwrap_used)]

use std::fs;

use finepay_receipts::{
    verify, PublishedKeys, ReceiptError, ReceiptSigner, PUBLISHED_KEYS_FILE, SIGNING_KEY_FILE,
};
use serde_json::{json, Value};

#[test]
fn the_key_is_the_same_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let first = ReceiptSigner::load_or_create(dir.path()).unwrap();
    let receipt = first.sign(&json!({"amount": 20000})).unwrap();
    let second = ReceiptSigner::load_or_create(dir.path()).unwrap();
    assert_eq!(first.kid(), second.kid());
    assert_eq!(first.public_key(), second.public_key());
    assert_eq!(verify(&receipt, &second.published_keys()), Ok(()));
}

#[test]
fn different_directories_get_different_keys() {
    let a = ReceiptSigner::load_or_create(tempfile::tempdir().unwrap().path()).unwrap();
    let b = ReceiptSigner::load_or_create(tempfile::tempdir().unwrap().path()).unwrap();
    assert_ne!(a.kid(), b.kid());
}

#[test]
fn a_missing_directory_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("finepay-data").join("keys");
    ReceiptSigner::load_or_create(&nested).unwrap();
    assert!(nested.join(SIGNING_KEY_FILE).is_file());
}

#[test]
fn the_key_file_has_the_documented_shape() {
    let dir = tempfile::tempdir().unwrap();
    let signer = ReceiptSigner::load_or_create(dir.path()).unwrap();
    let text = fs::read_to_string(dir.path().join(SIGNING_KEY_FILE)).unwrap();
    let file: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(file["kid"], signer.kid());
    assert_eq!(file["alg"], "Ed25519");
    assert_eq!(file["secret_key"].as_str().unwrap().len(), 43);
    assert_eq!(file.as_object().unwrap().len(), 3);
}

#[cfg(unix)]
#[test]
fn only_the_owner_can_read_the_key_file() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    ReceiptSigner::load_or_create(dir.path()).unwrap();
    let mode = fs::metadata(dir.path().join(SIGNING_KEY_FILE))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn the_published_key_set_is_written_beside_the_key_for_offline_checks() {
    let dir = tempfile::tempdir().unwrap();
    let signer = ReceiptSigner::load_or_create(dir.path()).unwrap();
    let saved = PublishedKeys::load(&dir.path().join(PUBLISHED_KEYS_FILE)).unwrap();
    assert_eq!(saved, signer.published_keys());
    let receipt = signer
        .sign(&json!({"payee": "北京市公安局公安交通管理局"}))
        .unwrap();
    assert_eq!(verify(&receipt, &saved), Ok(()));
}

#[test]
fn a_deleted_published_key_set_is_written_again_on_start() {
    let dir = tempfile::tempdir().unwrap();
    let signer = ReceiptSigner::load_or_create(dir.path()).unwrap();
    let path = dir.path().join(PUBLISHED_KEYS_FILE);
    fs::remove_file(&path).unwrap();
    ReceiptSigner::load_or_create(dir.path()).unwrap();
    assert_eq!(PublishedKeys::load(&path).unwrap(), signer.published_keys());
}

#[test]
fn the_published_key_set_is_the_well_known_json() {
    let signer = ReceiptSigner::generate();
    let value = serde_json::to_value(signer.published_keys()).unwrap();
    assert_eq!(
        value,
        json!({"keys": [{"kid": signer.kid(), "alg": "Ed25519", "public_key": signer.public_key()}]})
    );
}

#[test]
fn no_temporary_files_are_left_behind() {
    let dir = tempfile::tempdir().unwrap();
    ReceiptSigner::load_or_create(dir.path()).unwrap();
    ReceiptSigner::load_or_create(dir.path()).unwrap();
    let mut names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, [PUBLISHED_KEYS_FILE, SIGNING_KEY_FILE]);
}

fn load_with_key_file(contents: &str) -> ReceiptError {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(SIGNING_KEY_FILE), contents).unwrap();
    ReceiptSigner::load_or_create(dir.path()).unwrap_err()
}

#[test]
fn a_corrupt_key_file_is_an_error_and_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(SIGNING_KEY_FILE);
    fs::write(&path, "{\"kid\": ").unwrap();
    let error = ReceiptSigner::load_or_create(dir.path()).unwrap_err();
    assert!(matches!(error, ReceiptError::Json { .. }), "{error:?}");
    assert_eq!(fs::read_to_string(&path).unwrap(), "{\"kid\": ");
}

#[test]
fn a_key_file_whose_kid_does_not_match_its_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    ReceiptSigner::load_or_create(dir.path()).unwrap();
    let path = dir.path().join(SIGNING_KEY_FILE);
    let mut file: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    file["kid"] = json!("rk-0123456789abcdef");
    let error = load_with_key_file(&file.to_string());
    assert!(matches!(error, ReceiptError::KeyFile { .. }), "{error:?}");
}

#[test]
fn a_key_file_with_a_short_secret_or_another_algorithm_is_refused() {
    let short = r#"{"kid":"rk-0123456789abcdef","alg":"Ed25519","secret_key":"AAAA"}"#;
    let other = r#"{"kid":"rk-0123456789abcdef","alg":"RS256","secret_key":"AAAA"}"#;
    for contents in [short, other] {
        let error = load_with_key_file(contents);
        assert!(matches!(error, ReceiptError::KeyFile { .. }), "{error:?}");
    }
}

#[test]
fn loading_a_missing_key_set_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.json");
    let error = PublishedKeys::load(&path).unwrap_err();
    assert!(matches!(error, ReceiptError::Io { .. }), "{error:?}");
    assert!(error.to_string().contains("nope.json"), "{error}");
}
