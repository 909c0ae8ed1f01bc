//! finepay-sandbox: the outside world in miniature, for tests, demos and `finepay sandbox`.
//!
//! - [`authority`]: one server that plays the traffic authorities of the catalogue's six cities
//!   (decisions, vehicles, the event feed, online handling), answering the signed protocol of
//!   `finepay-authority` and the control API of SPEC §4;
//! - [`bank`]: a bank with the test cards of SPEC §6, answering the protocol of `finepay-bank`.
//!
//! **Architecture Invariant:** these are other organisations' systems. Each keeps its own state in
//! its own SQLite file and is reached only over HTTP, through the platform's adapters, exactly as a
//! real authority or bank would be; nothing here knows the platform's tables, and the platform
//! depends on this crate only where it assembles the embedded default (`finepay serve` without
//! `--endpoints`) and `finepay sandbox`.

pub mod authority;
pub mod bank;
