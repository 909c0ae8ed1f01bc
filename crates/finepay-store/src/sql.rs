//! One small SQL interface over both backends, so every repository function is written once.
//!
//! Statements use PostgreSQL's `$1, $2, …` placeholders; the SQLite backend rewrites them to `?1, ?2`
//! (explicit indexes, so a placeholder may repeat or appear out of order). Values are the three
//! kinds finepay stores: integers (fen, counts), text (ids, times as RFC 3339 UTC text, JSON) and
//! NULL. Statements are prepared once per connection and cached.

use crate::StoreError;
use chrono::{DateTime, Utc};
use finepay_domain::Fen;
use std::borrow::Cow;
use std::sync::Arc;

/// A parameter of a statement.
#[derive(Clone, Copy, Debug)]
pub enum Param<'a> {
    Int(i64),
    Text(&'a str),
    Null,
}

impl From<i64> for Param<'_> {
    fn from(v: i64) -> Self {
        Param::Int(v)
    }
}

impl From<u32> for Param<'_> {
    fn from(v: u32) -> Self {
        Param::Int(i64::from(v))
    }
}

impl From<u16> for Param<'_> {
    fn from(v: u16) -> Self {
        Param::Int(i64::from(v))
    }
}

impl From<Fen> for Param<'_> {
    fn from(v: Fen) -> Self {
        Param::Int(v.fen())
    }
}

impl<'a> From<&'a str> for Param<'a> {
    fn from(v: &'a str) -> Self {
        Param::Text(v)
    }
}

impl<'a> From<&'a String> for Param<'a> {
    fn from(v: &'a String) -> Self {
        Param::Text(v)
    }
}

impl<'a> From<Option<&'a str>> for Param<'a> {
    fn from(v: Option<&'a str>) -> Self {
        v.map_or(Param::Null, Param::Text)
    }
}

impl<'a> From<&'a Option<String>> for Param<'a> {
    fn from(v: &'a Option<String>) -> Self {
        v.as_deref().map_or(Param::Null, Param::Text)
    }
}

