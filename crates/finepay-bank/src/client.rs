//! [`HttpBank`]: the [`Bank`] adapter over the JSON/HTTP protocol in this crate's README.
//!
//! Its one subtle job is telling failures apart: a refused connection proves the bank never got the
//! request (safe to retry at once), a timeout leaves the outcome unknown (ask the bank later).

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::{Response, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::adapter::{Bank, BankError, CardLink, Charge, ChargeStatus};
use crate::protocol::{self, code, status};

/// Pauses before the 2nd and 3rd attempt of a request that never reached the bank. Short, because
/// a citizen is waiting on the other end; bounded, so a dead bank costs at most a quarter second.
const RETRY_BACKOFF: [Duration; 2] = [Duration::from_millis(50), Duration::from_millis(200)];

/// A bank reached over HTTP at `base_url`.
#[derive(Debug, Clone)]
pub struct HttpBank {
    base_url: String,
    timeout: Duration,
    http: reqwest::Client,
}

/// One entry of the bank's own list of charges on a card (see [`HttpBank::card_charges`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardChargeRecord {
    pub reference: String,
    pub status: ChargeStatus,
    pub amount_fen: i64,
    pub refunded_fen: i64,
    pub created_at: DateTime<Utc>,
}

impl HttpBank {
    /// A client for the bank at `base_url` (e.g. `http://127.0.0.1:9000`). Every request, connection
    /// included, must finish within `timeout`; past it the call fails with [`BankError::Timeout`].
    ///
    /// Pick `timeout` above the bank's slowest honest answer (the sandbox's slow card takes 2 s).
    pub fn new(base_url: &str, timeout: Duration) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            timeout,
            http: reqwest::Client::new(),
        }
    }

    /// The bank's own record of every charge attempt on the card behind `card_token`, oldest first.
    ///
    /// Not part of [`Bank`]: the platform never needs it; tests and demos use it to prove that a card
    /// was charged exactly once.
    pub async fn card_charges(&self, card_token: &str) -> Result<Vec<CardChargeRecord>, BankError> {
        let url = self.url(&["bank", "v1", "cards", card_token, "charges"])?;
        let response = self.send(self.http.get(url)).await?;
        if response.status() != StatusCode::OK {
            return Err(ErrorAnswer::read(response).await.into_error());
        }
        let body: protocol::CardChargesResponse = read_json(response).await?;
        body.data
            .into_iter()
            .map(CardChargeRecord::try_from)
            .collect()
    }

    /// `base_url` joined with `segments`, each percent-encoded as one path segment.
    fn url(&self, segments: &[&str]) -> Result<Url, BankError> {
        let mut url = Url::parse(&self.base_url)
            .map_err(|error| BankError::Unavailable(format!("invalid bank base URL: {error}")))?;
        url.path_segments_mut()
            .map_err(|()| BankError::Unavailable("bank base URL cannot take a path".to_owned()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Response, BankError> {
        request
            .timeout(self.timeout)
            .send()
            .await
            .map_err(transport_error)
    }

    async fn post<B: Serialize>(&self, segments: &[&str], body: &B) -> Result<Response, BankError> {
        let url = self.url(segments)?;
        self.send(self.http.post(url).json(body)).await
    }

    async fn verify_once(&self, body: &protocol::VerifyCardRequest) -> Result<CardLink, BankError> {
        let response = self.post(&["bank", "v1", "cards", "verify"], body).await?;
        if response.status() != StatusCode::OK {
            return Err(ErrorAnswer::read(response).await.into_error());
        }
        let link: protocol::VerifyCardResponse = read_json(response).await?;
        Ok(CardLink {
            bank: link.bank,
            last4: link.last4,
            card_token: link.card_token,
        })
    }

    async fn charge_once(&self, body: &protocol::ChargeRequest) -> Result<Charge, BankError> {
        let response = self.post(&["bank", "v1", "charges"], body).await?;
        if response.status() != StatusCode::CREATED {
            return Err(ErrorAnswer::read(response).await.into_error());
        }
        let charge: protocol::ChargeResponse = read_json(response).await?;
        let matches_request = charge.reference == body.reference
            && charge.amount_fen == body.amount_fen
            && charge.status == status::SUCCEEDED;
        if !matches_request {
            return Err(BankError::Protocol(format!(
                "charge answer does not match the request: {charge:?}"
            )));
        }
        Ok(Charge {
            reference: charge.reference,
            amount_fen: charge.amount_fen,
        })
    }

    async fn status_once(&self, reference: &str) -> Result<Option<ChargeStatus>, BankError> {
        let url = self.url(&["bank", "v1", "charges", reference])?;
        let response = self.send(self.http.get(url)).await?;
        match response.status() {
            StatusCode::OK => {
                let record: protocol::ChargeRecord = read_json(response).await?;
                charge_status_of(&record).map(Some)
            }
            StatusCode::NOT_FOUND => {
                let answer = ErrorAnswer::read(response).await;
                if answer.code == code::NOT_FOUND {
                    Ok(None)
                } else {
                    Err(answer.into_error())
                }
            }
            _ => Err(ErrorAnswer::read(response).await.into_error()),
        }
    }

    async fn refund_once(&self, body: &protocol::RefundRequest) -> Result<(), BankError> {
        let response = self.post(&["bank", "v1", "refunds"], body).await?;
        if response.status() == StatusCode::CREATED {
            let _: protocol::RefundResponse = read_json(response).await?;
            return Ok(());
        }
        let answer = ErrorAnswer::read(response).await;
        let refused = [
            code::NOT_FOUND,
            code::REFUND_EXCEEDS_CHARGE,
            code::CHARGE_NOT_REFUNDABLE,
        ];
        if refused.contains(&answer.code.as_str()) {
            return Err(BankError::Declined {
                reason: answer.message,
            });
        }
        Err(answer.into_error())
    }
}

#[async_trait]
impl Bank for HttpBank {
    async fn verify_card(&self, number: &str, holder_name: &str) -> Result<CardLink, BankError> {
        let body = protocol::VerifyCardRequest {
            number: number.to_owned(),
            holder_name: holder_name.to_owned(),
        };
        retry_unavailable(|| self.verify_once(&body)).await
    }

    /// Retries a request that never reached the bank ([`BankError::Unavailable`]) up to 3 attempts in
    /// all, with the same reference: the bank charges a reference at most once, so this is safe.
    async fn charge(
        &self,
        reference: &str,
        card_token: &str,
        amount_fen: i64,
    ) -> Result<Charge, BankError> {
        let body = protocol::ChargeRequest {
            reference: reference.to_owned(),
            card_token: card_token.to_owned(),
            amount_fen,
        };
        retry_unavailable(|| self.charge_once(&body)).await
    }

    async fn charge_status(&self, reference: &str) -> Result<Option<ChargeStatus>, BankError> {
        retry_unavailable(|| self.status_once(reference)).await
    }

    async fn refund(
        &self,
        refund_reference: &str,
        charge_reference: &str,
        amount_fen: i64,
    ) -> Result<(), BankError> {
        let body = protocol::RefundRequest {
            refund_reference: refund_reference.to_owned(),
            charge_reference: charge_reference.to_owned(),
            amount_fen,
        };
        retry_unavailable(|| self.refund_once(&body)).await
    }
}

/// Runs `attempt` again while it fails with [`BankError::Unavailable`], at most
/// `RETRY_BACKOFF.len() + 1` times. Only for requests the bank treats idempotently, which is every
/// request of this protocol.
async fn retry_unavailable<T, F, Fut>(mut attempt: F) -> Result<T, BankError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, BankError>>,
{
    let mut backoff = RETRY_BACKOFF.iter();
    loop {
        match attempt().await {
            Err(BankError::Unavailable(reason)) => {
                let Some(delay) = backoff.next() else {
                    return Err(BankError::Unavailable(reason));
                };
                tracing::warn!(
                    %reason,
                    delay_ms = delay.as_millis(),
                    "bank unavailable, retrying"
                );
                tokio::time::sleep(*delay).await;
            }
            outcome => return outcome,
        }
    }
}

/// Sorts a transport failure into "never reached the bank" or "outcome unknown".
fn transport_error(error: reqwest::Error) -> BankError {
    if error.is_connect() || error.is_builder() {
        return BankError::Unavailable(error_chain(&error));
    }
    if error.is_decode() {
        return BankError::Protocol(error_chain(&error));
    }
    if !error.is_timeout() {
        // The request may have been sent before the connection broke: as unknown as a timeout.
        tracing::warn!(error = %error_chain(&error), "bank connection failed mid-request");
    }
    BankError::Timeout
}

/// The error and its sources on one line: reqwest's own message alone rarely says what went wrong.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The largest answer read from the bank (its answers are a few hundred bytes; a card's charge
/// list for tests is longer); anything bigger is refused unread.
pub const MAX_ANSWER_BYTES: usize = 256 * 1024;

async fn read_json<T: DeserializeOwned>(mut response: Response) -> Result<T, BankError> {
    let too_large = || {
        BankError::Protocol(format!(
            "the bank's answer is larger than {MAX_ANSWER_BYTES} bytes; refused"
        ))
    };
    if response
        .content_length()
        .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body)
        .map_err(|e| BankError::Protocol(format!("bad JSON from the bank: {e}")))
}

fn charge_status_of(record: &protocol::ChargeRecord) -> Result<ChargeStatus, BankError> {
    match record.status.as_str() {
        status::SUCCEEDED => Ok(ChargeStatus::Succeeded {
            amount_fen: record.amount_fen,
        }),
        status::REFUNDED => Ok(ChargeStatus::Refunded {
            amount_fen: record.refunded_fen,
        }),
        status::DECLINED => Ok(ChargeStatus::Declined {
            reason: record
                .reason
                .clone()
                .unwrap_or_else(|| "no reason given".to_owned()),
        }),
        other => Err(BankError::Protocol(format!(
            "unknown charge status {other:?}"
        ))),
    }
}

impl TryFrom<protocol::ChargeRecord> for CardChargeRecord {
    type Error = BankError;

    fn try_from(record: protocol::ChargeRecord) -> Result<Self, BankError> {
        Ok(Self {
            status: charge_status_of(&record)?,
            reference: record.reference,
            amount_fen: record.amount_fen,
            refunded_fen: record.refunded_fen,
            created_at: record.created_at,
        })
    }
}

/// A non-success answer, read once so each call can map the codes it expects.
struct ErrorAnswer {
    status: StatusCode,
    code: String,
    message: String,
    connect_fault: bool,
}

impl ErrorAnswer {
    async fn read(response: Response) -> Self {
        let status = response.status();
        let connect_fault = response
            .headers()
            .get(protocol::FAULT_HEADER)
            .is_some_and(|value| value.as_bytes() == protocol::FAULT_CONNECT.as_bytes());
        let (code, message) = match read_json::<protocol::ErrorEnvelope>(response).await {
            Ok(envelope) => (envelope.error.code, envelope.error.message),
            Err(_) => (String::new(), "no error envelope".to_owned()),
        };
        Self {
            status,
            code,
            message,
            connect_fault,
        }
    }

    /// The mapping every call shares; a call handles its own special codes before this.
    fn into_error(self) -> BankError {
        if self.status == StatusCode::SERVICE_UNAVAILABLE && self.connect_fault {
            return BankError::Unavailable(format!(
                "connection refused (sandbox fault): {}",
                self.message
            ));
        }
        match (self.status, self.code.as_str()) {
            (StatusCode::PAYMENT_REQUIRED, _) => BankError::Declined {
                reason: self.message,
            },
            (StatusCode::BAD_REQUEST, code::INVALID_CARD) => BankError::InvalidCard {
                reason: self.message,
            },
            _ => BankError::Protocol(format!(
                "HTTP {}: {}: {}",
                self.status, self.code, self.message
            )),
        }
    }
}
