//! Due-soon and overdue reminders (SPEC §8). Each unpaid decision of a bound plate gets, once per
//! bound user, `decision.due_soon` when `due_on − 3 days ≤ today ≤ due_on` and `decision.overdue`
//! when `today > due_on`: at once when its feed tells of it (in the feed's own writer job) or
//! when its plate is bound (in the binding's job), and again by the daily sweep at 09:00
//! Asia/Shanghai, which catches up a missed day. Never for a
//! decision that is paid (here, or at its authority) or revoked. `decision_reminders`' primary key
//! makes "once" a constraint, not a read, so two instances sweeping together send one.

use crate::notifications::record;
use crate::{new_id, CoreError};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use finepay_authority::{AuthorityEvent, EventKind, RecordStatus};
use finepay_domain::{due_on, Plate};
use finepay_store::repo::notifications::NotificationRow;
use finepay_store::repo::reminders::{self as repo, WatchedDecision};
use finepay_store::repo::vehicles;
use finepay_store::{Db, Sql};

/// When the daily sweep runs (Asia/Shanghai).
pub const SWEEP_AT: (u32, u32) = (9, 0);

/// Decisions per writer job of a sweep.
const SWEEP_CHUNK: usize = 500;

/// The reminder a decision due on `due_on` calls for on `today`, if any (SPEC §8).
pub fn reminder_on(due_on: NaiveDate, today: NaiveDate) -> Option<&'static str> {
    if today > due_on {
        Some("decision.overdue")
    } else if due_on - Duration::days(3) <= today {
        Some("decision.due_soon")
    } else {
        None
    }
}

/// Sends the reminder `d` calls for today to every user who bound its plate and has not had it;
/// in the caller's writer job. Returns how many were sent.
fn remind_in(
    c: &dyn Sql,
    d: &WatchedDecision,
    today: NaiveDate,
    now: &str,
) -> Result<usize, CoreError> {
    let Ok(due) = d.due_on.parse::<NaiveDate>() else {
        return Err(CoreError::Internal(format!(
            "watched decision {} has due_on {:?}",
            d.decision_number, d.due_on
        )));
    };
    let Some(kind) = reminder_on(due, today) else {
        return Ok(0);
    };
    if repo::has_live_payment(c, &d.decision_number)? {
        return Ok(0);
    }
    let plate = Plate::parse(&d.plate).map(|p| p.masked()).ok();
    let mut sent = 0;
    for user_id in vehicles::users_of_plate(c, &d.plate)? {
        let id = new_id("ntf");
        if !repo::claim(c, &user_id, &d.decision_number, kind, &id, now)? {
            continue;
        }
        record(
            c,
            &NotificationRow {
                id,
                user_id,
                kind: kind.to_owned(),
                plate: plate.clone(),
                city_code: d.city_code.clone(),
                decision_number: Some(d.decision_number.clone()),
                payment_id: None,
                created_at: now.to_owned(),
                read: false,
            },
        )?;
        sent += 1;
    }
    Ok(sent)
}

/// What a feed event means for reminders, in the feed's writer job: a decision issued for a
/// bound plate is watched and reminded of at once if it is already due soon or overdue; a paid or
/// revoked one is watched no more.
pub(crate) fn on_feed_event(
    c: &dyn Sql,
    event: &AuthorityEvent,
    today: NaiveDate,
    now: &str,
) -> Result<usize, CoreError> {
    let (Some(number), Some(decision)) = (&event.decision_number, &event.decision) else {
        return Ok(0);
    };
    let status = decision.status.as_str();
    match event.kind {
        EventKind::DecisionIssued => {
            // Watched whether or not the plate is bound yet: one bound later is reminded of it.
            let watched = WatchedDecision {
                decision_number: number.clone(),
                city_code: event.city_code.clone(),
                plate: event.plate.clone(),
                due_on: due_on(decision.issued_on).to_string(),
            };
            repo::watch(c, &watched, &decision.issued_on.to_string(), status, now)?;
            if decision.status == RecordStatus::Unpaid {
                return remind_in(c, &watched, today, now);
            }
            Ok(0)
        }
        EventKind::DecisionPaid | EventKind::DecisionRevoked => {
            repo::set_status(c, number, status, now)?;
            Ok(0)
        }
        EventKind::ViolationRecorded => Ok(0),
    }
}

/// A plate was just bound: the reminders its unpaid watched decisions call for today, in the
/// binding's writer job (for every user who bound it; each once).
pub(crate) fn on_bind(
    c: &dyn Sql,
    plate: &str,
    today: NaiveDate,
    now: &str,
) -> Result<usize, CoreError> {
    let mut sent = 0;
    for d in repo::unpaid_of_plate(c, plate)? {
        sent += remind_in(c, &d, today, now)?;
    }
    Ok(sent)
}

/// The daily sweep.
#[derive(Clone)]
pub struct Reminders {
    db: Db,
}

impl Reminders {
    pub(crate) fn new(db: Db) -> Reminders {
        Reminders { db }
    }

    /// Sends every reminder due on `today` that was not sent yet, in writer jobs of
    /// [`SWEEP_CHUNK`] decisions, then records the sweep. Returns how many were sent.
    pub async fn sweep(&self, today: NaiveDate) -> Result<usize, CoreError> {
        let until = (today + Duration::days(3)).to_string();
        let due = self
            .db
            .read_scan(move |c| repo::unpaid_due_by(c, &until))
            .await?;
        let mut sent = 0;
        for chunk in due.chunks(SWEEP_CHUNK) {
            let chunk = chunk.to_vec();
            let now = self.db.clock().now_text();
            sent += self
                .db
                .writer()
                .run(move |c| -> Result<usize, CoreError> {
                    let mut n = 0;
                    for d in &chunk {
                        n += remind_in(c, d, today, &now)?;
                    }
                    Ok(n)
                })
                .await??;
        }
        let day = today.to_string();
        self.db
            .writer()
            .run(move |c| repo::set_last_sweep(c, &day))
            .await??;
        tracing::info!(%today, sent, "reminder sweep done");
        Ok(sent)
    }

    /// The sweep if it is due at `now`: from 09:00 on a day not yet swept, or at once when
    /// yesterday's was missed. Returns how many were sent (`None`: not due).
    pub async fn sweep_if_due(&self, now: DateTime<Utc>) -> Result<Option<usize>, CoreError> {
        let local = now.with_timezone(&chrono_tz::Asia::Shanghai);
        let today = local.date_naive();
        let last = self
            .db
            .read(repo::last_sweep)
            .await?
            .and_then(|d| d.parse::<NaiveDate>().ok());
        let at = NaiveTime::from_hms_opt(SWEEP_AT.0, SWEEP_AT.1, 0).unwrap_or(NaiveTime::MIN);
        let swept_today = last.is_some_and(|d| d >= today);
        let missed_yesterday = last.is_none_or(|d| d < today - Duration::days(1));
        if swept_today || (local.time() < at && !missed_yesterday) {
            return Ok(None);
        }
        self.sweep(today).await.map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap_or(NaiveDate::MIN)
    }

    #[test]
    fn due_soon_from_three_days_before_to_the_due_date_then_overdue() {
        let due = day("2026-12-20");
        assert_eq!(reminder_on(due, day("2026-12-16")), None);
        assert_eq!(
            reminder_on(due, day("2026-12-17")),
            Some("decision.due_soon")
        );
        assert_eq!(
            reminder_on(due, day("2026-12-20")),
            Some("decision.due_soon")
        );
        assert_eq!(
            reminder_on(due, day("2026-12-21")),
            Some("decision.overdue")
        );
    }
}
