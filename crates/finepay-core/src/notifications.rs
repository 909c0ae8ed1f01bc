//! Notifications: written in the same writer job as the state change they announce, each with an
//! outbox row that publishes it as an event, so a user's open stream on any instance hears of it.

use crate::events::Event;
use crate::events::EventBus;
use crate::outbox::Message;
use crate::views::view_of;
pub use crate::views::NotificationView;
use crate::{new_id, CoreError};
use finepay_domain::Plate;
use finepay_store::repo::notifications::{self, NotificationRow};
use finepay_store::repo::{decisions, payments::PaymentRow};
use finepay_store::Db;
use finepay_store::Sql;
use std::sync::Arc;
use tokio::sync::broadcast;

/// Records a notification and enqueues its event, in the caller's transaction.
pub(crate) fn record(c: &dyn Sql, row: &NotificationRow) -> Result<(), CoreError> {
    notifications::insert_notification(c, row)?;
    crate::webhooks::enqueue_for(c, row)?;
    Message::Event(event_of(row.clone())).enqueue(c, &row.city_code, &row.id, &row.created_at)
}

/// Records a notification about a payment for its payer, and enqueues its event.
pub(crate) fn notify_payment(
    c: &dyn Sql,
    payment: &PaymentRow,
    kind: &str,
    now: &str,
) -> Result<(), CoreError> {
    let plate = decisions::find_decision(c, &payment.decision_number)?
        .and_then(|d| Plate::parse(&d.plate).ok())
        .map(|p| p.masked());
    let row = NotificationRow {
        id: new_id("ntf"),
        user_id: payment.user_id.clone(),
        kind: kind.to_string(),
        plate,
        city_code: payment.city_code.clone(),
        decision_number: Some(payment.decision_number.clone()),
        payment_id: Some(payment.id.clone()),
        created_at: now.to_string(),
        read: false,
    };
    record(c, &row)
}

fn event_of(n: NotificationRow) -> Event {
    Event {
        id: n.id,
        user_id: n.user_id,
        kind: n.kind,
        plate: n.plate,
        city_code: n.city_code,
        decision_number: n.decision_number,
        payment_id: n.payment_id,
        created_at: n.created_at,
    }
}

impl NotificationView {
    pub fn of_event(e: &Event) -> NotificationView {
        NotificationView {
            id: e.id.clone(),
            kind: e.kind.clone(),
            plate: e.plate.clone(),
            city_code: e.city_code.clone(),
            decision_number: e.decision_number.clone(),
            payment_id: e.payment_id.clone(),
            created_at: e.created_at.clone(),
            read: false,
        }
    }
}

/// The inbox and the live event stream.
#[derive(Clone)]
pub struct Notifications {
    db: Db,
    events: Arc<EventBus>,
}

impl Notifications {
    pub(crate) fn new(db: Db, events: Arc<EventBus>) -> Notifications {
        Notifications { db, events }
    }

    /// The user's inbox, newest first, `limit` per page; the cursor is the last id of a page.
    pub async fn list(
        &self,
        user_id: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<NotificationView>, Option<String>), CoreError> {
        let uid = user_id.to_string();
        let cursor = cursor.map(str::to_string);
        let limit = limit.clamp(1, 200);
        let rows = self
            .db
            .read(move |c| {
                let before = match cursor {
                    Some(id) => match notifications::position(c, &uid, &id)? {
                        Some(p) => Some(p),
                        None => return Ok(None),
                    },
                    None => None,
                };
                notifications::list_notifications(
                    c,
                    &uid,
                    before.as_ref().map(|(a, b)| (a.as_str(), b.as_str())),
                    limit,
                )
                .map(Some)
            })
            .await?
            .ok_or_else(|| {
                CoreError::invalid(
                    "cursor",
                    "this cursor is not from your notifications; start without one",
                )
            })?;
        let next = (rows.len() == limit as usize)
            .then(|| rows.last().map(|n| n.id.clone()))
            .flatten();
        let views = rows.into_iter().map(view_of).collect();
        Ok((views, next))
    }

    /// Marks one of the user's notifications read; another user's id is not found.
    pub async fn mark_read(&self, user_id: &str, id: &str) -> Result<(), CoreError> {
        let (uid, nid) = (user_id.to_string(), id.to_string());
        let now = self.db.clock().now_text();
        let found = self
            .db
            .writer()
            .run(move |c| notifications::mark_read(c, &uid, &nid, &now))
            .await??;
        if found {
            Ok(())
        } else {
            Err(CoreError::NotFound(
                "no notification with this id among yours",
            ))
        }
    }

    /// Marks every unread notification of the user read; how many were.
    pub async fn mark_all_read(&self, user_id: &str) -> Result<u64, CoreError> {
        let uid = user_id.to_string();
        let now = self.db.clock().now_text();
        Ok(self
            .db
            .writer()
            .run(move |c| notifications::mark_all_read(c, &uid, &now))
            .await??)
    }

    /// How many of the user's notifications are unread.
    pub async fn unread(&self, user_id: &str) -> Result<i64, CoreError> {
        let uid = user_id.to_string();
        Ok(self
            .db
            .read(move |c| notifications::unread_count(c, &uid))
            .await?)
    }

    /// Every notification of the user after `last_id` (one of theirs), oldest first: what a
    /// stream reconnecting with `Last-Event-ID` missed. An id that is not the user's is refused,
    /// so a client never believes it caught up when it did not.
    pub async fn after(
        &self,
        user_id: &str,
        last_id: &str,
    ) -> Result<Vec<NotificationView>, CoreError> {
        const PAGE: u32 = 500;
        let (uid, last) = (user_id.to_string(), last_id.to_string());
        let rows = self
            .db
            .read_scan(move |c| {
                let Some(mut at) = notifications::position(c, &uid, &last)? else {
                    return Ok(None);
                };
                let mut all = Vec::new();
                loop {
                    let page = notifications::list_after(c, &uid, (&at.0, &at.1), PAGE)?;
                    let full = page.len() == PAGE as usize;
                    if let Some(l) = page.last() {
                        at = (l.created_at.clone(), l.id.clone());
                    }
                    all.extend(page);
                    if !full {
                        return Ok(Some(all));
                    }
                }
            })
            .await?
            .ok_or_else(|| {
                CoreError::invalid(
                    "last_event_id",
                    "this event id is not one of your notifications; reconnect without it",
                )
            })?;
        Ok(rows.into_iter().map(view_of).collect())
    }

    /// Every event reaching this instance; the caller keeps those of its user.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    pub(crate) async fn publish(&self, event: &Event) -> Result<(), String> {
        self.events.publish(event).await.map_err(|e| e.to_string())
    }
}
