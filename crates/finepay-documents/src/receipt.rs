//! The payment receipt as a one-page A5 PDF.

use krilla::action::LinkAction;
use krilla::annotation::{Annotation, LinkAnnotation, Target};
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::{Document, SerializeSettings};

use crate::qr::{Modules, QUIET_ZONE};
use crate::text::Typesetter;
use crate::{yuan, DocumentError, ReceiptDocument};

/// A5 portrait, in points.
const PAGE_W: f32 = 419.53;
const PAGE_H: f32 = 595.28;
const MARGIN: f32 = 34.0;
const LEFT: f32 = MARGIN;
const RIGHT: f32 = PAGE_W - MARGIN;
const WIDTH: f32 = RIGHT - LEFT;

/// Where values start, right of the labels.
const VALUE_X: f32 = LEFT + 118.0;
const VALUE_W: f32 = RIGHT - VALUE_X - 6.0;

/// Where the table starts, under the header's double rule.
const TABLE_TOP: f32 = 90.0;
/// Side of the printed QR code, quiet zone included, and the least it may shrink to.
const QR_SIDE: f32 = 92.0;
const QR_MIN: f32 = 72.0;
/// Space between the table, the QR block and the footer.
const GAP: f32 = 10.0;

type Rgb = (u8, u8, u8);
const INK: Rgb = (0x1a, 0x1d, 0x23);
const MUTED: Rgb = (0x5f, 0x67, 0x73);
const ACCENT: Rgb = (0x1f, 0x3a, 0x5f);
const RULE: Rgb = (0xd3, 0xd8, 0xdf);
const SHADE: Rgb = (0xf1, 0xf4, 0xf8);

/// The receipt as a one-page A5 portrait PDF.
///
/// Bilingual labels (Chinese, then English), every amount printed with [`yuan`], the QR code
/// of `verify_url` at the bottom right with the URL beside it (both also a link), and a
/// footer saying the receipt is signed with Ed25519. Long values shrink, then wrap, so
/// nothing leaves the page. All text is drawn with [`crate::CJK_FONT_OTF`], which the PDF
/// embeds subset to the glyphs used (a receipt is about 30 KB).
pub fn receipt_pdf(doc: &ReceiptDocument) -> Result<Vec<u8>, DocumentError> {
    let ts = Typesetter::new()?;
    let qr = Modules::new(&doc.verify_url)?;

    let mut document = Document::new_with(SerializeSettings::default());
    document.set_metadata(
        Metadata::new()
            .title(format!(
                "电子回单 Electronic receipt {}",
                doc.receipt_number
            ))
            .creator("finepay".to_string())
            .language("zh-CN".to_string()),
    );
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H)
        .ok_or_else(|| DocumentError::Pdf("invalid page size".to_string()))?;
    let mut page = document.start_page_with(settings);
    let links = {
        let mut surface = page.surface();
        let mut pen = Pen {
            surface: &mut surface,
            ts: &ts,
            dry: false,
        };
        let links = draw(&mut pen, doc, &qr);
        surface.finish();
        links
    };
    for rect in links.into_iter().flatten() {
        let link = LinkAnnotation::new(
            rect,
            Target::Action(LinkAction::new(doc.verify_url.clone()).into()),
        );
        page.add_annotation(Annotation::new_link(
            link,
            Some("Verify this receipt".to_string()),
        ));
    }
    page.finish();
    document
        .finish()
        .map_err(|e| DocumentError::Pdf(e.to_string()))
}

/// A row of the table: a label in both languages, a main value and an optional second line.
struct Row<'a> {
    zh: &'a str,
    en: &'a str,
    value: String,
    second: Option<String>,
}

fn row<'a>(zh: &'a str, en: &'a str, value: impl Into<String>) -> Row<'a> {
    Row {
        zh,
        en,
        value: value.into(),
        second: None,
    }
}

