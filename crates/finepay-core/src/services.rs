//! The city-services catalogue and its search (English, Chinese, pinyin and pinyin initials), for
//! `GET /api/v1/services?q=` and the web app's home, City Services and Citizen Center pages.
//!
//! Every service's `path` is a page of the web app (`/services/{id}`), so a search result always
//! leads somewhere.

use serde::Serialize;
use utoipa::ToSchema;

/// Where a service sits in the app (SPEC §7: City Services > Public Payment first, then the
/// Citizen Center).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// City Services > Public Payment (城市服务 > 公共缴费).
    PublicPayment,
    /// City Services > Vehicles and driving (城市服务 > 车驾管).
    Vehicles,
    /// The Citizen Center (市民中心): handling matters in person or online.
    CitizenCenter,
}

impl Category {
    pub const ALL: [Category; 3] = [
        Category::PublicPayment,
        Category::Vehicles,
        Category::CitizenCenter,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::PublicPayment => "public_payment",
            Category::Vehicles => "vehicles",
            Category::CitizenCenter => "citizen_center",
        }
    }
}

struct Service {
    id: &'static str,
    name: &'static str,
    name_zh: &'static str,
    /// The Chinese name in pinyin, one word per character group; initials are derived from it.
    pinyin: &'static str,
    category: Category,
    /// Other words people type for it.
    keywords: &'static [&'static str],
}

/// The first service of Public Payment, the one finepay exists for.
pub const TRAFFIC_FINE_PAYMENT: &str = "traffic-fine-payment";

const SERVICES: &[Service] = &[
    Service {
        id: TRAFFIC_FINE_PAYMENT,
        name: "Traffic Violation Payment",
        name_zh: "交通违法缴款",
        pinyin: "jiao tong wei fa jiao kuan",
        category: Category::PublicPayment,
        keywords: &[
            "12123",
            "traffic management 12123",
            "violation payment",
            "traffic fine",
            "pay fine",
            "penalty decision",
            "ticket",
            "罚款",
            "交通违法罚款缴纳",
            "违章缴费",
            "交罚款",
            "fakuan",
            "weizhang",
        ],
    },
    Service {
        id: "parking-fee-payment",
        name: "Roadside parking fee payment",
        name_zh: "路侧停车缴费",
        pinyin: "lu ce ting che jiao fei",
        category: Category::PublicPayment,
        keywords: &["parking", "停车", "tingche", "payment"],
    },
    Service {
        id: "etc-toll-payment",
        name: "ETC toll payment",
        name_zh: "ETC通行费缴纳",
        pinyin: "etc tong xing fei jiao na",
        category: Category::PublicPayment,
        keywords: &["toll", "highway", "高速", "payment"],
    },
    Service {
        id: "social-insurance",
        name: "Social insurance contributions",
        name_zh: "社保缴费",
        pinyin: "she bao jiao fei",
        category: Category::PublicPayment,
        keywords: &["pension", "medical insurance", "社会保险", "payment"],
    },
    Service {
        id: "utility-bills",
        name: "Water, power and gas bills",
        name_zh: "生活缴费",
        pinyin: "sheng huo jiao fei",
        category: Category::PublicPayment,
        keywords: &["electricity", "water", "gas", "水电煤", "payment"],
    },
    Service {
        id: "vehicle-violation-query",
        name: "Vehicle violation lookup",
        name_zh: "机动车违法查询",
        pinyin: "ji dong che wei fa cha xun",
        category: Category::Vehicles,
        keywords: &["violation", "query", "违章查询", "weizhang chaxun", "plate"],
    },
    Service {
        id: "vehicle-binding",
        name: "Bind a vehicle",
        name_zh: "绑定机动车",
        pinyin: "bang ding ji dong che",
        category: Category::Vehicles,
        keywords: &["plate", "car", "车牌", "bind", "chepai"],
    },
    Service {
        id: "driving-licence-points",
        name: "Driving licence points",
        name_zh: "驾驶证记分查询",
        pinyin: "jia shi zheng ji fen cha xun",
        category: Category::Vehicles,
        keywords: &["licence", "license", "points", "score", "扣分", "koufen"],
    },
    Service {
        id: "traffic-violation-handling",
        name: "Traffic violation handling",
        name_zh: "交通违法处理",
        pinyin: "jiao tong wei fa chu li",
        category: Category::CitizenCenter,
        keywords: &["handle", "handling", "处理违章", "chuli", "12123", "camera"],
    },
];

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ServiceView {
    pub id: String,
    pub name: String,
    pub name_zh: String,
    /// The web app's page of this service.
    pub path: String,
    pub category: Category,
}

