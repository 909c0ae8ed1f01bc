//! Settlement with the cities (SPEC §9): a batch of (city, business day) takes every payment the
//! authority confirmed and every refund of that day that no batch has taken, and moves their net
//! from the city's payable account to its settled account in one ledger transaction, written in
//! the same writer job as the batch and its items. Each batch has a CSV file whose SHA-256 is
//! kept with it; the file is handed to the authority, which checks it against its own records.
//!
//! The end-of-day batch of a day runs by itself at 00:30 (Asia/Shanghai) the next day, and a
//! platform that was down then catches up when it comes back (`scheduled_round`).

use crate::authorities::Authorities;
use crate::{books, new_id, CoreError};
use chrono::{DateTime, Duration as Days, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use finepay_authority::{SettlementFile, MAX_SETTLEMENT_LINES};
use finepay_domain::{ledger, CityCode, Fen};
use finepay_store::repo::settlement::{self as repo, BatchRow, ItemRow};
use finepay_store::{time_text, Db};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The header line of every settlement file (the protocol's).
pub use finepay_authority::SETTLEMENT_CSV_HEADER as CSV_HEADER;

/// `closed_by` of the batches the scheduler closes.
const SCHEDULE: &str = "schedule";

/// When the end-of-day batch of yesterday runs (Asia/Shanghai).
pub const END_OF_DAY_AT: (u32, u32) = (0, 30);

/// A batch as operators and the API see it (SPEC §9; amounts in fen).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BatchView {
    pub id: String,
    pub city_code: String,
    pub date: String,
    pub closed_at: String,
    /// `schedule`, `cli`, or the operator's user id.
    pub closed_by: String,
    /// Whether this is the day's end-of-day batch.
    pub end_of_day: bool,
    pub count: i64,
    pub payments_total: i64,
    pub refunds_total: i64,
    pub net: i64,
    pub sha256: String,
    /// `pending` (not yet answered), `accepted` or `refused` by the authority.
    pub authority_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority_reason: Option<String>,
}

impl From<BatchRow> for BatchView {
    fn from(b: BatchRow) -> BatchView {
        BatchView {
            id: b.id,
            city_code: b.city_code,
            date: b.business_date,
            closed_at: b.closed_at,
            closed_by: b.closed_by,
            end_of_day: b.end_of_day,
            count: b.count,
            payments_total: b.payments_total,
            refunds_total: b.refunds_total,
            net: b.net,
            sha256: b.sha256,
            authority_status: b.authority_status,
            authority_reason: b.authority_reason,
        }
    }
}

/// The day's batches (`GET /api/v1/admin/settlements/{city_code}/{date}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DaySettlements {
    pub city_code: String,
    pub date: String,
    pub batches: Vec<BatchView>,
}

/// One line of a settlement file: refunds carry a negative amount, so the amounts sum to the net.
fn csv_line(out: &mut String, item: &ItemRow) {
    let signed = if item.kind == "refund" {
        -item.amount
    } else {
        item.amount
    };
    out.push_str(&format!(
        "{},{},{},{signed},{}\n",
        item.kind, item.payment_id, item.decision_number, item.at
    ));
}

/// The whole file of a batch's items (in file order: payments, then refunds, by payment id):
/// the header, one line per item, then `totals,<lines>,,<net>,`.
pub fn settlement_csv(items: &[ItemRow]) -> String {
    let mut out = String::with_capacity(64 + items.len() * 80);
    out.push_str(CSV_HEADER);
    out.push('\n');
    let mut net: i64 = 0;
    for item in items {
        csv_line(&mut out, item);
        net += if item.kind == "refund" {
            -item.amount
        } else {
            item.amount
        };
    }
    out.push_str(&format!("totals,{},,{net},\n", items.len()));
    out
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The UTC bounds of a business day in Asia/Shanghai, as the store writes times.
fn day_bounds(date: NaiveDate) -> (String, String) {
    let start = |d: NaiveDate| {
        Shanghai
            .from_local_datetime(&d.and_time(NaiveTime::MIN))
            .single()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| d.and_time(NaiveTime::MIN).and_utc())
    };
    let next = date.succ_opt().unwrap_or(date);
    (time_text(start(date)), time_text(start(next)))
}

/// Settlement batches: close, list, files, and the authorities' verdicts.
#[derive(Clone)]
pub struct Settlement {
    db: Db,
    authorities: Arc<Authorities>,
}

