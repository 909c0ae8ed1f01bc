//! Refunds to where the money came from, when an authority revokes a paid decision or rejects a
//! payment notice (SPEC §2). Balance and credit payments are refunded in the writer job that learns
//! of it: the reversing ledger transaction, the payment `refunded`, a signed refund receipt and a
//! `payment.refunded` notification, together. A card payment also needs the bank to return the money,
//! so that job enqueues a `card_refund` outbox row; the dispatcher asks the bank (with a refund
//! reference derived from the payment, so a retry never refunds twice) and, once the bank has
//! refunded, settles the refund exactly as above.

use crate::books;
use crate::notifications::notify_payment;
use crate::outbox::Message;
use crate::{Authorities, CoreError};
use finepay_bank::Bank;
use finepay_domain::{ledger, mask_name, PayMethodKind, PaymentStatus};
use finepay_receipts::ReceiptSigner;
use finepay_store::repo::payments::{self, PaymentRow};
use finepay_store::repo::{receipts, users};
use finepay_store::Db;
use finepay_store::Sql;
use serde_json::json;
use std::sync::Arc;

/// Refunds: recorded in the writer job that learns of them, and asked of the bank for cards.
#[derive(Clone)]
pub(crate) struct Refunds {
    db: Db,
    bank: Arc<dyn Bank>,
    authorities: Arc<Authorities>,
    signer: Arc<ReceiptSigner>,
}

impl Refunds {
    pub(crate) fn new(
        db: Db,
        bank: Arc<dyn Bank>,
        authorities: Arc<Authorities>,
        signer: Arc<ReceiptSigner>,
    ) -> Refunds {
        Refunds {
            db,
            bank,
            authorities,
            signer,
        }
    }

    /// Refunds a succeeded payment (in the caller's writer job); anything else is left alone.
    pub(crate) fn refund_in(
        &self,
        c: &dyn Sql,
        payment: &PaymentRow,
        reason: &str,
        now: &str,
    ) -> Result<(), CoreError> {
        if payment.status != PaymentStatus::Succeeded {
            return Ok(());
        }
        if payment.method == PayMethodKind::Card {
            Message::CardRefund(reason.to_string()).enqueue_once(
                c,
                &payment.city_code,
                &payment.id,
                now,
            )?;
            return Ok(());
        }
        self.settle_refund_in(c, payment, reason, now)
    }

    /// The money is back with the payer (or their bank has returned it): record it.
    pub(crate) fn settle_refund_in(
        &self,
        c: &dyn Sql,
        payment: &PaymentRow,
        reason: &str,
        now: &str,
    ) -> Result<(), CoreError> {
        // Counted when the refund is written; a job that then rolls back over-counts by one,
        // which a counter may (it is a rate, not a balance: the ledger is the balance).
        metrics::counter!("finepay_refunds_total").increment(1);
        let tx_id = payment.ledger_tx_id.as_deref().ok_or_else(|| {
            CoreError::Internal(format!("payment {} has no ledger transaction", payment.id))
        })?;
        let reversal = if payment.method == PayMethodKind::Credit {
            credit_refund(c, payment)?
        } else {
            ledger::refund(&books::load_payment(c, tx_id)?)
                .map_err(|e| CoreError::Internal(e.to_string()))?
        };
        books::post(c, &reversal, &payment.id, now)?;
        if !payments::mark_refunded(c, &payment.id, now)? {
            return Err(CoreError::Internal(format!(
                "payment {} was not succeeded",
                payment.id
            )));
        }
        let payer = users::find_user(c, &payment.user_id)?
            .map(|u| u.name)
            .unwrap_or_default();
        let (id, body) = self.sign_refund_receipt(payment, &payer, reason)?;
        receipts::insert_refund_receipt(c, &id, &payment.id, &body, now)?;
        notify_payment(c, payment, "payment.refunded", now)
    }

    fn sign_refund_receipt(
        &self,
        p: &PaymentRow,
        payer: &str,
        reason: &str,
    ) -> Result<(String, String), CoreError> {
        let id = format!("rfr_{}", p.id.trim_start_matches("pay_"));
        let city = self.authorities.city(&p.city_code);
        let unsigned = json!({
            "id": id,
            "kind": "refund",
            "issued_at": self.db.clock().now_text(),
            "payment_id": p.id,
            "receipt_id": p.receipt_id,
            "decision_number": p.decision_number,
            "city": {
                "code": p.city_code,
                "name": city.map(|c| c.name.as_str()).unwrap_or_default(),
                "name_zh": city.map(|c| c.name_zh.as_str()).unwrap_or_default(),
            },
            "payee": city.map(|c| c.payee.as_str()).unwrap_or_default(),
            "payer_masked": mask_name(payer),
            "amount": p.amount.fen(),
            "currency": "CNY",
            "method": { "type": p.method.as_str(), "last4": p.card_last4 },
            "reason": reason,
        });
        let signed = self
            .signer
            .sign(&unsigned)
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        Ok((id, signed.to_string()))
    }

    /// Asks the bank to return an orphan charge (the dispatcher's `orphan_charge_refund` delivery).
    pub(crate) async fn orphan_refund(
        &self,
        reference: &str,
        amount: i64,
    ) -> Result<(), finepay_bank::BankError> {
        self.bank
            .refund(&format!("rfd_{reference}"), reference, amount)
            .await
    }

    /// Asks the bank to return a card payment (the dispatcher's `card_refund` delivery).
    pub(crate) async fn bank_refund(
        &self,
        payment_id: &str,
    ) -> Result<(), finepay_bank::BankError> {
        let id = payment_id.to_string();
        let payment = self
            .db
            .read(move |c| payments::find_payment(c, &id))
            .await
            .map_err(|e| finepay_bank::BankError::Protocol(e.to_string()))?
            .ok_or_else(|| finepay_bank::BankError::Protocol(format!("no payment {payment_id}")))?;
        let charge = payment
            .bank_reference
            .clone()
            .unwrap_or_else(|| payment.id.clone());
        self.bank
            .refund(
                &format!("rfd_{}", payment.id),
                &charge,
                payment.amount.fen(),
            )
            .await
    }
}

/// The refund of a credit payment: the credit line gets back at most what is still owed on it (less
/// repayments under way); whatever the user already repaid of this payment goes to their balance, as
/// Huabei does, so a credit line never ends up owing the user.
fn credit_refund(
    c: &dyn Sql,
    payment: &PaymentRow,
) -> Result<finepay_domain::LedgerTransaction, CoreError> {
    use finepay_domain::{Account, CityCode, Fen, LedgerTransaction, Posting, TxKind};
    let city =
        CityCode::parse(&payment.city_code).map_err(|e| CoreError::Internal(e.to_string()))?;
    let owed = crate::credit::owed_less_pending(c, &payment.user_id)?;
    let to_credit = payment.amount.fen().min(owed);
    let to_balance = payment.amount.fen() - to_credit;
    let mut postings = vec![Posting {
        account: Account::AuthorityPayable(city),
        amount: Fen::from_fen(-payment.amount.fen()),
    }];
    if to_credit > 0 {
        postings.push(Posting {
            account: Account::UserCreditReceivable(payment.user_id.clone()),
            amount: Fen::from_fen(to_credit),
        });
    }
    if to_balance > 0 {
        postings.push(Posting {
            account: Account::UserBalance(payment.user_id.clone()),
            amount: Fen::from_fen(to_balance),
        });
    }
    LedgerTransaction::new(TxKind::Refund, postings).map_err(|e| CoreError::Internal(e.to_string()))
}
