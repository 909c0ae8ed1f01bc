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
/// Bound on remembered windows per map; beyond it, expired windows are swept.
const MAX_TRACKED: usize = 100_000;

struct Window {
    started: Instant,
    used: u32,
}

pub(crate) struct RateLimiter {
    limits: LookupLimits,
    users: Mutex<HashMap<String, Window>>,
    clients: Mutex<HashMap<String, Window>>,
}

impl RateLimiter {
    pub fn new(limits: LookupLimits) -> RateLimiter {
        RateLimiter {
            limits,
            users: Mutex::new(HashMap::new()),
            clients: Mutex::new(HashMap::new()),
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
        for (map, key) in [(&self.users, user_id), (&self.clients, client)] {
            let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(w) = map.get_mut(key) {
                w.used = w.used.saturating_add(extra);
            }
        }
    }
}

fn take(
    map: &Mutex<HashMap<String, Window>>,
    key: &str,
    cost: u32,
    limit: u32,
) -> Result<(), CoreError> {
    let now = Instant::now();
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    if map.len() > MAX_TRACKED {
        map.retain(|_, w| now.duration_since(w.started) < WINDOW);
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
}
