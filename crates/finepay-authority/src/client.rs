//! The `Authority` adapter and its HTTP client.
//!
//! **Architecture Invariant:** the platform reaches a traffic authority only through [`Authority`];
//! it never reads the sandbox's tables. A real deployment points [`HttpAuthority`] at a real
//! endpoint; tests point it at the sandbox over real HTTP, so timeouts and 503s are exercised for real.

use crate::protocol::{
    sign, DecisionRecord, ErrorEnvelope, EventPage, HandlingRefusal, HandlingRequest,
    LicencePoints, LicencePointsRequest, NoticeAnswer, NoticeBatch, NoticeBatchAnswer, NoticeList,
    NoticePage, NoticeResult, PaymentNotice, SettlementFile, SettlementVerdict, VehicleCheck,
    VehicleCheckRequest, ViolationList, SIGNATURE_HEADER, TIMESTAMP_HEADER,
};
use async_trait::async_trait;
use chrono::NaiveDate;
use reqwest::{Method, StatusCode};
use std::time::Duration;

/// One city's traffic authority, as the platform sees it.
#[async_trait]
pub trait Authority: Send + Sync + 'static {
    /// Fetch a penalty decision with its charges as of the authority's today.
    async fn lookup_decision(&self, number: &str) -> Result<DecisionRecord, AuthorityError>;

    /// Tell the authority a decision was paid. Safe to repeat: the authority dedupes by
    /// `payment_id`, so a retry after a timeout cannot pay twice.
    async fn send_payment_notice(
        &self,
        notice: &PaymentNotice,
    ) -> Result<NoticeOutcome, AuthorityError>;

    /// Several notices at once (at most [`crate::MAX_NOTICES_PER_BATCH`]): one outcome per notice,
    /// in order, as if sent one by one. The default sends them one by one. The outer error means
    /// none of the outcomes is known (each notice may or may not have arrived: safe to send again).
    async fn send_payment_notices(
        &self,
        notices: &[PaymentNotice],
    ) -> Result<Vec<Result<NoticeOutcome, AuthorityError>>, AuthorityError> {
        Ok(one_by_one(self, notices).await)
    }
    /// The notices the authority accepted for payments made on `date` (Asia/Shanghai), for the
    /// daily reconciliation. Not every authority offers it; the default says so.
    async fn accepted_notices(&self, date: NaiveDate) -> Result<NoticeList, AuthorityError> {
        Err(not_offered(&format!("notice lists ({date})")))
    }

    /// One page of the notices accepted for payments made on `date`, in payment id order, after
    /// the payment id `after` (`""` for the first page), at most `limit`
    /// ([`crate::MAX_NOTICES_PER_PAGE`]): the reconciliation's stream of the authority's side.
    async fn notice_page(
        &self,
        date: NaiveDate,
        after: &str,
        limit: u32,
    ) -> Result<NoticePage, AuthorityError> {
        let _ = (after, limit);
        Err(not_offered(&format!("notice pages ({date})")))
    }

    /// Hand the authority a settlement batch's file; it checks the file against its own records.
    async fn send_settlement(
        &self,
        file: &SettlementFile,
    ) -> Result<SettlementVerdict, AuthorityError> {
        let _ = file;
        Err(not_offered("settlement files"))
    }

    /// Whether `plate` is registered with this authority and its VIN ends with `vin_last6`: the
    /// check before a user binds a plate (SPEC §3 `POST /api/v1/vehicles`).
    async fn verify_vehicle(&self, plate: &str, vin_last6: &str) -> Result<bool, AuthorityError> {
        let _ = (plate, vin_last6);
        Err(not_offered("vehicle checks"))
    }

    /// Every violation this authority recorded for `plate`, newest first, handled or not.
    async fn violations_for_plate(&self, plate: &str) -> Result<ViolationList, AuthorityError> {
        let _ = plate;
        Err(not_offered("violation lists"))
    }

    /// Online handling (处理) of a violation by its registered owner: on success the decision,
    /// served today, with the points on `handler`'s licence.
    async fn handle_violation(
        &self,
        violation_id: &str,
        handler: &HandlingRequest,
    ) -> Result<HandlingOutcome, AuthorityError> {
        let _ = (violation_id, handler);
        Err(not_offered("online handling"))
    }

    /// Points this authority put on a licence with decisions issued from `from` to `to` inclusive.
    async fn licence_points(
        &self,
        licence_number: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<u32, AuthorityError> {
        let _ = (licence_number, from, to);
        Err(not_offered("licence points"))
    }

    /// The authority's events (violation recorded, decision issued or revoked) after `after`,
    /// oldest first, at most `limit`: the feed the platform follows to notify plate owners and
    /// keep its copies of decisions current. With no event yet, the authority may hold the call
    /// up to `wait` and answer as soon as one arrives (a long poll); `Duration::ZERO` asks at once.
    async fn events_after(
        &self,
        after: i64,
        limit: u32,
        wait: Duration,
    ) -> Result<EventPage, AuthorityError> {
        let _ = (after, limit, wait);
        Err(not_offered("event feeds"))
    }
}

