//! Yuan text: what parses prints back as the same text (but for leading zeros and a minus zero),
//! every fen amount prints as text that parses back to it, and the payable check holds its
//! bounds; nothing panics or overflows.
#![no_main]
use finepay_domain::Fen;
use libfuzzer_sys::{arbitrary, fuzz_target};

#[derive(Debug, arbitrary::Arbitrary)]
struct Input<'a> {
    text: &'a str,
    fen: i64,
}

/// The text as `Display` writes it: no leading zeros in the yuan, no sign on zero.
fn normal_form(text: &str) -> String {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (yuan, cents) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let yuan = match yuan.trim_start_matches('0') {
        "" => "0",
        digits => digits,
    };
    let zero = yuan == "0" && cents == "00";
    let sign = if negative && !zero { "-" } else { "" };
    format!("{sign}{yuan}.{cents}")
}

fuzz_target!(|input: Input<'_>| {
    if let Ok(amount) = input.text.parse::<Fen>() {
        let printed = amount.to_string();
        assert_eq!(printed.parse::<Fen>().expect("printed yuan parse"), amount);
        assert_eq!(printed, normal_form(input.text), "{:?}", input.text);
    }
    let amount = Fen::from_fen(input.fen);
    assert_eq!(amount.to_string().parse::<Fen>(), Ok(amount));
    match Fen::payable(input.fen) {
        Ok(ok) => assert!(ok.fen() > 0 && ok <= Fen::MAX_PAYABLE),
        Err(_) => assert!(input.fen <= 0 || Fen::from_fen(input.fen) > Fen::MAX_PAYABLE),
    }
});
