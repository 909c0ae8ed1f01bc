//! The authority's books as the platform's reconciliation and settlement see them: a day's
//! records in pages, the settlement files it checks against them, and (SPEC §4 `tamper`) ways to
//! make them wrong on purpose.

use super::{store, SandboxAuthority, SandboxError};
use chrono::{NaiveDate, Utc};
use finepay_authority::protocol::{AcceptedNotice, NoticePage, SettlementFile, SettlementVerdict};
use rusqlite::TransactionBehavior;
use sha2::{Digest, Sha256};

/// How `tamper` corrupts a paid decision's payment record (SPEC §4).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Tamper {
    /// Drop the record: the decision shows unpaid, as if the notice had been lost.
    Forget,
    /// Record the same payment a second time.
    Duplicate,
    /// Change the recorded amount.
    SetAmount(i64),
}

/// The header line of a settlement file (the protocol's).
pub use finepay_authority::SETTLEMENT_CSV_HEADER as SETTLEMENT_HEADER;

impl SandboxAuthority {
    /// One page of a city's records of payments made on `date`, by payment id after `after`.
    pub fn notice_page(
        &self,
        city: &str,
        date: NaiveDate,
        after: &str,
        limit: u32,
    ) -> Result<NoticePage, SandboxError> {
        self.authority_city(city)?;
        let limit = limit.clamp(1, finepay_authority::MAX_NOTICES_PER_PAGE);
        let (rows, more) = store::notices_page(&self.conn(), city, date, after, limit)?;
        let next_after = if more {
            rows.last().map(|r| r.payment_id.clone())
        } else {
            None
        };
        let notices = rows
            .into_iter()
            .map(|row| {
                Ok(AcceptedNotice {
                    paid_at: store::parse_time(&row.paid_at)?,
                    accepted_at: store::parse_time(&row.accepted_at)?,
                    payment_id: row.payment_id,
                    decision_number: row.decision_number,
                    amount_fen: row.amount_fen,
                })
            })
            .collect::<Result<Vec<_>, SandboxError>>()?;
        Ok(NoticePage {
            city_code: city.to_owned(),
            date,
            notices,
            next_after,
        })
    }

    /// Corrupt the payment record of a paid decision (SPEC §4); a decision that is not paid
    /// has no payment record to corrupt.
    pub fn tamper(&self, number: &str, how: Tamper) -> Result<(), SandboxError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if store::find_decision(&tx, number)?.is_none() {
            return Err(SandboxError::NotFound {
                what: "decision",
                id: number.to_owned(),
            });
        }
        let done = match how {
            Tamper::Forget => store::forget_payment(&tx, number)?,
            Tamper::Duplicate => store::duplicate_payment(&tx, number)?,
            Tamper::SetAmount(amount) => store::set_paid_amount(&tx, number, amount)?,
        };
        if !done {
            return Err(SandboxError::NotPaid(number.to_owned()));
        }
        tx.commit()?;
        tracing::info!(
            decision_number = number,
            ?how,
            "sandbox authority books tampered"
        );
        Ok(())
    }

    /// Check a settlement file against the authority's own records: its SHA-256, its lines
    /// (each payment a notice this city accepted, same decision and amount; each refund of a
    /// decision since revoked), its totals line, its count and net. A batch sent again is
    /// answered as the first time.
    pub fn receive_settlement(
        &self,
        city: &str,
        file: &SettlementFile,
    ) -> Result<SettlementVerdict, SandboxError> {
        self.authority_city(city)?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some((result, problems)) = store::settlement_verdict(&tx, &file.batch_id)? {
            let problems = serde_json::from_str(&problems)
                .map_err(|e| SandboxError::Corrupt(format!("settlement problems: {e}")))?;
            return Ok(SettlementVerdict { result, problems });
        }
        let (problems, lines) = check_file(&tx, city, file)?;
        if problems.is_empty() {
            for (kind, payment_id) in &lines {
                store::insert_settled(&tx, kind, payment_id, &file.batch_id)?;
            }
        }
        let result = if problems.is_empty() {
            "accepted"
        } else {
            "refused"
        };
        let problems_json = serde_json::to_string(&problems)
            .map_err(|e| SandboxError::Corrupt(format!("settlement problems: {e}")))?;
        store::insert_settlement(
            &tx,
            &store::SettlementRow {
                batch_id: &file.batch_id,
                city_code: city,
                date: file.date,
                net_fen: file.net_fen,
                sha256: &file.sha256,
                result,
                problems_json: &problems_json,
            },
            Utc::now(),
        )?;
        tx.commit()?;
        tracing::info!(city_code = city, batch_id = %file.batch_id, result, problems = problems.len(), "sandbox authority checked a settlement file");
        Ok(SettlementVerdict {
            result: result.to_owned(),
            problems,
        })
    }
}