/// Each notice on its own request. A transport failure stops early (the rest would fail the same
/// way) and marks the rest unavailable too.
async fn one_by_one<A: Authority + ?Sized>(
    authority: &A,
    notices: &[PaymentNotice],
) -> Vec<Result<NoticeOutcome, AuthorityError>> {
    let mut outcomes = Vec::with_capacity(notices.len());
    let mut down: Option<AuthorityError> = None;
    for notice in notices {
        if let Some(e) = &down {
            outcomes.push(Err(e.clone()));
            continue;
        }
        let outcome = authority.send_payment_notice(notice).await;
        if let Err(e) = &outcome {
            if e.is_transient() {
                down = Some(e.clone());
            }
        }
        outcomes.push(outcome);
    }
    outcomes
}

fn not_offered(what: &str) -> AuthorityError {
    AuthorityError::Protocol(format!("this authority does not offer {what}"))
}

/// What the authority made of an online-handling request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandlingOutcome {
    /// Handled: the decision issued.
    Handled(Box<DecisionRecord>),
    /// Refused: the person must go to a traffic management office.
    Refused {
        /// `not_owner`, `not_camera_recorded`, `fine_over_limit`, `points_over_limit`,
        /// `already_decided`.
        reason: String,
        /// The authority's explanation.
        message: String,
    },
}

/// What the authority made of a payment notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeOutcome {
    /// First delivery: the decision is now paid with this payment.
    Accepted,
    /// This payment id was accepted before; nothing changed. Treat as success.
    Duplicate,
    /// Refused for good (already paid by another payment, revoked, wrong amount, unknown number):
    /// the platform refunds. Retrying will not change the answer.
    Rejected {
        /// `already_paid`, `revoked`, `amount_mismatch`, `not_found` or `payment_id_reused`.
        reason: String,
    },
}

/// Why a call to an authority did not give an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorityError {
    /// The authority has no decision (or, for handling, violation) with this number or id.
    #[error("the authority has no such decision or violation")]
    NotFound,
    /// The authority could not be reached or answered 5xx; worth retrying later.
    #[error("the authority is unavailable: {0}")]
    Unavailable(String),
    /// The authority refused our signature (wrong secret or clock skew): a configuration fault.
    #[error("the authority refused the request signature")]
    Unauthorized,
    /// The authority answered something this client does not understand.
    #[error("unexpected answer from the authority: {0}")]
    Protocol(String),
}

impl AuthorityError {
    /// Whether retrying the same call later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, AuthorityError::Unavailable(_))
    }
}

/// An [`Authority`] reached over HTTP with HMAC-signed requests.
#[derive(Debug, Clone)]
pub struct HttpAuthority {
    http: reqwest::Client,
    base_url: String,
    secret: Vec<u8>,
    timeout: Duration,
}

impl HttpAuthority {
    /// `base_url` is the city's protocol root up to and including `/authority/v1/{city}`
    /// (`https://` is spoken with rustls and the web PKI's roots); `timeout` bounds every call
    /// (connect plus answer).
    pub fn new(base_url: &str, secret: &[u8], timeout: Duration) -> Self {
        let http = client_builder(timeout)
            .build()
            // Building fails only when the TLS backend cannot start; the default client then
            // fails each call with a clear transport error instead of panicking here.
            .unwrap_or_default();
        HttpAuthority::with_client(http, base_url, secret, timeout)
    }

