//! Per city, whether its feed is followed closely enough that the kept copies of its decisions
//! are as current as the authority's own records (the feed followers mark it; lookups read it).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A feed is live while its last answer is at most this old (the hold plus a margin).
const LIVE_FOR: Duration = Duration::from_millis(2_500);

/// Per city, whether its feed is being followed closely enough to trust the kept decisions.
pub(crate) struct Freshness {
    origin: Instant,
    /// Milliseconds since `origin` until which the city's feed counts as live; 0 = stale.
    live_until_ms: HashMap<String, AtomicU64>,
}

impl Freshness {
    pub(crate) fn new<'a>(cities: impl Iterator<Item = &'a str>) -> Freshness {
        Freshness {
            origin: Instant::now(),
            live_until_ms: cities.map(|c| (c.to_owned(), AtomicU64::new(0))).collect(),
        }
    }

    /// Whether the kept copies of `city`'s decisions are as current as the authority's records.
    pub(crate) fn is_live(&self, city: &str) -> bool {
        self.live_until_ms
            .get(city)
            .is_some_and(|t| self.now_ms() < t.load(Ordering::Acquire))
    }

    /// Everything the authority said up to now has been applied.
    pub(crate) fn caught_up(&self, city: &str) {
        if let Some(t) = self.live_until_ms.get(city) {
            let until = self.now_ms() + u64::try_from(LIVE_FOR.as_millis()).unwrap_or(u64::MAX);
            t.store(until, Ordering::Release);
        }
    }

    pub(crate) fn stale(&self, city: &str) {
        if let Some(t) = self.live_until_ms.get(city) {
            t.store(0, Ordering::Release);
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}
