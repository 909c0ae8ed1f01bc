//! Paying a penalty decision (DESIGN "A payment, step by step").
//!
//! Balance and credit payments are one writer job: claim the idempotency key, check that the
//! decision has no live payment, check funds, post the ledger transaction, insert the payment, its
//! signed receipt and its outbox notice, store the response — one commit. Card payments are two:
//! a `processing` row first (holding the decision and the key), the bank charged with the payment id
//! as its reference, then the outcome in a second job. A timeout is settled by asking the bank.

use crate::books::{self, Terms};
use crate::card::{CardDesk, Charge};
use crate::decisions::Decisions;
use crate::idempotency::{replay_if_known, IdempotencyKey, Outcome, Reply};
use crate::outbox::Message;
use crate::ratelimit::RateLimiter;
use crate::receipts::Receipts;
use crate::receipts::SignedReceipt;
use crate::views::PaymentView;
use crate::{new_id, Authorities, CoreError};
use finepay_authority::PaymentNotice;
use finepay_domain::{
    ledger, AuthoritySync, CityCode, DecisionNumber, DecisionStatus, Fen, LedgerTransaction,
    PayMethodKind, PaymentStatus, Plate,
};
use finepay_store::repo::payments::PaymentRow;
use finepay_store::repo::{decisions, payments, receipts, users};
use finepay_store::{Db, Sql};
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PayMethod {
    Balance,
    Credit,
    Card { card_id: String },
}

impl PayMethod {
    pub fn kind(&self) -> PayMethodKind {
        match self {
            PayMethod::Balance => PayMethodKind::Balance,
            PayMethod::Credit => PayMethodKind::Credit,
            PayMethod::Card { .. } => PayMethodKind::Card,
        }
    }

    /// The `method` object of `POST /api/v1/payments` (what a form's idempotency key fingerprints).
    pub fn request_json(&self) -> serde_json::Value {
        match self {
            PayMethod::Card { card_id } => {
                serde_json::json!({ "type": self.kind().as_str(), "card_id": card_id })
            }
            _ => serde_json::json!({ "type": self.kind().as_str() }),
        }
    }
}

#[derive(Clone, Debug)]
pub struct PayRequest {
    pub decision_number: DecisionNumber,
    pub amount: Fen,
    pub confirm_plate: Plate,
    pub method: PayMethod,
}

/// A plate as a person typed it, or `invalid_plate` saying what is wrong (for the edges).
pub fn parse_plate(raw: &str) -> Result<Plate, CoreError> {
    Plate::parse(raw).map_err(|e| CoreError::InvalidPlate(e.to_string()))
}

impl PayRequest {
    /// A payment request from what the payer typed: the decision number and the plate parsed
    /// here, at the edge, so that the use case works on checked values only.
    pub fn parse(
        decision_number: &str,
        amount: Fen,
        confirm_plate: &str,
        method: PayMethod,
    ) -> Result<PayRequest, CoreError> {
        let decision_number = DecisionNumber::parse(decision_number).map_err(|e| {
            CoreError::InvalidDecisionNumber(crate::NumberProblem::Shape(e).to_string())
        })?;
        let confirm_plate = parse_plate(confirm_plate)?;
        Ok(PayRequest {
            decision_number,
            amount,
            confirm_plate,
            method,
        })
    }
}

/// Everything a writer job needs to finish a payment, prepared outside the writer: the card
/// module's [`Charge`] for a payment.
#[derive(Clone)]
struct PaymentCharge {
    payment: PaymentRow,
    receipt: SignedReceipt,
    ledger_tx: LedgerTransaction,
    notice: PaymentNotice,
    credit_limit: i64,
    statement_days: finepay_domain::StatementDays,
}

/// Paying penalty decisions, and the user's payments.
#[derive(Clone)]
pub struct Payments {
    db: Db,
    authorities: Arc<Authorities>,
    decisions: Decisions,
    receipts: Receipts,
    desk: CardDesk,
    limiter: Arc<RateLimiter>,
    terms: Terms,
}

impl Payments {
    pub(crate) fn new(
        db: Db,
        authorities: Arc<Authorities>,
        decisions: Decisions,
        receipts: Receipts,
        desk: CardDesk,
        limiter: Arc<RateLimiter>,
        terms: Terms,
    ) -> Payments {
        Payments {
            db,
            authorities,
            decisions,
            receipts,
            desk,
            limiter,
            terms,
        }
    }

