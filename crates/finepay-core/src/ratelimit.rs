//! Limits against guessing (SPEC §2): decision numbers (lookups and payments, whose answers tell a
//! number that exists from one that does not) and VINs (binding a plate). Per user and per client
//! address, a failed guess costing more on both, so spreading a script over fresh accounts does
//! not help it. Fixed one-minute windows held in memory per instance.

use crate::CoreError;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
pub struct LookupLimits {
    pub per_user_per_minute: u32,
    pub per_client_per_minute: u32,
    /// What a lookup of a number that does not exist costs, in lookups.
    pub failed_lookup_cost: u32,
}

impl Default for LookupLimits {
    fn default() -> Self {
        LookupLimits {
            per_user_per_minute: 60,
            per_client_per_minute: 1000,
            failed_lookup_cost: 5,
        }
    }
}

const WINDOW: Duration = Duration::from_secs(60);
/// Bound on remembered windows per table.
const MAX_TRACKED: usize = 100_000;
/// A full table is swept of expired windows at most this often (a sweep scans it all).
const SWEEP_EVERY: Duration = Duration::from_secs(1);

struct Window {
    started: Instant,
    used: u32,
}

/// The windows of one kind of key (users or client addresses), bounded: a full table is swept of
/// expired windows at most once a second, and while it is still full a key it does not know is
/// refused instead of added. So no flood of fresh keys can grow it, or make every request scan it.
struct Windows {
    map: HashMap<String, Window>,
    max: usize,
    last_sweep: Option<Instant>,
}

pub(crate) struct RateLimiter {
    limits: LookupLimits,
    users: Mutex<Windows>,
    clients: Mutex<Windows>,
}

impl RateLimiter {
    pub fn new(limits: LookupLimits) -> RateLimiter {
        RateLimiter::bounded(limits, MAX_TRACKED)
    }

    /// A limiter remembering at most `max` users and `max` client addresses.
    fn bounded(limits: LookupLimits, max: usize) -> RateLimiter {
        let table = || {
            Mutex::new(Windows {
                map: HashMap::new(),
                max,
                last_sweep: None,
            })
        };
        RateLimiter {
            limits,
            users: table(),
            clients: table(),
        }
    }

    /// Counts one lookup for the user and the client address, or refuses it.
    pub fn admit(&self, user_id: &str, client: &str) -> Result<(), CoreError> {
        take(&self.clients, client, 1, self.limits.per_client_per_minute)?;
        take(&self.users, user_id, 1, self.limits.per_user_per_minute)
    }

    /// Counts one request for the client address alone.
    pub fn admit_client(&self, client: &str) -> Result<(), CoreError> {
        take(&self.clients, client, 1, self.limits.per_client_per_minute)
    }

    /// Charges the extra cost of a failed guess to the user and to the client address.
    pub fn charge_failure(&self, user_id: &str, client: &str) {
        let extra = self.limits.failed_lookup_cost.saturating_sub(1);
        for (table, key) in [(&self.users, user_id), (&self.clients, client)] {
            let mut table = table.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(w) = table.map.get_mut(key) {
                w.used = w.used.saturating_add(extra);
            }
        }
    }
}

fn take(table: &Mutex<Windows>, key: &str, cost: u32, limit: u32) -> Result<(), CoreError> {
    let now = Instant::now();
    let mut table = table.lock().unwrap_or_else(|p| p.into_inner());
    let Windows {
        map,
        max,
        last_sweep,
    } = &mut *table;
    if !map.contains_key(key) && map.len() >= *max {
        if last_sweep.is_none_or(|at| now.duration_since(at) >= SWEEP_EVERY) {
            map.retain(|_, w| now.duration_since(w.started) < WINDOW);
            *last_sweep = Some(now);
        }
        if map.len() >= *max {
            return Err(CoreError::RateLimited {
                retry_after_s: SWEEP_EVERY.as_secs().max(1),
            });
        }
    }
    let window = map.entry(key.to_string()).or_insert(Window {
        started: now,
        used: 0,
    });
    if now.duration_since(window.started) >= WINDOW {
        *window = Window {
            started: now,
            used: 0,
        };
    }
    if window.used.saturating_add(cost) > limit {
        let left = WINDOW.saturating_sub(now.duration_since(window.started));
        return Err(CoreError::RateLimited {
            retry_after_s: left.as_secs().max(1),
        });
    }
    window.used += cost;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_lookup_costs_five() {
        let limiter = RateLimiter::new(LookupLimits {
            per_user_per_minute: 10,
            per_client_per_minute: 1000,
            failed_lookup_cost: 5,
        });
        assert!(limiter.admit("u", "c").is_ok());
        limiter.charge_failure("u", "c");
        for _ in 0..5 {
            assert!(limiter.admit("u", "c").is_ok());
        }
        assert!(matches!(
            limiter.admit("u", "c"),
            Err(CoreError::RateLimited { .. })
        ));
    }

    #[test]
    fn the_client_limit_is_separate_from_the_user_limit() {
        let limiter = RateLimiter::new(LookupLimits {
            per_user_per_minute: 100,
            per_client_per_minute: 2,
            failed_lookup_cost: 5,
        });
        assert!(limiter.admit("a", "c").is_ok());
        assert!(limiter.admit("b", "c").is_ok());
        assert!(limiter.admit("d", "c").is_err());
    }

    #[test]
    fn a_flood_of_fresh_keys_cannot_grow_the_tables() {
        let limiter = RateLimiter::bounded(
            LookupLimits {
                per_user_per_minute: 100,
                per_client_per_minute: 100_000,
                failed_lookup_cost: 5,
            },
            3,
        );
        for i in 0..3 {
            assert!(limiter.admit(&format!("u{i}"), "c").is_ok());
        }
        // Full of live windows: a fresh user is refused (and nothing is added), known ones pass.
        for i in 3..1000 {
            assert!(matches!(
                limiter.admit(&format!("u{i}"), "c"),
                Err(CoreError::RateLimited { retry_after_s: 1 })
            ));
        }
        assert!(limiter.admit("u0", "c").is_ok());
        let users = limiter.users.lock().unwrap_or_else(|p| p.into_inner());
        assert_eq!(users.map.len(), 3);
        assert!(users.last_sweep.is_some(), "a full table was swept");
    }
}
