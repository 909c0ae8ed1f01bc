//! The composition of the background work: what a running platform starts besides serving
//! requests. Nothing imports this module; it imports the workers.

use crate::{dispatcher, feeds, resolver, CoreError, Platform};

impl Platform {
    /// Starts the background workers (outbox dispatcher, card resolver). They run until the
    /// runtime stops.
    pub fn start_workers(&self) {
        tokio::spawn(dispatcher::run(self.clone()));
        tokio::spawn(resolver::run(self.clone()));
        feeds::start(self);
        tokio::spawn(self.inner.events.clone().consume());
    }
}

/// The same work, one round at a time and awaited, for a caller that moves the clock itself (the
/// deterministic simulator): nothing runs unless it is asked for, so a seed replays exactly.
impl Platform {
    /// The dispatcher's round, awaited: every group (kind and city) with due outbox rows is
    /// delivered, one group after another, until nothing of it is due or the round makes no
    /// progress. Returns how many groups were due.
    pub async fn deliver_due_now(&self) -> Result<usize, CoreError> {
        self.deliver_due_groups().await
    }

    /// The resolver's round, awaited: every charge left `processing` longer than
    /// `resolve_after` is asked about (and, after `give_up_after`, given up).
    pub async fn resolve_charges_now(&self) -> Result<(), CoreError> {
        self.resolve_charges().await
    }

    /// Each city's feed read until caught up (without waiting for new events), awaited. It does
    /// not make a feed count as live: only a follower that keeps reading does.
    pub async fn read_feeds_now(&self) -> Result<(), CoreError> {
        for route in self.authorities().all() {
            feeds::read_until_caught_up(self, route).await?;
        }
        Ok(())
    }
}
