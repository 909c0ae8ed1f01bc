//! Follows every authority's event feed (violations recorded, decisions issued and revoked): turns
//! each event about a bound plate into a notification for each user who bound it, and keeps the
//! platform's copies of the decisions it mentions current (a revocation, say).
//!
//! The read position is kept per city in the database and advanced with compare-and-set in the
//! same job that writes the notifications: when two instances read the same page, one job commits
//! and the other rolls back, so each event notifies once.
//!
//! One follower per city holds a long poll open ([`WAIT`]): a change at the authority arrives
//! within milliseconds. While a city's follower is answered regularly, its feed is *live*
//! ([`Freshness`]) and the kept copy of a decision is as current as the authority's own record, so
//! lookups and payments read it instead of asking the authority each time (decisions.rs). A
//! follower that fails or is not answered in time makes the feed stale at once, and decisions
//! are fetched from the authority again.

use crate::authorities::AuthorityRoute;
use crate::notifications::record;
use crate::{new_id, CoreError, Platform};
use finepay_authority::{EventKind, EventPage};
use finepay_domain::Plate;
use finepay_store::repo::notifications::NotificationRow;
use finepay_store::repo::vehicles;
use finepay_store::repo::{decisions, payments};
use std::time::Duration;

/// How long the authority may hold a feed request with nothing new.
const WAIT: Duration = Duration::from_secs(2);
/// Pause after a failed read, so a down authority is not hammered.
const RETRY_AFTER: Duration = Duration::from_millis(500);
const PAGE: u32 = 500;
/// Consecutive failed reads (at [`RETRY_AFTER`] apart: 5 s) before a warning.
const WARN_AFTER_FAILURES: u32 = 10;

/// Start one follower per city.
pub(crate) fn start(platform: &Platform) {
    for route in platform.authorities().all() {
        tokio::spawn(follow(platform.clone(), route.clone()));
    }
}

async fn follow(platform: Platform, route: AuthorityRoute) {
    let city = route.city.as_str().to_string();
    let mut failures: u32 = 0;
    loop {
        match platform.read_feed(&route).await {
            Ok(read) => {
                if failures >= WARN_AFTER_FAILURES {
                    tracing::info!(city = %city, failures, "the authority's event feed is read again");
                }
                failures = 0;
                if matches!(read, Read::CaughtUp) {
                    platform.inner.freshness.caught_up(&city);
                }
            }
            Err(e) => {
                platform.inner.freshness.stale(&city);
                failures = failures.saturating_add(1);
                // A short outage is normal (and the sandbox's fault modes make many); a feed that
                // keeps failing means no notifications and no kept copies for the city: say so.
                if failures == WARN_AFTER_FAILURES
                    || failures.is_multiple_of(WARN_AFTER_FAILURES * 24)
                {
                    tracing::warn!(city = %city, failures, error = %e, "the authority's event feed keeps failing; notifications and kept decisions of this city wait for it");
                } else {
                    tracing::debug!(city = %city, error = %e, "reading an authority's event feed failed; will retry");
                }
                tokio::time::sleep(RETRY_AFTER).await;
            }
        }
    }
}

/// Reads `route`'s feed until it is caught up, with no wait for new events (see
/// [`Platform::read_feeds_now`]).
pub(crate) async fn read_until_caught_up(
    platform: &Platform,
    route: &AuthorityRoute,
) -> Result<(), CoreError> {
    while let Read::Behind = platform.read_feed(route).await? {}
    Ok(())
}

/// What one read of a feed achieved.
enum Read {
    /// Every event the authority had when it answered is applied.
    CaughtUp,
    /// Another instance applied this page first, or there is more: read again at once.
    Behind,
}