/// A (kind, payment id) line of a settlement file.
type SettledLine = (String, String);

/// What in a settlement file disagrees with the records (at most 20 named), and its lines.
fn check_file(
    conn: &rusqlite::Connection,
    city: &str,
    file: &SettlementFile,
) -> Result<(Vec<String>, Vec<SettledLine>), SandboxError> {
    let mut lines_seen: Vec<SettledLine> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    const MOST: usize = 20;
    let mut problems = Vec::new();
    let mut note = |p: String| {
        if problems.len() < MOST {
            problems.push(p);
        }
    };
    let digest = hex::encode(Sha256::digest(file.csv.as_bytes()));
    if digest != file.sha256 {
        note(format!(
            "sha256 is {digest}, the batch says {}",
            file.sha256
        ));
    }
    let mut lines = file.csv.lines();
    if lines.next() != Some(SETTLEMENT_HEADER) {
        note(format!("the first line is not {SETTLEMENT_HEADER:?}"));
    }
    let (mut count, mut net, mut totals) = (0u64, 0i64, None);
    for (i, line) in lines.enumerate() {
        let at = i + 2;
        let fields: Vec<&str> = line.split(',').collect();
        if totals.is_some() {
            note(format!("line {at}: after the totals line"));
            continue;
        }
        let [kind, payment_id, number, amount, _time] = fields[..] else {
            note(format!("line {at}: not 5 fields"));
            continue;
        };
        let Ok(amount) = amount.parse::<i64>() else {
            note(format!("line {at}: amount {amount:?} is not fen"));
            continue;
        };
        if kind == "totals" {
            totals = Some((payment_id.parse::<u64>().ok(), amount));
            continue;
        }
        count += 1;
        net = net.saturating_add(amount);
        if !seen.insert((kind.to_owned(), payment_id.to_owned())) {
            note(format!(
                "line {at}: {kind} of {payment_id} twice in this file"
            ));
            continue;
        }
        if let Some(earlier) = store::settled_in(conn, kind, payment_id)? {
            if earlier != file.batch_id {
                note(format!(
                    "line {at}: {kind} of {payment_id} was settled in {earlier}"
                ));
                continue;
            }
        }
        lines_seen.push((kind.to_owned(), payment_id.to_owned()));
        let record = store::notice_of_payment(conn, payment_id)?;
        match (kind, record) {
            (_, None) => note(format!("line {at}: no payment {payment_id} on record")),
            (_, Some((recorded, code, _, _))) if recorded != number || code != city => note(
                format!("line {at}: payment {payment_id} paid {recorded} in {code}, not {number}"),
            ),
            ("payment", Some((_, _, recorded, _))) if recorded != amount => note(format!(
                "line {at}: payment {payment_id} recorded as {recorded} fen, not {amount}"
            )),
            ("payment", Some((_, _, _, paid_on))) if paid_on != file.date.to_string() => {
                note(format!(
                    "line {at}: payment {payment_id} was paid on {paid_on}, not {}",
                    file.date
                ))
            }
            ("refund", Some((_, _, recorded, _))) => {
                let revoked = store::find_decision(conn, number)?
                    .is_some_and(|d| d.status == finepay_authority::RecordStatus::Revoked);
                if recorded != -amount {
                    note(format!(
                        "line {at}: refund of {payment_id} for {amount} fen, it paid {recorded}"
                    ));
                } else if !revoked {
                    note(format!(
                        "line {at}: refund of {number}, which is not revoked"
                    ));
                }
            }
            ("payment", _) => {}
            (other, _) => note(format!("line {at}: unknown kind {other:?}")),
        }
    }
    match totals {
        None => note("no totals line".to_owned()),
        Some((lines_said, net_said)) => {
            if lines_said != Some(count) || count != file.count {
                note(format!(
                    "{count} lines, the totals line says {lines_said:?} and the batch {}",
                    file.count
                ));
            }
            if net_said != net || net != file.net_fen {
                note(format!(
                    "the lines net {net} fen, the totals line says {net_said} and the batch {}",
                    file.net_fen
                ));
            }
        }
    }
    Ok((problems, lines_seen))
}
