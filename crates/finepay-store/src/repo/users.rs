//! Users, sessions (token hashes only) and linked cards.

use crate::StoreError;
use rusqlite::{params, Connection, OptionalExtension};

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
pub fn insert_user(conn: &Connection, user: &NewUser<'_>) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO users (id, phone, password_hash, name, id_number, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        user.id,
        user.phone,
        user.password_hash,
        user.name,
        user.id_number,
        user.created_at
    ])?;
    Ok(())
}

fn user_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<UserRow> {
    Ok(UserRow {
        id: r.get(0)?,
        phone: r.get(1)?,
        password_hash: r.get(2)?,
        name: r.get(3)?,
        id_number: r.get(4)?,
        created_at: r.get(5)?,
    })
}

const USER_COLUMNS: &str = "id, phone, password_hash, name, id_number, created_at";

pub fn find_user_by_phone(conn: &Connection, phone: &str) -> Result<Option<UserRow>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE phone = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([phone], user_from_row)
        .optional()?)
}

pub fn find_user(conn: &Connection, id: &str) -> Result<Option<UserRow>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], user_from_row)
        .optional()?)
}

pub fn insert_session(
    conn: &Connection,
    token_hash: &str,
    user_id: &str,
    created_at: &str,
    expires_at: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![token_hash, user_id, created_at, expires_at])?;
    Ok(())
}

/// The user of an unexpired session. `now` is RFC 3339 UTC text, which orders like the time.
pub fn session_user(
    conn: &Connection,
    token_hash: &str,
    now: &str,
) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT user_id FROM sessions WHERE token_hash = ?1 AND expires_at > ?2")?
        .query_row(params![token_hash, now], |r| r.get(0))
        .optional()?)
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

pub fn insert_card(conn: &Connection, card: &CardRow) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO cards (id, user_id, bank, last4, card_token, holder_name, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        card.id,
        card.user_id,
        card.bank,
        card.last4,
        card.card_token,
        card.holder_name,
        card.created_at
    ])?;
    Ok(())
}

fn card_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CardRow> {
    Ok(CardRow {
        id: r.get(0)?,
        user_id: r.get(1)?,
        bank: r.get(2)?,
        last4: r.get(3)?,
        card_token: r.get(4)?,
        holder_name: r.get(5)?,
        created_at: r.get(6)?,
    })
}

/// A card of this user (another user's card id is simply not found).
pub fn find_card(
    conn: &Connection,
    user_id: &str,
    card_id: &str,
) -> Result<Option<CardRow>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT id, user_id, bank, last4, card_token, holder_name, created_at
             FROM cards WHERE id = ?1 AND user_id = ?2",
        )?
        .query_row(params![card_id, user_id], card_from_row)
        .optional()?)
}

pub fn list_cards(conn: &Connection, user_id: &str) -> Result<Vec<CardRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, user_id, bank, last4, card_token, holder_name, created_at
         FROM cards WHERE user_id = ?1 ORDER BY created_at, id",
    )?;
    let rows = stmt.query_map([user_id], card_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}
