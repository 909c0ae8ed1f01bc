//! The SQLite backend of [`Sql`]: the embedded default.

use crate::sql::{to_sqlite_placeholders, Backend, Param, Row, Sql, Value};
use crate::StoreError;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{params_from_iter, Connection, ToSql};
use std::path::Path;
use std::sync::Arc;

impl ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Param::Int(v) => ToSqlOutput::from(*v),
            Param::Text(s) => ToSqlOutput::from(*s),
            Param::Null => ToSqlOutput::from(rusqlite::types::Null),
        })
    }
}

impl Sql for Connection {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn in_transaction(&self) -> bool {
        !self.is_autocommit()
    }

    fn execute(&self, sql: &str, params: &[Param<'_>]) -> Result<u64, StoreError> {
        let mut stmt = self.prepare_cached(&to_sqlite_placeholders(sql))?;
        Ok(stmt.execute(params_from_iter(params.iter()))? as u64)
    }

    fn query(&self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, StoreError> {
        let mut stmt = self.prepare_cached(&to_sqlite_placeholders(sql))?;
        let names: Arc<[String]> = stmt
            .column_names()
            .into_iter()
            .map(str::to_string)
            .collect();
        let columns = names.len();
        let mut rows = stmt.query(params_from_iter(params.iter()))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let mut values = Vec::with_capacity(columns);
            for i in 0..columns {
                values.push(match r.get_ref(i)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(v) => Value::Int(v),
                    ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Real(f) => {
                        return Err(StoreError::Corrupt(format!(
                            "column {i} holds a float ({f}); finepay stores none"
                        )))
                    }
                    ValueRef::Blob(_) => {
                        return Err(StoreError::Corrupt(format!("column {i} holds a blob")))
                    }
                });
            }
            out.push(Row::new(names.clone(), values));
        }
        Ok(out)
    }

    fn batch(&self, sql: &str) -> Result<(), StoreError> {
        Ok(self.execute_batch(sql)?)
    }
}

/// Opens a SQLite connection with the settings every finepay connection uses. `synchronous=FULL`
/// because in WAL mode `NORMAL` does not sync at commit: an acknowledged payment must survive a
/// power cut.
pub fn open_sqlite(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;",
    )?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}
