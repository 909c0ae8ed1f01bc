//! The sandbox's event feed as a long poll, and its read-your-writes promise to the control API.
//!
//! A feed request with `wait_ms` is held until an event arrives or the wait ends, so a platform
//! that follows the feed hears of a change within milliseconds. A real authority would push the
//! change (a webhook) before telling its own clerk "done"; the sandbox imitates that for the one
//! change that matters to a payment (a revocation): the control API answers only after every
//! platform following the city's feed has acknowledged the event by asking for the next one, or
//! after [`ACK_WAIT`]. A sandbox nobody follows answers at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The longest a feed request may be held.
pub const MAX_WAIT: Duration = Duration::from_secs(25);
/// How long a control call waits for the followers' acknowledgement.
pub const ACK_WAIT: Duration = Duration::from_secs(2);
/// A follower not heard from for this long is not waited for.
const FOLLOWER_GONE: Duration = Duration::from_secs(10);
/// How often a waiting control call looks at the acknowledgements.
const ACK_POLL: Duration = Duration::from_millis(2);

/// What the sandbox knows of the platforms following its feeds.
pub(super) struct Feed {
    /// Bumped after every committed event, so held requests look again.
    changed: watch::Sender<u64>,
    /// Per city: the highest `after` a follower asked with, and when a follower last asked.
    followers: Mutex<HashMap<String, Follower>>,
}

#[derive(Clone, Copy)]
struct Follower {
    acked: i64,
    seen: Instant,
}

impl Feed {
    pub(super) fn new() -> Feed {
        Feed {
            changed: watch::Sender::new(0),
            followers: Mutex::new(HashMap::new()),
        }
    }

    /// Wake held feed requests: an event was committed.
    pub(super) fn committed(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that sees every commit after this call.
    pub(super) fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// A follower asked for `city`'s events after `after`: it has applied everything up to it.
    pub(super) fn asked(&self, city: &str, after: i64) {
        let mut followers = self.lock();
        let now = Instant::now();
        let entry = followers.entry(city.to_owned()).or_insert(Follower {
            acked: after,
            seen: now,
        });
        entry.acked = entry.acked.max(after);
        entry.seen = now;
    }

    /// Wait (at most [`ACK_WAIT`]) until a follower of `city` has applied event `seq`.
    pub(super) async fn acknowledged(&self, city: &str, seq: i64) {
        let deadline = Instant::now() + ACK_WAIT;
        loop {
            let follower = self.lock().get(city).copied();
            match follower {
                None => return,
                Some(f) if f.acked >= seq || f.seen.elapsed() > FOLLOWER_GONE => return,
                Some(_) if Instant::now() >= deadline => {
                    tracing::warn!(city, seq, "no feed follower acknowledged the event in time");
                    return;
                }
                Some(_) => tokio::time::sleep(ACK_POLL).await,
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Follower>> {
        self.followers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
