//! Idempotency-Key semantics of SPEC §3: same key and same body → the first response again; same key
//! and another body → `idempotency_key_reused`; same key while the first runs → `request_in_progress`.
//! Keys are scoped to the user; the request hash covers the endpoint and the JSON body.

use crate::error::ErrorCode;
use crate::CoreError;
use finepay_store::repo::idempotency::{self, KeyState};
use finepay_store::Db;
use sha2::{Digest, Sha256};

pub const MAX_KEY_LEN: usize = 255;

#[derive(Clone, Debug)]
pub struct IdempotencyKey {
    pub key: String,
    pub request_hash: String,
}

impl IdempotencyKey {
    /// Validates the header and fingerprints the request: `endpoint` plus the body's JSON with
    /// object keys sorted, so whitespace or key order do not make "another body".
    pub fn new(
        header: Option<&str>,
        endpoint: &str,
        body: &serde_json::Value,
    ) -> Result<IdempotencyKey, CoreError> {
        let key = header.ok_or(CoreError::IdempotencyKeyRequired)?;
        if key.is_empty() || key.chars().count() > MAX_KEY_LEN {
            return Err(CoreError::IdempotencyKeyRequired);
        }
        let mut hasher = Sha256::new();
        hasher.update(endpoint.as_bytes());
        hasher.update([0u8]);
        // serde_json's Map is a BTreeMap (no preserve_order feature): keys come out sorted.
        hasher.update(body.to_string().as_bytes());
        Ok(IdempotencyKey {
            key: key.to_string(),
            request_hash: hex::encode(hasher.finalize()),
        })
    }
}

/// How a use case answered: what the edge turns into its protocol's status, and what the store
/// keeps by name for every replay (`created`, or the error code).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The resource was made (a payment, top-up or repayment, perhaps still processing).
    Created,
    /// Refused with this error; the body is its envelope.
    Refused(ErrorCode),
}

impl Outcome {
    const CREATED: &'static str = "created";

    /// The name stored with the reply.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Created => Self::CREATED,
            Outcome::Refused(code) => code.as_str(),
        }
    }

    /// The outcome a stored name stands for, or `None`.
    pub fn parse(name: &str) -> Option<Outcome> {
        match name {
            Self::CREATED => Some(Outcome::Created),
            other => ErrorCode::parse(other).map(Outcome::Refused),
        }
    }
}

/// A response to send, possibly replayed from the idempotency store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub outcome: Outcome,
    pub body: String,
    pub replayed: bool,
}

impl Reply {
    /// A resource made now, `body` its JSON.
    pub fn created(body: String) -> Reply {
        Reply {
            outcome: Outcome::Created,
            body,
            replayed: false,
        }
    }

    pub fn from_error(e: &CoreError) -> Reply {
        Reply {
            outcome: Outcome::Refused(e.code()),
            body: e.envelope().to_string(),
            replayed: false,
        }
    }
}

/// What to answer for a key someone already holds.
pub(crate) fn answer_existing(state: KeyState, request_hash: &str) -> Result<Reply, CoreError> {
    match state {
        KeyState::Done {
            request_hash: h,
            outcome,
            body,
        } if h == request_hash => Ok(Reply {
            outcome: Outcome::parse(&outcome).ok_or_else(|| {
                CoreError::Internal(format!("a stored reply has an unknown outcome {outcome:?}"))
            })?,
            body,
            replayed: true,
        }),
        KeyState::Running { request_hash: h } if h == request_hash => {
            Err(CoreError::RequestInProgress)
        }
        KeyState::Done { .. } | KeyState::Running { .. } => Err(CoreError::IdempotencyKeyReused),
        KeyState::Claimed => Err(CoreError::Internal("a claimed key is not an answer".into())),
    }
}

pub(crate) async fn replay_if_known(
    db: &Db,
    user_id: &str,
    idem: &IdempotencyKey,
) -> Result<Option<Reply>, CoreError> {
    let (uid, key) = (user_id.to_string(), idem.key.clone());
    match db
        .read(move |c| idempotency::find_key(c, &uid, &key))
        .await?
    {
        None => Ok(None),
        Some(state) => answer_existing(state, &idem.request_hash).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_is_stored_by_a_name_that_reads_back() {
        let mut all = vec![Outcome::Created];
        all.extend(ErrorCode::ALL.iter().map(|c| Outcome::Refused(*c)));
        for outcome in all {
            assert_eq!(Outcome::parse(outcome.name()), Some(outcome), "{outcome:?}");
        }
        assert_eq!(Outcome::parse("201"), None);
    }
}