    /// Like [`HttpAuthority::new`], also trusting the CA certificate `root_pem` (an authority
    /// that runs its own CA, or a test's self-signed certificate).
    pub fn with_root_certificate(
        base_url: &str,
        secret: &[u8],
        timeout: Duration,
        root_pem: &[u8],
    ) -> Result<Self, AuthorityError> {
        let root = reqwest::Certificate::from_pem(root_pem)
            .map_err(|e| AuthorityError::Protocol(format!("bad CA certificate: {e}")))?;
        let http = client_builder(timeout)
            .add_root_certificate(root)
            .build()
            .map_err(|e| AuthorityError::Protocol(format!("cannot build the HTTPS client: {e}")))?;
        Ok(HttpAuthority::with_client(http, base_url, secret, timeout))
    }

    fn with_client(
        http: reqwest::Client,
        base_url: &str,
        secret: &[u8],
        timeout: Duration,
    ) -> Self {
        HttpAuthority {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            secret: secret.to_vec(),
            timeout,
        }
    }

    /// The URL of `segments` (each percent-encoded) under the base, with an optional query.
    fn url(&self, segments: &[&str], query: Option<&str>) -> Result<reqwest::Url, AuthorityError> {
        let mut url = reqwest::Url::parse(&self.base_url)
            .map_err(|e| AuthorityError::Protocol(format!("bad authority URL: {e}")))?;
        url.path_segments_mut()
            .map_err(|()| AuthorityError::Protocol("the authority URL cannot have a path".into()))?
            .extend(segments);
        url.set_query(query);
        Ok(url)
    }

    /// Send one signed request and return its status and body.
    async fn call(
        &self,
        method: Method,
        url: reqwest::Url,
        body: Vec<u8>,
        held: Duration,
    ) -> Result<(StatusCode, Vec<u8>), AuthorityError> {
        let target = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let timestamp = chrono::Utc::now().timestamp();
        let signature = sign(&self.secret, method.as_str(), &target, timestamp, &body);
        let mut request = self
            .http
            .request(method, url)
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, signature);
        if !held.is_zero() {
            // The authority may hold a long poll this long before it even starts answering.
            request = request.timeout(self.timeout + held);
        }
        if !body.is_empty() {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let response = request.send().await.map_err(unavailable)?;
        let status = response.status();
        let body = read_capped(response, MAX_ANSWER_BYTES).await?;
        Ok((status, body))
    }

    async fn get(
        &self,
        segments: &[&str],
        query: Option<&str>,
    ) -> Result<(StatusCode, Vec<u8>), AuthorityError> {
        let url = self.url(segments, query)?;
        self.call(Method::GET, url, Vec::new(), Duration::ZERO)
            .await
    }

    async fn post<T: serde::Serialize + Sync>(
        &self,
        segments: &[&str],
        body: &T,
    ) -> Result<(StatusCode, Vec<u8>), AuthorityError> {
        let url = self.url(segments, None)?;
        let json = serde_json::to_vec(body)
            .map_err(|e| AuthorityError::Protocol(format!("cannot encode request: {e}")))?;
        self.call(Method::POST, url, json, Duration::ZERO).await
    }

    /// A 200 answer decoded, anything else mapped to an error.
    async fn get_ok<T: serde::de::DeserializeOwned>(
        &self,
        segments: &[&str],
        query: Option<&str>,
    ) -> Result<T, AuthorityError> {
        let (status, body) = self.get(segments, query).await?;
        match status {
            StatusCode::OK => decode(&body),
            _ => Err(common_failure(status, &body)),
        }
    }
}

/// The largest answer read from an authority (a feed page with its decision records, a batch of
/// 200 notice outcomes, a day's notices are far smaller); anything bigger is refused unread.
pub const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

fn client_builder(timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .https_only(false)
        .use_rustls_tls()
}

