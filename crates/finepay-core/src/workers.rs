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
        tokio::spawn(settle_on_schedule(self.clone()));
    }
}

/// How often the settlement scheduler looks: the end-of-day batches run within this of 00:30.
const SETTLEMENT_ROUND: std::time::Duration = std::time::Duration::from_secs(30);

/// The daily scheduler: each round closes the end-of-day batches that are due (catching up days
/// missed while the platform was down), offers unanswered batch files again, and runs the
/// reminders' 09:00 sweep when it is due.
async fn settle_on_schedule(platform: Platform) {
    let mut tick = tokio::time::interval(SETTLEMENT_ROUND);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if platform.stopping() {
            return;
        }
        if let Err(e) = platform.settle_due_now().await {
            tracing::warn!(error = %e, "settlement round failed; the next round tries again");
        }
        // The reminders' daily sweep rides on the same clock tick (09:00, catching up a day
        // missed while the platform was down).
        let now = platform.db().clock().now();
        if let Err(e) = platform.reminders().sweep_if_due(now).await {
            tracing::warn!(error = %e, "reminder sweep failed; the next round tries again");
        }
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

    /// The settlement scheduler's round, awaited: the end-of-day batches due at the clock's now,
    /// then every batch file its authority has not answered about. Returns the batches closed.
    pub async fn settle_due_now(&self) -> Result<usize, CoreError> {
        let closed = self
            .settlement()
            .scheduled_round(self.db().clock().now())
            .await?;
        self.settlement().offer_unanswered().await?;
        Ok(closed.len())
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