impl Settlement {
    pub fn new(db: Db, authorities: Arc<Authorities>) -> Settlement {
        Settlement { db, authorities }
    }

    fn city(&self, code: &str) -> Result<CityCode, CoreError> {
        if self.authorities.for_city(code).is_none() {
            return Err(CoreError::InvalidRequest {
                field: Some("city_code".into()),
                message: format!("no authority of this deployment has the city code {code:?}"),
            });
        }
        CityCode::parse(code).map_err(|e| CoreError::InvalidRequest {
            field: Some("city_code".into()),
            message: e.to_string(),
        })
    }

    /// Close a batch of (city, date) now with what is unsettled (several a day are allowed; an
    /// empty one records that nothing was due). `by` says who: `cli`, `schedule` or a user id.
    pub async fn close(
        &self,
        city_code: &str,
        date: NaiveDate,
        by: &str,
    ) -> Result<BatchView, CoreError> {
        let city = self.city(city_code)?;
        let (mut batch, csv) = self
            .close_in_job(city, date, by.to_owned(), false)
            .await?
            .ok_or_else(|| {
                CoreError::Internal("a batch closed on demand was not written".into())
            })?;
        self.offer(&mut batch, Some(csv)).await;
        Ok(batch)
    }

    /// One writer job: the items, the batch, its ledger transaction. `end_of_day` batches are
    /// closed once per (city, day): `None` when it already was.
    async fn close_in_job(
        &self,
        city: CityCode,
        date: NaiveDate,
        by: String,
        end_of_day: bool,
    ) -> Result<Option<(BatchView, String)>, CoreError> {
        // A batch a person closes is written even when empty (the day's file says "nothing");
        // the scheduler's late sweeps close only what they find.
        let skip_if_empty = !end_of_day && by == SCHEDULE;
        let now = self.db.clock().now_text();
        let day = date.to_string();
        let (from, until) = day_bounds(date);
        let batch = self
            .db
            .writer()
            .run(move |c| -> Result<Option<(BatchRow, String)>, CoreError> {
                let code = city.as_str();
                if end_of_day && repo::has_end_of_day(c, code, &day)? {
                    return Ok(None);
                }
                // A bigger day settles in several batches; the rest waits for the next one.
                let most = u32::try_from(MAX_SETTLEMENT_LINES).unwrap_or(u32::MAX);
                let items = repo::unsettled(c, code, &day, &from, &until, most)?;
                // A late sweep that finds nothing left (another instance took it) closes nothing.
                if skip_if_empty && items.is_empty() {
                    return Ok(None);
                }
                let paid: i64 = items
                    .iter()
                    .filter(|i| i.kind == "payment")
                    .map(|i| i.amount)
                    .sum();
                let refunded: i64 = items
                    .iter()
                    .filter(|i| i.kind == "refund")
                    .map(|i| i.amount)
                    .sum();
                let net = paid - refunded;
                let id = new_id("stl");
                let ledger_tx_id = if net == 0 {
                    None
                } else {
                    let tx = ledger::settle(&city, Fen::from_fen(net))
                        .map_err(|e| CoreError::Internal(format!("settlement ledger: {e}")))?;
                    Some(books::post(c, &tx, &id, &now)?)
                };
                let csv = settlement_csv(&items);
                let batch = BatchRow {
                    id,
                    city_code: code.to_owned(),
                    business_date: day.clone(),
                    closed_at: now.clone(),
                    closed_by: by,
                    end_of_day,
                    count: i64::try_from(items.len()).unwrap_or(i64::MAX),
                    payments_total: paid,
                    refunds_total: refunded,
                    net,
                    sha256: sha256_hex(csv.as_bytes()),
                    ledger_tx_id,
                    authority_status: "pending".into(),
                    authority_reason: None,
                };
                repo::insert_batch(c, &batch, &items).map_err(|e| {
                    // Another instance closed the same items (or the same end-of-day batch)
                    // first: this job rolls back and nothing is settled twice.
                    if e.is_unique_violation() {
                        CoreError::Conflict
                    } else {
                        CoreError::from(e)
                    }
                })?;
                // A person's batch (an operator's or the command line's) is an admin action,
                // logged in the job that closes it.
                if batch.closed_by != SCHEDULE {
                    let detail = serde_json::json!({"city_code": batch.city_code,
                        "date": batch.business_date, "batch_id": batch.id, "count": batch.count,
                        "net": batch.net});
                    finepay_store::repo::admin::append(
                        c,
                        &now,
                        &batch.closed_by,
                        "settlement.close",
                        &detail.to_string(),
                    )?;
                }
                Ok(Some((batch, csv)))
            })
            .await??;
        if let Some((b, _)) = &batch {
            tracing::info!(city_code = %b.city_code, date = %b.business_date, batch_id = %b.id,
                count = b.count, net = b.net, end_of_day, "settlement batch closed");
        }
        Ok(batch.map(|(b, csv)| (BatchView::from(b), csv)))
    }

