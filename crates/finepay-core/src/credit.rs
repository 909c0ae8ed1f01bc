//! The credit line (Huabei-style): statements computed from the postings on the user's credit
//! account, repayments from the balance or a card, and the rule that an overdue statement blocks
//! new credit charges.
//!
//! A statement covers the charges and refunds of one calendar month (Asia/Shanghai); it is issued on
//! the statement day of the next month and due on its due day (defaults 1st and 10th). Repayments
//! and refunds pay the oldest debt first: a statement's outstanding amount is what is left of its
//! charges after all repayments and refunds so far have been applied to it and every earlier one.

use crate::books::{self, Terms};
use crate::card::{CardDesk, Charge};
use crate::idempotency::{replay_if_known, IdempotencyKey, Reply};
use crate::{new_id, CoreError};
use chrono::{Datelike, NaiveDate};
use finepay_domain::statement::{self, StatementDays, StatementStatus};
use finepay_domain::{ledger, ChargeStatus, Fen, PayMethodKind, TxKind};
use finepay_store::repo::credit::{self, CreditPosting, RepaymentRow};
use finepay_store::repo::users;
use finepay_store::{Db, Sql};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct StatementLine {
    pub at: String,
    pub kind: StatementLineKind,
    pub amount: i64,
    /// The payment charged or refunded, or the repayment.
    pub reference: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct StatementView {
    /// `YYYY-MM`: the month whose charges it lists.
    pub month: String,
    pub statement_date: String,
    pub due_date: String,
    pub charges: i64,
    pub refunds: i64,
    /// Charges less refunds: what the statement asks for.
    pub new_balance: i64,
    /// What is left of its charges after repayments and refunds (oldest debt first).
    pub outstanding: i64,
    /// `open`, `issued`, `paid` or `overdue`.
    #[serde(with = "crate::views::named")]
    #[schema(schema_with = crate::views::named_schema::<StatementStatus>)]
    pub status: StatementStatus,
    pub currency: String,
    pub lines: Vec<StatementLine>,
}

/// What a statement line is.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatementLineKind {
    Charge,
    Refund,
    Repayment,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RepaymentSourceView {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last4: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RepaymentView {
    pub id: String,
    /// `processing`, `succeeded` or `failed`.
    pub status: String,
    pub amount: i64,
    pub currency: String,
    pub source: RepaymentSourceView,
    pub created_at: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RepaymentSource {
    Balance,
    Card { card_id: String },
}

impl RepaymentSource {
    /// The `source` object of `POST /api/v1/credit/repayments`.
    pub fn request_json(&self) -> serde_json::Value {
        match self {
            RepaymentSource::Card { card_id } => {
                serde_json::json!({ "type": PayMethodKind::Card.as_str(), "card_id": card_id })
            }
            RepaymentSource::Balance => {
                serde_json::json!({ "type": PayMethodKind::Balance.as_str() })
            }
        }
    }
}

pub(crate) fn shanghai_date(t: chrono::DateTime<chrono::Utc>) -> NaiveDate {
    t.with_timezone(&chrono_tz::Asia::Shanghai).date_naive()
}

/// Builds every statement from the credit account's postings (oldest month first). Pure.
pub fn statements(
    postings: &[CreditPosting],
    today: NaiveDate,
    days: StatementDays,
) -> Vec<StatementView> {
    // Repayments and refunds both pay debt back, oldest first: a refund in a later month must clear
    // the charge it reverses wherever that charge was billed.
    let paid: i64 = postings
        .iter()
        .filter(|p| matches!(p.kind, TxKind::CreditRepayment | TxKind::Refund))
        .map(|p| p.amount.fen())
        .sum();
    let mut months: Vec<((i32, u32), Vec<&CreditPosting>)> = Vec::new();
    for p in postings {
        let date = shanghai_date(p.created_at);
        let key = (date.year(), date.month());
        match months.last_mut() {
            Some((k, lines)) if *k == key => lines.push(p),
            _ => months.push((key, vec![p])),
        }
    }
    let mut charged_through = 0i64;
    months
        .into_iter()
        .map(|((year, month), ps)| {
            let charges: i64 = ps
                .iter()
                .filter(|p| p.kind == TxKind::Payment)
                .map(|p| -p.amount.fen())
                .sum();
            let refunds: i64 = ps
                .iter()
                .filter(|p| p.kind == TxKind::Refund)
                .map(|p| p.amount.fen())
                .sum();
            let new_balance = charges - refunds;
            charged_through += charges;
            let outstanding = statement::outstanding(charges, charged_through, paid);
            let (statement_date, due_date) = days.dates_of(year, month);
            let status = statement::status_on(today, (statement_date, due_date), outstanding);
            StatementView {
                month: format!("{year:04}-{month:02}"),
                statement_date: statement_date.to_string(),
                due_date: due_date.to_string(),
                charges,
                refunds,
                new_balance,
                outstanding,
                status,
                currency: "CNY".into(),
                lines: ps
                    .iter()
                    .map(|p| StatementLine {
                        at: finepay_store::time_text(p.created_at),
                        kind: match p.kind {
                            TxKind::Payment => StatementLineKind::Charge,
                            TxKind::Refund => StatementLineKind::Refund,
                            // A settlement never posts to a credit line; if one did, it would
                            // show as money in.
                            TxKind::CreditRepayment | TxKind::TopUp | TxKind::Settlement => {
                                StatementLineKind::Repayment
                            }
                        },
                        amount: p.amount.fen().abs(),
                        reference: p.reference.clone(),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// True when a statement of this user is past due and not repaid (checked in the writer job).
pub(crate) fn is_overdue(
    c: &dyn Sql,
    user_id: &str,
    days: StatementDays,
    today: NaiveDate,
) -> Result<bool, CoreError> {
    let postings = credit::postings(
        c,
        &finepay_domain::Account::UserCreditReceivable(user_id.to_string()).key(),
    )?;
    Ok(statements(&postings, today, days)
        .iter()
        .any(|s| s.status == StatementStatus::Overdue))
}

/// The credit line: its statements and repayments.
#[derive(Clone)]
pub struct Credit {
    db: Db,
    desk: CardDesk,
    terms: Terms,
}

impl Credit {
    pub(crate) fn new(db: Db, desk: CardDesk, terms: Terms) -> Credit {
        Credit { db, desk, terms }
    }

    pub async fn statements(&self, user_id: &str) -> Result<Vec<StatementView>, CoreError> {
        let key = finepay_domain::Account::UserCreditReceivable(user_id.to_string()).key();
        let postings = self.db.read(move |c| credit::postings(c, &key)).await?;
        let mut list = statements(
            &postings,
            self.db.clock().today_in_china(),
            self.terms.statement_days,
        );
        list.reverse();
        Ok(list)
    }

    pub async fn statement(&self, user_id: &str, month: &str) -> Result<StatementView, CoreError> {
        self.statements(user_id)
            .await?
            .into_iter()
            .find(|s| s.month == month)
            .ok_or(CoreError::NotFound(
                "no statement for this month (YYYY-MM) on your credit line",
            ))
    }

    /// Repays the credit line from the balance (one writer job) or a card (charged between two).
    pub async fn repay(
        &self,
        user_id: &str,
        idem: IdempotencyKey,
        amount: Fen,
        source: RepaymentSource,
    ) -> Result<Reply, CoreError> {
        if let Some(reply) = replay_if_known(&self.db, user_id, &idem).await? {
            return Ok(reply);
        }
        let card = match &source {
            RepaymentSource::Card { card_id } => {
                let (uid, cid) = (user_id.to_string(), card_id.clone());
                Some(
                    self.db
                        .read(move |c| users::find_card(c, &uid, &cid))
                        .await?
                        .ok_or_else(|| {
                            CoreError::invalid(
                                "source.card_id",
                                "no linked card with this id; link it with POST /api/v1/cards",
                            )
                        })?,
                )
            }
            RepaymentSource::Balance => None,
        };
        let now = self.db.clock().now();
        let id = new_id("rpy");
        let row = RepaymentRow {
            id: id.clone(),
            user_id: user_id.to_string(),
            amount,
            source: if card.is_some() {
                PayMethodKind::Card
            } else {
                PayMethodKind::Balance
            },
            card_id: card.as_ref().map(|c| c.id.clone()),
            card_last4: card.as_ref().map(|c| c.last4.clone()),
            status: ChargeStatus::Processing,
            bank_reference: card.as_ref().map(|_| id.clone()),
            failure_reason: None,
            ledger_tx_id: None,
            idempotency_key: Some(idem.key.clone()),
            created_at: now,
            updated_at: now,
        };
        let charge = RepaymentCharge {
            row,
            bank_code: self.terms.bank_code.clone(),
        };
        match card {
            None => self.desk.settle_at_once(charge, idem).await,
            Some(card) => {
                self.desk
                    .charge_linked_card(charge, idem, &card.card_token)
                    .await
            }
        }
    }

    /// Card repayments left `processing` since before `older_than`, as charges to resolve.
    pub(crate) async fn repayments_left_processing(
        &self,
        older_than: &str,
    ) -> Result<Vec<Box<dyn Charge>>, CoreError> {
        let cutoff = older_than.to_string();
        let bank_code = self.terms.bank_code.clone();
        Ok(self
            .db
            .read(move |c| credit::processing_repayments(c, &cutoff))
            .await?
            .into_iter()
            .map(|row| {
                Box::new(RepaymentCharge {
                    row,
                    bank_code: bank_code.clone(),
                }) as Box<dyn Charge>
            })
            .collect())
    }
}

/// A repayment as the card module charges (or, from the balance, settles) it.
#[derive(Clone)]
struct RepaymentCharge {
    row: RepaymentRow,
    bank_code: String,
}

impl Charge for RepaymentCharge {
    fn user_id(&self) -> &str {
        &self.row.user_id
    }

    fn idempotency_key(&self) -> Option<&str> {
        self.row.idempotency_key.as_deref()
    }

    fn created_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.row.created_at
    }

    fn reference(&self) -> &str {
        self.row.bank_reference.as_deref().unwrap_or(&self.row.id)
    }

    fn amount(&self) -> i64 {
        self.row.amount.fen()
    }

    /// More than is owed (less card repayments already under way: they hold their amount until
    /// the bank answers, so two repayments at once can never repay more than the debt), or, from
    /// the balance, more than the balance: refused.
    fn refusal(&self, c: &dyn Sql) -> Result<Option<CoreError>, CoreError> {
        let row = &self.row;
        let owed = owed_less_pending(c, &row.user_id)?;
        if row.amount.fen() > owed {
            return Ok(Some(CoreError::invalid(
                "amount",
                format!("you owe {owed} fen on your credit line; repay at most that"),
            )));
        }
        if row.source == PayMethodKind::Balance {
            let balance = books::wallet_balance(c, &row.user_id, true)?;
            if balance < row.amount.fen() {
                return Ok(Some(CoreError::InsufficientFunds {
                    balance,
                    amount: row.amount.fen(),
                }));
            }
        }
        Ok(None)
    }

    fn insert_processing(&self, c: &dyn Sql) -> Result<(), CoreError> {
        Ok(credit::insert_repayment(c, &self.row)?)
    }

    fn succeed(&self, c: &dyn Sql, now: &str) -> Result<Reply, CoreError> {
        let row = &self.row;
        let amount = row.amount;
        let tx = match row.source {
            PayMethodKind::Card => ledger::credit_repayment(&row.user_id, &self.bank_code, amount),
            PayMethodKind::Balance | PayMethodKind::Credit => {
                ledger::repay_credit_from_balance(&row.user_id, amount)
            }
        }
        .map_err(|e| CoreError::Internal(e.to_string()))?;
        let tx_id = books::post(c, &tx, &row.id, now)?;
        if !credit::mark_repayment_succeeded(c, &row.id, &tx_id, now)? {
            return Err(CoreError::Internal(format!(
                "repayment {} was not processing",
                row.id
            )));
        }
        Ok(Reply::created(body(row, ChargeStatus::Succeeded)))
    }

    fn fail(&self, c: &dyn Sql, reason: &str, now: &str) -> Result<bool, CoreError> {
        Ok(credit::mark_repayment_failed(c, &self.row.id, reason, now)?)
    }

    fn given_up(&self, c: &dyn Sql) -> Result<bool, CoreError> {
        Ok(credit::repayment_status(c, &self.row.id)? == Some(ChargeStatus::Failed))
    }

    fn processing_reply(&self) -> Reply {
        Reply::created(body(&self.row, ChargeStatus::Processing))
    }

    fn what(&self) -> &'static str {
        "repayment"
    }

    fn note_asked(&self, c: &dyn Sql, now: &str) -> Result<(), CoreError> {
        Ok(credit::note_asked(c, &self.row.id, now)?)
    }
}

/// The user's credit debt less repayments still `processing` (locks the credit account on PostgreSQL).
pub(crate) fn owed_less_pending(c: &dyn Sql, user_id: &str) -> Result<i64, CoreError> {
    let owed = books::credit_owed(c, user_id, true)?;
    Ok((owed - credit::processing_total(c, user_id)?).max(0))
}

fn body(row: &RepaymentRow, status: ChargeStatus) -> String {
    serde_json::to_string(&RepaymentView {
        id: row.id.clone(),
        status: status.as_str().into(),
        amount: row.amount.fen(),
        currency: "CNY".into(),
        source: RepaymentSourceView {
            kind: row.source.as_str().into(),
            last4: row.card_last4.clone(),
        },
        created_at: finepay_store::time_text(row.created_at),
    })
    .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn p(kind: &str, at: &str, amount: i64) -> CreditPosting {
        CreditPosting {
            transaction_id: "t".into(),
            kind: TxKind::parse(kind).unwrap(),
            reference: "r".into(),
            created_at: finepay_store::parse_time(at).unwrap(),
            amount: Fen::from_fen(amount),
        }
    }

    const DAYS: StatementDays = StatementDays {
        statement_day: 1,
        due_day: 10,
    };

    #[test]
    fn a_month_with_three_charges_and_a_refund_totals_them() {
        let ps = [
            p("payment", "2026-10-03T02:00:00.000Z", -20_000),
            p("payment", "2026-10-09T02:00:00.000Z", -20_600),
            p("payment", "2026-10-20T02:00:00.000Z", -5_000),
            p("refund", "2026-10-21T02:00:00.000Z", 20_000),
        ];
        let s = &statements(&ps, NaiveDate::from_ymd_opt(2026, 11, 5).unwrap(), DAYS)[0];
        assert_eq!(
            (s.month.as_str(), s.charges, s.refunds, s.new_balance),
            ("2026-10", 45_600, 20_000, 25_600)
        );
        assert_eq!(s.lines.len(), 4);
        assert_eq!(
            (s.statement_date.as_str(), s.due_date.as_str()),
            ("2026-11-01", "2026-11-10")
        );
        assert_eq!(s.status, StatementStatus::Issued);
        let later = &statements(&ps, NaiveDate::from_ymd_opt(2026, 11, 11).unwrap(), DAYS)[0];
        assert_eq!(later.status, StatementStatus::Overdue);
    }

    #[test]
    fn a_charge_just_after_midnight_in_shanghai_belongs_to_the_new_month() {
        // 2026-10-31T16:30Z is 00:30 on 1 November in Shanghai.
        let ps = [p("payment", "2026-10-31T16:30:00.000Z", -100)];
        assert_eq!(
            statements(&ps, NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(), DAYS)[0].month,
            "2026-11"
        );
    }

    #[test]
    fn a_refund_in_a_later_month_clears_the_charge_it_reverses() {
        let ps = [
            p("payment", "2026-10-20T02:00:00.000Z", -20_000),
            p("refund", "2026-11-03T02:00:00.000Z", 20_000),
        ];
        let list = statements(&ps, NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(), DAYS);
        assert_eq!(
            (list[0].outstanding, list[0].status),
            (0, StatementStatus::Paid)
        );
    }

    #[test]
    fn repayments_pay_the_oldest_statement_first() {
        let ps = [
            p("payment", "2026-09-10T02:00:00.000Z", -10_000),
            p("payment", "2026-10-10T02:00:00.000Z", -7_000),
            p("credit_repayment", "2026-10-12T02:00:00.000Z", 12_000),
        ];
        let list = statements(&ps, NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(), DAYS);
        assert_eq!(
            (list[0].outstanding, list[0].status),
            (0, StatementStatus::Paid)
        );
        assert_eq!(
            (list[1].outstanding, list[1].status),
            (5_000, StatementStatus::Overdue)
        );
    }
}
