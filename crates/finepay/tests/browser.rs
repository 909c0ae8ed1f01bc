//! Browser tests of the web app (SPEC §7): the real server on a random port, driven by
//! `tests/browser/journey.mjs` (playwright-core and Debian's chromium at 390×844, axe-core on
//! every page). Screenshots and the axe results go to `target/browser/<scenario>/`.
//! `scripts/test` installs chromium, poppler-utils and the npm packages when they are missing;
//! without them these tests fail and say what to install.
#![allow(clippy::unwrap_used)]

mod common;

use common::TestApp;
use std::path::PathBuf;

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

async fn run(scenario: &str) {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        here.join("node_modules/playwright-core").exists(),
        "the browser tests' npm packages are missing: run scripts/test, or `npm ci --prefix {}`",
        here.display()
    );
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "chromium is missing: run scripts/test, or `apt-get install -y chromium poppler-utils`"
    );
    let app = TestApp::spawn().await;
    // An operator for the admin scenario (the browser logs in as them).
    let operator = app.user().await;
    finepay_core::admin::grant(app.running.platform.db(), &operator.phone, "test")
        .await
        .unwrap();
    let backend = if std::env::var("FINEPAY_TEST_POSTGRES").is_ok() {
        "postgres"
    } else {
        "sqlite"
    };
    let shots = workspace_root().join("target/browser").join(backend);
    let out = tokio::process::Command::new("node")
        .arg(here.join("journey.mjs"))
        .arg(scenario)
        .env("FINEPAY_URL", &app.url)
        .env("FINEPAY_SANDBOX_TOKEN", &app.running.sandbox_token)
        .env("FINEPAY_SHOTS", &shots)
        .env("FINEPAY_OPERATOR_PHONE", &operator.phone)
        .env("FINEPAY_OPERATOR_PASSWORD", "correct horse")
        .output()
        .await
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{scenario} failed:\n{stdout}\n{stderr}\n(screenshots in {})",
        shots.display()
    );
    println!("{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn from_the_home_search_to_a_verified_receipt_and_its_pdf_in_english() {
    run("journey-en").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn from_the_home_search_to_a_verified_receipt_and_its_pdf_in_chinese() {
    run("journey-zh").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_decision_arrives_live_in_the_open_inbox_and_is_paid_from_the_notification() {
    run("live").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn double_submits_back_buttons_forged_links_and_missing_csrf_tokens_charge_nothing_twice() {
    run("safety").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pay_journey_works_with_javascript_off_and_reads_at_1280_px() {
    run("no-script").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_page_shows_the_days_figures_to_operators_and_403_to_anyone_else() {
    run("admin").await;
}
