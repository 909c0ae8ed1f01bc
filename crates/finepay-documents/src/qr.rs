//! The QR code holding a receipt's verification URL.

use qrcode::{Color, EcLevel, QrCode};

use crate::DocumentError;

/// Light modules around the code, as the QR specification asks (ISO/IEC 18004: four).
pub(crate) const QUIET_ZONE: usize = 4;

/// A QR code as a square of modules, `true` for dark, row by row.
pub(crate) struct Modules {
    /// Modules per side, without the quiet zone.
    pub(crate) width: usize,
    dark: Vec<bool>,
}

impl Modules {
    /// Encodes `data` at error-correction level M (15%: survives a fold or a smudge).
    pub(crate) fn new(data: &str) -> Result<Modules, DocumentError> {
        let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
            .map_err(|e| DocumentError::QrCode(e.to_string()))?;
        let width = code.width();
        let dark = code
            .to_colors()
            .into_iter()
            .map(|c| c == Color::Dark)
            .collect();
        Ok(Modules { width, dark })
    }

    fn is_dark(&self, x: usize, y: usize) -> bool {
        self.dark.get(y * self.width + x).copied().unwrap_or(false)
    }

    /// The dark modules as horizontal runs `(x, y, length)`: one rectangle per run keeps
    /// the drawing small and free of hairline seams between neighbouring squares.
    pub(crate) fn runs(&self) -> Vec<(usize, usize, usize)> {
        let mut runs = Vec::new();
        for y in 0..self.width {
            let mut x = 0;
            while x < self.width {
                if self.is_dark(x, y) {
                    let start = x;
                    while x < self.width && self.is_dark(x, y) {
                        x += 1;
                    }
                    runs.push((start, y, x - start));
                } else {
                    x += 1;
                }
            }
        }
        runs
    }
}

/// The QR code of `url` as an `<svg>` element to inline in HTML.
///
/// Black modules on a white square that includes the four-module quiet zone; one user unit
/// per module in the `viewBox` and no `width`/`height`, so it scales to whatever size the
/// page's CSS gives it. No XML declaration.
pub fn qr_svg(url: &str) -> Result<String, DocumentError> {
    let modules = Modules::new(url)?;
    let side = modules.width + 2 * QUIET_ZONE;
    let mut d = String::new();
    for (x, y, len) in modules.runs() {
        d.push_str(&format!(
            "M{} {}h{len}v1h-{len}z",
            x + QUIET_ZONE,
            y + QUIET_ZONE
        ));
    }
    Ok(format!(
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" "#,
            r#"shape-rendering="crispEdges" role="img" aria-label="QR code">"#,
            r##"<rect width="{side}" height="{side}" fill="#fff"/>"##,
            r##"<path fill="#000" d="{d}"/></svg>"##
        ),
        side = side,
        d = d
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_cover_exactly_the_dark_modules() {
        let m = Modules::new("https://finepay.example/r/1").unwrap_or_else(|e| panic!("{e}"));
        let covered: usize = m.runs().iter().map(|r| r.2).sum();
        let dark = m.dark.iter().filter(|d| **d).count();
        assert_eq!(covered, dark);
        assert_eq!(m.dark.len(), m.width * m.width);
    }

    #[test]
    fn svg_has_no_declaration_and_scales() {
        let svg = qr_svg("https://finepay.example/r/1").unwrap_or_else(|e| panic!("{e}"));
        assert!(svg.starts_with("<svg "));
        assert!(svg.ends_with("</svg>"));
        assert!(!svg.contains("<?xml"));
        let open_tag = svg.split('>').next().unwrap_or_default();
        assert!(open_tag.contains("viewBox=\"0 0 "));
        assert!(!open_tag.contains("width"), "fixed size in {open_tag}");
    }
}
