//! The violation catalogue and the city list, shipped inside the binary.
//!
//! Why embedded with `include_str!` and not read from disk: SPEC §5 says the binary carries its own
//! data and `serve` works from any folder. The files are parsed once, on first use, and checked
//! (every violation has a fine for every city, points are one of the 2021 scoring values); a broken
//! data file is a build defect caught by this crate's tests, so the parse failure is not an input
//! error but a bug, and [`Catalogue::builtin`] treats it as one.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

const VIOLATIONS_JSON: &str = include_str!("../data/violations.json");
const CITIES_JSON: &str = include_str!("../data/cities.json");

/// The point values allowed by the 2021 scoring rules (公安部令第163号).
pub const ALLOWED_POINTS: [u8; 6] = [0, 1, 3, 6, 9, 12];

/// One kind of violation, as listed in the Ministry of Public Security code table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ViolationType {
    /// The 公安部 违法代码, a string of digits (e.g. "1625").
    pub code: String,
    /// English description.
    pub description: String,
    /// Chinese description, as printed on a decision.
    pub description_zh: String,
    /// Points put on the licence under the 2021 scoring rules.
    pub points: u8,
    /// Whether the violation is typically recorded by a camera (非现场): only those may be handled
    /// online (SPEC §2).
    pub camera_recorded: bool,
    /// Fine in whole yuan per city code.
    fines_yuan: BTreeMap<String, i64>,
}

impl ViolationType {
    /// The fine in fen in the given city, or `None` if the city is not in the catalogue.
    pub fn fine_fen(&self, city_code: &str) -> Option<i64> {
        self.fines_yuan
            .get(city_code)
            .and_then(|yuan| yuan.checked_mul(100))
    }
}

/// A city whose traffic authority the sandbox plays.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct City {
    /// 6-digit GB/T 2260 administrative division code.
    pub code: String,
    /// English name.
    pub name: String,
    /// Chinese name.
    pub name_zh: String,
    /// The start of every plate registered in the city (京, 粤A, ...).
    pub plate_prefix: String,
    /// The authority that issues decisions and receives fines, in Chinese (the receipt's payee).
    pub payee: String,
    /// The same authority in English.
    pub payee_en: String,
}

impl City {
    /// Whether a normalised plate was issued in this city.
    pub fn issued_plate(&self, plate: &str) -> bool {
        plate.starts_with(&self.plate_prefix)
    }
}

/// The violation codes and cities, loaded once from the embedded data files.
#[derive(Debug)]
pub struct Catalogue {
    violations: Vec<ViolationType>,
    cities: Vec<City>,
}

/// Why the embedded data could not be loaded. Only a defect in the data files causes this.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// A data file is not the JSON shape this module expects.
    #[error("{file} is malformed: {source}")]
    Malformed {
        /// Which file.
        file: &'static str,
        /// The parser's complaint.
        source: serde_json::Error,
    },
    /// The data parsed but breaks a rule (missing fine, bad points, duplicate code).
    #[error("violation catalogue: {0}")]
    Invalid(String),
}

#[derive(Deserialize)]
struct ViolationsFile {
    violations: Vec<ViolationType>,
}

#[derive(Deserialize)]
struct CitiesFile {
    cities: Vec<City>,
}

