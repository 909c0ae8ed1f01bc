//! Events for users connected to any instance: a notification written by one instance (payment
//! confirmed, refunded, …) reaches the user's open notification stream on every instance.
//!
//! In one process the bus is a broadcast channel. With `--events nats://…` it is a JetStream
//! stream: events are published with their id as `Nats-Msg-Id` (JetStream drops a duplicate within
//! its window), every instance consumes the stream with its own consumer and explicit acks, and
//! drops ids it has already passed on (at-least-once delivery, deduplicated by event id). Events
//! leave through the outbox, so an event committed with its notification is published even if the
//! instance dies right after the commit.

use async_nats::jetstream;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use tokio::sync::broadcast;
use utoipa::ToSchema;

/// A notification as it travels between instances and out to a user's stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    pub id: String,
    pub user_id: String,
    /// `payment.confirmed`, `payment.refunded`, … (SPEC §3 notification kinds).
    pub kind: String,
    pub plate: Option<String>,
    pub city_code: String,
    pub decision_number: Option<String>,
    pub payment_id: Option<String>,
    pub created_at: String,
}

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("cannot reach the event bus: {0}")]
    Unavailable(String),
}

const STREAM: &str = "FINEPAY_EVENTS";
const SUBJECT_PREFIX: &str = "finepay.events";
/// Ids remembered to drop redeliveries.
const SEEN_CAPACITY: usize = 50_000;
/// Events buffered per local subscriber before a slow one starts missing them (it can re-read
/// its inbox with GET /api/v1/notifications).
const LOCAL_CAPACITY: usize = 4096;

/// The event bus of this instance.
pub struct EventBus {
    local: broadcast::Sender<Event>,
    nats: Option<jetstream::Context>,
    seen: Mutex<Seen>,
    /// The last stream sequence passed on: a consumer made after a reconnect starts right after it,
    /// so events published during the gap still reach open streams.
    last_sequence: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
struct Seen {
    order: VecDeque<String>,
    ids: HashSet<String>,
}

impl Seen {
    /// True the first time an id is seen.
    fn first_time(&mut self, id: &str) -> bool {
        if self.ids.contains(id) {
            return false;
        }
        if self.order.len() >= SEEN_CAPACITY {
            if let Some(old) = self.order.pop_front() {
                self.ids.remove(&old);
            }
        }
        self.order.push_back(id.to_string());
        self.ids.insert(id.to_string());
        true
    }
}

impl EventBus {
    /// Events stay in this process.
    pub fn in_process() -> EventBus {
        EventBus {
            local: broadcast::channel(LOCAL_CAPACITY).0,
            nats: None,
            seen: Mutex::new(Seen::default()),
            last_sequence: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Events go through JetStream at `url`; call [`EventBus::start_consuming`] once the bus is shared.
    pub async fn nats(url: &str) -> Result<EventBus, EventError> {
        let client = async_nats::connect(url)
            .await
            .map_err(|e| EventError::Unavailable(e.to_string()))?;
        let js = jetstream::new(client);
        js.get_or_create_stream(jetstream::stream::Config {
            name: STREAM.to_string(),
            subjects: vec![format!("{SUBJECT_PREFIX}.>")],
            storage: jetstream::stream::StorageType::File,
            max_age: std::time::Duration::from_secs(24 * 3600),
            duplicate_window: std::time::Duration::from_secs(120),
            ..Default::default()
        })
        .await
        .map_err(|e| EventError::Unavailable(e.to_string()))?;
        Ok(EventBus {
            local: broadcast::channel(LOCAL_CAPACITY).0,
            nats: Some(js),
            seen: Mutex::new(Seen::default()),
            last_sequence: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Publishes an event: to JetStream (acknowledged as stored) or straight to local subscribers.
    pub async fn publish(&self, event: &Event) -> Result<(), EventError> {
        let Some(js) = &self.nats else {
            self.deliver_locally(event.clone());
            return Ok(());
        };
        let payload =
            serde_json::to_vec(event).map_err(|e| EventError::Unavailable(e.to_string()))?;
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", event.id.as_str());
        let subject = format!("{SUBJECT_PREFIX}.{}", event.kind);
        js.publish_with_headers(subject, headers, bytes::Bytes::from(payload))
            .await
            .map_err(|e| EventError::Unavailable(e.to_string()))?
            .await
            .map_err(|e| EventError::Unavailable(e.to_string()))?;
        Ok(())
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.local.subscribe()
    }

    fn deliver_locally(&self, event: Event) {
        let first = self
            .seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .first_time(&event.id);
        if first {
            // No subscriber is not an error: nobody of this instance is listening.
            let _ = self.local.send(event);
        }
    }

    /// Consumes the JetStream stream with this instance's own consumer (new events only) and
    /// passes each event on once to local subscribers. Reconnects after a failure.
    pub async fn consume(self: std::sync::Arc<Self>) {
        let Some(js) = self.nats.clone() else { return };
        loop {
            if let Err(e) = self.consume_once(&js).await {
                tracing::warn!(error = %e, "event stream consumer stopped; reconnecting");
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
    }

    async fn consume_once(&self, js: &jetstream::Context) -> Result<(), EventError> {
        let err = |e: &dyn std::fmt::Display| EventError::Unavailable(e.to_string());
        let stream = js.get_stream(STREAM).await.map_err(|e| err(&e))?;
        let last = self
            .last_sequence
            .load(std::sync::atomic::Ordering::Relaxed);
        let deliver_policy = if last == 0 {
            jetstream::consumer::DeliverPolicy::New
        } else {
            jetstream::consumer::DeliverPolicy::ByStartSequence {
                start_sequence: last + 1,
            }
        };
        let consumer = stream
            .create_consumer(jetstream::consumer::pull::Config {
                deliver_policy,
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                inactive_threshold: std::time::Duration::from_secs(60),
                ..Default::default()
            })
            .await
            .map_err(|e| err(&e))?;
        let mut messages = consumer.messages().await.map_err(|e| err(&e))?;
        while let Some(message) = messages.next().await {
            let message = message.map_err(|e| err(&e))?;
            if let Ok(info) = message.info() {
                self.last_sequence
                    .store(info.stream_sequence, std::sync::atomic::Ordering::Relaxed);
            }
            match serde_json::from_slice::<Event>(&message.payload) {
                Ok(event) => self.deliver_locally(event),
                Err(e) => tracing::error!(error = %e, "an unreadable event was skipped"),
            }
            if let Err(e) = message.ack().await {
                tracing::warn!(error = %e, "cannot ack an event; it may come again (and be dropped as seen)");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_id_passes_once() {
        let mut seen = Seen::default();
        assert!(seen.first_time("a"));
        assert!(!seen.first_time("a"));
        assert!(seen.first_time("b"));
    }
}