    /// The batches of (city, date).
    pub async fn of_day(
        &self,
        city_code: &str,
        date: NaiveDate,
    ) -> Result<DaySettlements, CoreError> {
        self.city(city_code)?;
        let (code, day) = (city_code.to_owned(), date.to_string());
        let batches = self
            .db
            .read(move |c| repo::batches_of_day(c, &code, &day))
            .await?;
        Ok(DaySettlements {
            city_code: city_code.to_owned(),
            date: date.to_string(),
            batches: batches.into_iter().map(BatchView::from).collect(),
        })
    }

    /// A batch's file, rebuilt from its items (byte for byte what was hashed at closing), with
    /// the batch; `None` for an unknown batch.
    pub async fn file(&self, batch_id: &str) -> Result<Option<(BatchView, String)>, CoreError> {
        let id = batch_id.to_owned();
        let found = self
            .db
            .read(move |c| -> Result<_, finepay_store::StoreError> {
                let Some(batch) = repo::find_batch(c, &id)? else {
                    return Ok(None);
                };
                let mut items: Vec<ItemRow> = Vec::new();
                loop {
                    let after = items.last().map(|i| (i.kind.clone(), i.payment_id.clone()));
                    let page = repo::items_page(
                        c,
                        &id,
                        after.as_ref().map(|(k, p)| (k.as_str(), p.as_str())),
                        5_000,
                    )?;
                    if page.is_empty() {
                        break;
                    }
                    items.extend(page);
                }
                Ok(Some((batch, items)))
            })
            .await?;
        Ok(found.map(|(batch, items)| (BatchView::from(batch), settlement_csv(&items))))
    }

