//! A decision number that parses is 15 or 16 digits and prints as text that parses back to the
//! same number; nothing panics. (The check digit is the route's rule, not the parser's.)
#![no_main]
use finepay_domain::DecisionNumber;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(number) = DecisionNumber::parse(text) {
        let printed = number.to_string();
        assert!(matches!(printed.len(), 15 | 16) && printed.bytes().all(|b| b.is_ascii_digit()));
        let again = DecisionNumber::parse(&printed).expect("a number's own text parses");
        assert_eq!(again, number);
    }
});
