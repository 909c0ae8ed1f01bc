//! What a city's authority offers a plate's owner besides decisions: checking a vehicle before it is
//! bound, listing a plate's violations, online handling (处理), licence points, and the event feed
//! the platform polls to push notifications.

use super::store::{self, PlateViolationRow};
use super::{today_in_shanghai, SandboxAuthority, SandboxError};
use chrono::NaiveDate;
use finepay_authority::protocol::DecisionRecord;
use finepay_authority::protocol::{
    EventPage, HandlingRequest, LicencePoints, VehicleCheck, ViolationList, ViolationRecord,
    ViolationSummary,
};
use finepay_domain::{IdNumber, Plate};
use rusqlite::TransactionBehavior;

/// SPEC §2: online handling only for fines of at most 200 yuan...
pub const ONLINE_HANDLING_MAX_FINE_FEN: i64 = 20_000;
/// ...and at most 6 points.
pub const ONLINE_HANDLING_MAX_POINTS: u8 = 6;

/// The most events one page of the feed returns.
pub const MAX_EVENTS_PER_PAGE: u32 = 500;

/// Why online handling was refused: the person must go to a traffic management office.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlingRefused {
    /// `not_owner`, `not_camera_recorded`, `fine_over_limit`, `points_over_limit`,
    /// `already_decided`.
    pub reason: &'static str,
    /// Human-readable explanation.
    pub message: String,
}

fn refused(reason: &'static str, why: &str) -> HandlingRefused {
    HandlingRefused {
        reason,
        message: format!("{why}; handle it at a traffic management office (交通管理部门)"),
    }
}

impl SandboxAuthority {
    /// Whether `plate` is registered with `city`'s authority and its VIN ends with `vin_last6`
    /// (case-insensitive). Answers only yes or no.
    pub fn verify_vehicle(
        &self,
        city: &str,
        plate: &str,
        vin_last6: &str,
    ) -> Result<VehicleCheck, SandboxError> {
        self.authority_city(city)?;
        let plate = Plate::parse(plate)?;
        let suffix = vin_last6.trim().to_ascii_uppercase();
        let verified = match store::find_vehicle(&self.conn(), plate.as_str())? {
            Some(v) => v.city_code == city && suffix.len() == 6 && v.vin.ends_with(&suffix),
            None => false,
        };
        Ok(VehicleCheck {
            plate: plate.as_str().to_owned(),
            verified,
        })
    }

