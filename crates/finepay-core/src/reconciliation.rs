//! Reconciliation (SPEC §9): a city's day, the platform's payments against the authority's
//! records fetched through the `Authority` adapter, compared as two streams in payment id order
//! (a merge join of pages), so memory stays the size of a page however big the day is.
//!
//! Each difference is classified: `missing_at_authority` (the platform took the money, the
//! authority has no record: re-sending the notice mends it), `missing_at_platform` (a record of a
//! payment the platform does not have), `amount_mismatch`, and `duplicate_at_authority` (the
//! same payment recorded more than once). Only the first can be mended safely; the others are
//! listed for a person. Every run is stored.

use crate::authorities::Authorities;
use crate::{new_id, CoreError};
use chrono::NaiveDate;
use finepay_authority::{AcceptedNotice, Authority, NoticeOutcome, PaymentNotice};
use finepay_store::repo::reconciliation::{self as repo, PlatformRecord, RunRow};
use finepay_store::Db;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::Arc;

/// Records read per page from each side.
const PAGE: u32 = 5_000;

/// Most discrepancies listed in one report; beyond, they are counted (`not_listed`).
pub const MAX_LISTED: usize = 1_000;

/// What kind of difference.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DiscrepancyKind {
    MissingAtAuthority,
    MissingAtPlatform,
    AmountMismatch,
    DuplicateAtAuthority,
}

impl DiscrepancyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DiscrepancyKind::MissingAtAuthority => "missing_at_authority",
            DiscrepancyKind::MissingAtPlatform => "missing_at_platform",
            DiscrepancyKind::AmountMismatch => "amount_mismatch",
            DiscrepancyKind::DuplicateAtAuthority => "duplicate_at_authority",
        }
    }
}

/// One difference (amounts in fen).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Discrepancy {
    pub kind: DiscrepancyKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    pub decision_number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_amount: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority_amount: Option<i64>,
    /// Whether `--mend` put it right (it matched when checked again).
    pub mended: bool,
}

/// Sums of each side's records (fen).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Totals {
    pub platform: i64,
    pub authority: i64,
}

/// The report (SPEC §9; beside it the run's id and times, how many records each side had, and
/// how many discrepancies were counted but not listed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReconciliationReport {
    pub city_code: String,
    pub date: String,
    /// Payments both sides agree on.
    pub matched: u64,
    pub discrepancies: Vec<Discrepancy>,
    pub totals: Totals,
    pub run_id: String,
    pub started_at: String,
    pub finished_at: String,
    pub platform_records: u64,
    pub authority_records: u64,
    /// Discrepancies beyond the first [`MAX_LISTED`], counted only.
    pub not_listed: u64,
}

impl ReconciliationReport {
    /// Discrepancies still open (not mended), listed or not.
    pub fn unresolved(&self) -> u64 {
        self.discrepancies.iter().filter(|d| !d.mended).count() as u64 + self.not_listed
    }
}

/// How far a run has come (for a progress bar).
#[derive(Copy, Clone, Debug, Default)]
pub struct Progress {
    /// The platform's records of the day, counted before the run.
    pub platform_total: u64,
    pub platform_read: u64,
    pub authority_read: u64,
}

/// One comparison of both sides.
#[derive(Default)]
struct Pass {
    matched: u64,
    listed: Vec<Discrepancy>,
    not_listed: u64,
    totals: Totals,
    platform_records: u64,
    authority_records: u64,
}

impl Pass {
    fn note(&mut self, d: Discrepancy) {
        if self.listed.len() < MAX_LISTED {
            self.listed.push(d);
        } else {
            self.not_listed += 1;
        }
    }
}

/// Reconciliation runs.
#[derive(Clone)]
pub struct Reconciliation {
    db: Db,
    authorities: Arc<Authorities>,
}

impl Reconciliation {
    pub fn new(db: Db, authorities: Arc<Authorities>) -> Reconciliation {
        Reconciliation { db, authorities }
    }

    fn client(&self, city_code: &str) -> Result<Arc<dyn Authority>, CoreError> {
        self.authorities
            .for_city(city_code)
            .map(|r| r.client.clone())
            .ok_or_else(|| CoreError::InvalidRequest {
                field: Some("city_code".into()),
                message: format!("no authority of this deployment has the city code {city_code:?}"),
            })
    }

