//! Reads every authority's event feed (violations recorded, decisions issued and revoked) and
//! turns each event about a bound plate into a notification for each user who bound it.
//!
//! The read position is kept per city in the database and advanced with compare-and-set in the
//! same job that writes the notifications: when two instances read the same page, one job commits
//! and the other rolls back, so each event notifies once.

use crate::authorities::AuthorityRoute;
use crate::notifications::record;
use crate::{new_id, CoreError, Platform};
use finepay_authority::{AuthorityError, EventKind, EventPage};
use finepay_domain::Plate;
use finepay_store::now_text;
use finepay_store::repo::notifications::NotificationRow;
use finepay_store::repo::vehicles;
use finepay_store::repo::{decisions, payments};
use std::time::Duration;

const EVERY: Duration = Duration::from_secs(1);
const PAGE: u32 = 200;

pub(crate) async fn run(platform: Platform) {
    loop {
        tokio::time::sleep(EVERY).await;
        for route in platform.authorities().all() {
            if let Err(e) = platform.read_feed(route).await {
                tracing::warn!(city = %route.city, error = %e, "reading an authority's event feed failed; will retry");
            }
        }
    }
}

impl Platform {
    async fn read_feed(&self, route: &AuthorityRoute) -> Result<(), CoreError> {
        let city = route.city.as_str().to_string();
        let c2 = city.clone();
        let after = self.db().read(move |c| vehicles::cursor(c, &c2)).await?;
        let page = match route.client.events_after(after, PAGE).await {
            Ok(page) => page,
            // An authority that is down or offers no feed is asked again next round.
            Err(AuthorityError::Unavailable(_) | AuthorityError::Protocol(_)) => return Ok(()),
            Err(e) => return Err(CoreError::Internal(e.to_string())),
        };
        if page.events.is_empty() && page.next_after == after {
            return Ok(());
        }
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
            Ok(n) if n > 0 => {
                self.wake_dispatcher();
                Ok(())
            }
            Ok(_) => Ok(()),
            // Another instance took this page first.
            Err(CoreError::Conflict) => Ok(()),
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
    let now = now_text();
    for event in &page.events {
        if event.kind == EventKind::DecisionRevoked {
            if let Some(number) = &event.decision_number {
                decisions::set_decision_status(c, number, "revoked")?;
                // A revoked decision that was paid here is refunded to where the money came from.
                if let Some(p) = payments::live_payment_of_decision(c, number)? {
                    platform.refund_in(
                        c,
                        &p,
                        "the authority revoked the penalty decision",
                        &now,
                    )?;
                }
            }
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
