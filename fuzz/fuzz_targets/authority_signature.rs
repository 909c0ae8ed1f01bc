//! The authority protocol's request signature: what the platform signs verifies; a change of
//! method, path, timestamp or body does not; arbitrary headers never panic the check.
#![no_main]
use finepay_authority::protocol::{sign, verify, SignedParts};
use libfuzzer_sys::{arbitrary, fuzz_target};

#[derive(Debug, arbitrary::Arbitrary)]
struct Input<'a> {
    secret: &'a [u8],
    method: &'a str,
    path: &'a str,
    timestamp: Option<&'a str>,
    signature: Option<&'a str>,
    body: &'a [u8],
    now: i64,
    other_body: &'a [u8],
}

fuzz_target!(|input: Input<'_>| {
    // Headers as an attacker writes them.
    let parts = SignedParts {
        method: input.method,
        path: input.path,
        timestamp: input.timestamp,
        signature: input.signature,
    };
    let _ = verify(input.secret, &parts, input.body, input.now);

    // Headers as the platform writes them.
    let now = input.now.clamp(0, 4_000_000_000);
    let signature = sign(input.secret, input.method, input.path, now, input.body);
    let timestamp = now.to_string();
    let honest = SignedParts {
        method: input.method,
        path: input.path,
        timestamp: Some(&timestamp),
        signature: Some(&signature),
    };
    assert!(verify(input.secret, &honest, input.body, now).is_ok());
    if input.other_body != input.body {
        assert!(verify(input.secret, &honest, input.other_body, now).is_err());
    }
});
