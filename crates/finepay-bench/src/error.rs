//! The bench's one error type: setup and verification fail loudly with what the server said;
//! the timed phase never returns these (a failed request there is counted, not raised).

use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("the target must be a loopback http://IP:PORT address, got {0:?}")]
    BadTarget(String),
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("HTTP exchange failed: {0}")]
    Http(#[from] hyper::Error),
    #[error("could not build the request: {0}")]
    Request(#[from] hyper::http::Error),
    #[error("no answer within {timeout_ms} ms")]
    Timeout { timeout_ms: u64 },
    #[error("{what} answered {status}: {body}")]
    Unexpected {
        what: &'static str,
        status: u16,
        body: String,
    },
    #[error("{what} answered JSON without the expected shape: {source}")]
    BadAnswer {
        what: &'static str,
        source: serde_json::Error,
    },
    #[error("file {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("acknowledgement file line {line}: {detail}")]
    BadAckLine { line: usize, detail: &'static str },
    #[error("invalid option: {0}")]
    Invalid(&'static str),
}
