//! finepay's printable documents.
//!
//! * [`receipt_pdf`]: a payment receipt as a one-page A5 PDF, bilingual (Chinese first,
//!   English after), every glyph drawn with the embedded CJK font [`CJK_FONT_OTF`] (subset
//!   again by the PDF writer, so a receipt embeds only the glyphs it prints) and a QR code
//!   holding the verification URL, drawn as vector squares.
//! * [`qr_svg`]: the same QR code as an inline `<svg>` element for a web page.
//! * [`yuan`]: how every amount is printed (`¥200.00`).
//!
//! Nothing here signs or verifies anything: the caller passes the values already chosen
//! (and formatted, for the time) in a [`ReceiptDocument`].

mod qr;
mod receipt;
mod text;

use finepay_domain::Fen;

pub use qr::qr_svg;
pub use receipt::receipt_pdf;

/// The CJK font subset carried by the binary (Noto Sans SC, SIL OFL 1.1), also served to browsers.
///
/// Noto Sans CJK SC Regular, OpenType with CFF outlines, cut down to ASCII, Latin-1,
/// general and CJK punctuation, fullwidth forms, GB2312 level 1 and every character of the
/// authority catalogue (see `fonts/README.md`; licence in `fonts/OFL.txt`, which must travel
/// with the font when it is served). Characters outside the subset print as empty boxes.
pub static CJK_FONT_OTF: &[u8] = include_bytes!("../fonts/NotoSansSC-finepay-subset.otf");

/// Everything printed on a receipt, already chosen by the caller; amounts in fen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceiptDocument {
    /// The receipt number people quote, e.g. `FP20261202A1B2C3D4E5F6`.
    pub receipt_number: String,
    /// When the receipt was issued, already formatted, e.g. `2026-12-02 11:45 (Beijing time)`.
    pub issued_at: String,
    /// The authority that received the fine, e.g. `北京市公安局公安交通管理局`.
    pub payee: String,
    /// The payer's name, masked, e.g. `**龙`.
    pub payer_masked: String,
    /// The penalty decision number (处罚决定书编号).
    pub decision_number: String,
    /// The city in English, e.g. `Beijing`.
    pub city_name: String,
    /// The city in Chinese, e.g. `北京`.
    pub city_name_zh: String,
    /// The violation in English; may be empty.
    pub violation: String,
    /// The violation in Chinese; may be empty. The row is left out when both are empty.
    pub violation_zh: String,
    /// The fine, in fen.
    pub fine_fen: i64,
    /// The late fee (滞纳金), in fen.
    pub late_fee_fen: i64,
    /// The amount paid, in fen.
    pub amount_fen: i64,
    /// The payment method in English, e.g. `Card ending 0018` or `Balance`.
    pub method: String,
    /// The payment method in Chinese, e.g. `尾号0018的银行卡` or `余额`.
    pub method_zh: String,
    /// The id of the Ed25519 key that signed the receipt.
    pub kid: String,
    /// The absolute URL where the receipt can be verified; the QR code holds it.
    pub verify_url: String,
}

/// Why a document could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// The embedded font could not be parsed (a broken build, not bad input).
    #[error("the embedded CJK font could not be loaded")]
    Font,
    /// The URL does not fit in a QR code (longer than about 2,300 bytes).
    #[error("the QR code could not be made: {0}")]
    QrCode(String),
    /// The PDF writer refused the document.
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
}

/// An amount in fen as printed on documents and pages: `¥200.00`, `¥0.05`, `¥2,000.00` (yuan
/// grouped by thousands), and `-¥1.50` when negative.
pub fn yuan(fen: i64) -> String {
    let digits = Fen::from_fen(fen).to_string();
    let (sign, abs) = match digits.strip_prefix('-') {
        Some(abs) => ("-", abs),
        None => ("", digits.as_str()),
    };
    let (whole, cents) = abs.split_once('.').unwrap_or((abs, "00"));
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}¥{grouped}.{cents}")
}

#[cfg(test)]
mod tests {
    use super::yuan;

    #[test]
    fn yuan_prints_two_decimals_with_the_sign_before_the_symbol() {
        assert_eq!(yuan(0), "¥0.00");
        assert_eq!(yuan(20000), "¥200.00");
        assert_eq!(yuan(5), "¥0.05");
        assert_eq!(yuan(-150), "-¥1.50");
        assert_eq!(yuan(200_000), "¥2,000.00");
        assert_eq!(yuan(100_000_000), "¥1,000,000.00");
        assert_eq!(yuan(99_999), "¥999.99");
        assert_eq!(yuan(i64::MIN), "-¥92,233,720,368,547,758.08");
    }
}
