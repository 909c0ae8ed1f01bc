//! English and 简体中文: the language of a request, the Fluent messages, and how amounts and
//! dates are said (`¥200.00`; `2 December 2026` / `2026年12月2日`, in Asia/Shanghai).

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use std::sync::LazyLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    Zh,
}

impl Lang {
    /// `en` or `zh` (the `?lang=` values and the cookie's).
    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "en" => Some(Lang::En),
            "zh" | "zh-cn" | "zh-hans" => Some(Lang::Zh),
            _ => None,
        }
    }

    /// The first language of `Accept-Language` that we speak (English when none).
    pub fn from_accept_language(header: &str) -> Lang {
        let mut ranked: Vec<(u32, &str)> = header
            .split(',')
            .filter_map(|part| {
                let mut it = part.trim().split(';');
                let tag = it.next()?.trim();
                let q = it
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .map_or(1000, quality_per_mille);
                Some((q, tag))
            })
            .collect();
        ranked.sort_by_key(|r| std::cmp::Reverse(r.0));
        for (_, tag) in ranked {
            let primary = tag.split('-').next().unwrap_or("").to_ascii_lowercase();
            match primary.as_str() {
                "zh" => return Lang::Zh,
                "en" => return Lang::En,
                _ => {}
            }
        }
        Lang::En
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }

    /// The value of `<html lang>`.
    pub fn html_lang(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh-Hans",
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Zh,
            Lang::Zh => Lang::En,
        }
    }

    /// The language's own name, for the switch link.
    pub fn own_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Zh => "中文",
        }
    }
}

static EN: LazyLock<FluentBundle<FluentResource>> =
    LazyLock::new(|| bundle("en", include_str!("../../locales/en.ftl")));
static ZH: LazyLock<FluentBundle<FluentResource>> =
    LazyLock::new(|| bundle("zh-CN", include_str!("../../locales/zh.ftl")));

fn bundle(tag: &str, source: &'static str) -> FluentBundle<FluentResource> {
    let lang = tag.parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![lang]);
    // No Unicode isolation marks around arguments: the pages are left-to-right only.
    bundle.set_use_isolating(false);
    let resource = FluentResource::try_new(source.to_string()).unwrap_or_else(|(res, errors)| {
        tracing::error!(?errors, tag, "a Fluent file has syntax errors");
        res
    });
    if let Err(errors) = bundle.add_resource(resource) {
        tracing::error!(?errors, tag, "a Fluent file has duplicate messages");
    }
    bundle
}

