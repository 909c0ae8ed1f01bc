//! Operators (SPEC §9): who may use `/admin` and `/api/v1/admin`, the append-only audit log of
//! what they did, and the figures of the admin page.

use crate::authorities::Authorities;
use crate::freshness::Freshness;
use crate::reconciliation::ReconciliationReport;
use crate::settlement::BatchView;
use crate::CoreError;
use chrono::{DateTime, Duration, Utc};
use finepay_store::repo::{admin as repo, reconciliation, settlement};
use finepay_store::Db;
use serde::Serialize;
use std::sync::Arc;

/// One admin action as the log keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    /// An operator's user id, or `cli` for the command line.
    pub actor: String,
    pub action: String,
    /// What the action was given and what it did (JSON text).
    pub detail: String,
}

/// One city on the admin page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CityOverview {
    pub city_code: String,
    pub name: String,
    pub name_zh: String,
    /// Payments of today (Asia/Shanghai) that moved money, and their sum in fen.
    pub payments_today: i64,
    pub amount_today: i64,
    /// Of which refunded since (fen).
    pub refunded_today: i64,
    /// Payment notices not yet delivered to the authority.
    pub pending_notices: i64,
    /// How long the oldest undelivered notice has waited (ms); 0 when none waits.
    pub sync_lag_ms: i64,
    /// The median time from payment to the authority's confirmation over the last hour (ms).
    pub confirmation_ms_median: Option<i64>,
    /// Whether the city's event feed is followed live right now.
    pub feed_live: bool,
    pub last_settlement: Option<BatchView>,
    pub last_reconciliation: Option<ReconciliationSummary>,
}

/// A reconciliation run in brief.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReconciliationSummary {
    pub run_id: String,
    pub date: String,
    pub finished_at: String,
    pub matched: u64,
    pub unresolved: u64,
    pub mended: u64,
}

impl From<&ReconciliationReport> for ReconciliationSummary {
    fn from(r: &ReconciliationReport) -> ReconciliationSummary {
        ReconciliationSummary {
            run_id: r.run_id.clone(),
            date: r.date.clone(),
            finished_at: r.finished_at.clone(),
            matched: r.matched,
            unresolved: r.unresolved(),
            mended: r.discrepancies.iter().filter(|d| d.mended).count() as u64,
        }
    }
}

/// The admin page's figures (`GET /api/v1/admin/overview`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Overview {
    /// Today in Asia/Shanghai.
    pub date: String,
    pub generated_at: String,
    pub cities: Vec<CityOverview>,
    /// Payments per minute over the last hour, oldest first, one entry per minute (UTC
    /// `YYYY-MM-DDTHH:MM`).
    pub per_minute: Vec<MinuteCount>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MinuteCount {
    pub minute: String,
    pub payments: i64,
}

/// Operators and their audit log.
#[derive(Clone)]
pub struct Admin {
    db: Db,
    authorities: Arc<Authorities>,
    freshness: Arc<Freshness>,
}

impl Admin {
    pub(crate) fn new(db: Db, authorities: Arc<Authorities>, freshness: Arc<Freshness>) -> Admin {
        Admin {
            db,
            authorities,
            freshness,
        }
    }

    /// Make the registered user with this phone an operator; logged.
    pub async fn grant(&self, phone: &str, actor: &str) -> Result<String, CoreError> {
        grant(&self.db, phone, actor).await
    }

    /// `Forbidden` unless the user is an operator.
    pub async fn require_operator(&self, user_id: &str) -> Result<(), CoreError> {
        let id = user_id.to_owned();
        if self.db.read(move |c| repo::is_operator(c, &id)).await? {
            Ok(())
        } else {
            Err(CoreError::Forbidden)
        }
    }