impl Catalogue {
    /// The catalogue shipped in the binary, parsed on first use.
    ///
    /// # Panics
    /// If the embedded data files are broken. That is a build defect, not a runtime condition: the
    /// test `builtin_catalogue_loads` fails first.
    pub fn builtin() -> &'static Catalogue {
        static BUILTIN: OnceLock<Catalogue> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            Catalogue::from_json(VIOLATIONS_JSON, CITIES_JSON)
                .expect("the embedded violation catalogue is valid (checked by tests)")
        })
    }

    /// Parse and check a catalogue from the two JSON documents.
    pub fn from_json(
        violations_json: &str,
        cities_json: &str,
    ) -> Result<Catalogue, CatalogueError> {
        let violations: ViolationsFile =
            serde_json::from_str(violations_json).map_err(|source| CatalogueError::Malformed {
                file: "violations.json",
                source,
            })?;
        let cities: CitiesFile =
            serde_json::from_str(cities_json).map_err(|source| CatalogueError::Malformed {
                file: "cities.json",
                source,
            })?;
        let catalogue = Catalogue {
            violations: violations.violations,
            cities: cities.cities,
        };
        catalogue.check()?;
        Ok(catalogue)
    }

    fn check(&self) -> Result<(), CatalogueError> {
        let mut seen = std::collections::BTreeSet::new();
        for v in &self.violations {
            if !seen.insert(v.code.as_str()) {
                return Err(CatalogueError::Invalid(format!("code {} twice", v.code)));
            }
            if v.code.is_empty() || !v.code.bytes().all(|b| b.is_ascii_digit()) {
                return Err(CatalogueError::Invalid(format!(
                    "code {:?} is not digits",
                    v.code
                )));
            }
            if !ALLOWED_POINTS.contains(&v.points) {
                return Err(CatalogueError::Invalid(format!(
                    "{}: {} points",
                    v.code, v.points
                )));
            }
            for city in &self.cities {
                match v.fines_yuan.get(&city.code) {
                    Some(yuan) if *yuan > 0 => {}
                    _ => {
                        return Err(CatalogueError::Invalid(format!(
                            "{}: no positive fine for {}",
                            v.code, city.code
                        )))
                    }
                }
            }
        }
        Ok(())
    }

    /// Every violation type, in file order.
    pub fn violations(&self) -> &[ViolationType] {
        &self.violations
    }

    /// The violation type with this code.
    pub fn violation(&self, code: &str) -> Option<&ViolationType> {
        self.violations.iter().find(|v| v.code == code)
    }

    /// The fine in fen for a violation code in a city.
    pub fn fine_fen(&self, code: &str, city_code: &str) -> Option<i64> {
        self.violation(code)?.fine_fen(city_code)
    }

    /// Every city, in file order.
    pub fn cities(&self) -> &[City] {
        &self.cities
    }

    /// The city with this code.
    pub fn city(&self, code: &str) -> Option<&City> {
        self.cities.iter().find(|c| c.code == code)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalogue_loads() {
        let c = Catalogue::from_json(VIOLATIONS_JSON, CITIES_JSON).unwrap();
        assert!(c.violations().len() >= 24);
        assert_eq!(c.cities().len(), 6);
    }

    #[test]
    fn running_a_red_light_is_six_points_and_200_yuan_in_every_city() {
        let c = Catalogue::builtin();
        let red = c.violation("1625").unwrap();
        assert_eq!(red.points, 6);
        assert!(red.camera_recorded);
        assert_eq!(red.description_zh, "驾驶机动车违反道路交通信号灯通行的");
        for city in c.cities() {
            assert_eq!(
                c.fine_fen("1625", &city.code),
                Some(20_000),
                "{}",
                city.name
            );
        }
    }

    #[test]
    fn the_six_sandbox_cities_have_their_plate_prefixes() {
        let c = Catalogue::builtin();
        let prefixes: Vec<(&str, &str)> = c
            .cities()
            .iter()
            .map(|city| (city.code.as_str(), city.plate_prefix.as_str()))
            .collect();
        assert_eq!(
            prefixes,
            [
                ("110000", "京"),
                ("310000", "沪"),
                ("440100", "粤A"),
                ("440300", "粤B"),
                ("330100", "浙A"),
                ("510100", "川A")
            ]
        );
        assert_eq!(
            c.city("110000").unwrap().payee,
            "北京市公安局公安交通管理局"
        );
        assert!(c.city("440300").unwrap().issued_plate("粤B12345F"));
        assert!(!c.city("440100").unwrap().issued_plate("粤B12345"));
    }

    #[test]
    fn unknown_codes_and_cities_have_no_fine() {
        let c = Catalogue::builtin();
        assert_eq!(c.fine_fen("9999", "110000"), None);
        assert_eq!(c.fine_fen("1625", "120000"), None);
        assert!(c.city("120000").is_none());
    }

    #[test]
    fn a_catalogue_missing_a_city_fine_is_refused() {
        let violations = r#"{"violations":[{"code":"1625","description":"x","description_zh":"x",
            "points":6,"camera_recorded":true,"fines_yuan":{"110000":200}}]}"#;
        let err = Catalogue::from_json(violations, CITIES_JSON).unwrap_err();
        assert!(matches!(err, CatalogueError::Invalid(_)));
    }

    #[test]
    fn a_catalogue_with_points_outside_the_2021_rules_is_refused() {
        let fines: String = Catalogue::builtin()
            .cities()
            .iter()
            .map(|c| format!("\"{}\":200", c.code))
            .collect::<Vec<_>>()
            .join(",");
        let violations = format!(
            r#"{{"violations":[{{"code":"1625","description":"x","description_zh":"x",
            "points":2,"camera_recorded":true,"fines_yuan":{{{fines}}}}}]}}"#
        );
        assert!(Catalogue::from_json(&violations, CITIES_JSON).is_err());
    }
}