    /// Pays a decision for `user_id`, asking from `client` (an address: the guessing limits of
    /// lookups apply, since the answer tells whether a number exists).
    pub async fn pay(
        &self,
        user_id: &str,
        client: &str,
        idem: IdempotencyKey,
        req: PayRequest,
    ) -> Result<Reply, CoreError> {
        if let Some(reply) = replay_if_known(&self.db, user_id, &idem).await? {
            return Ok(reply);
        }
        let method = req.method.kind().as_str();
        let fresh = self.pay_fresh(user_id, client, &idem, req).await;
        // `finepay_payments_total{method,outcome}`: each payment asked for once (replays are not
        // counted), by what it came to: succeeded, processing (the bank's answer in doubt), or
        // the error code it was refused with.
        let outcome = match &fresh {
            Ok(reply) => match reply.outcome {
                Outcome::Created if reply.body.contains("\"status\":\"processing\"") => {
                    "processing"
                }
                Outcome::Created => "succeeded",
                Outcome::Refused(code) => code.as_str(),
            },
            Err(e) => e.code().as_str(),
        };
        metrics::counter!("finepay_payments_total", "method" => method, "outcome" => outcome)
            .increment(1);
        match fresh {
            Ok(reply) => Ok(reply),
            // A request with the same key may have finished meanwhile (e.g. it paid the decision
            // this one now sees as paid): its answer wins.
            Err(e) => match replay_if_known(&self.db, user_id, &idem).await? {
                Some(reply) => Ok(reply),
                None => Err(e),
            },
        }
    }

    async fn pay_fresh(
        &self,
        user_id: &str,
        client: &str,
        idem: &IdempotencyKey,
        req: PayRequest,
    ) -> Result<Reply, CoreError> {
        let idem = idem.clone();
        // Paying looks the decision up too: the same limit applies, against guessing numbers.
        self.limiter.admit(user_id, client)?;
        let number = req.decision_number.clone();
        let route = self.authorities.route_parsed(&number)?;
        let plate = &req.confirm_plate;
        let current = match self.decisions.current_decision(&number, route).await {
            Err(CoreError::DecisionNotFound) => {
                self.limiter.charge_failure(user_id, client);
                return Err(CoreError::DecisionNotFound);
            }
            other => other?,
        };
        match current.row.status {
            DecisionStatus::Paid => return Err(CoreError::DecisionAlreadyPaid),
            DecisionStatus::Revoked => return Err(CoreError::DecisionRevoked),
            DecisionStatus::Unpaid => {}
        }
        if plate.as_str() != current.row.plate {
            // A wrong plate for a number that exists is a guess as well.
            self.limiter.charge_failure(user_id, client);
            return Err(CoreError::PlateMismatch);
        }
        if req.amount != current.charges.amount_due {
            return Err(CoreError::AmountChanged {
                stated: req.amount.fen(),
                now_due: current.charges.amount_due.fen(),
            });
        }
        let uid = user_id.to_string();
        let user = self
            .db
            .read(move |c| users::find_user(c, &uid))
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        let card = match &req.method {
            PayMethod::Card { card_id } => {
                let (uid, cid) = (user_id.to_string(), card_id.clone());
                let card = self
                    .db
                    .read(move |c| users::find_card(c, &uid, &cid))
                    .await?;
                Some(card.ok_or_else(|| {
                    CoreError::invalid(
                        "method.card_id",
                        "no linked card with this id; link it with POST /api/v1/cards",
                    )
                })?)
            }
            _ => None,
        };
        let now = self.db.clock().now();
        let id = new_id("pay");
        let payment = PaymentRow {
            id: id.clone(),
            user_id: user_id.to_string(),
            decision_number: number.as_str().to_string(),
            city_code: current.row.city_code.clone(),
            amount: current.charges.amount_due,
            fine: current.charges.fine,
            late_fee: current.charges.late_fee,
            method: req.method.kind(),
            card_id: card.as_ref().map(|c| c.id.clone()),
            card_last4: card.as_ref().map(|c| c.last4.clone()),
            bank_reference: card.as_ref().map(|_| id.clone()),
            status: PaymentStatus::Processing,
            failure_reason: None,
            ledger_tx_id: None,
            receipt_id: None,
            authority_status: AuthoritySync::Pending,
            authority_confirmed_at: None,
            authority_reason: None,
            idempotency_key: Some(idem.key.clone()),
            created_at: now,
            updated_at: now,
            refund_receipt_id: None,
        };
        let city =
            CityCode::parse(&payment.city_code).map_err(|e| CoreError::Internal(e.to_string()))?;
        let amount = current.charges.amount_due;
        let ledger_tx = match &req.method {
            PayMethod::Balance => ledger::pay_from_balance(user_id, &city, amount),
            PayMethod::Credit => ledger::pay_by_credit(user_id, &city, amount),
            PayMethod::Card { .. } => ledger::pay_by_card(&self.terms.bank_code, &city, amount),
        }
        .map_err(|e| CoreError::Internal(e.to_string()))?;
        let charge = self.prepare_charge(payment, &user.name, ledger_tx)?;
        match card {
            None => self.desk.settle_at_once(charge, idem).await,
            Some(card) => {
                self.desk
                    .charge_linked_card(charge, idem, &card.card_token)
                    .await
            }
        }
    }

