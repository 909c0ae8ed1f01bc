//! The city-services catalogue and its search (English, Chinese and pinyin), for
//! `GET /api/v1/services?q=`.

use serde::Serialize;
use utoipa::ToSchema;

struct Service {
    id: &'static str,
    name: &'static str,
    name_zh: &'static str,
    pinyin: &'static str,
    path: &'static str,
    /// Other words people type for it.
    keywords: &'static [&'static str],
}

const SERVICES: &[Service] = &[
    Service {
        id: "traffic-fine-payment",
        name: "Traffic fine payment",
        name_zh: "交通违法罚款缴纳",
        pinyin: "jiaotong weifa fakuan jiaona",
        path: "/services/traffic-fine-payment",
        keywords: &[
            "12123",
            "violation payment",
            "pay fine",
            "penalty decision",
            "ticket",
            "罚款",
            "违章缴费",
            "交罚款",
            "fakuan",
            "weizhang",
        ],
    },
    Service {
        id: "vehicle-violation-query",
        name: "Vehicle violation lookup",
        name_zh: "机动车违法查询",
        pinyin: "jidongche weifa chaxun",
        path: "/services/vehicle-violation-query",
        keywords: &["violation", "query", "违章查询", "weizhang chaxun", "plate"],
    },
    Service {
        id: "driving-licence-points",
        name: "Driving licence points",
        name_zh: "驾驶证记分查询",
        pinyin: "jiashizheng jifen chaxun",
        path: "/services/driving-licence-points",
        keywords: &["licence", "license", "points", "score", "扣分", "koufen"],
    },
    Service {
        id: "vehicle-binding",
        name: "Bind a vehicle",
        name_zh: "绑定机动车",
        pinyin: "bangding jidongche",
        path: "/services/vehicle-binding",
        keywords: &["plate", "car", "车牌", "bind", "chepai"],
    },
    Service {
        id: "parking-fee-payment",
        name: "Roadside parking fee payment",
        name_zh: "路侧停车缴费",
        pinyin: "luce tingche jiaofei",
        path: "/services/parking-fee-payment",
        keywords: &["parking", "停车", "tingche", "payment"],
    },
    Service {
        id: "etc-toll-payment",
        name: "ETC toll payment",
        name_zh: "ETC通行费缴纳",
        pinyin: "etc tongxingfei jiaona",
        path: "/services/etc-toll-payment",
        keywords: &["toll", "highway", "高速", "payment"],
    },
    Service {
        id: "social-insurance",
        name: "Social insurance contributions",
        name_zh: "社保缴费",
        pinyin: "shebao jiaofei",
        path: "/services/social-insurance",
        keywords: &["pension", "medical insurance", "社会保险", "payment"],
    },
    Service {
        id: "utility-bills",
        name: "Water, power and gas bills",
        name_zh: "生活缴费",
        pinyin: "shenghuo jiaofei",
        path: "/services/utility-bills",
        keywords: &["electricity", "water", "gas", "水电煤", "payment"],
    },
];

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ServiceView {
    pub id: String,
    pub name: String,
    pub name_zh: String,
    pub path: String,
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
        .map(|(_, _, s)| ServiceView {
            id: s.id.into(),
            name: s.name.into(),
            name_zh: s.name_zh.into(),
            path: s.path.into(),
        })
        .collect()
}

fn score(s: &Service, q: &str, terms: &[&str]) -> u32 {
    let name = s.name.to_lowercase();
    let keywords: Vec<String> = s.keywords.iter().map(|k| k.to_lowercase()).collect();
    let haystacks = [name.as_str(), s.name_zh, s.pinyin, s.id];
    let mut score = 0;
    // The whole query as a keyword or inside a name weighs most.
    if keywords.iter().any(|k| k == q) {
        score += 20;
    }
    if haystacks.iter().any(|h| h.contains(q)) {
        score += 10;
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
        assert_eq!(search("12123")[0].id, "traffic-fine-payment");
    }

    #[test]
    fn violation_payment_finds_fine_payment_first() {
        assert_eq!(search("violation payment")[0].id, "traffic-fine-payment");
    }

    #[test]
    fn chinese_and_pinyin_both_find_it() {
        assert_eq!(search("罚款")[0].id, "traffic-fine-payment");
        assert_eq!(search("jiaotong weifa")[0].id, "traffic-fine-payment");
    }

    #[test]
    fn nonsense_finds_nothing() {
        assert!(search("zzzzqqq").is_empty());
    }
}
