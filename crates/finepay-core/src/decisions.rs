//! Looking up penalty decisions. While the city's event feed is followed live (feeds.rs), the
//! platform's kept copy is as current as the authority's record and is read directly; otherwise
//! fresh from the authority when it answers, else from the copy kept the last time (with the
//! amount due computed by SPEC's rule), else 503.

use crate::authorities::AuthorityRoute;
use crate::freshness::Freshness;
use crate::ratelimit::RateLimiter;
use crate::views::{CityView, DecisionView, ViolationView};
use crate::{Authorities, CoreError, NumberProblem};
use finepay_authority::{AuthorityError, DecisionRecord, ViolationRecord};
use finepay_domain::{
    charges_on, mask_name, Charges, DecisionNumber, DecisionStatus, Fen, PaymentStatus, Plate,
};
use finepay_store::repo::decisions::DecisionRow;
use finepay_store::repo::{decisions, payments, vehicles};
use finepay_store::{Clock, Db};
use std::sync::Arc;

/// Where a decision's figures came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    Authority,
    /// The kept copy, current because the city's feed is live.
    Feed,
    /// The kept copy while the authority is unreachable.
    Snapshot,
}

/// A decision as the platform knows it right now.
#[derive(Clone, Debug)]
pub(crate) struct CurrentDecision {
    pub row: DecisionRow,
    pub violation: ViolationRecord,
    pub charges: Charges,
    pub source: Source,
}

/// Penalty decisions: looked up at their authority (or served from the kept copy while the
/// city's feed is followed), kept, and shown.
#[derive(Clone)]
pub struct Decisions {
    db: Db,
    authorities: Arc<Authorities>,
    limiter: Arc<RateLimiter>,
    freshness: Arc<Freshness>,
}

impl Decisions {
    pub(crate) fn new(
        db: Db,
        authorities: Arc<Authorities>,
        limiter: Arc<RateLimiter>,
        freshness: Arc<Freshness>,
    ) -> Decisions {
        Decisions {
            db,
            authorities,
            limiter,
            freshness,
        }
    }

