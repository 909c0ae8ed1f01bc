//! Webhooks (SPEC §8): a user registers up to five URLs; every notification of theirs (or of the
//! kinds they chose) is POSTed to each as JSON, signed `Finepay-Signature: t=<unix s>,v1=<hex
//! HMAC-SHA256(secret, "<t>.<body>")>` with `Finepay-Event-Id` = the notification id. Deliveries
//! are outbox rows written in the same writer job as the notification, grouped per user and
//! delivered strictly in order (a failing one holds back the user's later ones), retried with
//! capped exponential backoff for 24 hours: at least once, never from inside a request.
//!
//! The outside world is behind [`WebhookSender`] (the composition root's HTTP client), which also
//! guards against server-side request forgery: public addresses over HTTPS only, unless the
//! sandbox is on.

use crate::outbox::Message;
use crate::views::NotificationView;
use crate::{new_id, CoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use finepay_store::repo::notifications::NotificationRow;
use finepay_store::repo::webhooks::{self as repo, WebhookRow};
use finepay_store::{Db, Sql};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::Arc;

/// Most webhooks a user may have.
pub const MAX_WEBHOOKS: usize = 5;
/// The longest URL taken.
pub const MAX_URL_LEN: usize = 2048;
/// How long a delivery is retried before it is given up.
pub const GIVE_UP_AFTER: chrono::TimeDelta = chrono::TimeDelta::hours(24);
/// The notification kinds (SPEC §3) a webhook may choose from.
pub const KINDS: &[&str] = &[
    "violation.recorded",
    "decision.issued",
    "decision.revoked",
    "decision.due_soon",
    "decision.overdue",
    "payment.confirmed",
    "payment.refunded",
];

/// POSTs to the outside world, and says which URLs may be called.
#[async_trait]
pub trait WebhookSender: Send + Sync + 'static {
    /// Whether `url` may be called (checked when it is registered and before every delivery).
    async fn check_url(&self, url: &str) -> Result<(), String>;
    /// POSTs `body` (JSON) with `headers` to `url`: the status answered, or why there was none.
    async fn post(
        &self,
        url: &str,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    ) -> Result<u16, String>;
}

/// The sender a platform uses (a handle, so that the settings can be cloned and printed).
#[derive(Clone)]
pub struct WebhookSenderHandle(pub Arc<dyn WebhookSender>);

impl std::fmt::Debug for WebhookSenderHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSender")
    }
}

/// A webhook as its owner sees it (the secret only when it is created).
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    /// The kinds delivered; empty: all of them.
    pub kinds: Vec<String>,
    pub created_at: String,
    /// The key of the signatures, shown once, when the webhook is created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

fn kinds_of(row: &WebhookRow) -> Vec<String> {
    row.kinds
        .split(',')
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .collect()
}

fn view(row: WebhookRow, with_secret: bool) -> WebhookView {
    WebhookView {
        kinds: kinds_of(&row),
        secret: with_secret.then_some(row.secret),
        id: row.id,
        url: row.url,
        created_at: row.created_at,
    }
}

/// `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
pub fn signature(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        // HMAC takes a key of any length; this arm cannot be reached.
        Err(_) => return String::new(),
    };
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Enqueues the deliveries of a notification to its user's webhooks, in the caller's writer job.
pub(crate) fn enqueue_for(c: &dyn Sql, n: &NotificationRow) -> Result<(), CoreError> {
    for hook in repo::active_of_user(c, &n.user_id)? {
        let kinds = kinds_of(&hook);
        if !kinds.is_empty() && !kinds.contains(&n.kind) {
            continue;
        }
        Message::Webhook {
            webhook_id: hook.id.clone(),
            notification: crate::views::view_of(n.clone()),
            enqueued_at: n.created_at.clone(),
        }
        .enqueue(
            c,
            &format!("user:{}", n.user_id),
            &format!("{}:{}", hook.id, n.id),
            &n.created_at,
        )?;
    }
    Ok(())
}

/// Why a delivery did not get through.
#[derive(Debug)]
pub(crate) enum NotDelivered {
    /// Try again later.
    Failed(String),
    /// Do not: the webhook was deleted, or 24 hours have passed.
    GivenUp(String),
}

/// Webhooks: register, list, delete, deliver.
#[derive(Clone)]
pub struct Webhooks {
    db: Db,
    sender: Option<Arc<dyn WebhookSender>>,
}

impl Webhooks {
    pub(crate) fn new(db: Db, sender: Option<Arc<dyn WebhookSender>>) -> Webhooks {
        Webhooks { db, sender }
    }

