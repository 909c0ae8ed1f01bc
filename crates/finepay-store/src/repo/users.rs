//! Users, sessions (token hashes only) and linked cards.

use crate::{params, Row, Sql, StoreError};

#[derive(Clone, Debug)]
pub struct UserRow {
    pub id: String,
    pub phone: String,
    pub password_hash: String,
    pub name: String,
    pub id_number: String,
    pub created_at: String,
}

pub struct NewUser<'a> {
    pub id: &'a str,
    pub phone: &'a str,
    pub password_hash: &'a str,
    pub name: &'a str,
    pub id_number: &'a str,
    pub created_at: &'a str,
}

/// Inserts a user; a taken phone number surfaces as a unique violation.
pub fn insert_user(c: &dyn Sql, user: &NewUser<'_>) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO users (id, phone, password_hash, name, id_number, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        params![
            user.id,
            user.phone,
            user.password_hash,
            user.name,
            user.id_number,
            user.created_at
        ],
    )?;
    Ok(())
}

fn user_from_row(r: Row) -> Result<UserRow, StoreError> {
    Ok(UserRow {
        id: r.text("id")?,
        phone: r.text("phone")?,
        password_hash: r.text("password_hash")?,
        name: r.text("name")?,
        id_number: r.text("id_number")?,
        created_at: r.text("created_at")?,
    })
}

pub fn find_user_by_phone(c: &dyn Sql, phone: &str) -> Result<Option<UserRow>, StoreError> {
    c.query_opt(
        "SELECT id, phone, password_hash, name, id_number, created_at FROM users WHERE phone = $1",
        params![phone],
    )?
    .map(user_from_row)
    .transpose()
}

pub fn find_user(c: &dyn Sql, id: &str) -> Result<Option<UserRow>, StoreError> {
    c.query_opt(
        "SELECT id, phone, password_hash, name, id_number, created_at FROM users WHERE id = $1",
        params![id],
    )?
    .map(user_from_row)
    .transpose()
}

pub fn insert_session(
    c: &dyn Sql,
    token_hash: &str,
    user_id: &str,
    created_at: &str,
    expires_at: &str,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        params![token_hash, user_id, created_at, expires_at],
    )?;
    Ok(())
}

/// Ends a session (logging out); false when there was none.
pub fn delete_session(c: &dyn Sql, token_hash: &str) -> Result<bool, StoreError> {
    Ok(c.execute(
        "DELETE FROM sessions WHERE token_hash = $1",
        params![token_hash],
    )? == 1)
}

/// The user of an unexpired session. `now` is RFC 3339 UTC text, which orders like the time.
pub fn session_user(
    c: &dyn Sql,
    token_hash: &str,
    now: &str,
) -> Result<Option<String>, StoreError> {
    c.query_opt(
        "SELECT user_id FROM sessions WHERE token_hash = $1 AND expires_at > $2",
        params![token_hash, now],
    )?
    .map(|r| r.text("user_id"))
    .transpose()
}

#[derive(Clone, Debug)]
pub struct CardRow {
    pub id: String,
    pub user_id: String,
    pub bank: String,
    pub last4: String,
    pub card_token: String,
    pub holder_name: String,
    pub created_at: String,
}

pub fn insert_card(c: &dyn Sql, card: &CardRow) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO cards (id, user_id, bank, last4, card_token, holder_name, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        params![
            &card.id,
            &card.user_id,
            &card.bank,
            &card.last4,
            &card.card_token,
            &card.holder_name,
            &card.created_at
        ],
    )?;
    Ok(())
}

fn card_from_row(r: Row) -> Result<CardRow, StoreError> {
    Ok(CardRow {
        id: r.text("id")?,
        user_id: r.text("user_id")?,
        bank: r.text("bank")?,
        last4: r.text("last4")?,
        card_token: r.text("card_token")?,
        holder_name: r.text("holder_name")?,
        created_at: r.text("created_at")?,
    })
}

/// A card of this user (another user's card id is simply not found).
pub fn find_card(c: &dyn Sql, user_id: &str, card_id: &str) -> Result<Option<CardRow>, StoreError> {
    c.query_opt(
        "SELECT id, user_id, bank, last4, card_token, holder_name, created_at
         FROM cards WHERE id = $1 AND user_id = $2",
        params![card_id, user_id],
    )?
    .map(card_from_row)
    .transpose()
}

pub fn list_cards(c: &dyn Sql, user_id: &str) -> Result<Vec<CardRow>, StoreError> {
    c.query(
        "SELECT id, user_id, bank, last4, card_token, holder_name, created_at
         FROM cards WHERE user_id = $1 ORDER BY created_at, id",
        params![user_id],
    )?
    .into_iter()
    .map(card_from_row)
    .collect()
}
