//! One card charge, written once for everything a linked card pays: a fine (payments), the wallet
//! (top-ups) and the credit line (repayments).
//!
//! The flow, the same for each (DESIGN "A payment, step by step"):
//! 1. **claim** — one writer job claims the idempotency key, asks the charge whether it must be
//!    refused now (a refusal is stored under the key) and inserts the `processing` row;
//! 2. **charge** — the bank is charged with the row's id as its idempotency reference, the
//!    reference held in this instance so the resolver leaves it be; a timeout is settled by asking
//!    the bank about the same reference, never by charging again;
//! 3. **settle** — a second writer job commits the outcome: money posted and the row `succeeded`,
//!    or the row `failed`; the answer is stored under the key (or the key released when the bank
//!    was never reached, so the caller may retry);
//! 4. **resolve** — a row left `processing` (an unknown outcome, a crash between 1 and 3) is
//!    settled by the resolver (`resolver.rs`), which asks the bank ([`CardDesk::ask_bank`]) and
//!    runs step 3 ([`CardDesk::settle_charge`]).
//!
//! The balance and credit line pay in one writer job: claim and settle together ([`CardDesk::settle_at_once`]).
//!
//! What differs between payments, top-ups and repayments is only what a [`Charge`] says: what to
//! refuse, which row to insert and mark, and which ledger transaction to post.

use crate::idempotency::{answer_existing, IdempotencyKey, Reply};
use crate::outbox::{Message, BANK_GROUP};
use crate::CoreError;
use finepay_bank::{Bank, BankError};
use finepay_store::repo::idempotency;
use finepay_store::{Db, Sql};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// What the bank did with a charge.
#[derive(Clone, Debug)]
pub(crate) enum ChargeOutcome {
    Charged,
    Declined(String),
    /// The bank never got the request: nothing was taken.
    NotReached,
    /// We do not know yet; the resolver will ask the bank again.
    Unknown,
}

/// A charge of a payment, a top-up or a repayment: its own rows and money, while the
/// [`CardDesk`] runs the flow. Every `c` is the caller's writer transaction.
pub(crate) trait Charge: Send + Sync + 'static {
    fn user_id(&self) -> &str;
    /// The idempotency key the request came with (absent for rows older than keys).
    fn idempotency_key(&self) -> Option<&str>;
    /// When the request came (the key's claim time).
    fn created_at(&self) -> chrono::DateTime<chrono::Utc>;
    /// The bank's idempotency reference (the row's id).
    fn reference(&self) -> &str;
    /// In fen.
    fn amount(&self) -> i64;
    /// The refusal to answer (and store under the key) instead of going on, checked right after
    /// the key is claimed, in the same transaction.
    fn refusal(&self, c: &dyn Sql) -> Result<Option<CoreError>, CoreError>;
    /// Inserts the `processing` row.
    fn insert_processing(&self, c: &dyn Sql) -> Result<(), CoreError>;
    /// Posts the money and marks the row `succeeded` (an error if it was no longer processing:
    /// the job rolls back whole); returns the answer.
    fn succeed(&self, c: &dyn Sql, now: &str) -> Result<Reply, CoreError>;
    /// The one-step path (balance, credit line): the row inserted and settled in one go. By
    /// default an insert and [`Charge::succeed`]; a payment writes its row once, already succeeded.
    fn insert_succeeded(&self, c: &dyn Sql, now: &str) -> Result<Reply, CoreError> {
        self.insert_processing(c)?;
        self.succeed(c, now)
    }
    /// Marks the row `failed` with a reason; false when it was not `processing` any more.
    fn fail(&self, c: &dyn Sql, reason: &str, now: &str) -> Result<bool, CoreError>;
    /// True when the row was given up as `failed` meanwhile (by another instance's resolver).
    fn given_up(&self, c: &dyn Sql) -> Result<bool, CoreError>;
    /// The answer while the bank's outcome is unknown: the row as it stands, `processing`.
    fn processing_reply(&self) -> Reply;
    /// For the logs: "payment", "top-up" or "repayment".
    fn what(&self) -> &'static str;
    /// The resolver asked about the row and learnt nothing: to the back of its queue.
    fn note_asked(&self, c: &dyn Sql, now: &str) -> Result<(), CoreError>;
}

const NOT_REACHED: &str = "the bank could not be reached; nothing was charged";

