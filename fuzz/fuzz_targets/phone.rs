//! A phone number that parses is 11 digits and parses back from its own text; nothing panics.
#![no_main]
use finepay_domain::Phone;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(phone) = Phone::parse(text) {
        let printed = phone.to_string();
        assert!(printed.len() == 11 && printed.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(
            Phone::parse(&printed).expect("a phone's own text parses"),
            phone
        );
    }
});
