//! A lean HTTP/1.1 client: one keep-alive connection per worker, reconnected when it breaks.
//!
//! Why not a pooled client: the load generator shares two cores with the server it measures, so
//! every microsecond it spends is taken from the server. A worker that owns its connection needs
//! no pool lock, no URL parsing and no per-request allocation beyond the body.

use crate::error::BenchError;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;

/// Where the server is. Only loopback addresses are accepted: the bench never loads another host.
#[derive(Clone, Debug)]
pub struct Target {
    pub addr: SocketAddr,
    host: String,
}

impl Target {
    /// Parses `http://127.0.0.1:8080` (a trailing `/` is allowed).
    pub fn parse(url: &str) -> Result<Self, BenchError> {
        let bad = || BenchError::BadTarget(url.to_string());
        let rest = url.strip_prefix("http://").ok_or_else(bad)?;
        let host = rest.trim_end_matches('/');
        let addr: SocketAddr = host.parse().map_err(|_| bad())?;
        if !addr.ip().is_loopback() {
            return Err(bad());
        }
        Ok(Self {
            addr,
            host: host.to_string(),
        })
    }
}

/// One request. `body` is sent as `application/json` when present.
pub struct Req<'a> {
    pub method: Method,
    pub path: &'a str,
    pub bearer: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
    pub body: Option<Bytes>,
}

impl<'a> Req<'a> {
    pub fn get(path: &'a str, bearer: Option<&'a str>) -> Self {
        Self {
            method: Method::GET,
            path,
            bearer,
            idempotency_key: None,
            body: None,
        }
    }

    pub fn post(path: &'a str, bearer: Option<&'a str>, body: Bytes) -> Self {
        Self {
            method: Method::POST,
            path,
            bearer,
            idempotency_key: None,
            body: Some(body),
        }
    }

    pub fn with_key(mut self, key: &'a str) -> Self {
        self.idempotency_key = Some(key);
        self
    }
}

/// What came back: the status and the whole body.
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

/// A keep-alive connection that reconnects on the next request after a failure.
pub struct Conn {
    target: Target,
    sender: Option<SendRequest<Full<Bytes>>>,
    timeout: Duration,
}

impl Conn {
    pub fn new(target: Target, timeout: Duration) -> Self {
        Self {
            target,
            sender: None,
            timeout,
        }
    }

    /// Sends one request; any failure drops the connection so the next call starts afresh.
    pub async fn send(&mut self, req: Req<'_>) -> Result<Answer, BenchError> {
        let timeout_ms = u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX);
        match tokio::time::timeout(self.timeout, self.exchange(req)).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(e)) => {
                self.sender = None;
                Err(e)
            }
            Err(_) => {
                self.sender = None;
                Err(BenchError::Timeout { timeout_ms })
            }
        }
    }

    async fn exchange(&mut self, req: Req<'_>) -> Result<Answer, BenchError> {
        let request = self.build(req)?;
        let sender = self.ready_sender().await?;
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok(Answer { status, body })
    }

    fn build(&self, req: Req<'_>) -> Result<Request<Full<Bytes>>, BenchError> {
        let mut builder = Request::builder()
            .method(req.method)
            .uri(req.path)
            .header(HOST, &self.target.host);
        if let Some(token) = req.bearer {
            builder = builder.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(key) = req.idempotency_key {
            builder = builder.header("idempotency-key", key);
        }
        let body = match req.body {
            Some(b) => {
                builder = builder.header(CONTENT_TYPE, "application/json");
                b
            }
            None => Bytes::new(),
        };
        Ok(builder.body(Full::new(body))?)
    }

    async fn ready_sender(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, BenchError> {
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            self.sender = Some(self.connect().await?);
        }
        match self.sender.as_mut() {
            Some(sender) => {
                sender.ready().await?;
                Ok(sender)
            }
            None => Err(BenchError::Invalid("connection vanished")),
        }
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, BenchError> {
        let addr = self.target.addr;
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|source| BenchError::Connect { addr, source })?;
        stream
            .set_nodelay(true)
            .map_err(|source| BenchError::Connect { addr, source })?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        // The connection task ends by itself when the sender is dropped or the peer closes.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_targets_are_accepted() {
        assert!(Target::parse("http://127.0.0.1:8080").is_ok());
        assert!(Target::parse("http://[::1]:8080/").is_ok());
        assert!(Target::parse("http://10.0.0.1:8080").is_err());
        assert!(Target::parse("https://127.0.0.1:8080").is_err());
        assert!(Target::parse("http://localhost:8080").is_err());
    }
}