    /// Reconcile (city, date); with `mend`, re-send each notice the authority never recorded
    /// and check again. The run is stored under `run_by` (`cli` or an operator's user id).
    pub async fn run(
        &self,
        city_code: &str,
        date: NaiveDate,
        mend: bool,
        run_by: &str,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<ReconciliationReport, CoreError> {
        let client = self.client(city_code)?;
        let started_at = self.db.clock().now_text();
        let (code, day) = (city_code.to_owned(), date.to_string());
        let total = self
            .db
            .read_scan(move |c| repo::platform_count(c, &code, &day))
            .await?;
        let total = u64::try_from(total).unwrap_or(0);
        let mut pass = self
            .compare(city_code, date, client.as_ref(), total, progress)
            .await?;
        let mut mended = Vec::new();
        if mend {
            let missing: Vec<Discrepancy> = pass
                .listed
                .iter()
                .filter(|d| d.kind == DiscrepancyKind::MissingAtAuthority)
                .cloned()
                .collect();
            let mut sent = 0;
            for d in &missing {
                // One notice that cannot be re-sent stays listed; the others are still tried.
                match self.resend(client.as_ref(), d).await {
                    Ok(true) => sent += 1,
                    Ok(false) => {}
                    Err(e) => tracing::warn!(payment_id = ?d.payment_id, error = %e,
                        "a lost notice could not be re-sent; it stays listed"),
                }
            }
            if sent > 0 {
                pass = self
                    .compare(city_code, date, client.as_ref(), total, progress)
                    .await?;
                mended = missing
                    .into_iter()
                    .filter(|d| {
                        !pass
                            .listed
                            .iter()
                            // Mended only if it now matches: nothing at all is left about it.
                            .any(|left| left.payment_id == d.payment_id)
                    })
                    .map(|d| Discrepancy { mended: true, ..d })
                    .collect();
            }
        }
        let mut discrepancies = mended;
        discrepancies.extend(pass.listed);
        let report = ReconciliationReport {
            city_code: city_code.to_owned(),
            date: date.to_string(),
            matched: pass.matched,
            discrepancies,
            totals: pass.totals,
            run_id: new_id("rec"),
            started_at,
            finished_at: self.db.clock().now_text(),
            platform_records: pass.platform_records,
            authority_records: pass.authority_records,
            not_listed: pass.not_listed,
        };
        self.store(&report, run_by).await?;
        tracing::info!(city_code, %date, matched = report.matched,
            unresolved = report.unresolved(), "reconciliation finished");
        Ok(report)
    }

    async fn store(&self, report: &ReconciliationReport, run_by: &str) -> Result<(), CoreError> {
        let json = serde_json::to_string(report)
            .map_err(|e| CoreError::Internal(format!("report: {e}")))?;
        let row = RunRow {
            id: report.run_id.clone(),
            city_code: report.city_code.clone(),
            business_date: report.date.clone(),
            started_at: report.started_at.clone(),
            finished_at: report.finished_at.clone(),
            run_by: run_by.to_owned(),
            matched: i64::try_from(report.matched).unwrap_or(i64::MAX),
            discrepancies: i64::try_from(report.unresolved()).unwrap_or(i64::MAX),
            mended: report.discrepancies.iter().filter(|d| d.mended).count() as i64,
            platform_total: report.totals.platform,
            authority_total: report.totals.authority,
            report_json: json,
        };
        // Every run is an admin action (an operator's or the command line's), logged with it.
        let detail = serde_json::json!({"city_code": row.city_code, "date": row.business_date,
            "run_id": row.id, "matched": row.matched, "unresolved": row.discrepancies,
            "mended": row.mended})
        .to_string();
        self.db
            .writer()
            .run(move |c| {
                repo::insert_run(c, &row)?;
                finepay_store::repo::admin::append(
                    c,
                    &row.finished_at,
                    &row.run_by,
                    "reconciliation.run",
                    &detail,
                )
            })
            .await??;
        Ok(())
    }

    /// Re-send the notice of a payment the authority has no record of; true when it took it.
    async fn resend(&self, client: &dyn Authority, d: &Discrepancy) -> Result<bool, CoreError> {
        let Some(id) = d.payment_id.clone() else {
            return Ok(false);
        };
        let Some(payment) = self
            .db
            .read(move |c| finepay_store::repo::payments::find_payment(c, &id))
            .await?
        else {
            return Ok(false);
        };
        let notice = PaymentNotice {
            payment_id: payment.id.clone(),
            decision_number: payment.decision_number.clone(),
            amount_fen: payment.amount.fen(),
            paid_at: payment.created_at,
        };
        match client.send_payment_notice(&notice).await {
            Ok(NoticeOutcome::Accepted | NoticeOutcome::Duplicate) => {
                tracing::info!(payment_id = %payment.id, "reconciliation re-sent a lost notice");
                Ok(true)
            }
            Ok(NoticeOutcome::Rejected { reason }) => {
                tracing::warn!(payment_id = %payment.id, %reason,
                    "the authority refused a re-sent notice: a person must look");
                Ok(false)
            }
            Err(e) => {
                tracing::warn!(payment_id = %payment.id, error = %e, "cannot re-send a notice");
                Err(CoreError::AuthorityUnavailable)
            }
        }
    }

    /// One merge join of both sides in payment id order.
    async fn compare(
        &self,
        city_code: &str,
        date: NaiveDate,
        client: &dyn Authority,
        platform_total: u64,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<Pass, CoreError> {
        let mut pass = Pass::default();
        let mut ours: VecDeque<PlatformRecord> = VecDeque::new();
        let mut theirs: VecDeque<AcceptedNotice> = VecDeque::new();
        let (mut ours_after, mut ours_done) = (String::new(), false);
        let (mut theirs_after, mut theirs_done) = (String::new(), false);
        loop {
            if ours.is_empty() && !ours_done {
                let (code, day, after) =
                    (city_code.to_owned(), date.to_string(), ours_after.clone());
                let page = self
                    .db
                    .read_scan(move |c| repo::platform_page(c, &code, &day, &after, PAGE))
                    .await?;
                ours_done = page.len() < PAGE as usize;
                if let Some(last) = page.last() {
                    ours_after = last.payment_id.clone();
                }
                pass.platform_records += page.len() as u64;
                ours.extend(page);
            }
            // An empty page that still names a next one is read past (and a cursor that does not
            // move on is refused), so "no record" is never concluded from an empty page.
            while theirs.is_empty() && !theirs_done {
                let page = client
                    .notice_page(date, &theirs_after, PAGE)
                    .await
                    .map_err(|e| {
                        tracing::warn!(error = %e, city_code, "cannot read the authority's records");
                        CoreError::AuthorityUnavailable
                    })?;
                match page.next_after {
                    Some(next) if next > theirs_after => theirs_after = next,
                    Some(next) => {
                        tracing::warn!(city_code, %next, "the authority's cursor did not move on");
                        return Err(CoreError::AuthorityUnavailable);
                    }
                    None => theirs_done = true,
                }
                pass.authority_records += page.notices.len() as u64;
                theirs.extend(page.notices);
                progress(Progress {
                    platform_total,
                    platform_read: pass.platform_records,
                    authority_read: pass.authority_records,
                });
            }
            let ordering = match (ours.front(), theirs.front()) {
                (None, None) => break,
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some(p), Some(a)) => p.payment_id.cmp(&a.payment_id),
            };
            match ordering {
                std::cmp::Ordering::Less => {
                    let Some(p) = ours.pop_front() else { break };
                    pass.totals.platform += p.amount;
                    pass.note(Discrepancy {
                        kind: DiscrepancyKind::MissingAtAuthority,
                        payment_id: Some(p.payment_id),
                        decision_number: p.decision_number,
                        platform_amount: Some(p.amount),
                        authority_amount: None,
                        mended: false,
                    });
                }
                std::cmp::Ordering::Greater => {
                    let records = take_same_id(&mut theirs);
                    let Some(first) = records.first() else { break };
                    pass.note(Discrepancy {
                        kind: DiscrepancyKind::MissingAtPlatform,
                        payment_id: Some(first.payment_id.clone()),
                        decision_number: first.decision_number.clone(),
                        platform_amount: None,
                        authority_amount: Some(first.amount_fen),
                        mended: false,
                    });
                    note_records(&mut pass, &records, None);
                }
                std::cmp::Ordering::Equal => {
                    let Some(p) = ours.pop_front() else { break };
                    let records = take_same_id(&mut theirs);
                    let Some(first) = records.first() else { break };
                    pass.totals.platform += p.amount;
                    if first.amount_fen == p.amount && first.decision_number == p.decision_number {
                        pass.matched += 1;
                    } else {
                        pass.note(Discrepancy {
                            kind: DiscrepancyKind::AmountMismatch,
                            payment_id: Some(p.payment_id.clone()),
                            decision_number: p.decision_number.clone(),
                            platform_amount: Some(p.amount),
                            authority_amount: Some(first.amount_fen),
                            mended: false,
                        });
                    }
                    note_records(&mut pass, &records, Some(p.amount));
                }
            }
        }
        Ok(pass)
    }

    /// Each city's latest run, newest report first per city.
    pub async fn last_per_city(&self) -> Result<Vec<ReconciliationReport>, CoreError> {
        let rows = self.db.read(repo::last_per_city).await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| serde_json::from_str(&r.report_json).ok())
            .collect())
    }
}

/// The front record and every copy of it (pages never split one payment id's records).
fn take_same_id(theirs: &mut VecDeque<AcceptedNotice>) -> Vec<AcceptedNotice> {
    let mut records = Vec::new();
    while let Some(next) = theirs.front() {
        if records
            .first()
            .is_some_and(|f: &AcceptedNotice| f.payment_id != next.payment_id)
        {
            break;
        }
        if let Some(r) = theirs.pop_front() {
            records.push(r);
        }
    }
    records
}

/// Adds the records' amounts to the authority's total and names every copy past the first.
fn note_records(pass: &mut Pass, records: &[AcceptedNotice], platform_amount: Option<i64>) {
    for (i, r) in records.iter().enumerate() {
        pass.totals.authority += r.amount_fen;
        if i > 0 {
            pass.note(Discrepancy {
                kind: DiscrepancyKind::DuplicateAtAuthority,
                payment_id: Some(r.payment_id.clone()),
                decision_number: r.decision_number.clone(),
                platform_amount,
                authority_amount: Some(r.amount_fen),
                mended: false,
            });
        }
    }
}
