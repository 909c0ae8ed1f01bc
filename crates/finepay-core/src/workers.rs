//! The composition of the background work: what a running platform starts besides serving
//! requests. Nothing imports this module; it imports the workers.

use crate::{dispatcher, feeds, resolver, Platform};

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