    /// Registers a URL for the user's notifications (of `kinds`, or all).
    pub async fn register(
        &self,
        user_id: &str,
        url: &str,
        kinds: Option<Vec<String>>,
    ) -> Result<WebhookView, CoreError> {
        let url = url.trim();
        if url.is_empty() || url.len() > MAX_URL_LEN {
            return Err(CoreError::invalid(
                "url",
                format!("give the URL to POST to, at most {MAX_URL_LEN} characters"),
            ));
        }
        let kinds = kinds.unwrap_or_default();
        if let Some(bad) = kinds.iter().find(|k| !KINDS.contains(&k.as_str())) {
            return Err(CoreError::invalid(
                "kinds",
                format!(
                    "{bad:?} is not a notification kind; use {}",
                    KINDS.join(", ")
                ),
            ));
        }
        let Some(sender) = &self.sender else {
            return Err(CoreError::invalid("url", "webhooks are not offered here"));
        };
        sender
            .check_url(url)
            .await
            .map_err(|why| CoreError::invalid("url", why))?;
        let mut secret = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut secret);
        let row = WebhookRow {
            id: new_id("whk"),
            user_id: user_id.to_owned(),
            url: url.to_owned(),
            kinds: kinds.join(","),
            secret: format!("whsec_{}", hex::encode(secret)),
            created_at: self.db.clock().now_text(),
            deleted: false,
        };
        let written = row.clone();
        self.db
            .writer()
            .run(move |c| -> Result<(), CoreError> {
                if repo::active_of_user(c, &written.user_id)?.len() >= MAX_WEBHOOKS {
                    return Err(CoreError::invalid(
                        "url",
                        format!("you have {MAX_WEBHOOKS} webhooks, the most there may be; delete one first"),
                    ));
                }
                repo::insert(c, &written)?;
                Ok(())
            })
            .await??;
        Ok(view(row, true))
    }

    /// The user's webhooks, oldest first (no secrets).
    pub async fn list(&self, user_id: &str) -> Result<Vec<WebhookView>, CoreError> {
        let uid = user_id.to_owned();
        let rows = self.db.read(move |c| repo::active_of_user(c, &uid)).await?;
        Ok(rows.into_iter().map(|r| view(r, false)).collect())
    }

    /// Deletes one of the user's webhooks; deliveries queued for it are dropped.
    pub async fn delete(&self, user_id: &str, id: &str) -> Result<(), CoreError> {
        let (uid, wid, now) = (
            user_id.to_owned(),
            id.to_owned(),
            self.db.clock().now_text(),
        );
        let deleted = self
            .db
            .writer()
            .run(move |c| repo::delete(c, &uid, &wid, &now))
            .await??;
        if deleted {
            Ok(())
        } else {
            Err(CoreError::NotFound("no webhook with this id among yours"))
        }
    }

    /// One delivery attempt of a queued notification.
    pub(crate) async fn deliver(
        &self,
        webhook_id: &str,
        notification: &NotificationView,
        enqueued_at: &str,
    ) -> Result<(), NotDelivered> {
        let id = webhook_id.to_owned();
        let hook = self
            .db
            .read(move |c| repo::find(c, &id))
            .await
            .map_err(|e| NotDelivered::Failed(e.to_string()))?;
        let Some(hook) = hook.filter(|h| !h.deleted) else {
            return Err(NotDelivered::GivenUp("the webhook was deleted".into()));
        };
        let now: DateTime<Utc> = self.db.clock().now();
        let old = finepay_store::parse_time(enqueued_at).is_some_and(|t| now - t > GIVE_UP_AFTER);
        let Some(sender) = &self.sender else {
            return Err(NotDelivered::Failed("no webhook sender here".into()));
        };
        let body = serde_json::to_vec(notification)
            .map_err(|e| NotDelivered::GivenUp(format!("cannot encode: {e}")))?;
        let headers = vec![
            (
                "Finepay-Signature",
                signature(&hook.secret, now.timestamp(), &body),
            ),
            ("Finepay-Event-Id", notification.id.clone()),
        ];
        let outcome = match sender.check_url(&hook.url).await {
            Err(why) => Err(why),
            Ok(()) => match sender.post(&hook.url, headers, body).await {
                Ok(status) if (200..300).contains(&status) => Ok(()),
                Ok(status) => Err(format!("the receiver answered HTTP {status}")),
                Err(why) => Err(why),
            },
        };
        match outcome {
            Ok(()) => Ok(()),
            Err(why) if old => Err(NotDelivered::GivenUp(format!(
                "not delivered within 24 h; last: {why}"
            ))),
            Err(why) => Err(NotDelivered::Failed(why)),
        }
    }
}

/// The wait before attempt `attempts + 1` of a webhook delivery: 500 ms doubling, at most 10
/// minutes, so a receiver that is back is reached soon and one that stays down is asked ~150
/// times in 24 hours.
pub(crate) fn backoff(attempts: i64) -> chrono::TimeDelta {
    let exp = u32::try_from(attempts.clamp(0, 20)).unwrap_or(20);
    let ms = 500i64.saturating_mul(1i64 << exp).min(600_000);
    chrono::TimeDelta::milliseconds(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_time_dot_body_in_hex() {
        // The known answer, computed apart: python3 -c 'import hmac, hashlib; print(hmac.new(
        // b"whsec_test", b"1700000000.{\"id\":\"ntf_1\"}", hashlib.sha256).hexdigest())'
        let s = signature("whsec_test", 1_700_000_000, b"{\"id\":\"ntf_1\"}");
        assert_eq!(
            s,
            "t=1700000000,v1=2efcb619448fa4550b37d7d437dc84f49ad35d8e02cbbe107ecffeb34d0fccd9"
        );
        assert_ne!(
            s,
            signature("whsec_other", 1_700_000_000, b"{\"id\":\"ntf_1\"}")
        );
        assert_ne!(
            s,
            signature("whsec_test", 1_700_000_001, b"{\"id\":\"ntf_1\"}")
        );
    }

    #[test]
    fn backoff_doubles_from_half_a_second_to_ten_minutes() {
        assert_eq!(backoff(0).num_milliseconds(), 500);
        assert_eq!(backoff(1).num_milliseconds(), 1_000);
        assert_eq!(backoff(30).num_milliseconds(), 600_000);
    }
}
