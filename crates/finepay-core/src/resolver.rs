//! The background round that settles card charges left `processing` (a bank timeout, or a crash
//! between the commit of the `processing` row and the commit of the outcome) — the card module's
//! step 4, [`Platform::resolve_charges`] — and purges expired idempotency keys.

use crate::Platform;
use finepay_store::time_text;
use std::time::Duration;

const EVERY: Duration = Duration::from_secs(2);

pub(crate) async fn run(platform: Platform) {
    let mut rounds: u64 = 0;
    loop {
        tokio::time::sleep(EVERY).await;
        if let Err(e) = platform.resolve_charges().await {
            tracing::error!(error = %e, "resolving processing card charges failed; will retry");
        }
        rounds += 1;
        if rounds.is_multiple_of(30) {
            platform.purge_old_keys().await;
        }
    }
}

/// Idempotency keys are kept at least 24 h (SPEC §3); finished ones are dropped after 48 h.
const KEEP_KEYS: chrono::TimeDelta = chrono::TimeDelta::hours(48);
/// Published events stay in the outbox a week (for inspection), then go.
const KEEP_EVENTS: chrono::TimeDelta = chrono::TimeDelta::days(7);

impl Platform {
    async fn purge_old_keys(&self) {
        let before = time_text(chrono::Utc::now() - KEEP_KEYS);
        let events_before = time_text(chrono::Utc::now() - KEEP_EVENTS);
        let purged = self
            .db()
            .writer()
            .run(move |c| {
                let keys = finepay_store::repo::idempotency::purge_keys(c, &before)?;
                let events =
                    finepay_store::repo::outbox::purge_delivered_events(c, &events_before)?;
                Ok::<_, finepay_store::StoreError>(keys + events)
            })
            .await;
        match purged {
            Ok(Ok(n)) if n > 0 => {
                tracing::info!(rows = n, "purged old idempotency keys and published events")
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) | Err(e) => {
                tracing::warn!(error = %e, "cannot purge old idempotency keys; will retry")
            }
        }
    }
}
