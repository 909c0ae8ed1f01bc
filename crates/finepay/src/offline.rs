//! Commands that work on files, with no server running: `ledger check` and `receipt verify`.

use anyhow::Context;
use finepay_receipts::PublishedKeys;
use finepay_store::repo::check;
use finepay_store::DbLocation;
use std::path::Path;

/// Runs every ledger invariant on the database; returns the number of rules and what is broken.
pub fn ledger_check(location: &DbLocation) -> anyhow::Result<(usize, Vec<check::Finding>)> {
    let conn = location
        .connect()
        .with_context(|| format!("cannot open the database {location:?}"))?;
    Ok(check::run(conn.as_ref())?)
}

/// Verifies a saved receipt against a saved copy of the published keys.
pub fn receipt_verify(
    receipt_file: &Path,
    keys_file: &Path,
) -> anyhow::Result<Result<(), &'static str>> {
    let text = std::fs::read_to_string(receipt_file)
        .with_context(|| format!("cannot read the receipt {}", receipt_file.display()))?;
    let receipt: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON", receipt_file.display()))?;
    let keys = PublishedKeys::load(keys_file)
        .with_context(|| format!("cannot read the published keys {}", keys_file.display()))?;
    Ok(finepay_receipts::verify(&receipt, &keys).map_err(|e| e.reason()))
}
