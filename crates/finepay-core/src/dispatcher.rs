//! The outbox dispatcher: delivers payment notices to authorities after commit, exactly once in
//! effect. Woken right after every commit that enqueues a notice; otherwise it polls. A failed
//! delivery is retried with exponential backoff capped at `MAX_BACKOFF`, so an authority that comes
//! back is reached within seconds. The authority dedupes by payment id, so a notice delivered but
//! not marked (a crash in between) is harmless when sent again.

use crate::outbox::Message;
use crate::{CoreError, Platform};
use finepay_authority::{AuthorityError, NoticeOutcome, PaymentNotice, MAX_NOTICES_PER_BATCH};
use finepay_domain::AuthoritySync;
use finepay_store::repo::outbox::{Kind, Outcome};
use finepay_store::repo::{outbox, payments};
use finepay_store::{time_text, Sql};
use rand::Rng;
use std::time::Duration;
use tokio::task::JoinSet;

/// Rows one group's task claims per round.
const BATCH: u32 = 512;
/// How long a claim keeps other instances off a row: longer than a delivery attempt may take (the
/// authority timeout is 8 s; a round starts no send after 5 s), short enough that rows claimed by a crashed instance go out soon.
const LEASE: chrono::TimeDelta = chrono::TimeDelta::seconds(15);
/// A group's task starts no new send after this long, so the round ends inside the lease even
/// against a slow authority (a send started just before may take the authority timeout, 8 s).
const ROUND_BUDGET: std::time::Duration = std::time::Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(500);
/// The shortest time between two looks for groups with due rows.
const MIN_SCAN_GAP: Duration = Duration::from_millis(10);
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_millis(1000);
/// Notices in flight to one authority at once.
const PER_CITY_IN_FLIGHT: usize = 32;

