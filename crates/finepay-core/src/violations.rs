//! A bound plate's outstanding violations in every city, online handling (处理) of a camera
//! violation by the vehicle's owner, and the user's licence points over the scoring cycle.

use crate::decisions::Decisions;
use crate::views::DecisionView;
use crate::{Authorities, CoreError};
use chrono::{Datelike, NaiveDate};
use finepay_authority::{
    AuthorityError, HandlingOutcome, HandlingRequest, RecordStatus, ViolationSummary,
};
use finepay_domain::Plate;
use finepay_store::repo::{users, vehicles};
use finepay_store::Db;
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct OutstandingViolation {
    /// The authority's violation id (use it to handle the violation online).
    pub id: String,
    pub city_code: String,
    pub plate_masked: String,
    pub code: String,
    pub description: String,
    pub description_zh: String,
    pub occurred_at: String,
    pub location: String,
    pub fine: i64,
    pub points: u8,
    pub currency: String,
    pub camera_recorded: bool,
    /// The penalty decision, once handled.
    pub decision_number: Option<String>,
    /// `unpaid` when handled and not yet paid; absent while not handled.
    pub decision_status: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct LicenceView {
    pub points: u32,
    pub cycle_start: String,
    pub cycle_end: String,
    pub max_points: u32,
}

/// A bound plate's violations in every city, online handling, and the licence's points.
#[derive(Clone)]
pub struct Violations {
    db: Db,
    authorities: Arc<Authorities>,
    decisions: Decisions,
}

impl Violations {
    pub(crate) fn new(db: Db, authorities: Arc<Authorities>, decisions: Decisions) -> Violations {
        Violations {
            db,
            authorities,
            decisions,
        }
    }

    async fn require_bound(&self, user_id: &str, plate: &Plate) -> Result<(), CoreError> {
        let (uid, p) = (user_id.to_string(), plate.as_str().to_string());
        if self
            .db
            .read(move |c| vehicles::is_bound(c, &uid, &p))
            .await?
        {
            Ok(())
        } else {
            Err(CoreError::NotFound(
                "this plate is not bound to your account; bind it with POST /api/v1/vehicles",
            ))
        }
    }

    /// Every authority's violations of a bound plate that are not handled, or handled and unpaid.
    /// Authorities that cannot be reached are left out (their cities are listed in the error log).
    pub async fn outstanding(
        &self,
        user_id: &str,
        plate: &str,
    ) -> Result<(Vec<OutstandingViolation>, Vec<String>), CoreError> {
        let plate = Plate::parse(plate).map_err(|e| CoreError::InvalidPlate(e.to_string()))?;
        self.require_bound(user_id, &plate).await?;
        let (found, unavailable) = self.violations_everywhere(&plate).await;
        let mut out = Vec::new();
        for summary in found {
            let outstanding = matches!(summary.decision_status, None | Some(RecordStatus::Unpaid));
            if outstanding {
                out.push(outstanding_view(&plate, summary));
            }
        }
        out.sort_by(|a, b| b.occurred_at.cmp(&a.occurred_at));
        Ok((out, unavailable))
    }

    /// Every authority's violations of a plate, and the cities whose authority did not answer.
    async fn violations_everywhere(&self, plate: &Plate) -> (Vec<ViolationSummary>, Vec<String>) {
        let asks = self.authorities.all().iter().map(|route| async move {
            match route.client.violations_for_plate(plate.as_str()).await {
                Ok(list) => Ok(list.violations),
                Err(AuthorityError::NotFound) => Ok(Vec::new()),
                Err(e) => {
                    tracing::warn!(city = %route.city, error = %e, "an authority did not list violations");
                    Err(route.city.as_str().to_string())
                }
            }
        });
        let mut found = Vec::new();
        let mut unavailable = Vec::new();
        for answer in futures::future::join_all(asks).await {
            match answer {
                Ok(mut list) => found.append(&mut list),
                Err(city) => unavailable.push(city),
            }
        }
        (found, unavailable)
    }

    /// Online handling of a camera violation of a bound vehicle by its registered owner.
    pub async fn handle(
        &self,
        user_id: &str,
        violation_id: &str,
    ) -> Result<DecisionView, CoreError> {
        let uid = user_id.to_string();
        let user = self
            .db
            .read(move |c| users::find_user(c, &uid))
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        let uid = user_id.to_string();
        let plates = self.db.read(move |c| vehicles::list(c, &uid)).await?;
        let mut found = None;
        for (plate, _) in plates {
            let Ok(plate) = Plate::parse(&plate) else {
                continue;
            };
            if let Some(v) = self
                .violations_everywhere(&plate)
                .await
                .0
                .into_iter()
                .find(|v| v.id == violation_id)
            {
                found = Some(v);
                break;
            }
        }
        let violation = found.ok_or(CoreError::NotFound(
            "no violation with this id on the plates bound to your account",
        ))?;
        let route = self
            .authorities
            .for_city(&violation.city_code)
            .ok_or(CoreError::AuthorityUnavailable)?;
        let request = HandlingRequest {
            name: user.name,
            id_number: user.id_number,
        };
        match route.client.handle_violation(violation_id, &request).await {
            Ok(HandlingOutcome::Handled(record)) => {
                // Answer from what the authority returned: asking again could fail after the
                // points are already on the licence.
                let current = crate::decisions::from_record(*record, self.db.clock())?;
                self.decisions.keep_snapshot(&current.row).await?;
                self.decisions.decision_view(current, user_id).await
            }
            Ok(HandlingOutcome::Refused { reason, message }) => {
                Err(CoreError::OnlineHandlingNotAllowed { reason, message })
            }
            Err(AuthorityError::NotFound) => {
                Err(CoreError::NotFound("the authority has no such violation"))
            }
            Err(_) => Err(CoreError::AuthorityUnavailable),
        }
    }

    /// Points on the user's licence (licence number = resident ID number) in the current 12-month
    /// scoring cycle, summed over every city.
    pub async fn licence(&self, user_id: &str) -> Result<LicenceView, CoreError> {
        let uid = user_id.to_string();
        let user = self
            .db
            .read(move |c| users::find_user(c, &uid))
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        let (start, end) = scoring_cycle(&user.created_at, self.db.clock().today_in_china());
        let asks = self.authorities.all().iter().map(|route| {
            let licence = user.id_number.clone();
            async move { route.client.licence_points(&licence, start, end).await }
        });
        let mut points = 0;
        for answer in futures::future::join_all(asks).await {
            points += answer.map_err(|_| CoreError::AuthorityUnavailable)?;
        }
        Ok(LicenceView {
            points,
            cycle_start: start.to_string(),
            cycle_end: end.to_string(),
            max_points: 12,
        })
    }
}

/// The 12-month cycle containing `today`. A licence's cycle runs from the anniversary of the date
/// it was first issued; no authority tells the platform that date, so finepay counts from the
/// anniversary of the account's creation (documented in ARCHITECTURE.md).
pub(crate) fn scoring_cycle(created_at: &str, today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let first = chrono::DateTime::parse_from_rfc3339(created_at)
        .map(|t| t.with_timezone(&chrono_tz::Asia::Shanghai).date_naive())
        .unwrap_or(today);
    let anniversary = |year: i32| {
        NaiveDate::from_ymd_opt(year, first.month(), first.day())
            .or_else(|| NaiveDate::from_ymd_opt(year, first.month(), 28))
            .unwrap_or(today)
    };
    let mut start = anniversary(today.year());
    if start > today {
        start = anniversary(today.year() - 1);
    }
    let end = anniversary(start.year() + 1).pred_opt().unwrap_or(start);
    (start, end)
}

fn outstanding_view(plate: &Plate, v: ViolationSummary) -> OutstandingViolation {
    OutstandingViolation {
        id: v.id,
        city_code: v.city_code,
        plate_masked: plate.masked(),
        code: v.violation.code,
        description: v.violation.description,
        description_zh: v.violation.description_zh,
        occurred_at: finepay_store::time_text(v.violation.occurred_at),
        location: v.violation.location,
        fine: v.fine_fen,
        points: v.points,
        currency: "CNY".into(),
        camera_recorded: v.camera_recorded,
        decision_number: v.decision_number,
        decision_status: v.decision_status.map(|s| s.as_str().to_string()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_scoring_cycle_runs_a_year_from_the_last_anniversary() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(
            scoring_cycle("2024-03-10T04:00:00.000Z", d(2026, 11, 27)),
            (d(2026, 3, 10), d(2027, 3, 9))
        );
        assert_eq!(
            scoring_cycle("2024-12-01T04:00:00.000Z", d(2026, 11, 27)),
            (d(2025, 12, 1), d(2026, 11, 30))
        );
        assert_eq!(
            scoring_cycle("2026-11-27T04:00:00.000Z", d(2026, 11, 27)),
            (d(2026, 11, 27), d(2027, 11, 26))
        );
    }
}
