//! Users, sessions, linked cards, the wallet and top-ups.

use crate::idempotency::{answer_existing, IdempotencyKey, Reply};
use crate::views::{CardView, CreditView, SessionView, TopUpView, UserView, WalletView};
use crate::{new_id, CoreError, Platform};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use base64::Engine;
use finepay_bank::BankError;
use finepay_domain::{ledger, mask_name, Account, Fen, IdNumber, LedgerTransaction, Phone};
use finepay_store::repo::{idempotency, ledger as ledger_repo, top_ups, users};
use finepay_store::{now_text, time_text, Sql};
use rand::RngCore;
use sha2::{Digest, Sha256};

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

pub struct Registration {
    pub phone: String,
    pub password: String,
    pub name: String,
    pub id_number: String,
}

const MIN_PASSWORD_CHARS: usize = 8;
const MAX_PASSWORD_CHARS: usize = 128;
const MAX_NAME_CHARS: usize = 50;

impl Platform {
    pub async fn register(&self, r: Registration) -> Result<UserView, CoreError> {
        let phone =
            Phone::parse(&r.phone).map_err(|e| CoreError::invalid("phone", e.to_string()))?;
        let id_number = IdNumber::parse(&r.id_number)
            .map_err(|e| CoreError::invalid("id_number", e.to_string()))?;
        let name = r.name.trim().to_string();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(CoreError::invalid(
                "name",
                "enter your real name as on your resident ID card (1 to 50 characters)",
            ));
        }
        let chars = r.password.chars().count();
        if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
            return Err(CoreError::invalid(
                "password",
                "choose a password of 8 to 128 characters",
            ));
        }
        let password = r.password;
        let hash = self
            .inner
            .hashing
            .run(move || hash_password(&password))
            .await??;
        let id = new_id("usr");
        let view = UserView {
            id: id.clone(),
            phone: phone.as_str().to_string(),
            name_masked: mask_name(&name),
        };
        let phone_text = phone.as_str().to_string();
        let id_text = id_number.as_str().to_string();
        let now = now_text();
        let result = self
            .db()
            .writer()
            .run(move |conn| {
                users::insert_user(
                    conn,
                    &users::NewUser {
                        id: &id,
                        phone: &phone_text,
                        password_hash: &hash,
                        name: &name,
                        id_number: &id_text,
                        created_at: &now,
                    },
                )
            })
            .await?;
        match result {
            Ok(()) => Ok(view),
            Err(e) if e.is_unique_violation() => Err(CoreError::PhoneTaken),
            Err(e) => Err(e.into()),
        }
    }

    /// Signs in; the token is returned once and only its hash is stored.
    pub async fn login(&self, phone: &str, password: &str) -> Result<SessionView, CoreError> {
        let phone = phone.to_string();
        let user = self
            .db()
            .read(move |c| users::find_user_by_phone(c, &phone))
            .await?;
        let password = password.to_string();
        let stored = user.as_ref().map(|u| u.password_hash.clone());
        let ok = self
            .inner
            .hashing
            .run(move || match stored {
                Some(hash) => verify_password(&password, &hash),
                // Spend the same effort for an unknown phone, so timing does not tell who is registered.
                None => {
                    let _ = hash_password(&password);
                    false
                }
            })
            .await?;
        let user = match (user, ok) {
            (Some(u), true) => u,
            _ => return Err(CoreError::InvalidCredentials),
        };
        let mut raw = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut raw);
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
        let token_hash = hash_token(&token);
        let now = chrono::Utc::now();
        let ttl = chrono::Duration::from_std(self.config().session_ttl)
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        let expires_at = time_text(now + ttl);
        let (created, expires, user_id) = (time_text(now), expires_at.clone(), user.id.clone());
        self.db()
            .writer()
            .run(move |c| users::insert_session(c, &token_hash, &user_id, &created, &expires))
            .await??;
        Ok(SessionView {
            token,
            user_id: user.id,
            expires_at,
        })
    }

    /// Ends the session of this token (logging out). An unknown token is already logged out.
    pub async fn logout(&self, token: &str) -> Result<(), CoreError> {
        let token_hash = hash_token(token);
        self.db()
            .writer()
            .run(move |c| users::delete_session(c, &token_hash))
            .await??;
        Ok(())
    }

    /// The user id of a valid session token.
    pub async fn authenticate(&self, token: &str) -> Result<String, CoreError> {
        let token_hash = hash_token(token);
        let now = now_text();
        self.db()
            .read(move |c| users::session_user(c, &token_hash, &now))
            .await?
            .ok_or(CoreError::Unauthenticated)
    }

    pub async fn link_card(
        &self,
        user_id: &str,
        number: &str,
        holder_name: &str,
    ) -> Result<CardView, CoreError> {
        let digits: String = number.chars().filter(|c| !c.is_whitespace()).collect();
        if !(16..=19).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CoreError::invalid(
                "number",
                "a bank card number has 16 to 19 digits",
            ));
        }
        if !finepay_domain::luhn_valid(&digits) {
            return Err(CoreError::invalid(
                "number",
                "this card number is not valid (check digit mismatch); check the digits on the card",
            ));
        }
        let holder = holder_name.trim().to_string();
        if holder.is_empty() || holder.chars().count() > MAX_NAME_CHARS {
            return Err(CoreError::invalid(
                "holder_name",
                "enter the name on the card",
            ));
        }
        let link = match self.bank().verify_card(&digits, &holder).await {
            Ok(link) => link,
            Err(BankError::Declined { reason }) => return Err(CoreError::CardDeclined(reason)),
            Err(BankError::InvalidCard { reason }) => {
                return Err(CoreError::invalid("number", reason))
            }
            Err(BankError::Timeout | BankError::Unavailable(_)) => {
                return Err(CoreError::BankUnavailable)
            }
            Err(BankError::Protocol(e)) => return Err(CoreError::Internal(e)),
        };
        let card = users::CardRow {
            id: new_id("card"),
            user_id: user_id.to_string(),
            bank: link.bank,
            last4: link.last4,
            card_token: link.card_token,
            holder_name: holder,
            created_at: now_text(),
        };
        let view = CardView {
            id: card.id.clone(),
            bank: card.bank.clone(),
            last4: card.last4.clone(),
        };
        self.db()
            .writer()
            .run(move |c| users::insert_card(c, &card))
            .await??;
        Ok(view)
    }

    pub async fn wallet(&self, user_id: &str) -> Result<WalletView, CoreError> {
        let user_id = user_id.to_string();
        let limit = self.config().credit_limit_fen;
        self.db()
            .read(move |c| {
                let balance =
                    ledger_repo::balance(c, &Account::UserBalance(user_id.clone()).key())?;
                // The credit account's balance is minus what the user owes (see the ledger's signs).
                let outstanding = -ledger_repo::balance(
                    c,
                    &Account::UserCreditReceivable(user_id.clone()).key(),
                )?;
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
        let wallet = self.wallet(user_id).await?;
        let key = Account::UserCreditReceivable(user_id.to_string()).key();
        let postings = self
            .db()
            .read(move |c| finepay_store::repo::credit::postings(c, &key))
            .await?;
        let overdue =
            crate::credit::statements(&postings, crate::today_in_china(), self.statement_days())
                .iter()
                .any(|s| s.status == "overdue");
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

    /// Tops the wallet up from a linked card: a `processing` row is committed first, then the bank
    /// is charged with the top-up id as its idempotency reference, then the outcome is committed.
    pub async fn top_up(
        &self,
        user_id: &str,
        idem: IdempotencyKey,
        card_id: &str,
        amount: Fen,
    ) -> Result<Reply, CoreError> {
        if let Some(reply) = self.replay_if_known(user_id, &idem).await? {
            return Ok(reply);
        }
        let (uid, cid) = (user_id.to_string(), card_id.to_string());
        let card = self
            .db()
            .read(move |c| users::find_card(c, &uid, &cid))
            .await?
            .ok_or_else(|| {
                CoreError::invalid(
                    "card_id",
                    "no linked card with this id; link it with POST /api/v1/cards",
                )
            })?;
        let now = now_text();
        let id = new_id("top");
        let row = top_ups::TopUpRow {
            id: id.clone(),
            user_id: user_id.to_string(),
            card_id: card.id.clone(),
            amount: amount.fen(),
            status: "processing".into(),
            bank_reference: id.clone(),
            failure_reason: None,
            ledger_tx_id: None,
            idempotency_key: Some(idem.key.clone()),
            created_at: now.clone(),
            updated_at: now,
        };
        let claimed = {
            let (row, idem) = (row.clone(), idem.clone());
            self.db()
                .writer()
                .run(move |c| -> Result<Option<Reply>, CoreError> {
                    match idempotency::claim_key(
                        c,
                        &row.user_id,
                        &idem.key,
                        &idem.request_hash,
                        &row.created_at,
                    )? {
                        idempotency::KeyState::Claimed => {}
                        other => return answer_existing(other, &idem.request_hash).map(Some),
                    }
                    top_ups::insert_top_up(c, &row)?;
                    Ok(None)
                })
                .await??
        };
        if let Some(reply) = claimed {
            return Ok(reply);
        }
        let _held = self.hold_charge(&row.bank_reference);
        let outcome = self
            .charge_card(&row.bank_reference, &card.card_token, row.amount)
            .await;
        self.settle_top_up(row, outcome).await
    }

    /// Commits the outcome of a top-up's charge and answers (or stores the answer for) its caller.
    pub(crate) async fn settle_top_up(
        &self,
        row: top_ups::TopUpRow,
        outcome: ChargeOutcome,
    ) -> Result<Reply, CoreError> {
        let bank_code = self.config().bank_code.clone();
        match outcome {
            ChargeOutcome::Unknown => Ok(Reply::fresh(201, top_up_body(&row, "processing"))),
            outcome => {
                let reply = self
                    .db()
                    .writer()
                    .run(move |c| settle_top_up_in(c, &row, &outcome, &bank_code))
                    .await??;
                Ok(reply)
            }
        }
    }

    /// The stored answer for a key this user already used, if any (checked before any outside call).
    pub(crate) async fn replay_if_known(
        &self,
        user_id: &str,
        idem: &IdempotencyKey,
    ) -> Result<Option<Reply>, CoreError> {
        let (uid, key) = (user_id.to_string(), idem.key.clone());
        match self
            .db()
            .read(move |c| idempotency::find_key(c, &uid, &key))
            .await?
        {
            None => Ok(None),
            Some(state) => answer_existing(state, &idem.request_hash).map(Some),
        }
    }

    /// Charges a card, resolving a timeout by asking the bank about the same reference.
    pub(crate) async fn charge_card(
        &self,
        reference: &str,
        card_token: &str,
        amount: i64,
    ) -> ChargeOutcome {
        match self.bank().charge(reference, card_token, amount).await {
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
        match self.bank().charge_status(reference).await {
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

/// What became of a card charge.
#[derive(Clone, Debug)]
pub(crate) enum ChargeOutcome {
    Charged,
    Declined(String),
    /// The bank never got the request: nothing was taken.
    NotReached,
    /// We do not know yet; the resolver will ask the bank again.
    Unknown,
}

fn settle_top_up_in(
    c: &dyn Sql,
    row: &top_ups::TopUpRow,
    outcome: &ChargeOutcome,
    bank_code: &str,
) -> Result<Reply, CoreError> {
    let now = now_text();
    let key = row.idempotency_key.as_deref();
    match outcome {
        ChargeOutcome::Charged => {
            if top_ups::find_top_up(c, &row.id)?.is_some_and(|t| t.status == "failed") {
                // Given up as failed meanwhile: the bank is asked to return the money.
                crate::refunds::enqueue_orphan_refund(c, &row.bank_reference, row.amount, &now)?;
                return Ok(Reply::from_error(&CoreError::BankUnavailable));
            }
            let amount = Fen::from_fen(row.amount);
            let tx = ledger::top_up(&row.user_id, bank_code, amount)
                .map_err(|e| CoreError::Internal(e.to_string()))?;
            let tx_id = post_ledger(c, &tx, &row.id, &now)?;
            // Only a top-up still processing may be credited; otherwise the job rolls back whole.
            if !top_ups::mark_top_up_succeeded(c, &row.id, &tx_id, &now)? {
                return Err(CoreError::Internal(format!(
                    "top-up {} was already settled",
                    row.id
                )));
            }
            let reply = Reply::fresh(201, top_up_body(row, "succeeded"));
            if let Some(key) = key {
                idempotency::complete_key(c, &row.user_id, key, reply.status, &reply.body)?;
            }
            Ok(reply)
        }
        ChargeOutcome::Declined(reason) => {
            if !top_ups::mark_top_up_failed(c, &row.id, reason, &now)? {
                return Err(CoreError::Internal(format!(
                    "top-up {} was already settled",
                    row.id
                )));
            }
            let reply = Reply::from_error(&CoreError::CardDeclined(reason.clone()));
            if let Some(key) = key {
                idempotency::complete_key(c, &row.user_id, key, reply.status, &reply.body)?;
            }
            Ok(reply)
        }
        ChargeOutcome::NotReached | ChargeOutcome::Unknown => {
            if !top_ups::mark_top_up_failed(c, &row.id, "the bank could not be reached", &now)? {
                return Err(CoreError::Internal(format!(
                    "top-up {} was already settled",
                    row.id
                )));
            }
            if let Some(key) = key {
                idempotency::release_key(c, &row.user_id, key)?;
            }
            Ok(Reply::from_error(&CoreError::BankUnavailable))
        }
    }
}

fn top_up_body(row: &top_ups::TopUpRow, status: &str) -> String {
    let view = TopUpView {
        id: row.id.clone(),
        status: status.into(),
        amount: row.amount,
        currency: "CNY".into(),
        card_id: row.card_id.clone(),
        created_at: row.created_at.clone(),
    };
    serde_json::to_string(&view).unwrap_or_default()
}

/// Reads a stored ledger transaction back into the domain type (balanced by construction).
pub(crate) fn load_ledger(c: &dyn Sql, tx_id: &str) -> Result<LedgerTransaction, CoreError> {
    let postings = ledger_repo::postings_of(c, tx_id)?
        .into_iter()
        .map(|(key, amount)| {
            Account::parse_key(&key)
                .map(|account| finepay_domain::Posting {
                    account,
                    amount: Fen::from_fen(amount),
                })
                .ok_or_else(|| CoreError::Internal(format!("unknown account {key} in {tx_id}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    LedgerTransaction::new(finepay_domain::TxKind::Payment, postings)
        .map_err(|e| CoreError::Internal(e.to_string()))
}

/// Writes a domain ledger transaction (already proven balanced) and returns its id.
pub(crate) fn post_ledger(
    c: &dyn Sql,
    tx: &LedgerTransaction,
    reference: &str,
    now: &str,
) -> Result<String, CoreError> {
    let id = new_id("ltx");
    let keys: Vec<String> = tx.postings().iter().map(|p| p.account.key()).collect();
    let rows: Vec<ledger_repo::PostingRow<'_>> = tx
        .postings()
        .iter()
        .zip(&keys)
        .map(|(p, key)| ledger_repo::PostingRow {
            account_key: key,
            amount: p.amount.fen(),
        })
        .collect();
    ledger_repo::post_transaction(c, &id, tx.kind().as_str(), reference, &rows, now)?;
    Ok(id)
}

fn hash_password(password: &str) -> Result<String, CoreError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CoreError::Internal(e.to_string()))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

pub(crate) fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