    /// `GET /api/v1/penalty-decisions/{number}` for a signed-in user.
    pub async fn lookup(
        &self,
        user_id: &str,
        client_addr: &str,
        raw_number: &str,
    ) -> Result<DecisionView, CoreError> {
        self.limiter.admit(user_id, client_addr)?;
        let routed = self.authorities.route(raw_number);
        let result = match routed {
            Ok((number, route)) => self.current_decision(&number, route).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(current) => self.decision_view(current, user_id).await,
            Err(e @ (CoreError::DecisionNotFound | CoreError::InvalidDecisionNumber(_))) => {
                self.limiter.charge_failure(user_id, client_addr);
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// The kept copy while the city's feed is live; else fresh from its authority, or the kept
    /// snapshot when the authority is down.
    pub(crate) async fn current_decision(
        &self,
        number: &DecisionNumber,
        route: &AuthorityRoute,
    ) -> Result<CurrentDecision, CoreError> {
        if self.freshness.is_live(route.city.as_str()) {
            let n = number.as_str().to_string();
            let kept = self
                .db
                .read(move |c| decisions::find_decision(c, &n))
                .await?;
            // A decision the feed has not brought yet is asked of the authority.
            if let Some(row) = kept {
                return from_snapshot(row, Source::Feed, self.db.clock());
            }
        }
        match route.client.lookup_decision(number.as_str()).await {
            Ok(record) => {
                let current = from_record(record, self.db.clock())?;
                self.keep_snapshot(&current.row).await?;
                Ok(current)
            }
            Err(AuthorityError::NotFound) => Err(CoreError::DecisionNotFound),
            Err(e) => {
                tracing::warn!(number = number.as_str(), city = %route.city, error = %e,
                    "authority unreachable; using the kept snapshot if any");
                let n = number.as_str().to_string();
                let row = self
                    .db
                    .read(move |c| decisions::find_decision(c, &n))
                    .await?
                    .ok_or(CoreError::AuthorityUnavailable)?;
                from_snapshot(row, Source::Snapshot, self.db.clock())
            }
        }
    }

    /// Writes the snapshot only when its content changed, so lookups do not queue behind payments.
    pub(crate) async fn keep_snapshot(&self, row: &DecisionRow) -> Result<(), CoreError> {
        let n = row.number.clone();
        let kept = self
            .db
            .read(move |c| decisions::find_decision(c, &n))
            .await?;
        if kept.as_ref().is_some_and(|k| k.same_content(row)) {
            return Ok(());
        }
        let row = row.clone();
        self.db
            .writer()
            .run(move |c| decisions::upsert_decision(c, &row))
            .await??;
        Ok(())
    }

    /// The decision as `user_id` sees it: paid once the platform accepted a payment, and whether
    /// its plate is among the user's bound vehicles.
    pub(crate) async fn decision_view(
        &self,
        current: CurrentDecision,
        user_id: &str,
    ) -> Result<DecisionView, CoreError> {
        // A payment the platform accepted shows as paid even before its notice reaches the authority.
        let (n, plate, uid) = (
            current.row.number.clone(),
            current.row.plate.clone(),
            user_id.to_string(),
        );
        let (live, bound) = self
            .db
            .read(move |c| {
                Ok((
                    payments::live_payment_of_decision(c, &n)?,
                    vehicles::is_bound(c, &uid, &plate)?,
                ))
            })
            .await?;
        let status = match &live {
            Some(p)
                if p.status == PaymentStatus::Succeeded
                    && current.row.status == DecisionStatus::Unpaid =>
            {
                DecisionStatus::Paid
            }
            _ => current.row.status,
        };
        let mut view = view_of(&current, status, bound, &self.authorities);
        if let Some(p) = live.filter(|p| p.user_id == user_id) {
            view.your_payment_processing = p.status == PaymentStatus::Processing;
            view.your_payment_id = Some(p.id);
        }
        Ok(view)
    }

    /// Checks a typed decision number without looking it up (no authority is asked, no lookup
    /// is counted): the digits and the city, or what is wrong with it.
    pub fn check_number(&self, raw: &str) -> Result<(String, CityView), NumberProblem> {
        let (number, route) = self.authorities.check(raw)?;
        Ok((
            number.as_str().to_string(),
            self.authorities.city_view(route.city.as_str()),
        ))
    }
}

fn view_of(
    current: &CurrentDecision,
    status: DecisionStatus,
    plate_bound_to_you: bool,
    authorities: &crate::Authorities,
) -> DecisionView {
    let row = &current.row;
    let city = authorities.city(&row.city_code);
    let plate_masked = Plate::parse(&row.plate)
        .map(|p| p.masked())
        .unwrap_or_else(|_| "***".into());
    DecisionView {
        number: row.number.clone(),
        status,
        city: authorities.city_view(&row.city_code),
        plate_masked,
        owner_masked: mask_name(&row.owner_name),
        violation: ViolationView {
            code: current.violation.code.clone(),
            description: current.violation.description.clone(),
            description_zh: current.violation.description_zh.clone(),
            occurred_at: finepay_store::time_text(current.violation.occurred_at),
            location: current.violation.location.clone(),
        },
        fine: current.charges.fine.fen(),
        late_fee: current.charges.late_fee.fen(),
        amount_due: current.charges.amount_due.fen(),
        currency: "CNY".into(),
        points: row.points,
        issued_on: row.issued_on.clone(),
        due_on: current.charges.due_on.to_string(),
        source: match current.source {
            Source::Authority => "authority".into(),
            Source::Feed => "feed".into(),
            Source::Snapshot => "snapshot".into(),
        },
        plate_bound_to_you,
        days_late: current.charges.days_late,
        payee: city.map(|c| c.payee.clone()).unwrap_or_default(),
        payee_en: city.map(|c| c.payee_en.clone()).unwrap_or_default(),
        your_payment_id: None,
        your_payment_processing: false,
    }
}

pub(crate) fn from_record(
    record: DecisionRecord,
    clock: &Clock,
) -> Result<CurrentDecision, CoreError> {
    let violation_json =
        serde_json::to_string(&record.violation).map_err(|e| CoreError::Internal(e.to_string()))?;
    let fine = Fen::from_fen(record.fine_fen);
    let late_fee = Fen::from_fen(record.late_fee_fen);
    let amount_due = Fen::from_fen(record.amount_due_fen);
    let row = DecisionRow {
        number: record.number,
        city_code: record.city_code,
        status: record.status.to_domain(),
        plate: record.plate,
        owner_name: record.owner_name,
        violation_json,
        fine: Fen::from_fen(record.fine_fen),
        points: i64::from(record.points),
        issued_on: record.issued_on.to_string(),
        fetched_at: clock.now_text(),
    };
    // The authority is the source of truth for the amount due; the days late are ours to show.
    let rule = charges_on(fine, record.issued_on, clock.today_in_china());
    Ok(CurrentDecision {
        row,
        violation: record.violation,
        charges: Charges {
            fine,
            late_fee,
            amount_due,
            days_late: rule.days_late,
            due_on: record.due_on,
        },
        source: Source::Authority,
    })
}

fn from_snapshot(
    row: DecisionRow,
    source: Source,
    clock: &Clock,
) -> Result<CurrentDecision, CoreError> {
    let violation: ViolationRecord = serde_json::from_str(&row.violation_json)
        .map_err(|e| CoreError::Internal(format!("snapshot of {}: {e}", row.number)))?;
    let issued_on = row
        .issued_on
        .parse()
        .map_err(|e| CoreError::Internal(format!("snapshot of {}: {e}", row.number)))?;
    let charges = charges_on(row.fine, issued_on, clock.today_in_china());
    Ok(CurrentDecision {
        row,
        violation,
        charges,
        source,
    })
}