pub(crate) async fn run(platform: Platform) {
    while !platform.stopping() {
        let busy = match platform.dispatch_due().await {
            Ok(n) => n > 0,
            Err(e) => {
                tracing::error!(error = %e, "outbox dispatch failed; retrying");
                false
            }
        };
        // Under load every commit wakes the dispatcher, while the groups' own tasks drain their
        // rows: looking for new groups more often than this is wasted reads. A wake-up during
        // the pause is kept (a stored permit) and answered right after it.
        tokio::time::sleep(MIN_SCAN_GAP).await;
        if !busy {
            tokio::select! {
                _ = platform.inner.outbox_wake.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }
}

/// See [`Platform::hold_group`]: released when the group's task ends, however it ends.
struct GroupHold {
    platform: Platform,
    group: String,
}

impl Drop for GroupHold {
    fn drop(&mut self) {
        self.platform
            .inner
            .groups_in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.group);
    }
}

/// What became of one delivery attempt.
#[derive(Clone, Debug)]
enum Delivery {
    Confirmed,
    Rejected(String),
    Retry(String),
    /// The row cannot be read: set aside (`unreadable`), never sent again.
    Unreadable(String),
    /// Not sent this round (the round ran out of time): back to the queue, not an attempt.
    Release,
}

impl Platform {
    /// Sends every due notice once; returns how many were attempted.
    /// Starts a delivery task for every group (kind and city) with due rows that this instance is
    /// not delivering already; returns how many it started.
    pub(crate) async fn dispatch_due(&self) -> Result<usize, CoreError> {
        let due = self.due_groups().await?;
        let mut started = 0;
        for (kind, city) in due {
            // Events, notices and refunds of a city fail independently: a task per group, so a
            // slow authority holds up nobody else; one task per group at a time in this instance.
            let Some(hold) = self.hold_group(&format!("{}|{city}", kind.as_str())) else {
                continue;
            };
            // Checked after taking the hold: a drain that saw no group held sees this one go.
            if self.stopping() {
                return Ok(started);
            }
            started += 1;
            let platform = self.clone();
            tokio::spawn(async move {
                platform.deliver_group(kind, &city).await;
                drop(hold);
                // A row that became due while the group was held may have been left to this task.
                platform.wake_dispatcher();
            });
        }
        Ok(started)
    }

    /// The groups (kind and city) with rows due now.
    async fn due_groups(&self) -> Result<Vec<(Kind, String)>, CoreError> {
        let now = self.db().clock().now_text();
        // Reads the whole undelivered backlog's index: off the runtime's workers.
        Ok(self
            .db()
            .read_scan(move |c| outbox::due_groups(c, &now))
            .await?)
    }

    /// Every group with due rows delivered here, one after another (see
    /// [`Platform::deliver_due_now`]); a group another task of this instance holds is skipped.
    pub(crate) async fn deliver_due_groups(&self) -> Result<usize, CoreError> {
        let due = self.due_groups().await?;
        for (kind, city) in &due {
            if let Some(hold) = self.hold_group(&format!("{}|{city}", kind.as_str())) {
                self.deliver_group(*kind, city).await;
                drop(hold);
            }
        }
        Ok(due.len())
    }

    /// Claims a group's due rows (at most [`BATCH`], leased so another instance skips them),
    /// delivers them, records the outcomes, and goes on while the authority (or bank, or bus)
    /// takes them; stops when nothing is due or a round made no progress (it is down: the backoff
    /// decides when to try again).
    async fn deliver_group(&self, kind: Kind, city: &str) {
        loop {
            let clock = self.db().clock();
            let (now, lease_until) = (clock.now_text(), time_text(clock.now() + LEASE));
            let c = city.to_string();
            let claimed = self
                .db()
                .writer()
                .run(move |conn| {
                    if kind == Kind::Webhook {
                        // A user's webhooks hear of their notifications in order.
                        outbox::claim_in_order(conn, &now, &lease_until, BATCH, kind, &c)
                    } else {
                        outbox::claim_due(conn, &now, &lease_until, BATCH, kind, &c)
                    }
                })
                .await;
            let rows = match claimed {
                Ok(Ok(rows)) if !rows.is_empty() => rows,
                Ok(Ok(_)) => return,
                Ok(Err(e)) | Err(e) => {
                    tracing::warn!(kind = kind.as_str(), city, error = %e, "claiming a group's due rows failed; will retry");
                    return;
                }
            };
            let results = self.deliver_city(city, rows).await;
            let progressed = results
                .iter()
                .any(|(_, d)| matches!(d, Delivery::Confirmed | Delivery::Rejected(_)));
            self.record_or_isolate(results).await;
            if !progressed || self.stopping() {
                return;
            }
        }
    }

    /// Records a group's outcomes in one writer job; if that job fails (one bad row), each outcome
    /// in a job of its own, so one row can never hold up the rest.
    async fn record_or_isolate(&self, results: Vec<(outbox::OutboxRow, Delivery)>) {
        if let Err(e) = self.record_deliveries(results.clone()).await {
            tracing::warn!(error = %e, "recording a group of deliveries failed; recording them one by one");
            for one in results {
                let id = one.0.id;
                if let Err(e) = self.record_deliveries(vec![one]).await {
                    tracing::error!(outbox_id = id, error = %e, "cannot record a delivery; it will be sent again after its lease");
                }
            }
        }
    }

    pub(crate) fn stopping(&self) -> bool {
        self.inner
            .stopping
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Stops the dispatcher for a clean stop: no new round starts, and the rounds in flight finish
    /// and record their outcomes (waited for at most `within`). True when none is left; a round
    /// still running after that is cut off as by a crash (its rows go out again after their lease).
    pub async fn drain_dispatcher(&self, within: Duration) -> bool {
        self.inner
            .stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.wake_dispatcher();
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let busy = !self
                .inner
                .groups_in_flight
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_empty();
            if !busy {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Marks a group as being delivered by this instance; `None` if it already is.
    fn hold_group(&self, group: &str) -> Option<GroupHold> {
        let mut groups = self
            .inner
            .groups_in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        groups.insert(group.to_string()).then(|| GroupHold {
            platform: self.clone(),
            group: group.to_string(),
        })
    }

    /// Delivers one city's due notices. The first is sent alone: when the authority is down, the
    /// rest wait for the next round instead of each failing on its own.
    async fn deliver_city(
        &self,
        city: &str,
        rows: Vec<outbox::OutboxRow>,
    ) -> Vec<(outbox::OutboxRow, Delivery)> {
        if rows.first().is_some_and(|r| r.kind == Kind::PaymentNotice) {
            return self.deliver_notices(city, rows).await;
        }
        if rows.first().is_some_and(|r| r.kind == Kind::Webhook) {
            return self.deliver_in_order(city, rows).await;
        }
        let mut out = Vec::with_capacity(rows.len());
        let mut rows = rows.into_iter();
        let Some(first) = rows.next() else { return out };
        let first_result = self.deliver_one(city, &first).await;
        let reachable = !matches!(first_result, Delivery::Retry(_));
        out.push((first, first_result));
        if !reachable {
            for row in rows {
                out.push((row, Delivery::Retry("authority unreachable".into())));
            }
            return out;
        }
        let started = std::time::Instant::now();
        let mut in_flight = JoinSet::new();
        for row in rows {
            // A slow authority: stop starting new sends well inside the lease, give the rest back.
            if started.elapsed() > ROUND_BUDGET {
                out.push((row, Delivery::Release));
                continue;
            }
            if in_flight.len() >= PER_CITY_IN_FLIGHT {
                if let Some(Ok(done)) = in_flight.join_next().await {
                    out.push(done);
                }
            }
            let platform = self.clone();
            let city = city.to_string();
            in_flight.spawn(async move {
                let result = platform.deliver_one(&city, &row).await;
                (row, result)
            });
        }
        while let Some(done) = in_flight.join_next().await {
            if let Ok(done) = done {
                out.push(done);
            }
        }
        out
    }

    /// A group delivered strictly in order (a user's webhooks): one at a time, in id order; the
    /// first that fails stops the round, and the rest go back to wait behind it.
    async fn deliver_in_order(
        &self,
        group: &str,
        mut rows: Vec<outbox::OutboxRow>,
    ) -> Vec<(outbox::OutboxRow, Delivery)> {
        rows.sort_by_key(|r| r.id);
        let started = std::time::Instant::now();
        let mut out = Vec::with_capacity(rows.len());
        let mut held = false;
        for row in rows {
            if held || started.elapsed() > ROUND_BUDGET {
                out.push((row, Delivery::Release));
                continue;
            }
            let result = self.deliver_one(group, &row).await;
            held = matches!(result, Delivery::Retry(_));
            out.push((row, result));
        }
        out
    }

    /// A city's payment notices, [`MAX_NOTICES_PER_BATCH`] to a request: one request and one
    /// authority transaction for many payments. The first batch probes: an unreachable authority
    /// gets no more requests this round. A slow one gets no new batch after [`ROUND_BUDGET`].
    async fn deliver_notices(
        &self,
        city: &str,
        rows: Vec<outbox::OutboxRow>,
    ) -> Vec<(outbox::OutboxRow, Delivery)> {
        let mut out = Vec::with_capacity(rows.len());
        let mut readable = Vec::with_capacity(rows.len());
        for row in rows {
            match Message::of_row(&row) {
                Ok(Message::PaymentNotice(notice)) => readable.push((row, notice)),
                Ok(_) => out.push((row, Delivery::Unreadable("not a payment notice".into()))),
                Err(why) => out.push((row, Delivery::Unreadable(why))),
            }
        }
        let Some(route) = self.authorities().for_city(city) else {
            let why = format!("no authority configured for city {city}");
            out.extend(
                readable
                    .into_iter()
                    .map(|(r, _)| (r, Delivery::Retry(why.clone()))),
            );
            return out;
        };
        let started = std::time::Instant::now();
        let mut batches = Vec::new();
        while !readable.is_empty() {
            let rest = readable.split_off(readable.len().min(MAX_NOTICES_PER_BATCH));
            batches.push(std::mem::replace(&mut readable, rest));
        }
        let mut batches = batches.into_iter();
        let mut unreachable = false;
        for batch in batches.by_ref() {
            if unreachable || started.elapsed() > ROUND_BUDGET {
                let left = if unreachable {
                    Delivery::Retry("authority unreachable".into())
                } else {
                    Delivery::Release
                };
                out.extend(batch.into_iter().map(|(r, _)| (r, left.clone())));
                continue;
            }
            let notices: Vec<PaymentNotice> = batch.iter().map(|(_, n)| n.clone()).collect();
            match route.client.send_payment_notices(&notices).await {
                Ok(outcomes) => {
                    for ((row, _), outcome) in batch.into_iter().zip(outcomes) {
                        unreachable |= matches!(&outcome, Err(e) if e.is_transient());
                        let delivery = delivery_of(outcome);
                        count_notice(city, &delivery);
                        out.push((row, delivery));
                    }
                }
                Err(e) => {
                    unreachable = e.is_transient();
                    for (row, _) in batch {
                        let delivery = delivery_of(Err(e.clone()));
                        count_notice(city, &delivery);
                        out.push((row, delivery));
                    }
                }
            }
        }
        out
    }

    /// Delivers one message: each kind to whom it is for.
    async fn deliver_one(&self, city: &str, row: &outbox::OutboxRow) -> Delivery {
        let message = match Message::of_row(row) {
            Ok(m) => m,
            Err(why) => return Delivery::Unreadable(why),
        };
        match message {
            Message::PaymentNotice(notice) => {
                let Some(route) = self.authorities().for_city(city) else {
                    return Delivery::Retry(format!("no authority configured for city {city}"));
                };
                let delivery = delivery_of(route.client.send_payment_notice(&notice).await);
                count_notice(city, &delivery);
                delivery
            }
            Message::CardRefund(_) => {
                bank_delivery(self.refunds().bank_refund(&row.payment_id).await)
            }
            Message::OrphanChargeRefund { reference, amount } => {
                bank_delivery(self.refunds().orphan_refund(&reference, amount).await)
            }
            Message::Event(event) => match self.notifications().publish(&event).await {
                Ok(()) => Delivery::Confirmed,
                Err(e) => Delivery::Retry(e),
            },
            Message::Webhook {
                webhook_id,
                notification,
                enqueued_at,
            } => match self
                .webhooks()
                .deliver(&webhook_id, &notification, &enqueued_at)
                .await
            {
                Ok(()) => Delivery::Confirmed,
                Err(crate::webhooks::NotDelivered::Failed(why)) => Delivery::Retry(why),
                Err(crate::webhooks::NotDelivered::GivenUp(why)) => Delivery::Rejected(why),
            },
        }
    }

    /// Records every outcome of a round in one writer job.
    async fn record_deliveries(
        &self,
        results: Vec<(outbox::OutboxRow, Delivery)>,
    ) -> Result<(), CoreError> {
        let now = self.db().clock().now();
        let plan: Vec<(outbox::OutboxRow, Delivery, String)> = results
            .into_iter()
            .map(|(row, d)| {
                let wait = match row.kind {
                    Kind::Webhook => crate::webhooks::backoff(row.attempts),
                    _ => backoff(row.attempts),
                };
                let next = time_text(now + wait);
                (row, d, next)
            })
            .collect();
        let platform = self.clone();
        self.db()
            .writer()
            .run(move |c| -> Result<(), CoreError> {
                let now = time_text(now);
                for (row, delivery, next) in &plan {
                    match delivery {
                        Delivery::Retry(error) => outbox::schedule_retry(c, row.id, next, error)?,
                        Delivery::Unreadable(why) => {
                            if outbox::park_unreadable(c, row.id, why, &now)? {
                                tracing::error!(
                                    outbox_id = row.id,
                                    kind = row.kind.as_str(),
                                    why,
                                    "an outbox row cannot be read; set aside as unreadable, an operator must look"
                                );
                            }
                        }
                        Delivery::Release => outbox::release(c, row.id, &now)?,
                        Delivery::Confirmed | Delivery::Rejected(_) => {
                            platform.record_delivered(c, row, delivery, &now)?
                        }
                    }
                }
                Ok(())
            })
            .await??;
        Ok(())
    }

    /// Records what a delivered message's answer means, each kind its own way (in the round's job).
    fn record_delivered(
        &self,
        c: &dyn Sql,
        row: &outbox::OutboxRow,
        delivery: &Delivery,
        now: &str,
    ) -> Result<(), CoreError> {
        match (row.kind, delivery) {
            (Kind::PaymentNotice, Delivery::Confirmed) => {
                if outbox::mark_delivered(c, row.id, Outcome::Confirmed, now)?
                    && payments::set_authority_status(
                        c,
                        &row.payment_id,
                        AuthoritySync::Confirmed,
                        None,
                        now,
                    )?
                {
                    if let Some(p) = payments::find_payment(c, &row.payment_id)? {
                        crate::notifications::notify_payment(c, &p, "payment.confirmed", now)?;
                    }
                }
            }
            (Kind::PaymentNotice, Delivery::Rejected(reason)) => {
                if outbox::mark_delivered(c, row.id, Outcome::Rejected, now)? {
                    tracing::warn!(
                        payment_id = row.payment_id,
                        reason,
                        "authority rejected a payment notice"
                    );
                    payments::set_authority_status(
                        c,
                        &row.payment_id,
                        AuthoritySync::Rejected,
                        Some(reason),
                        now,
                    )?;
                    if let Some(p) = payments::find_payment(c, &row.payment_id)? {
                        let why = format!("the authority rejected the payment: {reason}");
                        self.refunds().refund_in(c, &p, &why, now)?;
                    }
                }
            }
            (Kind::CardRefund, Delivery::Confirmed) => {
                if outbox::mark_delivered(c, row.id, Outcome::Refunded, now)? {
                    if let Some(p) = payments::find_payment(c, &row.payment_id)? {
                        let reason = match Message::of_row(row) {
                            Ok(Message::CardRefund(reason)) => reason,
                            _ => row.payload.clone(),
                        };
                        self.refunds().settle_refund_in(c, &p, &reason, now)?;
                    }
                }
            }
            (Kind::CardRefund, Delivery::Rejected(reason)) => {
                outbox::mark_delivered(c, row.id, Outcome::RefundRefused, now)?;
                tracing::error!(
                    payment_id = row.payment_id,
                    reason,
                    "the bank refused a card refund; an operator must act"
                );
            }
            (Kind::OrphanChargeRefund, Delivery::Confirmed) => {
                outbox::mark_delivered(c, row.id, Outcome::Refunded, now)?;
            }
            (Kind::OrphanChargeRefund, Delivery::Rejected(reason)) => {
                outbox::mark_delivered(c, row.id, Outcome::RefundRefused, now)?;
                tracing::error!(
                    reference = row.payment_id,
                    reason,
                    "the bank refused to return an orphan charge; an operator must act"
                );
            }
            (Kind::Event, Delivery::Confirmed) => {
                outbox::mark_delivered(c, row.id, Outcome::Published, now)?;
            }
            (Kind::Event, Delivery::Rejected(reason)) => {
                // A bus does not refuse; should one, the event is not worth an endless retry.
                tracing::warn!(outbox_id = row.id, reason, "an event was refused; dropped");
                outbox::mark_delivered(c, row.id, Outcome::Published, now)?;
            }
            (Kind::Webhook, Delivery::Confirmed) => {
                outbox::mark_delivered(c, row.id, Outcome::Published, now)?;
            }
            (Kind::Webhook, Delivery::Rejected(reason)) => {
                // Deleted, or not taken for 24 h: set aside, so the user's later ones go on.
                outbox::mark_delivered(c, row.id, Outcome::Rejected, now)?;
                tracing::warn!(
                    outbox_id = row.id,
                    group = row.city_code,
                    reason,
                    "a webhook delivery was given up"
                );
            }
            (_, Delivery::Retry(_) | Delivery::Release | Delivery::Unreadable(_)) => {}
        }
        Ok(())
    }
}

/// What a bank refund's answer means for its outbox row.
fn bank_delivery(answer: Result<(), finepay_bank::BankError>) -> Delivery {
    match answer {
        Ok(()) => Delivery::Confirmed,
        Err(finepay_bank::BankError::Declined { reason }) => Delivery::Rejected(reason),
        Err(e) => Delivery::Retry(e.to_string()),
    }
}

/// 100 ms doubling per attempt, capped at 1 s, with up to 100 ms of jitter.
/// `finepay_authority_notices_total{city,outcome}`: every notice sent, by what became of it.
fn count_notice(city: &str, delivery: &Delivery) {
    let outcome = match delivery {
        Delivery::Confirmed => "confirmed",
        Delivery::Rejected(_) => "rejected",
        Delivery::Retry(_) => "failed",
        Delivery::Release | Delivery::Unreadable(_) => return,
    };
    metrics::counter!("finepay_authority_notices_total", "city" => city.to_owned(), "outcome" => outcome)
        .increment(1);
}

/// What a notice's answer means for its outbox row.
fn delivery_of(answer: Result<NoticeOutcome, AuthorityError>) -> Delivery {
    match answer {
        Ok(NoticeOutcome::Accepted | NoticeOutcome::Duplicate) => Delivery::Confirmed,
        Ok(NoticeOutcome::Rejected { reason }) => Delivery::Rejected(reason),
        Err(AuthorityError::NotFound) => Delivery::Rejected("not_found".into()),
        Err(e) => Delivery::Retry(e.to_string()),
    }
}

fn backoff(attempts: i64) -> chrono::Duration {
    let exp = u32::try_from(attempts.clamp(0, 16)).unwrap_or(16);
    let base = FIRST_BACKOFF
        .saturating_mul(2u32.saturating_pow(exp))
        .min(MAX_BACKOFF);
    let jitter = Duration::from_millis(rand::thread_rng().gen_range(0..100));
    chrono::Duration::from_std(base + jitter).unwrap_or(chrono::Duration::seconds(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_then_stays_under_the_cap() {
        assert!(backoff(0) >= chrono::Duration::milliseconds(100));
        assert!(backoff(0) < chrono::Duration::milliseconds(200));
        assert!(backoff(3) >= chrono::Duration::milliseconds(800));
        for attempts in [4, 10, 60, i64::MAX] {
            assert!(backoff(attempts) < chrono::Duration::milliseconds(1100));
        }
    }
}
