//! A plate that parses prints as text that parses back to the same plate; nothing panics.
#![no_main]
use finepay_domain::Plate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(plate) = Plate::parse(text) {
        let again = Plate::parse(&plate.to_string()).expect("a plate's own text parses");
        assert_eq!(again, plate);
    }
});
