//! Shaping, measuring and wrapping single-font text.
//!
//! krilla's `draw_text` shapes with rustybuzz but does not say how wide the result is; this
//! does the same shaping itself (one font, left to right) so that lines can be measured,
//! shrunk or wrapped before they are drawn with `draw_glyphs`.

use krilla::text::{Font, GlyphId, KrillaGlyph};
use krilla::Data;
use rustybuzz::{Direction, Face, UnicodeBuffer};

use crate::{DocumentError, CJK_FONT_OTF};

/// A shaped line: the glyphs (advances in em) and the text they came from.
pub(crate) struct Line {
    pub(crate) text: String,
    pub(crate) glyphs: Vec<KrillaGlyph>,
}

impl Line {
    /// The advance of the whole line at `size` pt.
    pub(crate) fn width(&self, size: f32) -> f32 {
        self.glyphs.iter().map(|g| g.x_advance).sum::<f32>() * size
    }
}

/// The embedded font, once for shaping (rustybuzz) and once for drawing (krilla).
pub(crate) struct Typesetter {
    face: Face<'static>,
    units_per_em: f32,
    pub(crate) font: Font,
}

impl Typesetter {
    pub(crate) fn new() -> Result<Typesetter, DocumentError> {
        let face = Face::from_slice(CJK_FONT_OTF, 0).ok_or(DocumentError::Font)?;
        let units_per_em = face.units_per_em() as f32;
        let font = Font::new(Data::from(CJK_FONT_OTF), 0).ok_or(DocumentError::Font)?;
        Ok(Typesetter {
            face,
            units_per_em,
            font,
        })
    }

    /// Shapes `text` left to right, script guessed from its first letters (as krilla does).
    pub(crate) fn shape(&self, text: &str) -> Line {
        let mut buffer = UnicodeBuffer::new();
        buffer.push_str(text);
        buffer.guess_segment_properties();
        buffer.set_direction(Direction::LeftToRight);
        let output = rustybuzz::shape(&self.face, &[], buffer);
        let infos = output.glyph_infos();
        let positions = output.glyph_positions();
        let em = self.units_per_em;
        let glyphs = infos
            .iter()
            .zip(positions)
            .enumerate()
            .map(|(i, (info, pos))| {
                let start = info.cluster as usize;
                // A cluster ends where the next cluster starts (left to right, so clusters rise).
                let end = infos[i..]
                    .iter()
                    .map(|next| next.cluster as usize)
                    .find(|&c| c != start)
                    .unwrap_or(text.len());
                KrillaGlyph::new(
                    GlyphId::new(info.glyph_id),
                    pos.x_advance as f32 / em,
                    pos.x_offset as f32 / em,
                    pos.y_offset as f32 / em,
                    pos.y_advance as f32 / em,
                    start..end,
                    None,
                )
            })
            .collect();
        Line {
            text: text.to_string(),
            glyphs,
        }
    }

    /// The advance of `text` at `size` pt.
    pub(crate) fn width(&self, text: &str, size: f32) -> f32 {
        self.shape(text).width(size)
    }

    /// The characters of `text` that the font has no glyph for (they would print as boxes).
    #[cfg(test)]
    pub(crate) fn missing(&self, text: &str) -> Vec<char> {
        text.chars()
            .filter(|c| !c.is_whitespace() && self.face.glyph_index(*c).is_none())
            .collect()
    }

    /// Fits `text` into `max_width`: at `size` if it fits, else at the largest size down to
    /// `min_size` that holds it on one line, else wrapped at `min_size` into at most
    /// `max_lines` lines (the last one cut with an ellipsis). Returns the size and the lines.
    pub(crate) fn fit(
        &self,
        text: &str,
        size: f32,
        min_size: f32,
        max_width: f32,
        max_lines: usize,
    ) -> (f32, Vec<String>) {
        let natural = self.width(text, 1.0);
        if natural * size <= max_width {
            return (size, vec![text.to_string()]);
        }
        if natural * min_size <= max_width {
            // Round down to a quarter point so the line surely fits.
            let s = ((max_width / natural) * 4.0).floor() / 4.0;
            return (s.max(min_size), vec![text.to_string()]);
        }
        let mut lines = self.wrap(text, min_size, max_width);
        if lines.len() > max_lines {
            lines.truncate(max_lines);
            if let Some(last) = lines.last_mut() {
                while !last.is_empty() && self.width(&format!("{last}…"), min_size) > max_width {
                    last.pop();
                }
                last.push('…');
            }
        }
        (min_size, lines)
    }

