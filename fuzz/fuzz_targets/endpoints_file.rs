//! The operator's endpoints file: any text is either refused with a message or gives cities
//! whose codes, names, prefixes and keys passed the checks; nothing panics.
#![no_main]
use std::path::Path;

use finepay_authority::endpoints::{resolve, EndpointsFile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let Ok(file) = toml::from_str::<EndpointsFile>(text) else {
        return;
    };
    // Key files are looked for beside a file that does not exist: only inline keys resolve.
    if let Ok(endpoints) = resolve(&file, Path::new("/nonexistent/finepay/endpoints.toml")) {
        assert!(!endpoints.cities.is_empty());
        assert_eq!(endpoints.cities.len(), file.cities.len());
        assert!(endpoints.cities.iter().all(|route| route.key.len() >= 16));
        for city in &file.cities {
            assert!(!city.name.trim().is_empty() && !city.name_zh.trim().is_empty());
            assert!(!city.decision_prefixes.is_empty() && !city.plate_prefixes.is_empty());
        }
    }
});