    fn prepare_charge(
        &self,
        payment: PaymentRow,
        payer_name: &str,
        ledger_tx: LedgerTransaction,
    ) -> Result<PaymentCharge, CoreError> {
        let receipt = self.receipts.sign(&payment, payer_name)?;
        let notice = PaymentNotice {
            payment_id: payment.id.clone(),
            decision_number: payment.decision_number.clone(),
            amount_fen: payment.amount.fen(),
            // When the payer paid, not when it settled: the authority prices the late fee by it.
            paid_at: payment.created_at,
        };
        Ok(PaymentCharge {
            payment,
            receipt,
            ledger_tx,
            notice,
            credit_limit: self.terms.credit_limit,
            statement_days: self.terms.statement_days,
        })
    }

    /// Card payments left `processing` since before `older_than`, as charges to resolve.
    pub(crate) async fn left_processing(
        &self,
        older_than: &str,
    ) -> Result<Vec<Box<dyn Charge>>, CoreError> {
        let cutoff = older_than.to_string();
        let rows = self
            .db
            .read(move |c| payments::processing_card_payments(c, &cutoff))
            .await?;
        let mut charges: Vec<Box<dyn Charge>> = Vec::with_capacity(rows.len());
        for row in rows {
            let uid = row.user_id.clone();
            let user = self.db.read(move |c| users::find_user(c, &uid)).await?;
            let payer = user.map(|u| u.name).unwrap_or_default();
            let city =
                CityCode::parse(&row.city_code).map_err(|e| CoreError::Internal(e.to_string()))?;
            let tx = ledger::pay_by_card(&self.terms.bank_code, &city, row.amount)
                .map_err(|e| CoreError::Internal(e.to_string()))?;
            charges.push(Box::new(self.prepare_charge(row, &payer, tx)?));
        }
        Ok(charges)
    }

    pub async fn get(&self, user_id: &str, id: &str) -> Result<PaymentView, CoreError> {
        let id = id.to_string();
        match self
            .db
            .read(move |c| payments::find_payment(c, &id))
            .await?
        {
            Some(p) if p.user_id == user_id => Ok(PaymentView::from_row(&p)),
            _ => Err(CoreError::NotFound(
                "no payment with this id among your payments",
            )),
        }
    }

    /// The user's payments, newest first, `limit` per page; the cursor is the last id of a page.
    pub async fn list(
        &self,
        user_id: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<PaymentView>, Option<String>), CoreError> {
        let uid = user_id.to_string();
        let cursor = cursor.map(str::to_string);
        let limit = limit.clamp(1, 100);
        let rows = self
            .db
            .read(move |c| {
                let before = match cursor {
                    Some(id) => {
                        match payments::find_payment(c, &id)?.filter(|p| p.user_id == uid) {
                            Some(p) => Some((finepay_store::time_text(p.created_at), p.id)),
                            // A cursor that is not one of ours would restart the list: refuse it.
                            None => return Ok(None),
                        }
                    }
                    None => None,
                };
                payments::list_payments(
                    c,
                    &uid,
                    before.as_ref().map(|(a, b)| (a.as_str(), b.as_str())),
                    limit,
                )
                .map(Some)
            })
            .await?
            .ok_or_else(|| {
                CoreError::invalid(
                    "cursor",
                    "this cursor is not from your payment list; start without one",
                )
            })?;
        let next = if rows.len() == limit as usize {
            rows.last().map(|p| p.id.clone())
        } else {
            None
        };
        Ok((rows.iter().map(PaymentView::from_row).collect(), next))
    }
}

impl Charge for PaymentCharge {
    fn user_id(&self) -> &str {
        &self.payment.user_id
    }

    fn idempotency_key(&self) -> Option<&str> {
        self.payment.idempotency_key.as_deref()
    }