    /// Greedy line breaking at `size` pt: after spaces, after `/ - ? & = _ .` (so URLs break
    /// between their parts), between CJK characters; anywhere when a word is too long.
    /// Closing punctuation hangs rather than starting a line.
    pub(crate) fn wrap(&self, text: &str, size: f32, max_width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        // Byte offset in `line` after which it may break.
        let mut last_break: Option<usize> = None;
        for ch in text.chars() {
            let candidate = format!("{line}{ch}");
            if !line.is_empty()
                && !is_closing(ch)
                && self.width(candidate.trim_end(), size) > max_width
            {
                match last_break.filter(|&b| b > 0 && b < line.len()) {
                    Some(b) => {
                        let rest = line.split_off(b);
                        lines.push(line.trim_end().to_string());
                        line = rest.trim_start().to_string();
                    }
                    None => lines.push(std::mem::take(&mut line).trim_end().to_string()),
                }
                last_break = None;
                if !(line.is_empty() && ch == ' ') {
                    line.push(ch);
                }
            } else {
                line = candidate;
            }
            if ch == ' ' || "/-?&=_.".contains(ch) || is_cjk(ch) {
                last_break = Some(line.len());
            }
        }
        if !line.trim().is_empty() {
            lines.push(line.trim_end().to_string());
        }
        lines
    }
}

fn is_cjk(ch: char) -> bool {
    matches!(ch, '\u{3000}'..='\u{303F}' | '\u{3400}'..='\u{9FFF}' | '\u{FF00}'..='\u{FFEF}')
}

fn is_closing(ch: char) -> bool {
    "，。、；：！？）」』》】,.;:!?)".contains(ch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts() -> Typesetter {
        Typesetter::new().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn cjk_is_one_em_and_clusters_cover_the_text() {
        let ts = ts();
        let line = ts.shape("北京 Beijing");
        assert!((ts.width("北京", 10.0) - 20.0).abs() < 0.01);
        assert_eq!(line.glyphs.first().map(|g| g.text_range.start), Some(0));
        assert_eq!(
            line.glyphs.last().map(|g| g.text_range.end),
            Some("北京 Beijing".len())
        );
        assert!(line.glyphs.iter().all(|g| g.glyph_id.to_u32() != 0));
    }

    #[test]
    fn wrapped_lines_fit_and_keep_every_character() {
        let ts = ts();
        let url = "https://pay.finepay.example.cn/receipts/rcp_0192f1c3a5b77e0a9d4c2b1e8f6a5d3c/verify?kid=k2026";
        let lines = ts.wrap(url, 7.0, 120.0);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| ts.width(l, 7.0) <= 120.0), "{lines:?}");
        assert_eq!(lines.concat(), url);

        let zh = "本回单已使用 Ed25519 数字签名，可扫描二维码或访问上述网址核验。";
        let lines = ts.wrap(zh, 8.0, 100.0);
        assert!(lines
            .iter()
            .all(|l| !l.starts_with('，') && !l.starts_with('。')));
        assert_eq!(lines.concat().replace(' ', ""), zh.replace(' ', ""));
    }

    #[test]
    fn fit_shrinks_then_wraps_then_cuts() {
        let ts = ts();
        assert_eq!(
            ts.fit("北京", 10.0, 8.0, 100.0, 2),
            (10.0, vec!["北京".to_string()])
        );
        let (size, lines) = ts.fit("一二三四五六七八九十", 10.0, 8.0, 90.0, 2);
        assert!((8.0..10.0).contains(&size) && lines.len() == 1);
        let (size, lines) = ts.fit(&"长".repeat(100), 10.0, 8.0, 80.0, 2);
        assert_eq!((size, lines.len()), (8.0, 2));
        assert!(lines[1].ends_with('…'));
        assert!(ts.width(&lines[1], 8.0) <= 80.0);
    }
}
