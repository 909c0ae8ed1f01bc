//! Users, sessions and linked cards.

use crate::hashing::HashPool;
use crate::ratelimit::RateLimiter;
use crate::views::{CardView, SessionView, UserView};
use crate::{new_id, CoreError};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use base64::Engine;
use finepay_bank::BankError;
use finepay_domain::{mask_name, IdNumber, Phone};
use finepay_store::repo::users;
use finepay_store::{time_text, Db};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;

pub struct Registration {
    pub phone: String,
    pub password: String,
    pub name: String,
    pub id_number: String,
}

/// A password's length in characters (the OpenAPI document says the same).
pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 128;
/// A person's name (real name, card holder) as typed, in characters.
pub const MAX_NAME_CHARS: usize = 50;

/// A person's name as typed: at most 50 characters, something besides spaces, and (once the
/// spaces around it are gone) no control character.
fn is_name(raw: &str) -> bool {
    let trimmed = raw.trim();
    !trimmed.is_empty()
        && raw.chars().count() <= MAX_NAME_CHARS
        && !trimmed.chars().any(char::is_control)
}

/// Users, their sessions and their linked cards: the service behind registration, sign-in and
/// every authenticated request.
#[derive(Clone)]
pub struct Accounts {
    db: Db,
    hashing: Arc<HashPool>,
    bank: Arc<dyn finepay_bank::Bank>,
    session_ttl: Duration,
    /// Sign-ins per phone number and per client address, checked before any password is hashed,
    /// so a flood from one address cannot fill the hashing threads' queue for everyone.
    sign_ins: Arc<RateLimiter>,
    /// Registrations per client address.
    registrations: Arc<RateLimiter>,
}

impl Accounts {
    pub(crate) fn new(
        db: Db,
        hashing: Arc<HashPool>,
        bank: Arc<dyn finepay_bank::Bank>,
        session_ttl: Duration,
        sign_in: crate::LookupLimits,
        registration: crate::LookupLimits,
    ) -> Accounts {
        Accounts {
            db,
            hashing,
            bank,
            session_ttl,
            sign_ins: Arc::new(RateLimiter::new(sign_in)),
            registrations: Arc::new(RateLimiter::new(registration)),
        }
    }

    /// Registers a user, asked from `client` (an address).
    pub async fn register(&self, r: Registration, client: &str) -> Result<UserView, CoreError> {
        self.registrations.admit_client(client)?;
        let phone =
            Phone::parse(&r.phone).map_err(|e| CoreError::invalid("phone", e.to_string()))?;
        let id_number = IdNumber::parse(&r.id_number)
            .map_err(|e| CoreError::invalid("id_number", e.to_string()))?;
        let name = r.name.trim().to_string();
        if !is_name(&r.name) {
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
        let hash = self.hashing.run(move || hash_password(&password)).await??;
        let id = new_id("usr");
        let view = UserView {
            id: id.clone(),
            phone: phone.as_str().to_string(),
            name_masked: mask_name(&name),
        };
        let phone_text = phone.as_str().to_string();
        let id_text = id_number.as_str().to_string();
        let now = self.db.clock().now_text();
        let result = self
            .db
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

    /// Signs in, asked from `client` (an address); a wrong password costs more. The token is
    /// returned once and only its hash is stored.
    pub async fn login(
        &self,
        phone: &str,
        password: &str,
        client: &str,
    ) -> Result<SessionView, CoreError> {
        self.sign_ins.admit(phone, client)?;
        let typed = phone;
        let phone = phone.to_string();
        let user = self
            .db
            .read(move |c| users::find_user_by_phone(c, &phone))
            .await?;
        let password = password.to_string();
        let stored = user.as_ref().map(|u| u.password_hash.clone());
        let ok = self
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
            _ => {
                self.sign_ins.charge_failure(typed, client);
                return Err(CoreError::InvalidCredentials);
            }
        };
        let mut raw = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut raw);
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
        let token_hash = hash_token(&token);
        let now = self.db.clock().now();
        let ttl = chrono::Duration::from_std(self.session_ttl)
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        let expires_at = time_text(now + ttl);
        let (created, expires, user_id) = (time_text(now), expires_at.clone(), user.id.clone());
        self.db
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
        self.db
            .writer()
            .run(move |c| users::delete_session(c, &token_hash))
            .await??;
        Ok(())
    }

    /// The user id of a valid session token.
    pub async fn authenticate(&self, token: &str) -> Result<String, CoreError> {
        let token_hash = hash_token(token);
        let now = self.db.clock().now_text();
        self.db
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
        // The bank takes printable names only: a control character would come back from it as
        // a protocol error.
        if !is_name(holder_name) {
            return Err(CoreError::invalid(
                "holder_name",
                "enter the name on the card",
            ));
        }
        let link = match self.bank.verify_card(&digits, &holder).await {
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
            created_at: self.db.clock().now_text(),
        };
        let view = CardView {
            id: card.id.clone(),
            bank: card.bank.clone(),
            last4: card.last4.clone(),
        };
        self.db
            .writer()
            .run(move |c| users::insert_card(c, &card))
            .await??;
        Ok(view)
    }
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