/// Draws the page; returns the rectangles that should link to the verify URL.
fn draw(pen: &mut Pen<'_, '_>, doc: &ReceiptDocument, qr: &Modules) -> [Option<Rect>; 2] {
    // Header: title, subtitle, double rule.
    pen.text_centered(PAGE_W / 2.0, 60.0, 21.0, ACCENT, "电子回单", true);
    pen.text_centered(
        PAGE_W / 2.0,
        75.0,
        9.0,
        MUTED,
        "Electronic receipt · 交通违法缴款",
        false,
    );
    pen.rect(LEFT, 84.0, WIDTH, 1.4, ACCENT);
    pen.rect(LEFT, 87.2, WIDTH, 0.5, ACCENT);

    let footer_top = footer(pen);

    // The table, with values cut to fewer lines if it would not leave room for the QR code.
    let table_limit = footer_top - 2.0 * GAP - QR_MIN;
    let mut max_lines = 3;
    while max_lines > 1 {
        pen.dry = true;
        let end = table(pen, doc, max_lines);
        pen.dry = false;
        if end <= table_limit {
            break;
        }
        max_lines -= 1;
    }
    let table_end = table(pen, doc, max_lines);

    // QR block: the code at the bottom right above the footer, the invitation and URL left of it.
    let side = (footer_top - GAP - (table_end + GAP)).clamp(QR_MIN, QR_SIDE);
    let qr_top = footer_top - GAP - side;
    let qr_left = RIGHT - side;
    pen.qr(qr_left, qr_top, side, qr);

    let text_w = qr_left - LEFT - 14.0;
    let bottom = qr_top + side;
    let mut ty = qr_top + 14.0;
    pen.text(LEFT, ty, 11.0, ACCENT, "扫码验证", true);
    let w = pen.ts.width("扫码验证", 11.0);
    pen.text(LEFT + w + 5.0, ty, 9.0, MUTED, "Scan to verify", false);
    ty += 16.0;

    let hint = "或在浏览器中打开上方网址 Or open the address above in a browser";
    let (hint_size, hint_lines) = pen.ts.fit(hint, 7.0, 6.0, text_w, 2);
    let hint_lead = hint_size * 1.35;
    let hint_h = 3.0 + hint_lines.len() as f32 * hint_lead;
    // The URL at 8 pt, else at 7 pt in as many lines as fit beside the code above the hint.
    const URL_SIZE: f32 = 8.0;
    const URL_MIN: f32 = 7.0;
    const URL_LEAD: f32 = 1.4;
    let room = ((bottom - hint_h - ty) / (URL_MIN * URL_LEAD))
        .floor()
        .max(0.0) as usize
        + 1;
    let (url_size, url_lines) = pen.ts.fit(&doc.verify_url, URL_SIZE, URL_MIN, text_w, room);
    let url_top = ty - url_size;
    let mut url_w: f32 = 0.0;
    for (i, l) in url_lines.iter().enumerate() {
        if i > 0 {
            ty += url_size * URL_LEAD;
        }
        pen.text(LEFT, ty, url_size, INK, l, false);
        url_w = url_w.max(pen.ts.width(l, url_size));
    }
    // The hint under the URL, unless a long URL took its place.
    if ty + hint_h <= bottom {
        for l in &hint_lines {
            ty += hint_lead;
            pen.text(LEFT, ty + 3.0, hint_size, MUTED, l, false);
        }
    }
    let url_rect = Rect::from_xywh(
        LEFT,
        url_top,
        url_w.max(1.0),
        url_lines.len() as f32 * url_size * URL_LEAD,
    );
    let qr_rect = Rect::from_xywh(qr_left, qr_top, side, side);
    [qr_rect, url_rect]
}

/// The rows from the top rule down, values cut to `max_lines`; returns where the table ends.
fn table(pen: &mut Pen<'_, '_>, doc: &ReceiptDocument, max_lines: usize) -> f32 {
    let mut rows = vec![
        row("回单编号", "Receipt number", doc.receipt_number.as_str()),
        row("缴款时间", "Issued at", doc.issued_at.as_str()),
        row("收款单位", "Payee", doc.payee.as_str()),
        row("缴款人", "Payer", doc.payer_masked.as_str()),
        row(
            "处罚决定书编号",
            "Penalty decision number",
            doc.decision_number.as_str(),
        ),
        row("城市", "City", join(&doc.city_name_zh, &doc.city_name)),
    ];
    if !(doc.violation_zh.is_empty() && doc.violation.is_empty()) {
        rows.push(two_lines(
            "违法行为",
            "Violation",
            &doc.violation_zh,
            &doc.violation,
        ));
    }
    rows.push(row("罚款", "Fine", yuan(doc.fine_fen)));
    rows.push(row("滞纳金", "Late fee", yuan(doc.late_fee_fen)));

    let mut y = TABLE_TOP;
    for r in &rows {
        y = pen.row(y, r, max_lines);
    }
    y = pen.amount_row(y, &yuan(doc.amount_fen));
    let method = two_lines("支付方式", "Method", &doc.method_zh, &doc.method);
    y = pen.row(y, &method, max_lines);
    pen.row(y, &row("签名密钥", "Key id", doc.kid.as_str()), max_lines)
}

