//! An ID number that parses prints as text that parses back to the same number; nothing panics.
#![no_main]
use finepay_domain::IdNumber;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(id) = IdNumber::parse(text) {
        let again = IdNumber::parse(&id.to_string()).expect("an ID number's own text parses");
        assert_eq!(again, id);
    }
});