    /// Every violation `city` recorded for `plate`, newest first, with its decision if handled.
    pub fn violations_for_plate(
        &self,
        city: &str,
        plate: &str,
    ) -> Result<ViolationList, SandboxError> {
        self.authority_city(city)?;
        let plate = Plate::parse(plate)?;
        let rows = store::violations_of_plate(&self.conn(), city, plate.as_str())?;
        let violations = rows
            .into_iter()
            .map(|row| self.summary(row))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ViolationList {
            plate: plate.as_str().to_owned(),
            city_code: city.to_owned(),
            violations,
        })
    }

    fn summary(&self, row: PlateViolationRow) -> Result<ViolationSummary, SandboxError> {
        let v = row.violation;
        let kind = self.catalogue().violation(&v.code).ok_or_else(|| {
            SandboxError::Corrupt(format!("violation code {} left the catalogue", v.code))
        })?;
        let fine_fen = kind.fine_fen(&v.city_code).ok_or_else(|| {
            SandboxError::Corrupt(format!("no fine for {} in {}", v.code, v.city_code))
        })?;
        let (decision_number, decision_status) = row.decision.unzip();
        Ok(ViolationSummary {
            id: v.id.to_string(),
            city_code: v.city_code,
            plate: v.plate,
            violation: ViolationRecord {
                code: v.code,
                description: kind.description.clone(),
                description_zh: kind.description_zh.clone(),
                occurred_at: v.occurred_at,
                location: v.location,
            },
            fine_fen,
            points: kind.points,
            camera_recorded: kind.camera_recorded,
            decision_number,
            decision_status,
        })
    }

    /// Online handling (SPEC §2): the registered owner handles a camera-recorded violation of at
    /// most 200 yuan and 6 points; the decision is served today and the points go on the handler's
    /// licence. `Ok(Err(_))` is a refusal, not a failure.
    pub fn handle_violation(
        &self,
        city: &str,
        violation_id: &str,
        handler: &HandlingRequest,
    ) -> Result<Result<DecisionRecord, HandlingRefused>, SandboxError> {
        self.authority_city(city)?;
        let id_number = IdNumber::parse(&handler.id_number)
            .map_err(|e| super::invalid("id_number", e.to_string()))?;
        let id = super::parse_violation_id(violation_id)?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let violation = store::find_violation(&tx, id)?
            .filter(|v| v.city_code == city)
            .ok_or_else(|| super::violation_not_found(violation_id))?;
        let owner = store::find_vehicle(&tx, &violation.plate)?
            .ok_or_else(|| SandboxError::Corrupt(format!("violation {id} has no vehicle")))?;
        let kind = self.violation_type(&violation.code)?;
        let fine_fen = kind.fine_fen(city).unwrap_or(i64::MAX);
        let refusal = if store::violation_has_decision(&tx, id)? {
            Some(refused(
                "already_decided",
                "this violation has already been handled",
            ))
        } else if owner.owner_name != handler.name.trim()
            || owner.owner_id_number != id_number.as_str()
        {
            Some(refused(
                "not_owner",
                "only the vehicle's registered owner may handle it online",
            ))
        } else if !kind.camera_recorded {
            Some(refused(
                "not_camera_recorded",
                "only camera-recorded violations can be handled online",
            ))
        } else if fine_fen > ONLINE_HANDLING_MAX_FINE_FEN {
            Some(refused(
                "fine_over_limit",
                "fines over 200 yuan cannot be handled online",
            ))
        } else if kind.points > ONLINE_HANDLING_MAX_POINTS {
            Some(refused(
                "points_over_limit",
                "violations of more than 6 points cannot be handled online",
            ))
        } else {
            None
        };
        if let Some(refusal) = refusal {
            return Ok(Err(refusal));
        }
        let issued = self.decide(&tx, violation, today_in_shanghai(), id_number.as_str())?;
        let row = store::find_decision(&tx, &issued.decision_number)?.ok_or_else(|| {
            SandboxError::Corrupt("a decision vanished in its transaction".to_owned())
        })?;
        tx.commit()?;
        drop(conn);
        self.inner.feed.committed();
        self.to_record(row, today_in_shanghai()).map(Ok)
    }

    /// Points `city` put on a licence with decisions issued from `from` to `to`, both inclusive.
    pub fn licence_points(
        &self,
        city: &str,
        licence_number: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<LicencePoints, SandboxError> {
        self.authority_city(city)?;
        let licence = IdNumber::parse(licence_number)
            .map_err(|e| super::invalid("licence_number", e.to_string()))?;
        let points = store::licence_points(&self.conn(), city, licence.as_str(), from, to)?;
        Ok(LicencePoints {
            city_code: city.to_owned(),
            points,
        })
    }

    /// `city`'s events after `after`, oldest first, at most `limit` (capped at
    /// [`MAX_EVENTS_PER_PAGE`]).
    /// Decision events carry the decision as it stands now, so a follower can keep a copy.
    pub fn events(&self, city: &str, after: i64, limit: u32) -> Result<EventPage, SandboxError> {
        self.authority_city(city)?;
        self.inner.feed.asked(city, after);
        let limit = limit.clamp(1, MAX_EVENTS_PER_PAGE);
        let today = today_in_shanghai();
        let conn = self.conn();
        let mut events = store::events_after(&conn, city, after, limit)?;
        let mut rows = Vec::new();
        for (i, event) in events.iter().enumerate() {
            if let Some(number) = &event.decision_number {
                if let Some(row) = store::find_decision(&conn, number)? {
                    rows.push((i, row));
                }
            }
        }
        drop(conn);
        for (i, row) in rows {
            events[i].decision = Some(Box::new(self.to_record(row, today)?));
        }
        let next_after = events.last().map_or(after, |e| e.seq);
        Ok(EventPage {
            city_code: city.to_owned(),
            events,
            next_after,
            skipped: Vec::new(),
        })
    }
}