/// The signature note at the bottom of the page under a rule; returns the rule's position.
fn footer(pen: &mut Pen<'_, '_>) -> f32 {
    let zh = "本回单由 finepay 以 Ed25519 数字签名，可扫描二维码或访问上方网址核验真伪。";
    let en = "This receipt is signed with Ed25519 by finepay; scan the QR code or open the URL above to check it.";
    let (zh_size, zh_lines) = pen.ts.fit(zh, 7.5, 6.5, WIDTH, 2);
    let (en_size, en_lines) = pen.ts.fit(en, 7.0, 6.0, WIDTH, 2);
    let (zh_lead, en_lead) = (zh_size * 1.45, en_size * 1.4);
    let height = zh_lines.len() as f32 * zh_lead + en_lines.len() as f32 * en_lead;
    let top = PAGE_H - MARGIN + 8.0 - height;
    let mut y = top;
    for l in &zh_lines {
        pen.text(LEFT, y + zh_size, zh_size, MUTED, l, false);
        y += zh_lead;
    }
    for l in &en_lines {
        pen.text(LEFT, y + en_size, en_size, MUTED, l, false);
        y += en_lead;
    }
    let rule = top - 7.0;
    pen.rect(LEFT, rule, WIDTH, 0.5, RULE);
    rule
}

/// A row whose value is Chinese with the English under it (either may be empty).
fn two_lines<'a>(zh: &'a str, en: &'a str, value_zh: &str, value_en: &str) -> Row<'a> {
    if value_zh.is_empty() {
        row(zh, en, value_en)
    } else {
        Row {
            second: Some(value_en.to_string()).filter(|s| !s.is_empty()),
            ..row(zh, en, value_zh)
        }
    }
}

fn join(zh: &str, en: &str) -> String {
    match (zh.is_empty(), en.is_empty()) {
        (false, false) => format!("{zh} {en}"),
        (false, true) => zh.to_string(),
        _ => en.to_string(),
    }
}

/// Draws on the page with the one font; when `dry`, only measures.
struct Pen<'a, 'b> {
    surface: &'a mut Surface<'b>,
    ts: &'a Typesetter,
    dry: bool,
}

impl Pen<'_, '_> {
    fn fill(&mut self, color: Rgb) {
        self.surface.set_fill(Some(Fill {
            paint: rgb::Color::new(color.0, color.1, color.2).into(),
            opacity: NormalizedF32::ONE,
            rule: Default::default(),
        }));
    }

    /// Text with its baseline at `y`; `bold` strokes the outlines thinly over the fill (the
    /// font has one weight).
    fn text(&mut self, x: f32, y: f32, size: f32, color: Rgb, text: &str, bold: bool) {
        if text.is_empty() || self.dry {
            return;
        }
        let line = self.ts.shape(text);
        self.fill(color);
        if bold {
            self.surface.set_stroke(Some(Stroke {
                paint: rgb::Color::new(color.0, color.1, color.2).into(),
                width: size * 0.035,
                ..Default::default()
            }));
        }
        self.surface.draw_glyphs(
            Point::from_xy(x, y),
            &line.glyphs,
            self.ts.font.clone(),
            &line.text,
            size,
            false,
        );
        self.surface.set_stroke(None);
    }

    fn text_centered(&mut self, cx: f32, y: f32, size: f32, color: Rgb, text: &str, bold: bool) {
        let w = self.ts.width(text, size);
        self.text(cx - w / 2.0, y, size, color, text, bold);
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: Rgb) {
        if self.dry {
            return;
        }
        let Some(rect) = Rect::from_xywh(x, y, w, h) else {
            return;
        };
        let mut pb = PathBuilder::new();
        pb.push_rect(rect);
        if let Some(path) = pb.finish() {
            self.fill(color);
            self.surface.draw_path(&path);
        }
    }