    /// The audit log, newest first, before the entry `before` when given.
    pub async fn audit_log(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, CoreError> {
        let rows = self
            .db
            .read(move |c| repo::list(c, before, limit.clamp(1, 200)))
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| AuditEntry {
                id: r.id,
                at: r.at,
                actor: r.actor,
                action: r.action,
                detail: r.detail,
            })
            .collect())
    }

    /// Undelivered outbox rows per kind, every kind named (0 when none waits).
    pub async fn outbox_depth(&self) -> Result<Vec<(&'static str, i64)>, CoreError> {
        let counted = self
            .db
            .read(finepay_store::repo::outbox::undelivered_by_kind)
            .await?;
        Ok(finepay_store::repo::outbox::Kind::ALL
            .iter()
            .map(|kind| {
                let name = kind.as_str();
                let n = counted
                    .iter()
                    .find(|(k, _)| k == name)
                    .map_or(0, |(_, n)| *n);
                (name, n)
            })
            .collect())
    }

    /// Today's figures per city, the last settlement and reconciliation of each, and payments
    /// per minute over the last hour.
    pub async fn overview(&self) -> Result<Overview, CoreError> {
        let clock = self.db.clock();
        let now = clock.now();
        let today = clock.today_in_china().to_string();
        let hour_ago = finepay_store::time_text(now - Duration::hours(1));
        let yesterday = (clock.today_in_china() - Duration::days(1)).to_string();
        let codes: Vec<String> = self
            .authorities
            .cities()
            .iter()
            .map(|c| c.code.to_string())
            .collect();
        let (day, since) = (today.clone(), hour_ago.clone());
        // Per city, on the (city, business day, id) index: today's payments, and those of the
        // last hour (today's and, just after midnight, yesterday's).
        let (totals, pending, confirmations, minutes, batches, runs) = self
            .db
            .read_scan(move |c| {
                let mut totals = Vec::new();
                let mut confirmations = Vec::new();
                let mut minutes: Vec<(String, i64)> = Vec::new();
                for code in &codes {
                    totals.extend(repo::totals_of_day(c, code, &day)?);
                    for d in [&yesterday, &day] {
                        confirmations.extend(repo::recent_confirmations(c, code, d, &since)?);
                        for (minute, n) in repo::payments_per_minute(c, code, d, &since)? {
                            match minutes.iter_mut().find(|(m, _)| *m == minute) {
                                Some((_, total)) => *total += n,
                                None => minutes.push((minute, n)),
                            }
                        }
                    }
                }
                Ok((
                    totals,
                    repo::pending_notices(c)?,
                    confirmations,
                    minutes,
                    settlement::last_per_city(c)?,
                    reconciliation::last_per_city(c)?,
                ))
            })
            .await?;
        let mut cities = Vec::new();
        for city in self.authorities.cities() {
            let code = city.code.to_string();
            let total = totals.iter().find(|t| t.city_code == code);
            let waiting = pending.iter().find(|p| p.city_code == code);
            let sync_lag_ms = waiting
                .and_then(|w| finepay_store::parse_time(&w.oldest_at))
                .map_or(0, |t| (now - t).num_milliseconds().max(0));
            let mut latencies: Vec<i64> = confirmations
                .iter()
                .filter(|(c, _, _)| *c == code)
                .filter_map(|(_, paid, confirmed)| {
                    let (p, c) = (
                        finepay_store::parse_time(paid)?,
                        finepay_store::parse_time(confirmed)?,
                    );
                    Some((c - p).num_milliseconds().max(0))
                })
                .collect();
            latencies.sort_unstable();
            let run = runs
                .iter()
                .find(|r| r.city_code == code)
                .and_then(|r| serde_json::from_str::<ReconciliationReport>(&r.report_json).ok());
            cities.push(CityOverview {
                city_code: code.clone(),
                name: city.name.clone(),
                name_zh: city.name_zh.clone(),
                payments_today: total.map_or(0, |t| t.payments),
                amount_today: total.map_or(0, |t| t.amount),
                refunded_today: total.map_or(0, |t| t.refunded),
                pending_notices: waiting.map_or(0, |w| w.count),
                sync_lag_ms,
                confirmation_ms_median: latencies.get(latencies.len() / 2).copied(),
                feed_live: self.freshness.is_live(&code),
                last_settlement: batches
                    .iter()
                    .find(|b| b.city_code == code)
                    .cloned()
                    .map(BatchView::from),
                last_reconciliation: run.as_ref().map(ReconciliationSummary::from),
            });
        }
        Ok(Overview {
            date: today,
            generated_at: finepay_store::time_text(now),
            cities,
            per_minute: every_minute(now, &minutes),
        })
    }
}

/// Make the registered user with this phone an operator (`finepay admin grant`), in one writer
/// job with its audit entry; the user's id.
pub async fn grant(db: &Db, phone: &str, actor: &str) -> Result<String, CoreError> {
    let phone_owned = phone.to_owned();
    let (actor, now) = (actor.to_owned(), db.clock().now_text());
    let user = db
        .writer()
        .run(move |c| -> Result<Option<String>, CoreError> {
            let Some(user) = repo::grant_operator(c, &phone_owned)? else {
                return Ok(None);
            };
            let detail = serde_json::json!({ "phone": phone_owned, "user_id": user });
            repo::append(c, &now, &actor, "admin.grant", &detail.to_string())?;
            Ok(Some(user))
        })
        .await??;
    user.ok_or(CoreError::NotFound(
        "no user has this phone number; register first (POST /api/v1/users)",
    ))
}

/// The last 60 minutes, one entry each (zero where nothing was paid).
fn every_minute(now: DateTime<Utc>, counted: &[(String, i64)]) -> Vec<MinuteCount> {
    (0..60)
        .rev()
        .map(|back| {
            let minute = (now - Duration::minutes(back))
                .format("%Y-%m-%dT%H:%M")
                .to_string();
            let payments = counted
                .iter()
                .find(|(m, _)| *m == minute)
                .map_or(0, |(_, n)| *n);
            MinuteCount { minute, payments }
        })
        .collect()
}