impl ServiceView {
    fn of(s: &Service) -> ServiceView {
        ServiceView {
            id: s.id.into(),
            name: s.name.into(),
            name_zh: s.name_zh.into(),
            path: format!("/services/{}", s.id),
            category: s.category,
        }
    }
}

/// Every service, in catalogue order (Traffic Violation Payment first).
pub fn all() -> Vec<ServiceView> {
    SERVICES.iter().map(ServiceView::of).collect()
}

/// One service by id.
pub fn find(id: &str) -> Option<ServiceView> {
    SERVICES.iter().find(|s| s.id == id).map(ServiceView::of)
}

/// Services matching `q`, best first; every service when `q` is empty.
pub fn search(q: &str) -> Vec<ServiceView> {
    let q = q.trim().to_lowercase();
    let terms: Vec<&str> = q.split_whitespace().collect();
    let mut scored: Vec<(u32, usize, &Service)> = SERVICES
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let score = if terms.is_empty() {
                1
            } else {
                score(s, &q, &terms)
            };
            (score > 0).then_some((score, i, s))
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    scored
        .into_iter()
        .map(|(_, _, s)| ServiceView::of(s))
        .collect()
}

/// The pinyin's initials: "jiao tong wei fa jiao kuan" → "jtwfjk".
fn initials(pinyin: &str) -> String {
    pinyin
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .collect()
}

fn score(s: &Service, q: &str, terms: &[&str]) -> u32 {
    let name = s.name.to_lowercase();
    let keywords: Vec<String> = s.keywords.iter().map(|k| k.to_lowercase()).collect();
    // Pinyin is matched with and without the spaces between syllables ("jiaotong", "jiao tong").
    let pinyin_joined: String = s.pinyin.split_whitespace().collect();
    let initials = initials(s.pinyin);
    let haystacks = [
        name.as_str(),
        s.name_zh,
        s.pinyin,
        pinyin_joined.as_str(),
        s.id,
    ];
    let mut score = 0;
    // The whole query as a keyword or inside a name weighs most.
    if keywords.iter().any(|k| k == q) {
        score += 20;
    }
    if haystacks.iter().any(|h| h.contains(q)) {
        score += 10;
    }
    // Pinyin initials ("jtwf") are typed from the start of the name.
    if q.len() >= 2 && q.chars().all(|c| c.is_ascii_lowercase()) && initials.starts_with(q) {
        score += 15;
    }
    for term in terms {
        if haystacks.iter().any(|h| h.contains(term)) {
            score += 3;
        }
        if keywords.iter().any(|k| k.contains(term)) {
            score += 2;
        }
    }
    score
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_12123_app_number_finds_fine_payment_first() {
        assert_eq!(search("12123")[0].id, TRAFFIC_FINE_PAYMENT);
        assert_eq!(
            search("Traffic Management 12123")[0].id,
            TRAFFIC_FINE_PAYMENT
        );
    }

    #[test]
    fn violation_payment_finds_fine_payment_first() {
        assert_eq!(search("violation payment")[0].id, TRAFFIC_FINE_PAYMENT);
    }

    #[test]
    fn chinese_and_pinyin_both_find_it() {
        assert_eq!(search("罚款")[0].id, TRAFFIC_FINE_PAYMENT);
        assert_eq!(search("交通违法")[0].id, TRAFFIC_FINE_PAYMENT);
        assert_eq!(search("jiaotong weifa")[0].id, TRAFFIC_FINE_PAYMENT);
    }

    #[test]
    fn pinyin_initials_find_it() {
        assert_eq!(search("jtwf")[0].id, TRAFFIC_FINE_PAYMENT);
        assert_eq!(search("JTWFJK")[0].id, TRAFFIC_FINE_PAYMENT);
        assert_eq!(search("jtwfcl")[0].id, "traffic-violation-handling");
        assert_eq!(search("sbjf")[0].id, "social-insurance");
    }

    #[test]
    fn nonsense_finds_nothing() {
        assert!(search("zzzzqqq").is_empty());
    }

    #[test]
    fn every_service_path_is_its_own_page() {
        for s in all() {
            assert_eq!(s.path, format!("/services/{}", s.id));
            assert_eq!(find(&s.id).map(|f| f.name), Some(s.name));
        }
    }

    #[test]
    fn traffic_violation_payment_is_the_first_public_payment_service() {
        let first = all()
            .into_iter()
            .find(|s| s.category == Category::PublicPayment);
        assert_eq!(first.map(|s| s.id), Some(TRAFFIC_FINE_PAYMENT.to_string()));
    }
}