/// Step 1, claim: `Some(reply)` when the request ends here (a replay, a key in use, or a refusal
/// now stored under the key). In the caller's writer transaction.
fn claim_in(
    c: &dyn Sql,
    charge: &dyn Charge,
    idem: &IdempotencyKey,
) -> Result<Option<Reply>, CoreError> {
    match idempotency::claim_key(
        c,
        charge.user_id(),
        &idem.key,
        &idem.request_hash,
        &finepay_store::time_text(charge.created_at()),
    )? {
        idempotency::KeyState::Claimed => {}
        other => return answer_existing(other, &idem.request_hash).map(Some),
    }
    match charge.refusal(c)? {
        Some(e) => store_reply(c, charge, Reply::from_error(&e)).map(Some),
        None => Ok(None),
    }
}

/// Runs the flow: the store, the bank, the dispatcher's wake-up (a settled charge may have
/// enqueued a notice) and the references this instance is charging right now.
#[derive(Clone)]
pub(crate) struct CardDesk {
    db: Db,
    bank: Arc<dyn Bank>,
    outbox_wake: Arc<Notify>,
    in_flight: Arc<Mutex<HashSet<String>>>,
}

impl CardDesk {
    pub(crate) fn new(db: Db, bank: Arc<dyn Bank>, outbox_wake: Arc<Notify>) -> CardDesk {
        CardDesk {
            db,
            bank,
            outbox_wake,
            in_flight: Arc::new(Mutex::new(HashSet::new())),
        }
    }

    /// Marks a bank reference as being charged by this request until the guard drops, so the
    /// resolver does not settle it underneath (a crash empties the set: then the resolver may).
    fn hold(&self, reference: &str) -> ChargeHold {
        self.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(reference.to_string());
        ChargeHold {
            in_flight: self.in_flight.clone(),
            reference: reference.to_string(),
        }
    }

    /// Whether a request of this instance is charging this reference right now.
    pub(crate) fn in_flight(&self, reference: &str) -> bool {
        self.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(reference)
    }

    fn wake_dispatcher(&self) {
        self.outbox_wake.notify_one();
    }

    /// The balance or credit line pays: claim and settle in one writer job.
    pub(crate) async fn settle_at_once(
        &self,
        charge: impl Charge,
        idem: IdempotencyKey,
    ) -> Result<Reply, CoreError> {
        let now = self.db.clock().now_text();
        let reply = self
            .db
            .writer()
            .run(move |c| -> Result<Reply, CoreError> {
                if let Some(reply) = claim_in(c, &charge, &idem)? {
                    return Ok(reply);
                }
                let reply = charge.insert_succeeded(c, &now)?;
                store_reply(c, &charge, reply)
            })
            .await??;
        self.wake_dispatcher();
        Ok(reply)
    }

    /// Steps 1 to 3 for a linked card: claim, charge, settle.
    pub(crate) async fn charge_linked_card(
        &self,
        charge: impl Charge + Clone,
        idem: IdempotencyKey,
        card_token: &str,
    ) -> Result<Reply, CoreError> {
        let claimed = {
            let charge = charge.clone();
            self.db
                .writer()
                .run(move |c| -> Result<Option<Reply>, CoreError> {
                    if let Some(reply) = claim_in(c, &charge, &idem)? {
                        return Ok(Some(reply));
                    }
                    charge.insert_processing(c)?;
                    Ok(None)
                })
                .await??
        };
        if let Some(reply) = claimed {
            return Ok(reply);
        }
        let _held = self.hold(charge.reference());
        let outcome = self
            .charge_card(charge.reference(), card_token, charge.amount())
            .await;
        self.settle_charge(Box::new(charge), outcome).await
    }

    /// Step 3, settle: commits the bank's outcome and answers (or stores the answer for) the caller.
    pub(crate) async fn settle_charge(
        &self,
        charge: Box<dyn Charge>,
        outcome: ChargeOutcome,
    ) -> Result<Reply, CoreError> {
        if matches!(outcome, ChargeOutcome::Unknown) {
            // Left `processing`; the resolver asks the bank and finishes it. The key stays held.
            return Ok(charge.processing_reply());
        }
        let now = self.db.clock().now_text();
        let reply = self
            .db
            .writer()
            .run(move |c| settle_in(c, charge.as_ref(), &outcome, &now))
            .await??;
        self.wake_dispatcher();
        Ok(reply)
    }

