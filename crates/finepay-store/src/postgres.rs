//! The PostgreSQL backend of [`Sql`], for many finepay instances on one database. A synchronous
//! client per connection (the writer thread owns one; readers use theirs from `spawn_blocking`),
//! with statements prepared once per connection.

use crate::sql::{Backend, Param, Row, Sql, Value};
use crate::StoreError;
use postgres::types::{IsNull, ToSql, Type};
use postgres::{Client, NoTls, Statement};
use std::cell::RefCell;
use std::collections::HashMap;
use std::error::Error;
use std::sync::Arc;

impl ToSql for Param<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self {
            Param::Int(v) if *ty == Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
            Param::Int(v) => v.to_sql(ty, out),
            Param::Text(s) => s.to_sql(ty, out),
            Param::Null => Ok(IsNull::Yes),
        }
    }

    fn accepts(ty: &Type) -> bool {
        matches!(
            *ty,
            Type::INT8
                | Type::INT4
                | Type::TEXT
                | Type::VARCHAR
                | Type::BPCHAR
                | Type::NAME
                | Type::UNKNOWN
        )
    }

    postgres::types::to_sql_checked!();
}

pub struct PgConn {
    /// Always `Some` until drop (taken there to close it off any async runtime).
    client: RefCell<Option<Client>>,
    statements: RefCell<HashMap<String, Statement>>,
    /// Where to connect again when the server went away (a restart, a failover).
    url: String,
    /// Between `BEGIN` and `COMMIT`/`ROLLBACK`: a connection lost here takes the transaction
    /// with it, and is not re-opened until the next `BEGIN` (a statement of the lost transaction
    /// must fail, never run on a fresh connection outside any transaction).
    in_tx: std::cell::Cell<bool>,
}

impl PgConn {
    /// Connects on a thread of its own: the synchronous client runs its own small runtime, which
    /// must not start inside an async task (it is used afterwards from the writer thread and from
    /// `spawn_blocking`, where blocking is allowed).
    pub fn connect(url: &str) -> Result<PgConn, StoreError> {
        Ok(PgConn {
            client: RefCell::new(Some(open_client(url)?)),
            statements: RefCell::new(HashMap::new()),
            url: url.to_string(),
            in_tx: std::cell::Cell::new(false),
        })
    }

    /// Connects again if the server closed this connection, outside a transaction only.
    fn reopen_if_closed(&self) -> Result<(), StoreError> {
        let closed = self.client.borrow().as_ref().is_none_or(Client::is_closed);
        if !closed {
            return Ok(());
        }
        if self.in_tx.get() {
            return Err(StoreError::CommitFailed(
                "the connection to PostgreSQL was lost inside a transaction; nothing of it was written"
                    .into(),
            ));
        }
        let fresh = open_client(&self.url)?;
        tracing::info!("connected to PostgreSQL again after the connection was lost");
        self.statements.borrow_mut().clear();
        if let Some(old) = self.client.borrow_mut().replace(fresh) {
            let _ = std::thread::spawn(move || drop(old)).join();
        }
        Ok(())
    }

    fn with_client<T>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        let mut slot = self.client.borrow_mut();
        let client = slot.as_mut().ok_or(StoreError::WriterGone)?;
        Ok(f(client)?)
    }

    fn statement(&self, sql: &str) -> Result<Statement, StoreError> {
        if let Some(s) = self.statements.borrow().get(sql) {
            return Ok(s.clone());
        }
        let stmt = self.with_client(|c| c.prepare(sql))?;
        self.statements
            .borrow_mut()
            .insert(sql.to_string(), stmt.clone());
        Ok(stmt)
    }
}

/// One client, connected on a thread of its own: the synchronous client runs its own small
/// runtime, which must not start inside an async task.
fn open_client(url: &str) -> Result<Client, StoreError> {
    let (url, tls) = crate::pg_tls::tls_for(url)?;
    // Nothing waits without a bound: a lock held by another instance, or a runaway statement,
    // fails the job (answered 503, retried by the client) instead of hanging every request.
    std::thread::spawn(move || {
        let mut client = match tls {
            crate::pg_tls::PgTls::Plain => Client::connect(&url, NoTls)?,
            crate::pg_tls::PgTls::Rustls(tls) => Client::connect(&url, tls)?,
        };
        client.batch_execute("SET lock_timeout = '5s'; SET statement_timeout = '30s'")?;
        Ok::<_, postgres::Error>(client)
    })
    .join()
    .map_err(|_| StoreError::CommitFailed("the PostgreSQL connect thread panicked".into()))?
    .map_err(StoreError::from)
}

impl Drop for PgConn {
    /// Closing the client blocks on its runtime, which must not happen inside an async task.
    fn drop(&mut self) {
        if let Some(client) = self.client.get_mut().take() {
            let _ = std::thread::spawn(move || drop(client)).join();
        }
    }
}

fn to_refs<'a>(params: &'a [Param<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

impl Sql for PgConn {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    /// PostgreSQL never ends a transaction by itself (a failed one stays open, refusing
    /// statements, until rolled back); a lost connection takes it with it.
    fn in_transaction(&self) -> bool {
        self.in_tx.get()
            && self
                .client
                .borrow()
                .as_ref()
                .is_some_and(|c| !c.is_closed())
    }

    fn execute(&self, sql: &str, params: &[Param<'_>]) -> Result<u64, StoreError> {
        self.reopen_if_closed()?;
        let stmt = self.statement(sql)?;
        self.with_client(|c| c.execute(&stmt, &to_refs(params)))
    }

    fn query(&self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, StoreError> {
        self.reopen_if_closed()?;
        let stmt = self.statement(sql)?;
        let rows = self.with_client(|c| c.query(&stmt, &to_refs(params)))?;
        let names: Arc<[String]> = match rows.first() {
            Some(r) => r.columns().iter().map(|c| c.name().to_string()).collect(),
            None => return Ok(Vec::new()),
        };
        rows.iter().map(|r| read_row(r, &names)).collect()
    }

    fn batch(&self, sql: &str) -> Result<(), StoreError> {
        // The writer's transaction control, told apart so a lost connection is re-opened only
        // between transactions.
        if sql == "BEGIN" {
            self.in_tx.set(false);
        }
        self.reopen_if_closed()?;
        let result = self.with_client(|c| c.batch_execute(sql));
        match sql {
            "BEGIN" => self.in_tx.set(result.is_ok()),
            "COMMIT" | "ROLLBACK" => self.in_tx.set(false),
            _ => {}
        }
        result
    }
}

fn read_row(r: &postgres::Row, names: &Arc<[String]>) -> Result<Row, StoreError> {
    let mut values = Vec::with_capacity(r.len());
    for (i, column) in r.columns().iter().enumerate() {
        let ty = column.type_();
        let value = if *ty == Type::INT8 {
            r.try_get::<_, Option<i64>>(i)?
                .map_or(Value::Null, Value::Int)
        } else if *ty == Type::INT4 {
            r.try_get::<_, Option<i32>>(i)?
                .map_or(Value::Null, |v| Value::Int(i64::from(v)))
        } else if *ty == Type::INT2 {
            r.try_get::<_, Option<i16>>(i)?
                .map_or(Value::Null, |v| Value::Int(i64::from(v)))
        } else {
            r.try_get::<_, Option<String>>(i)?
                .map_or(Value::Null, Value::Text)
        };
        values.push(value);
    }
    Ok(Row::new(names.clone(), values))
}