    fn created_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.payment.created_at
    }

    fn reference(&self) -> &str {
        self.payment
            .bank_reference
            .as_deref()
            .unwrap_or(&self.payment.id)
    }

    fn amount(&self) -> i64 {
        self.payment.amount.fen()
    }

    /// A revoked decision, one that already has a live payment, or (balance, credit) too little
    /// money: refused.
    fn refusal(&self, c: &dyn Sql) -> Result<Option<CoreError>, CoreError> {
        let p = &self.payment;
        let revoked = decisions::find_decision(c, &p.decision_number)?
            .is_some_and(|d| d.status == DecisionStatus::Revoked);
        if revoked {
            return Ok(Some(CoreError::DecisionRevoked));
        }
        if payments::live_payment_of_decision(c, &p.decision_number)?.is_some() {
            return Ok(Some(CoreError::DecisionAlreadyPaid));
        }
        let (user, amount) = (&p.user_id, p.amount.fen());
        match p.method {
            PayMethodKind::Balance => {
                let balance = books::wallet_balance(c, user, true)?;
                Ok((balance < amount).then_some(CoreError::InsufficientFunds { balance, amount }))
            }
            PayMethodKind::Credit => {
                let today = crate::credit::shanghai_date(self.payment.created_at);
                if crate::credit::is_overdue(c, user, self.statement_days, today)? {
                    return Ok(Some(CoreError::CreditOverdue));
                }
                let owed = books::credit_owed(c, user, true)?;
                let available = (self.credit_limit - owed).max(0);
                Ok((available < amount)
                    .then_some(CoreError::InsufficientCredit { available, amount }))
            }
            PayMethodKind::Card => Ok(None),
        }
    }

    fn insert_processing(&self, c: &dyn Sql) -> Result<(), CoreError> {
        insert_payment(c, &self.payment)
    }

    fn succeed(&self, c: &dyn Sql, now: &str) -> Result<Reply, CoreError> {
        let p = &self.payment;
        let tx_id = books::post(c, &self.ledger_tx, &p.id, now)?;
        if !payments::mark_succeeded(c, &p.id, &tx_id, &self.receipt.id, now)? {
            return Err(CoreError::Internal(format!(
                "payment {} was not processing",
                p.id
            )));
        }
        self.record_success(c, self.succeeded(tx_id, now), now)
    }

    /// One row write: the payment inserted already succeeded (instead of inserted `processing`
    /// and updated).
    fn insert_succeeded(&self, c: &dyn Sql, now: &str) -> Result<Reply, CoreError> {
        let tx_id = books::post(c, &self.ledger_tx, &self.payment.id, now)?;
        let done = self.succeeded(tx_id, now);
        insert_payment(c, &done)?;
        self.record_success(c, done, now)
    }

    fn fail(&self, c: &dyn Sql, reason: &str, now: &str) -> Result<bool, CoreError> {
        Ok(payments::mark_failed(c, &self.payment.id, reason, now)?)
    }

    fn given_up(&self, c: &dyn Sql) -> Result<bool, CoreError> {
        Ok(payments::find_payment(c, &self.payment.id)?
            .is_some_and(|now| now.status == PaymentStatus::Failed))
    }

    fn processing_reply(&self) -> Reply {
        Reply::created(payment_body(&self.payment))
    }

    fn what(&self) -> &'static str {
        "payment"
    }

    fn note_asked(&self, c: &dyn Sql, now: &str) -> Result<(), CoreError> {
        Ok(payments::note_asked(c, &self.payment.id, now)?)
    }
}

impl PaymentCharge {
    /// The payment as it stands once succeeded with ledger transaction `tx_id`.
    fn succeeded(&self, tx_id: String, now: &str) -> PaymentRow {
        PaymentRow {
            status: PaymentStatus::Succeeded,
            ledger_tx_id: Some(tx_id),
            receipt_id: Some(self.receipt.id.clone()),
            updated_at: finepay_store::parse_time(now).unwrap_or(self.payment.updated_at),
            ..self.payment.clone()
        }
    }

    /// The rest of a success: the receipt and the authority notice; the answer.
    fn record_success(&self, c: &dyn Sql, done: PaymentRow, now: &str) -> Result<Reply, CoreError> {
        let p = &self.payment;
        receipts::insert_receipt(
            c,
            &self.receipt.id,
            &p.id,
            &self.receipt.number,
            &self.receipt.body,
            now,
        )?;
        Message::PaymentNotice(self.notice.clone()).enqueue(c, &p.city_code, &p.id, now)?;
        Ok(Reply::created(payment_body(&done)))
    }
}

/// Inserts the payment; losing the race for the decision to another instance's payment (the
/// partial unique index) is "already paid", not a fault. The job then rolls back whole.
fn insert_payment(c: &dyn Sql, p: &PaymentRow) -> Result<(), CoreError> {
    match payments::insert_payment(c, p) {
        Err(e) if e.is_unique_violation() => Err(CoreError::DecisionAlreadyPaid),
        other => Ok(other?),
    }
}

fn payment_body(p: &PaymentRow) -> String {
    serde_json::to_string(&PaymentView::from_row(p)).unwrap_or_default()
}