    /// The two-language label at the left of a row whose top is `top`.
    fn label(&mut self, top: f32, zh: &str, en: &str, bold: bool) {
        self.text(LEFT + 6.0, top + 12.5, 9.0, INK, zh, bold);
        let (size, lines) = self.ts.fit(en, 6.5, 5.5, VALUE_X - LEFT - 12.0, 1);
        if let Some(l) = lines.first() {
            self.text(LEFT + 6.0, top + 21.5, size, MUTED, l, false);
        }
    }

    /// One table row from `top`, the value in at most `max_lines` lines; returns the top of
    /// the next row.
    fn row(&mut self, top: f32, r: &Row<'_>, max_lines: usize) -> f32 {
        self.label(top, r.zh, r.en, false);
        let (size, lines) = self.ts.fit(&r.value, 9.5, 7.5, VALUE_W, max_lines);
        let mut y = top + 12.5;
        for (i, l) in lines.iter().enumerate() {
            if i > 0 {
                y += size * 1.3;
            }
            self.text(VALUE_X, y, size, INK, l, false);
        }
        if let Some(second) = &r.second {
            let (size, lines) = self.ts.fit(second, 7.5, 6.5, VALUE_W, max_lines.min(2));
            for l in &lines {
                y += size * 1.35;
                self.text(VALUE_X, y, size, MUTED, l, false);
            }
        }
        let bottom = (top + 26.0).max(y + 6.0);
        self.rect(LEFT, bottom, WIDTH, 0.4, RULE);
        bottom
    }

    /// The total, large, on a shaded band.
    fn amount_row(&mut self, top: f32, amount: &str) -> f32 {
        let h = 34.0;
        self.rect(LEFT, top + 0.4, WIDTH, h - 0.4, SHADE);
        self.label(top + 3.5, "合计", "Amount", true);
        let (size, lines) = self.ts.fit(amount, 17.0, 10.0, VALUE_W, 1);
        if let Some(l) = lines.first() {
            self.text(VALUE_X, top + 23.5, size, ACCENT, l, true);
        }
        let bottom = top + h;
        self.rect(LEFT, bottom, WIDTH, 0.4, RULE);
        bottom
    }

    /// The QR code as filled squares in a `side`-pt square (quiet zone included).
    fn qr(&mut self, x: f32, y: f32, side: f32, modules: &Modules) {
        let count = modules.width + 2 * QUIET_ZONE;
        let m = side / count as f32;
        self.rect(x, y, side, side, (0xff, 0xff, 0xff));
        let mut pb = PathBuilder::new();
        for (mx, my, len) in modules.runs() {
            if let Some(r) = Rect::from_xywh(
                x + (mx + QUIET_ZONE) as f32 * m,
                y + (my + QUIET_ZONE) as f32 * m,
                len as f32 * m,
                m,
            ) {
                pb.push_rect(r);
            }
        }
        if let Some(path) = pb.finish() {
            self.fill((0, 0, 0));
            self.surface.draw_path(&path);
        }
        // A hairline frame so the quiet zone reads as part of the code, not as empty paper.
        self.rect(x, y, side, 0.3, RULE);
        self.rect(x, y + side - 0.3, side, 0.3, RULE);
        self.rect(x, y, 0.3, side, RULE);
        self.rect(x + side - 0.3, y, 0.3, side, RULE);
    }
}

#[cfg(test)]
mod tests {
    use crate::text::Typesetter;

    /// Every label, note and hint this crate prints is in the font subset (else: rerun
    /// fonts/make-subset.py, which takes the characters of these sources).
    #[test]
    fn the_font_has_every_character_of_the_labels() {
        let ts = Typesetter::new().unwrap_or_else(|e| panic!("{e}"));
        for (name, source) in [
            ("receipt.rs", include_str!("receipt.rs")),
            ("lib.rs", include_str!("lib.rs")),
        ] {
            let missing = ts.missing(source);
            assert!(missing.is_empty(), "{name}: not in the font: {missing:?}");
        }
    }
}