/// Builds a `&[Param]` from values of any supported type.
#[macro_export]
macro_rules! params {
    ($($v:expr),* $(,)?) => { &[$($crate::Param::from($v)),*] as &[$crate::Param<'_>] };
}

/// A value read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Int(i64),
    Text(String),
    Null,
}

/// One row of a result, read by column name (the name a query gives it: the column's own, or its
/// `AS` alias).
#[derive(Clone, Debug)]
pub struct Row {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

impl Row {
    /// A row of `values` under `columns` (shared by every row of one result).
    pub fn new(columns: Arc<[String]>, values: Vec<Value>) -> Row {
        Row { columns, values }
    }

    fn at(&self, name: &str) -> Result<&Value, StoreError> {
        self.columns
            .iter()
            .position(|c| c == name)
            .and_then(|i| self.values.get(i))
            .ok_or_else(|| StoreError::Corrupt(format!("no column {name}")))
    }

    pub fn int(&self, name: &str) -> Result<i64, StoreError> {
        match self.at(name)? {
            Value::Int(v) => Ok(*v),
            other => Err(StoreError::Corrupt(format!(
                "column {name}: expected an integer, got {other:?}"
            ))),
        }
    }

    pub fn opt_int(&self, name: &str) -> Result<Option<i64>, StoreError> {
        match self.at(name)? {
            Value::Null => Ok(None),
            _ => self.int(name).map(Some),
        }
    }

    pub fn text(&self, name: &str) -> Result<String, StoreError> {
        match self.at(name)? {
            Value::Text(v) => Ok(v.clone()),
            other => Err(StoreError::Corrupt(format!(
                "column {name}: expected text, got {other:?}"
            ))),
        }
    }

    pub fn opt_text(&self, name: &str) -> Result<Option<String>, StoreError> {
        match self.at(name)? {
            Value::Null => Ok(None),
            _ => self.text(name).map(Some),
        }
    }

    /// A column holding the name of an enum value, parsed with `parse` (e.g. `PaymentStatus::parse`):
    /// an unknown name is a corrupt row, never a default.
    pub fn named<T>(&self, name: &str, parse: fn(&str) -> Option<T>) -> Result<T, StoreError> {
        let text = self.text(name)?;
        parse(&text)
            .ok_or_else(|| StoreError::Corrupt(format!("column {name}: unknown value {text:?}")))
    }

    /// The value of a one-column result whose column has no name worth giving (an expression).
    pub fn only_text(&self) -> Result<String, StoreError> {
        match self.values.as_slice() {
            [Value::Text(v)] => Ok(v.clone()),
            other => Err(StoreError::Corrupt(format!(
                "expected one text column, got {other:?}"
            ))),
        }
    }

    /// A column of fen.
    pub fn fen(&self, name: &str) -> Result<Fen, StoreError> {
        self.int(name).map(Fen::from_fen)
    }

    /// A column of time (RFC 3339 UTC text, as [`crate::time_text`] writes it).
    pub fn time(&self, name: &str) -> Result<DateTime<Utc>, StoreError> {
        let text = self.text(name)?;
        crate::parse_time(&text)
            .ok_or_else(|| StoreError::Corrupt(format!("column {name}: not a time: {text:?}")))
    }

    /// A nullable column of time.
    pub fn opt_time(&self, name: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        match self.opt_text(name)? {
            None => Ok(None),
            Some(text) => crate::parse_time(&text)
                .map(Some)
                .ok_or_else(|| StoreError::Corrupt(format!("column {name}: not a time: {text:?}"))),
        }
    }
}

/// Which database a connection talks to (for the few statements that differ).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A connection (inside the writer's transaction, or a reader).
pub trait Sql {
    fn backend(&self) -> Backend;
    /// Runs a statement; returns the number of rows it changed.
    fn execute(&self, sql: &str, params: &[Param<'_>]) -> Result<u64, StoreError>;
    /// Runs a query and returns every row.
    fn query(&self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, StoreError>;
    /// Runs statements without parameters (transaction control, migrations).
    fn batch(&self, sql: &str) -> Result<(), StoreError>;
    /// Whether an explicit transaction is open. SQLite ends one by itself when a statement fails
    /// with a full disk or an I/O error (the whole transaction is rolled back); PostgreSQL keeps
    /// a failed transaction open until it is rolled back.
    fn in_transaction(&self) -> bool;

    /// The first row, if any.
    fn query_opt(&self, sql: &str, params: &[Param<'_>]) -> Result<Option<Row>, StoreError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// Exactly one row.
    fn query_one(&self, sql: &str, params: &[Param<'_>]) -> Result<Row, StoreError> {
        self.query_opt(sql, params)?
            .ok_or_else(|| StoreError::Corrupt(format!("no row for: {sql}")))
    }
}

/// `$1` → `?1` for SQLite. Leaves `$` inside quoted strings alone. (SQLite reads `$1` as a *named*
/// parameter numbered by first appearance, which would bind `SET a = $2 WHERE b = $1` backwards.)
/// Runs on every statement, so it copies slices, not characters.
pub(crate) fn to_sqlite_placeholders(sql: &str) -> Cow<'_, str> {
    if !sql.contains('$') {
        return Cow::Borrowed(sql);
    }
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut in_quote = false;
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\'' => in_quote = !in_quote,
            // `$` and `'` are ASCII, so `i` is a character boundary.
            b'$' if !in_quote && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                out.push_str(&sql[start..i]);
                out.push('?');
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push_str(&sql[start..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_sqlite_indexes_outside_quotes() {
        assert_eq!(
            to_sqlite_placeholders("SELECT '$1' || $1, $12 WHERE a = $2"),
            "SELECT '$1' || ?1, ?12 WHERE a = ?2"
        );
    }

    /// The character-by-character rewrite this replaced, kept as the reference.
    fn reference(sql: &str) -> String {
        let mut out = String::with_capacity(sql.len());
        let mut in_quote = false;
        let mut chars = sql.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\'' => {
                    in_quote = !in_quote;
                    out.push(c);
                }
                '$' if !in_quote && chars.peek().is_some_and(|n| n.is_ascii_digit()) => {
                    out.push('?')
                }
                _ => out.push(c),
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn the_fast_rewrite_matches_the_reference(sql in "[$'0-9a-z =,分?]{0,40}") {
            let fast = to_sqlite_placeholders(&sql).into_owned();
            proptest::prop_assert_eq!(fast, reference(&sql));
        }
    }
}