    /// Charges a card, resolving a timeout by asking the bank about the same reference.
    async fn charge_card(&self, reference: &str, card_token: &str, amount: i64) -> ChargeOutcome {
        match self.bank.charge(reference, card_token, amount).await {
            Ok(_) => ChargeOutcome::Charged,
            Err(BankError::Declined { reason }) | Err(BankError::InvalidCard { reason }) => {
                ChargeOutcome::Declined(reason)
            }
            Err(BankError::Unavailable(e)) => {
                tracing::warn!(reference, error = %e, "bank unreachable; nothing was charged");
                ChargeOutcome::NotReached
            }
            // Right after a timeout the bank may still be working on it: "never seen" is not final.
            Err(BankError::Timeout) | Err(BankError::Protocol(_)) => {
                match self.ask_bank(reference).await {
                    ChargeOutcome::NotReached => ChargeOutcome::Unknown,
                    other => other,
                }
            }
        }
    }

    /// Asks the bank what happened to a charge whose answer we did not get. "Never seen" is
    /// `NotReached`; no answer from the bank is `Unknown`.
    pub(crate) async fn ask_bank(&self, reference: &str) -> ChargeOutcome {
        match self.bank.charge_status(reference).await {
            Ok(Some(finepay_bank::ChargeStatus::Succeeded { .. })) => ChargeOutcome::Charged,
            Ok(Some(finepay_bank::ChargeStatus::Refunded { .. })) => {
                ChargeOutcome::Declined("the charge was refunded by the bank".into())
            }
            Ok(Some(finepay_bank::ChargeStatus::Declined { reason })) => {
                ChargeOutcome::Declined(reason)
            }
            Ok(None) => ChargeOutcome::NotReached,
            Err(e) => {
                tracing::warn!(reference, error = %e, "cannot ask the bank about a charge; will retry");
                ChargeOutcome::Unknown
            }
        }
    }
}

/// Step 3 inside the writer job.
fn settle_in(
    c: &dyn Sql,
    charge: &dyn Charge,
    outcome: &ChargeOutcome,
    now: &str,
) -> Result<Reply, CoreError> {
    match outcome {
        ChargeOutcome::Charged => {
            if charge.given_up(c)? {
                // Given up as failed meanwhile (another instance's resolver): nothing of it is in
                // the ledger, so the bank is asked to return the money. The key was released then.
                enqueue_orphan_refund(c, charge.reference(), charge.amount(), now)?;
                return Ok(Reply::from_error(&CoreError::BankUnavailable));
            }
            let reply = charge.succeed(c, now)?;
            store_reply(c, charge, reply)
        }
        ChargeOutcome::Declined(reason) => {
            if !charge.fail(c, reason, now)? {
                return Err(CoreError::Internal(format!(
                    "{} {} was already settled",
                    charge.what(),
                    charge.reference()
                )));
            }
            store_reply(
                c,
                charge,
                Reply::from_error(&CoreError::CardDeclined(reason.clone())),
            )
        }
        ChargeOutcome::NotReached | ChargeOutcome::Unknown => {
            // Nothing was taken. Already failed (by a resolver) is the same end.
            charge.fail(c, NOT_REACHED, now)?;
            if let Some(key) = charge.idempotency_key() {
                idempotency::release_key(c, charge.user_id(), key)?;
            }
            Ok(Reply::from_error(&CoreError::BankUnavailable))
        }
    }
}

/// Stores the answer under the charge's key (when it has one) and returns it.
fn store_reply(c: &dyn Sql, charge: &dyn Charge, reply: Reply) -> Result<Reply, CoreError> {
    if let Some(key) = charge.idempotency_key() {
        idempotency::complete_key(c, charge.user_id(), key, reply.outcome.name(), &reply.body)?;
    }
    Ok(reply)
}

/// Enqueues the return of an orphan charge: one the bank took after the platform had given the
/// attempt up as failed.
fn enqueue_orphan_refund(
    c: &dyn Sql,
    reference: &str,
    amount: i64,
    now: &str,
) -> Result<(), CoreError> {
    tracing::warn!(
        reference,
        amount,
        "the bank took a charge after the attempt was given up; returning it"
    );
    let message = Message::OrphanChargeRefund {
        reference: reference.to_string(),
        amount,
    };
    message.enqueue_once(c, BANK_GROUP, reference, now)?;
    Ok(())
}

/// See [`CardDesk::hold`].
struct ChargeHold {
    in_flight: Arc<Mutex<HashSet<String>>>,
    reference: String,
}

impl Drop for ChargeHold {
    fn drop(&mut self) {
        self.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.reference);
    }
}