impl Platform {
    async fn read_feed(&self, route: &AuthorityRoute) -> Result<Read, CoreError> {
        let city = route.city.as_str().to_string();
        let c2 = city.clone();
        let after = self.db().read(move |c| vehicles::cursor(c, &c2)).await?;
        let page = match route.client.events_after(after, PAGE, WAIT).await {
            Ok(page) => page,
            // An authority that is down or offers no feed is asked again after a pause.
            Err(e) => return Err(CoreError::Internal(e.to_string())),
        };
        for why in &page.skipped {
            tracing::warn!(city = %city, event = %why, "passing over an event of the authority's feed that this platform cannot read");
        }
        if page.events.is_empty() && page.next_after == after {
            return Ok(Read::CaughtUp);
        }
        let full = page.events.len() >= PAGE as usize;
        let written = self
            .db()
            .writer()
            .run({
                let platform = self.clone();
                move |c| -> Result<usize, CoreError> {
                    notify_page(&platform, c, &city, after, &page)
                }
            })
            .await?;
        match written {
            Ok(n) => {
                if n > 0 {
                    self.wake_dispatcher();
                }
                Ok(if full { Read::Behind } else { Read::CaughtUp })
            }
            // Another instance took this page first.
            Err(CoreError::Conflict) => Ok(Read::Behind),
            Err(e) => Err(e),
        }
    }
}

fn notify_page(
    platform: &Platform,
    c: &dyn finepay_store::Sql,
    city: &str,
    after: i64,
    page: &EventPage,
) -> Result<usize, CoreError> {
    let mut written = 0;
    let clock = platform.db().clock();
    let now = clock.now_text();
    for event in &page.events {
        // A feed speaks for its own city only: an event about another city's decision (a
        // misrouted or hostile feed) must not revoke, refund or notify anything here.
        let foreign_record = event.decision.as_ref().is_some_and(|d| d.city_code != city);
        let foreign_number = event.decision_number.as_deref().is_some_and(|n| {
            platform
                .authorities()
                .check(n)
                .map_or(true, |(_, route)| route.city.as_str() != city)
        });
        if event.city_code != city || foreign_record || foreign_number {
            tracing::warn!(
                feed = city,
                event_city = %event.city_code,
                seq = event.seq,
                "passing over an event of another city in this city's feed"
            );
            continue;
        }
        if let Some(record) = &event.decision {
            // The decision as the authority has it now: keep our copy, if we have one, current.
            // A decision nobody looked up is not copied: until someone does, it counts as never
            // fetched (SPEC §4: 503 while its authority is unreachable).
            let current = crate::decisions::from_record((**record).clone(), clock)?;
            decisions::refresh_decision(c, &current.row)?;
        }
        if event.kind == EventKind::DecisionRevoked {
            if let Some(number) = &event.decision_number {
                // Every read of a copy consults this record (`find_decision`).
                decisions::record_revocation(c, number, &now)?;
                // A revoked decision that was paid here is refunded to where the money came from.
                let payment = payments::live_payment_of_decision(c, number)?;
                if let Some(p) = payment.filter(|p| p.city_code == city) {
                    platform.refunds().refund_in(
                        c,
                        &p,
                        "the authority revoked the penalty decision",
                        &now,
                    )?;
                }
            }
        }
        // A decision issued for a bound plate is watched for its due date (and reminded of at
        // once if already due soon or overdue); a paid or revoked one no longer is.
        crate::reminders::on_feed_event(c, event, clock.today_in_china(), &now)?;
        if event.kind == EventKind::DecisionPaid {
            // Only keeps the copy current (above); the payer hears of it as payment.confirmed.
            continue;
        }
        let plate = Plate::parse(&event.plate).map(|p| p.masked()).ok();
        for user_id in vehicles::users_of_plate(c, &event.plate)? {
            record(
                c,
                &NotificationRow {
                    id: new_id("ntf"),
                    user_id,
                    kind: event.kind.as_str().to_string(),
                    plate: plate.clone(),
                    city_code: event.city_code.clone(),
                    decision_number: event.decision_number.clone(),
                    payment_id: None,
                    created_at: now.clone(),
                    read: false,
                },
            )?;
            written += 1;
        }
    }
    if !vehicles::advance_cursor(c, city, after, page.next_after)? {
        return Err(CoreError::Conflict);
    }
    Ok(written)
}