/// Reads an answer body, refusing it as soon as it grows past `cap` bytes.
async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
) -> Result<Vec<u8>, AuthorityError> {
    let too_large =
        || AuthorityError::Protocol(format!("the answer is larger than {cap} bytes; refused"));
    if response.content_length().is_some_and(|n| n > cap as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unavailable)? {
        if body.len() + chunk.len() > cap {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn unavailable(e: reqwest::Error) -> AuthorityError {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "transport error"
    };
    AuthorityError::Unavailable(format!("{kind}: {e}"))
}

fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, AuthorityError> {
    serde_json::from_slice(body).map_err(|e| AuthorityError::Protocol(format!("bad JSON: {e}")))
}

/// The error code in an error envelope, if the body is one.
fn error_code(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<ErrorEnvelope>(body)
        .ok()
        .map(|e| e.error.code)
}

/// Map an answer that no endpoint expects: 401, 5xx, or anything else.
fn common_failure(status: StatusCode, body: &[u8]) -> AuthorityError {
    if status == StatusCode::UNAUTHORIZED {
        return AuthorityError::Unauthorized;
    }
    if status.is_server_error() {
        return AuthorityError::Unavailable(format!("HTTP {status}"));
    }
    let code = error_code(body).unwrap_or_else(|| "no error code".to_owned());
    AuthorityError::Protocol(format!("HTTP {status}: {code}"))
}

#[async_trait]
impl Authority for HttpAuthority {
    async fn lookup_decision(&self, number: &str) -> Result<DecisionRecord, AuthorityError> {
        // Decision numbers are digits; anything else cannot exist and must not reach the URL path.
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AuthorityError::NotFound);
        }
        let (status, body) = self.get(&["decisions", number], None).await?;
        match status {
            StatusCode::OK => decode(&body),
            StatusCode::NOT_FOUND if error_code(&body).as_deref() == Some("decision_not_found") => {
                Err(AuthorityError::NotFound)
            }
            _ => Err(common_failure(status, &body)),
        }
    }

    async fn send_payment_notice(
        &self,
        notice: &PaymentNotice,
    ) -> Result<NoticeOutcome, AuthorityError> {
        let (status, body) = self.post(&["payment-notices"], notice).await?;
        if status != StatusCode::OK && status != StatusCode::CONFLICT {
            return Err(common_failure(status, &body));
        }
        let answer: NoticeAnswer = decode(&body)?;
        match (status, answer.result) {
            (StatusCode::OK, NoticeResult::Accepted) => Ok(NoticeOutcome::Accepted),
            (StatusCode::OK, NoticeResult::Duplicate) => Ok(NoticeOutcome::Duplicate),
            (StatusCode::CONFLICT, NoticeResult::Rejected) => Ok(NoticeOutcome::Rejected {
                reason: answer.reason.unwrap_or_else(|| "unspecified".to_owned()),
            }),
            (status, result) => Err(AuthorityError::Protocol(format!(
                "HTTP {status} with result {result:?}"
            ))),
        }
    }

    async fn send_payment_notices(
        &self,
        notices: &[PaymentNotice],
    ) -> Result<Vec<Result<NoticeOutcome, AuthorityError>>, AuthorityError> {
        let batch = NoticeBatch {
            notices: notices.to_vec(),
        };
        let (status, body) = self.post(&["payment-notices", "batch"], &batch).await?;
        if matches!(
            status,
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED | StatusCode::BAD_REQUEST
        ) {
            // No batch endpoint at this authority, or one notice spoils the batch (400 takes
            // none): one request per notice, so the good ones arrive and the bad one is named.
            return Ok(one_by_one(self, notices).await);
        }
        if status != StatusCode::OK {
            return Err(common_failure(status, &body));
        }
        let answer: NoticeBatchAnswer = decode(&body)?;
        if answer.results.len() != notices.len()
            || answer
                .results
                .iter()
                .zip(notices)
                .any(|(r, n)| r.payment_id != n.payment_id)
        {
            return Err(AuthorityError::Protocol(
                "the batch answer does not match the notices sent".into(),
            ));
        }
        Ok(answer
            .results
            .into_iter()
            .map(|r| {
                Ok(match r.result {
                    NoticeResult::Accepted => NoticeOutcome::Accepted,
                    NoticeResult::Duplicate => NoticeOutcome::Duplicate,
                    NoticeResult::Rejected => NoticeOutcome::Rejected {
                        reason: r.reason.unwrap_or_else(|| "unspecified".to_owned()),
                    },
                })
            })
            .collect())
    }

    async fn accepted_notices(&self, date: NaiveDate) -> Result<NoticeList, AuthorityError> {
        let query = format!("date={date}");
        self.get_ok(&["notices"], Some(&query)).await
    }

    async fn notice_page(
        &self,
        date: NaiveDate,
        after: &str,
        limit: u32,
    ) -> Result<NoticePage, AuthorityError> {
        // Payment ids are the platform's own (`pay_` and hex): nothing to escape, but refuse
        // anything else rather than build a query string of it.
        if !after
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(AuthorityError::Protocol(format!(
                "unusable cursor {after:?}"
            )));
        }
        let query = format!("date={date}&after={after}&limit={limit}");
        self.get_ok(&["notices"], Some(&query)).await
    }

    async fn send_settlement(
        &self,
        file: &SettlementFile,
    ) -> Result<SettlementVerdict, AuthorityError> {
        let (status, body) = self.post(&["settlements"], file).await?;
        match status {
            StatusCode::OK | StatusCode::CONFLICT => decode(&body),
            _ => Err(common_failure(status, &body)),
        }
    }

    async fn verify_vehicle(&self, plate: &str, vin_last6: &str) -> Result<bool, AuthorityError> {
        let request = VehicleCheckRequest {
            plate: plate.to_owned(),
            vin_last6: vin_last6.to_owned(),
        };
        let (status, body) = self.post(&["vehicle-checks"], &request).await?;
        match status {
            StatusCode::OK => decode::<VehicleCheck>(&body).map(|c| c.verified),
            _ => Err(common_failure(status, &body)),
        }
    }

    async fn violations_for_plate(&self, plate: &str) -> Result<ViolationList, AuthorityError> {
        self.get_ok(&["vehicles", plate, "violations"], None).await
    }

    async fn handle_violation(
        &self,
        violation_id: &str,
        handler: &HandlingRequest,
    ) -> Result<HandlingOutcome, AuthorityError> {
        let (status, body) = self
            .post(&["violations", violation_id, "handling"], handler)
            .await?;
        match status {
            StatusCode::CREATED => decode(&body).map(|r| HandlingOutcome::Handled(Box::new(r))),
            StatusCode::FORBIDDEN => {
                decode::<HandlingRefusal>(&body).map(|r| HandlingOutcome::Refused {
                    reason: r.reason,
                    message: r.message,
                })
            }
            StatusCode::NOT_FOUND
                if error_code(&body).as_deref() == Some("violation_not_found") =>
            {
                Err(AuthorityError::NotFound)
            }
            _ => Err(common_failure(status, &body)),
        }
    }

    async fn licence_points(
        &self,
        licence_number: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<u32, AuthorityError> {
        let request = LicencePointsRequest {
            licence_number: licence_number.to_owned(),
            from,
            to,
        };
        let (status, body) = self.post(&["licence-points"], &request).await?;
        match status {
            StatusCode::OK => decode::<LicencePoints>(&body).map(|p| p.points),
            _ => Err(common_failure(status, &body)),
        }
    }

    async fn events_after(
        &self,
        after: i64,
        limit: u32,
        wait: Duration,
    ) -> Result<EventPage, AuthorityError> {
        let wait_ms = wait.as_millis();
        let query = format!("after={after}&limit={limit}&wait_ms={wait_ms}");
        let url = self.url(&["events"], Some(&query))?;
        let (status, body) = self.call(Method::GET, url, Vec::new(), wait).await?;
        match status {
            StatusCode::OK => EventPage::decode(&body)
                .map_err(|e| AuthorityError::Protocol(format!("bad JSON: {e}"))),
            _ => Err(common_failure(status, &body)),
        }
    }
}