    /// Hand a batch's file to its authority and record the verdict (also on `batch`). An
    /// authority that does not answer is asked again by the next round (`offer_unanswered`).
    /// `csv` is the file when the caller has it (just closed), else it is rebuilt from the items.
    async fn offer(&self, batch: &mut BatchView, csv: Option<String>) {
        let Some(route) = self.authorities.for_city(&batch.city_code) else {
            return;
        };
        let Ok(date) = batch.date.parse::<NaiveDate>() else {
            return;
        };
        let csv = match csv {
            Some(csv) => csv,
            None => match self.file(&batch.id).await {
                Ok(Some((_, csv))) => csv,
                _ => return,
            },
        };
        let file = SettlementFile {
            batch_id: batch.id.clone(),
            date,
            count: u64::try_from(batch.count).unwrap_or(0),
            net_fen: batch.net,
            sha256: batch.sha256.clone(),
            csv,
        };
        match route.client.send_settlement(&file).await {
            Ok(verdict) => {
                let status = if verdict.result == "accepted" {
                    "accepted"
                } else {
                    "refused"
                };
                let reason = (!verdict.problems.is_empty()).then(|| verdict.problems.join("; "));
                if status == "refused" {
                    tracing::error!(batch_id = %batch.id, city_code = %batch.city_code,
                        problems = ?verdict.problems, "the authority refused a settlement file: a person must look");
                }
                let (id, now) = (batch.id.clone(), self.db.clock().now_text());
                let written = self
                    .db
                    .writer()
                    .run(move |c| repo::set_verdict(c, &id, status, reason.as_deref(), &now))
                    .await;
                match written {
                    Ok(Ok(())) => {
                        batch.authority_status = status.to_owned();
                        batch.authority_reason =
                            (!verdict.problems.is_empty()).then(|| verdict.problems.join("; "));
                    }
                    Ok(Err(e)) | Err(e) => {
                        tracing::warn!(error = %e, batch_id = %batch.id, "cannot record a settlement verdict");
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, batch_id = %batch.id, "the authority did not take a settlement file; it is offered again");
            }
        }
    }

    /// Offer every batch the authorities have not answered about yet.
    pub async fn offer_unanswered(&self) -> Result<usize, CoreError> {
        let pending = self.db.read(|c| repo::unanswered(c, 200)).await?;
        let n = pending.len();
        // A city whose authority does not answer one batch is not asked about its others this
        // round: one slow authority cannot hold up the rest.
        let mut silent: std::collections::HashSet<String> = std::collections::HashSet::new();
        for batch in pending {
            if silent.contains(&batch.city_code) {
                continue;
            }
            let mut view = BatchView::from(batch);
            self.offer(&mut view, None).await;
            if view.authority_status == "pending" {
                silent.insert(view.city_code);
            }
        }
        Ok(n)
    }

    /// The scheduler's round at `now`: from 00:30 (Asia/Shanghai), yesterday's end-of-day batch of
    /// every city (and any day missed while the platform was down, back to the last one closed,
    /// at most 31 days), then a batch for each earlier day that has something unsettled (a
    /// payment confirmed late, a refund made since). Returns the batches closed.
    pub async fn scheduled_round(&self, now: DateTime<Utc>) -> Result<Vec<BatchView>, CoreError> {
        let local = now.with_timezone(&Shanghai);
        let today = local.date_naive();
        let Some(yesterday) = today.pred_opt() else {
            return Ok(Vec::new());
        };
        let run_at =
            NaiveTime::from_hms_opt(END_OF_DAY_AT.0, END_OF_DAY_AT.1, 0).unwrap_or(NaiveTime::MIN);
        // Before 00:30 the day before yesterday is the last one due.
        let last_due = if local.time() >= run_at {
            yesterday
        } else {
            match yesterday.pred_opt() {
                Some(d) => d,
                None => return Ok(Vec::new()),
            }
        };
        let mut closed = Vec::new();
        let cities: Vec<String> = self
            .authorities
            .all()
            .iter()
            .map(|r| r.city.to_string())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        for code in cities {
            // One city's trouble (a race with another instance, say) holds up no other city.
            match self.scheduled_city(&code, last_due).await {
                Ok(batches) => closed.extend(batches),
                Err(e) => {
                    tracing::warn!(city_code = %code, error = %e, "settlement round of a city failed; the next round tries again");
                }
            }
        }
        let mut offered = Vec::with_capacity(closed.len());
        for (mut b, csv) in closed {
            self.offer(&mut b, Some(csv)).await;
            offered.push(b);
        }
        Ok(offered)
    }

    /// One city's part of [`Settlement::scheduled_round`].
    async fn scheduled_city(
        &self,
        code: &str,
        last_due: NaiveDate,
    ) -> Result<Vec<(BatchView, String)>, CoreError> {
        let mut closed = Vec::new();
        {
            let code = code.to_owned();
            let city = self.city(&code)?;
            let c2 = code.clone();
            let last = self
                .db
                .read(move |c| repo::last_end_of_day(c, &c2))
                .await?
                .and_then(|d| d.parse::<NaiveDate>().ok());
            let first = match last {
                Some(d) => d.succ_opt().unwrap_or(d),
                None => last_due,
            }
            .max(last_due - Days::days(30));
            let mut day = first;
            while day <= last_due {
                if let Some(b) = self
                    .close_in_job(city.clone(), day, SCHEDULE.into(), true)
                    .await?
                {
                    closed.push(b);
                }
                day = match day.succ_opt() {
                    Some(d) => d,
                    None => break,
                };
            }
            // Late items of days already closed: one more batch per such day (until none left).
            let (c3, before) = (
                code.clone(),
                last_due.succ_opt().unwrap_or(last_due).to_string(),
            );
            let late = self
                .db
                .read(move |c| -> Result<Vec<String>, finepay_store::StoreError> {
                    let mut days = repo::days_with_unsettled(c, &c3, &before)?;
                    for at in repo::unsettled_refund_times(c, &c3)? {
                        if let Some(t) = finepay_store::parse_time(&at) {
                            let d = finepay_store::repo::payments::business_date_of(t);
                            if d < before {
                                days.push(d);
                            }
                        }
                    }
                    days.sort();
                    days.dedup();
                    Ok(days)
                })
                .await?;
            for d in late.iter().filter_map(|d| d.parse::<NaiveDate>().ok()) {
                let batch = self
                    .close_in_job(city.clone(), d, SCHEDULE.into(), false)
                    .await?;
                closed.extend(batch);
            }
        }
        Ok(closed)
    }
}
