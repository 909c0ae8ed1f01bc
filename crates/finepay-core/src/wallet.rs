//! The wallet: its balance, credit line and cards at a glance, how a user can pay an amount, and
//! top-ups from a linked card (a [`Charge`] run by the card module).

use crate::books::{self, Terms};
use crate::card::{CardDesk, Charge};
use crate::idempotency::{replay_if_known, IdempotencyKey, Reply};
use crate::views::{CardView, CreditView, TopUpView, WalletView};
use crate::{new_id, CoreError};
use finepay_domain::StatementStatus;
use finepay_domain::{ledger, Account, ChargeStatus, Fen};
use finepay_store::repo::{top_ups, users};
use finepay_store::{Db, Sql};

/// One way to pay an amount (see [`Platform::payment_options`]).
#[derive(Clone, Debug)]
pub struct PaymentOption {
    pub method: crate::PayMethod,
    pub last4: Option<String>,
    pub bank: Option<String>,
    /// What the balance or the credit line has available, in fen (`None` for a card).
    pub available: Option<i64>,
    /// The error code paying this way would be refused with right now, if any.
    pub refusal: Option<&'static str>,
}

/// The wallet: its balance, credit line and cards, top-ups, and how a user can pay.
#[derive(Clone)]
pub struct Wallet {
    db: Db,
    desk: CardDesk,
    terms: Terms,
}

impl Wallet {
    pub(crate) fn new(db: Db, desk: CardDesk, terms: Terms) -> Wallet {
        Wallet { db, desk, terms }
    }

    pub async fn get(&self, user_id: &str) -> Result<WalletView, CoreError> {
        let user_id = user_id.to_string();
        let limit = self.terms.credit_limit;
        self.db
            .read(move |c| {
                let balance = books::wallet_balance(c, &user_id, false)?;
                let outstanding = books::credit_owed(c, &user_id, false)?;
                let cards = users::list_cards(c, &user_id)?
                    .into_iter()
                    .map(|card| CardView {
                        id: card.id,
                        bank: card.bank,
                        last4: card.last4,
                    })
                    .collect();
                Ok(WalletView {
                    balance,
                    currency: "CNY".into(),
                    credit: CreditView {
                        limit,
                        available: (limit - outstanding).max(0),
                        outstanding,
                    },
                    cards,
                })
            })
            .await
            .map_err(CoreError::from)
    }

    /// How the user can pay `amount`: each method with what it has available and whether it can
    /// pay this amount now (the balance and credit checks the payment itself makes, read ahead).
    pub async fn payment_options(
        &self,
        user_id: &str,
        amount: i64,
    ) -> Result<Vec<PaymentOption>, CoreError> {
        let wallet = self.get(user_id).await?;
        let key = Account::UserCreditReceivable(user_id.to_string()).key();
        let postings = self
            .db
            .read(move |c| finepay_store::repo::credit::postings(c, &key))
            .await?;
        let overdue = crate::credit::statements(
            &postings,
            self.db.clock().today_in_china(),
            self.terms.statement_days,
        )
        .iter()
        .any(|s| s.status == StatementStatus::Overdue);
        let mut options = vec![
            PaymentOption {
                method: crate::PayMethod::Balance,
                last4: None,
                bank: None,
                available: Some(wallet.balance),
                refusal: (wallet.balance < amount).then_some("insufficient_funds"),
            },
            PaymentOption {
                method: crate::PayMethod::Credit,
                last4: None,
                bank: None,
                available: Some(wallet.credit.available),
                refusal: if overdue {
                    Some("credit_overdue")
                } else {
                    (wallet.credit.available < amount).then_some("insufficient_credit")
                },
            },
        ];
        options.extend(wallet.cards.into_iter().map(|card| PaymentOption {
            method: crate::PayMethod::Card { card_id: card.id },
            last4: Some(card.last4),
            bank: Some(card.bank),
            available: None,
            // Only the bank can say; it is asked when paying.
            refusal: None,
        }));
        Ok(options)
    }

