//! Paying a penalty decision (DESIGN "A payment, step by step").
//!
//! Balance and credit payments are one writer job: claim the idempotency key, check that the
//! decision has no live payment, check funds, post the ledger transaction, insert the payment, its
//! signed receipt and its outbox notice, store the response — one commit. Card payments are two:
//! a `processing` row first (holding the decision and the key), the bank charged with the payment id
//! as its reference, then the outcome in a second job. A timeout is settled by asking the bank.

use crate::accounts::{post_ledger, ChargeOutcome};
use crate::idempotency::{answer_existing, IdempotencyKey, Reply};
use crate::receipts::SignedReceipt;
use crate::views::PaymentView;
use crate::{new_id, CoreError, Platform};
use finepay_authority::PaymentNotice;
use finepay_domain::{ledger, Account, CityCode, Fen, LedgerTransaction, Plate};
use finepay_store::repo::payments::PaymentRow;
use finepay_store::repo::{
    decisions, idempotency, ledger as ledger_repo, outbox, payments, receipts, users,
};
use finepay_store::{now_text, Sql};

pub const NOTICE_KIND: &str = "payment_notice";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PayMethod {
    Balance,
    Credit,
    Card { card_id: String },
}

#[derive(Clone, Debug)]
pub struct PayRequest {
    pub decision_number: String,
    pub amount: Fen,
    pub confirm_plate: String,
    pub method: PayMethod,
}

/// Everything a writer job needs to finish a payment, prepared outside the writer.
struct Settlement {
    payment: PaymentRow,
    receipt: SignedReceipt,
    ledger_tx: LedgerTransaction,
    notice: String,
    credit_limit: i64,
    statement_days: crate::credit::StatementDays,
}

impl Platform {
    pub async fn pay(
        &self,
        user_id: &str,
        idem: IdempotencyKey,
        req: PayRequest,
    ) -> Result<Reply, CoreError> {
        if let Some(reply) = self.replay_if_known(user_id, &idem).await? {
            return Ok(reply);
        }
        match self.pay_fresh(user_id, &idem, req).await {
            Ok(reply) => Ok(reply),
            // A request with the same key may have finished meanwhile (e.g. it paid the decision
            // this one now sees as paid): its answer wins.
            Err(e) => match self.replay_if_known(user_id, &idem).await? {
                Some(reply) => Ok(reply),
                None => Err(e),
            },
        }
    }

