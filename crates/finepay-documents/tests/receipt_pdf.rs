#![allow(clippy::unwrap_used)]
//! Renders a receipt, writes it to target/documents/receipt.pdf and reads it back with
//! poppler's pdftotext (required: the project's test script installs poppler-utils).

use std::path::{Path, PathBuf};
use std::process::Command;

use finepay_documents::{qr_svg, receipt_pdf, yuan, ReceiptDocument, CJK_FONT_OTF};

fn sample() -> ReceiptDocument {
    ReceiptDocument {
        receipt_number: "FP20261202A1B2C3D4E5F6".into(),
        issued_at: "2026-12-02 11:45 (Beijing time)".into(),
        payee: "北京市公安局公安交通管理局".into(),
        payer_masked: "**龙".into(),
        decision_number: "1101052026120200418".into(),
        city_name: "Beijing".into(),
        city_name_zh: "北京".into(),
        violation: "Running a red light (driving against a traffic signal)".into(),
        violation_zh: "驾驶机动车违反道路交通信号灯通行的".into(),
        fine_fen: 20000,
        late_fee_fen: 0,
        amount_fen: 20000,
        method: "Card ending 0018".into(),
        method_zh: "尾号0018的银行卡".into(),
        kid: "finepay-2026-01".into(),
        verify_url:
            "https://finepay.example.cn/receipts/rcp_0192f1c3a5b77e0a9d4c2b1e8f6a5d3c/verify".into(),
    }
}

fn out_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/documents");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs a poppler tool (`pdftotext`, `pdfinfo`) on `path` and returns its output.
fn poppler(tool: &str, args: &[&str], path: &Path) -> String {
    let out = Command::new(tool)
        .args(args)
        .arg(path)
        .args(if tool == "pdftotext" {
            &["-"][..]
        } else {
            &[][..]
        })
        .output()
        .unwrap_or_else(|e| panic!("{tool} is required (apt-get install -y poppler-utils): {e}"));
    assert!(out.status.success(), "{tool} failed: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn pdftotext(path: &Path) -> String {
    poppler("pdftotext", &["-layout"], path)
}

/// One A5 portrait page.
fn assert_one_a5_page(path: &Path) {
    let info = poppler("pdfinfo", &[], path);
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(field("Pages:"), "1", "{info}");
    assert_eq!(field("Page size:"), "419.53 x 595.28 pts", "{info}");
}

#[test]
fn receipt_is_one_small_a5_page_with_the_chinese_text_extractable() {
    let doc = sample();
    let pdf = receipt_pdf(&doc).unwrap();
    let path = out_dir().join("receipt.pdf");
    std::fs::write(&path, &pdf).unwrap();

    assert!(pdf.starts_with(b"%PDF"), "not a PDF");
    assert_one_a5_page(&path);
    assert!(
        pdf.len() < 400 * 1024,
        "{} bytes: the font was not subset (the subset alone is {} bytes)",
        pdf.len(),
        CJK_FONT_OTF.len()
    );

    let text = pdftotext(&path);
    for needle in [
        "北京",
        "北京市公安局公安交通管理局",
        "电子回单",
        "¥200.00",
        "¥0.00",
        "FP20261202A1B2C3D4E5F6",
        "finepay-2026-01",
        "扫码验证",
        "Ed25519",
        "尾号0018的银行卡",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
}

#[test]
fn long_values_still_render() {
    let mut doc = sample();
    doc.payee = "某某省某某市某某区公安局交通警察支队直属第三大队违法处理中心".into();
    doc.verify_url = format!(
        "https://finepay.example.cn/receipts/{}/verify",
        "x".repeat(300)
    );
    doc.violation = "A very long description ".repeat(12);
    doc.violation_zh = String::new();
    doc.method_zh = String::new();
    doc.late_fee_fen = 12345;
    let pdf = receipt_pdf(&doc).unwrap();
    let path = out_dir().join("receipt-long.pdf");
    std::fs::write(&path, &pdf).unwrap();
    assert_one_a5_page(&path);
    let text = pdftotext(&path);
    assert!(text.contains(&yuan(12345)), "{text}");
}

#[test]
fn qr_svg_is_an_inline_scalable_svg() {
    let svg = qr_svg("https://finepay.example.cn/receipts/rcp_1/verify").unwrap();
    assert!(svg.starts_with("<svg"), "{svg}");
    assert!(svg.contains("viewBox"));
    assert!(!svg.contains("<?xml"));
}

#[test]
fn yuan_formats() {
    assert_eq!(yuan(0), "¥0.00");
    assert_eq!(yuan(20000), "¥200.00");
    assert_eq!(yuan(5), "¥0.05");
    assert_eq!(yuan(-150), "-¥1.50");
}