    /// Tops the wallet up from a linked card (see the card module for the steps).
    pub async fn top_up(
        &self,
        user_id: &str,
        idem: IdempotencyKey,
        card_id: &str,
        amount: Fen,
    ) -> Result<Reply, CoreError> {
        if let Some(reply) = replay_if_known(&self.db, user_id, &idem).await? {
            return Ok(reply);
        }
        let (uid, cid) = (user_id.to_string(), card_id.to_string());
        let card = self
            .db
            .read(move |c| users::find_card(c, &uid, &cid))
            .await?
            .ok_or_else(|| {
                CoreError::invalid(
                    "card_id",
                    "no linked card with this id; link it with POST /api/v1/cards",
                )
            })?;
        let now = self.db.clock().now();
        let id = new_id("top");
        let row = top_ups::TopUpRow {
            id: id.clone(),
            user_id: user_id.to_string(),
            card_id: card.id.clone(),
            amount,
            status: ChargeStatus::Processing,
            bank_reference: id,
            failure_reason: None,
            ledger_tx_id: None,
            idempotency_key: Some(idem.key.clone()),
            created_at: now,
            updated_at: now,
        };
        let charge = TopUpCharge {
            row,
            bank_code: self.terms.bank_code.clone(),
        };
        self.desk
            .charge_linked_card(charge, idem, &card.card_token)
            .await
    }

    /// Top-ups left `processing` since before `older_than`, as charges to resolve.
    pub(crate) async fn top_ups_left_processing(
        &self,
        older_than: &str,
    ) -> Result<Vec<Box<dyn Charge>>, CoreError> {
        let cutoff = older_than.to_string();
        let bank_code = self.terms.bank_code.clone();
        Ok(self
            .db
            .read(move |c| top_ups::processing_top_ups(c, &cutoff))
            .await?
            .into_iter()
            .map(|row| {
                Box::new(TopUpCharge {
                    row,
                    bank_code: bank_code.clone(),
                }) as Box<dyn Charge>
            })
            .collect())
    }
}

/// A top-up as the card module charges it.
#[derive(Clone)]
struct TopUpCharge {
    row: top_ups::TopUpRow,
    bank_code: String,
}

impl Charge for TopUpCharge {
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
        &self.row.bank_reference
    }

    fn amount(&self) -> i64 {
        self.row.amount.fen()
    }

    fn refusal(&self, _c: &dyn Sql) -> Result<Option<CoreError>, CoreError> {
        Ok(None)
    }

    fn insert_processing(&self, c: &dyn Sql) -> Result<(), CoreError> {
        Ok(top_ups::insert_top_up(c, &self.row)?)
    }

    fn succeed(&self, c: &dyn Sql, now: &str) -> Result<Reply, CoreError> {
        let row = &self.row;
        let tx = ledger::top_up(&row.user_id, &self.bank_code, row.amount)
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        let tx_id = books::post(c, &tx, &row.id, now)?;
        // Only a top-up still processing may be credited; otherwise the job rolls back whole.
        if !top_ups::mark_top_up_succeeded(c, &row.id, &tx_id, now)? {
            return Err(CoreError::Internal(format!(
                "top-up {} was already settled",
                row.id
            )));
        }
        Ok(Reply::created(top_up_body(row, ChargeStatus::Succeeded)))
    }

    fn fail(&self, c: &dyn Sql, reason: &str, now: &str) -> Result<bool, CoreError> {
        Ok(top_ups::mark_top_up_failed(c, &self.row.id, reason, now)?)
    }

    fn given_up(&self, c: &dyn Sql) -> Result<bool, CoreError> {
        Ok(
            top_ups::find_top_up(c, &self.row.id)?
                .is_some_and(|t| t.status == ChargeStatus::Failed),
        )
    }

    fn processing_reply(&self) -> Reply {
        Reply::created(top_up_body(&self.row, ChargeStatus::Processing))
    }

    fn what(&self) -> &'static str {
        "top-up"
    }

    fn note_asked(&self, c: &dyn Sql, now: &str) -> Result<(), CoreError> {
        Ok(top_ups::note_asked(c, &self.row.id, now)?)
    }
}

fn top_up_body(row: &top_ups::TopUpRow, status: ChargeStatus) -> String {
    let view = TopUpView {
        id: row.id.clone(),
        status: status.as_str().into(),
        amount: row.amount.fen(),
        currency: "CNY".into(),
        card_id: row.card_id.clone(),
        created_at: finepay_store::time_text(row.created_at),
    };
    serde_json::to_string(&view).unwrap_or_default()
}