    async fn pay_fresh(
        &self,
        user_id: &str,
        idem: &IdempotencyKey,
        req: PayRequest,
    ) -> Result<Reply, CoreError> {
        let idem = idem.clone();
        // Paying looks the decision up too: the same limit applies, against guessing numbers.
        self.inner.limiter.admit_user(user_id)?;
        let (number, route) = self.authorities().route(&req.decision_number)?;
        let plate =
            Plate::parse(&req.confirm_plate).map_err(|e| CoreError::InvalidPlate(e.to_string()))?;
        let current = match self.current_decision(&number, route).await {
            Err(CoreError::DecisionNotFound) => {
                self.inner.limiter.charge_failure(user_id);
                return Err(CoreError::DecisionNotFound);
            }
            other => other?,
        };
        match current.row.status.as_str() {
            "paid" => return Err(CoreError::DecisionAlreadyPaid),
            "revoked" => return Err(CoreError::DecisionRevoked),
            _ => {}
        }
        if plate.as_str() != current.row.plate {
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
            .db()
            .read(move |c| users::find_user(c, &uid))
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        let card = match &req.method {
            PayMethod::Card { card_id } => {
                let (uid, cid) = (user_id.to_string(), card_id.clone());
                let card = self
                    .db()
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
        let now = now_text();
        let id = new_id("pay");
        let payment = PaymentRow {
            id: id.clone(),
            user_id: user_id.to_string(),
            decision_number: number.as_str().to_string(),
            city_code: current.row.city_code.clone(),
            amount: current.charges.amount_due.fen(),
            fine: current.charges.fine.fen(),
            late_fee: current.charges.late_fee.fen(),
            method_type: match req.method {
                PayMethod::Balance => "balance",
                PayMethod::Credit => "credit",
                PayMethod::Card { .. } => "card",
            }
            .into(),
            card_id: card.as_ref().map(|c| c.id.clone()),
            card_last4: card.as_ref().map(|c| c.last4.clone()),
            bank_reference: card.as_ref().map(|_| id.clone()),
            status: "processing".into(),
            failure_reason: None,
            ledger_tx_id: None,
            receipt_id: None,
            authority_status: "pending".into(),
            authority_confirmed_at: None,
            authority_reason: None,
            idempotency_key: Some(idem.key.clone()),
            created_at: now.clone(),
            updated_at: now,
            refund_receipt_id: None,
        };
        let city =
            CityCode::parse(&payment.city_code).map_err(|e| CoreError::Internal(e.to_string()))?;
        let amount = current.charges.amount_due;
        let ledger_tx = match &req.method {
            PayMethod::Balance => ledger::pay_from_balance(user_id, &city, amount),
            PayMethod::Credit => ledger::pay_by_credit(user_id, &city, amount),
            PayMethod::Card { .. } => ledger::pay_by_card(&self.config().bank_code, &city, amount),
        }
        .map_err(|e| CoreError::Internal(e.to_string()))?;
        let settlement = self.prepare_settlement(payment, &user.name, ledger_tx)?;
        match card {
            None => self.pay_in_one_step(idem, settlement).await,
            Some(card) => self.pay_by_card(idem, settlement, card.card_token).await,
        }
    }

    fn prepare_settlement(
        &self,
        payment: PaymentRow,
        payer_name: &str,
        ledger_tx: LedgerTransaction,
    ) -> Result<Settlement, CoreError> {
        let receipt = self.sign_receipt(&payment, payer_name)?;
        let notice = PaymentNotice {
            payment_id: payment.id.clone(),
            decision_number: payment.decision_number.clone(),
            amount_fen: payment.amount,
            // When the payer paid, not when it settled: the authority prices the late fee by it.
            paid_at: chrono::DateTime::parse_from_rfc3339(&payment.created_at)
                .map(|t| t.with_timezone(&chrono::Utc))
                .unwrap_or_else(|_| chrono::Utc::now()),
        };
        let notice =
            serde_json::to_string(&notice).map_err(|e| CoreError::Internal(e.to_string()))?;
        Ok(Settlement {
            payment,
            receipt,
            ledger_tx,
            notice,
            credit_limit: self.config().credit_limit_fen,
            statement_days: self.statement_days(),
        })
    }

    async fn pay_in_one_step(
        &self,
        idem: IdempotencyKey,
        settlement: Settlement,
    ) -> Result<Reply, CoreError> {
        let reply = self
            .db()
            .writer()
            .run(move |c| -> Result<Reply, CoreError> {
                let s = settlement;
                if let Some(reply) = claim_for_payment(c, &s.payment, &idem)? {
                    return Ok(reply);
                }
                if let Some(refusal) = check_funds(c, &s)? {
                    let reply = Reply::from_error(&refusal);
                    idempotency::complete_key(
                        c,
                        &s.payment.user_id,
                        &idem.key,
                        reply.status,
                        &reply.body,
                    )?;
                    return Ok(reply);
                }
                settle_new(c, &s)
            })
            .await??;
        self.wake_dispatcher();
        Ok(reply)
    }

    async fn pay_by_card(
        &self,
        idem: IdempotencyKey,
        settlement: Settlement,
        card_token: String,
    ) -> Result<Reply, CoreError> {
        let payment = settlement.payment.clone();
        let claimed = self
            .db()
            .writer()
            .run(move |c| -> Result<Option<Reply>, CoreError> {
                if let Some(reply) = claim_for_payment(c, &payment, &idem)? {
                    return Ok(Some(reply));
                }
                insert_payment(c, &payment)?;
                Ok(None)
            })
            .await??;
        if let Some(reply) = claimed {
            return Ok(reply);
        }
        let p = &settlement.payment;
        let reference = p.bank_reference.clone().unwrap_or_else(|| p.id.clone());
        let _held = self.hold_charge(&reference);
        let outcome = self.charge_card(&reference, &card_token, p.amount).await;
        self.settle_card_payment(settlement, outcome).await
    }

    async fn settle_card_payment(
        &self,
        s: Settlement,
        outcome: ChargeOutcome,
    ) -> Result<Reply, CoreError> {
        if matches!(outcome, ChargeOutcome::Unknown) {
            // Left `processing`; the resolver asks the bank and finishes it. The key stays held.
            return Ok(Reply::fresh(201, payment_body(&s.payment)));
        }
        let reply = self
            .db()
            .writer()
            .run(move |c| settle_card_in(c, &s, &outcome))
            .await??;
        self.wake_dispatcher();
        Ok(reply)
    }

    /// Finishes a card payment left `processing` (called by the resolver).
    pub(crate) async fn resolve_card_payment(&self, row: PaymentRow) -> Result<(), CoreError> {
        let reference = row.bank_reference.clone().unwrap_or_else(|| row.id.clone());
        let outcome = self.ask_bank(&reference).await;
        if matches!(outcome, ChargeOutcome::Unknown) {
            return Ok(());
        }
        let uid = row.user_id.clone();
        let user = self.db().read(move |c| users::find_user(c, &uid)).await?;
        let payer = user.map(|u| u.name).unwrap_or_default();
        let city =
            CityCode::parse(&row.city_code).map_err(|e| CoreError::Internal(e.to_string()))?;
        let tx = ledger::pay_by_card(&self.config().bank_code, &city, Fen::from_fen(row.amount))
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        let settlement = self.prepare_settlement(row, &payer, tx)?;
        self.settle_card_payment(settlement, outcome)
            .await
            .map(|_| ())
    }

    pub async fn payment(&self, user_id: &str, id: &str) -> Result<PaymentView, CoreError> {
        let id = id.to_string();
        match self
            .db()
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
    pub async fn payments(
        &self,
        user_id: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<PaymentView>, Option<String>), CoreError> {
        let uid = user_id.to_string();
        let cursor = cursor.map(str::to_string);
        let limit = limit.clamp(1, 100);
        let rows = self
            .db()
            .read(move |c| {
                let before = match cursor {
                    Some(id) => {
                        match payments::find_payment(c, &id)?.filter(|p| p.user_id == uid) {
                            Some(p) => Some((p.created_at, p.id)),
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

/// Claims the key and the decision for this payment; `Some(reply)` when the request must stop here
/// (a replay, or the decision already has a live payment — that answer is stored under the key).
fn claim_for_payment(
    c: &dyn Sql,
    p: &PaymentRow,
    idem: &IdempotencyKey,
) -> Result<Option<Reply>, CoreError> {
    match idempotency::claim_key(c, &p.user_id, &idem.key, &idem.request_hash, &p.created_at)? {
        idempotency::KeyState::Claimed => {}
        other => return answer_existing(other, &idem.request_hash).map(Some),
    }
    let revoked =
        decisions::find_decision(c, &p.decision_number)?.is_some_and(|d| d.status == "revoked");
    let refusal = if revoked {
        Some(CoreError::DecisionRevoked)
    } else if payments::live_payment_of_decision(c, &p.decision_number)?.is_some() {
        Some(CoreError::DecisionAlreadyPaid)
    } else {
        None
    };
    match refusal {
        Some(e) => {
            let reply = Reply::from_error(&e);
            idempotency::complete_key(c, &p.user_id, &idem.key, reply.status, &reply.body)?;
            Ok(Some(reply))
        }
        None => Ok(None),
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

/// The refusal for a balance or credit payment the user cannot afford, if so.
fn check_funds(c: &dyn Sql, s: &Settlement) -> Result<Option<CoreError>, CoreError> {
    let user = &s.payment.user_id;
    let amount = s.payment.amount;
    match s.payment.method_type.as_str() {
        "balance" => {
            let balance =
                ledger_repo::balance_for_update(c, &Account::UserBalance(user.clone()).key())?;
            Ok((balance < amount).then_some(CoreError::InsufficientFunds { balance, amount }))
        }
        "credit" => {
            if crate::credit::is_overdue(c, user, s.statement_days)? {
                return Ok(Some(CoreError::CreditOverdue));
            }
            let owed = -ledger_repo::balance_for_update(
                c,
                &Account::UserCreditReceivable(user.clone()).key(),
            )?;
            let available = (s.credit_limit - owed).max(0);
            Ok((available < amount).then_some(CoreError::InsufficientCredit { available, amount }))
        }
        _ => Ok(None),
    }
}

/// A one-step payment (balance or credit): posts the money and inserts the payment already
/// succeeded (one row write, instead of inserting it `processing` and updating it), then as
/// [`settle_success`]. All in the caller's transaction.
fn settle_new(c: &dyn Sql, s: &Settlement) -> Result<Reply, CoreError> {
    let now = now_text();
    let p = &s.payment;
    let tx_id = post_ledger(c, &s.ledger_tx, &p.id, &now)?;
    let mut done = succeeded(s, tx_id);
    done.updated_at.clone_from(&now);
    insert_payment(c, &done)?;
    record_success(c, s, done, &now)
}

/// Posts the money, marks the payment succeeded, stores its receipt and its notice, and stores the
/// response under the key: all in the caller's transaction.
fn settle_success(c: &dyn Sql, s: &Settlement) -> Result<Reply, CoreError> {
    let now = now_text();
    let p = &s.payment;
    let tx_id = post_ledger(c, &s.ledger_tx, &p.id, &now)?;
    if !payments::mark_succeeded(c, &p.id, &tx_id, &s.receipt.id, &now)? {
        return Err(CoreError::Internal(format!(
            "payment {} was not processing",
            p.id
        )));
    }
    record_success(c, s, succeeded(s, tx_id), &now)
}

/// The settlement's payment as it stands once succeeded with ledger transaction `tx_id`.
fn succeeded(s: &Settlement, tx_id: String) -> PaymentRow {
    PaymentRow {
        status: "succeeded".into(),
        ledger_tx_id: Some(tx_id),
        receipt_id: Some(s.receipt.id.clone()),
        ..s.payment.clone()
    }
}

/// The rest of a success: the receipt, the authority notice, the response stored under the key.
fn record_success(
    c: &dyn Sql,
    s: &Settlement,
    done: PaymentRow,
    now: &str,
) -> Result<Reply, CoreError> {
    let p = &s.payment;
    receipts::insert_receipt(
        c,
        &s.receipt.id,
        &p.id,
        &s.receipt.number,
        &s.receipt.body,
        now,
    )?;
    outbox::enqueue(c, NOTICE_KIND, &p.city_code, &p.id, &s.notice, now)?;
    let reply = Reply::fresh(201, payment_body(&done));
    if let Some(key) = &p.idempotency_key {
        idempotency::complete_key(c, &p.user_id, key, reply.status, &reply.body)?;
    }
    Ok(reply)
}

fn settle_card_in(
    c: &dyn Sql,
    s: &Settlement,
    outcome: &ChargeOutcome,
) -> Result<Reply, CoreError> {
    let now = now_text();
    let p = &s.payment;
    match outcome {
        ChargeOutcome::Charged => {
            if payments::find_payment(c, &p.id)?.is_some_and(|now| now.status == "failed") {
                // Given up as failed meanwhile (the resolver of another instance): return the money.
                let reference = p.bank_reference.as_deref().unwrap_or(&p.id);
                crate::refunds::enqueue_orphan_refund(c, reference, p.amount, &now)?;
                return Ok(Reply::from_error(&CoreError::BankUnavailable));
            }
            settle_success(c, s)
        }
        ChargeOutcome::Declined(reason) => {
            if !payments::mark_failed(c, &p.id, reason, &now)? {
                return Err(CoreError::Internal(format!(
                    "payment {} was already settled",
                    p.id
                )));
            }
            let reply = Reply::from_error(&CoreError::CardDeclined(reason.clone()));
            if let Some(key) = &p.idempotency_key {
                idempotency::complete_key(c, &p.user_id, key, reply.status, &reply.body)?;
            }
            Ok(reply)
        }
        ChargeOutcome::NotReached | ChargeOutcome::Unknown => {
            payments::mark_failed(
                c,
                &p.id,
                "the bank could not be reached; nothing was charged",
                &now,
            )?;
            if let Some(key) = &p.idempotency_key {
                idempotency::release_key(c, &p.user_id, key)?;
            }
            Ok(Reply::from_error(&CoreError::BankUnavailable))
        }
    }
}

fn payment_body(p: &PaymentRow) -> String {
    serde_json::to_string(&PaymentView::from_row(p)).unwrap_or_default()
}