/// The messages of one language.
#[derive(Clone, Copy, Debug)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    fn bundle(&self) -> &'static FluentBundle<FluentResource> {
        match self.lang {
            Lang::En => &EN,
            Lang::Zh => &ZH,
        }
    }

    /// The message `id`; its id itself when missing (a test checks that none is).
    pub fn msg(&self, id: &str) -> String {
        self.format(id, None)
    }

    /// The message `id` with arguments.
    pub fn msg_with(&self, id: &str, args: &[(&str, String)]) -> String {
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            fluent_args.set(*name, value.clone());
        }
        self.format(id, Some(&fluent_args))
    }

    fn format(&self, id: &str, args: Option<&FluentArgs>) -> String {
        let bundle = self.bundle();
        let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
            tracing::warn!(id, lang = self.lang.code(), "missing message");
            return id.to_string();
        };
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, args, &mut errors);
        if !errors.is_empty() {
            tracing::warn!(id, ?errors, "a message could not be formatted");
        }
        text.into_owned()
    }

    pub fn has(&self, id: &str) -> bool {
        self.bundle().has_message(id)
    }

    /// A date as people write it: `2 December 2026` / `2026年12月2日`.
    pub fn date(&self, d: NaiveDate) -> String {
        match self.lang {
            Lang::En => format!("{} {} {}", d.day(), MONTHS[d.month0() as usize], d.year()),
            Lang::Zh => format!("{}年{}月{}日", d.year(), d.month(), d.day()),
        }
    }

    /// A `YYYY-MM-DD` text as a date; the text itself when it is not one.
    pub fn date_text(&self, text: &str) -> String {
        match text.get(..10).and_then(|d| d.parse::<NaiveDate>().ok()) {
            Some(d) => self.date(d),
            None => text.to_string(),
        }
    }

    /// An RFC 3339 time in Beijing time: `2 December 2026, 11:45` / `2026年12月2日 11:45`.
    pub fn time_text(&self, text: &str) -> String {
        let Ok(t) = DateTime::parse_from_rfc3339(text) else {
            return text.to_string();
        };
        let local = t
            .with_timezone(&Utc)
            .with_timezone(&chrono_tz::Asia::Shanghai);
        let date = self.date(local.date_naive());
        match self.lang {
            Lang::En => format!("{date}, {:02}:{:02}", local.hour(), local.minute()),
            Lang::Zh => format!("{date} {:02}:{:02}", local.hour(), local.minute()),
        }
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

pub use finepay_documents::yuan;

/// An `Accept-Language` quality (`1`, `0.8`, `0.125`) in thousandths, read as digits.
fn quality_per_mille(q: &str) -> u32 {
    let (whole, frac) = q.trim().split_once('.').unwrap_or((q.trim(), ""));
    let frac: String = frac.chars().chain("000".chars()).take(3).collect();
    match (whole, frac.parse::<u32>()) {
        ("1", _) => 1000,
        ("0", Ok(f)) => f,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualities_are_read_in_thousandths() {
        assert_eq!(quality_per_mille("0.8"), 800);
        assert_eq!(quality_per_mille("0.125"), 125);
        assert_eq!(quality_per_mille("1"), 1000);
        assert_eq!(quality_per_mille("1.000"), 1000);
        assert_eq!(quality_per_mille("x"), 0);
    }

    #[test]
    fn accept_language_picks_the_first_language_we_speak() {
        assert_eq!(
            Lang::from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"),
            Lang::Zh
        );
        assert_eq!(Lang::from_accept_language("fr-FR, en;q=0.5"), Lang::En);
        assert_eq!(
            Lang::from_accept_language("en;q=0.4, zh-Hans;q=0.6"),
            Lang::Zh
        );
        assert_eq!(Lang::from_accept_language(""), Lang::En);
    }

    #[test]
    fn dates_are_said_the_way_people_write_them() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap_or_default();
        assert_eq!(Tr { lang: Lang::En }.date(d), "2 December 2026");
        assert_eq!(Tr { lang: Lang::Zh }.date(d), "2026年12月2日");
        // 03:45 UTC is 11:45 in Beijing.
        assert_eq!(
            Tr { lang: Lang::Zh }.time_text("2026-12-02T03:45:00Z"),
            "2026年12月2日 11:45"
        );
    }

    #[test]
    fn every_english_message_has_a_chinese_one_and_back() {
        let ids = |src: &str| -> Vec<String> {
            src.lines()
                .filter(|l| !l.starts_with([' ', '#', '\t']) && l.contains(" ="))
                .filter_map(|l| l.split(" =").next().map(|s| s.trim().to_string()))
                .collect()
        };
        let en = ids(include_str!("../../locales/en.ftl"));
        let zh = ids(include_str!("../../locales/zh.ftl"));
        assert!(en.len() > 50, "{} English messages", en.len());
        let missing_zh: Vec<_> = en.iter().filter(|id| !zh.contains(id)).collect();
        let missing_en: Vec<_> = zh.iter().filter(|id| !en.contains(id)).collect();
        assert!(missing_zh.is_empty(), "no Chinese for {missing_zh:?}");
        assert!(missing_en.is_empty(), "no English for {missing_en:?}");
        for id in &en {
            assert!(
                Tr { lang: Lang::En }.has(id) && Tr { lang: Lang::Zh }.has(id),
                "{id}"
            );
        }
    }
}
