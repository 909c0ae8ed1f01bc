//! Settles card payments and top-ups left `processing` (a bank timeout, or a crash between the
//! commit of the `processing` row and the commit of the outcome) by asking the bank about the same
//! reference. The reference is never charged again.

use crate::accounts::ChargeOutcome;
use crate::Platform;
use finepay_store::repo::{payments, top_ups};
use finepay_store::time_text;
use std::time::Duration;

const EVERY: Duration = Duration::from_secs(2);

pub(crate) async fn run(platform: Platform) {
    let mut rounds: u64 = 0;
    loop {
        tokio::time::sleep(EVERY).await;
        if let Err(e) = platform.resolve_once().await {
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

    pub(crate) async fn resolve_once(&self) -> Result<(), crate::CoreError> {
        let age = chrono::Duration::from_std(self.config().resolve_after)
            .unwrap_or(chrono::Duration::seconds(15));
        let older_than = time_text(chrono::Utc::now() - age);
        let cutoff = older_than.clone();
        let stuck = self
            .db()
            .read(move |c| payments::processing_card_payments(c, &cutoff))
            .await?;
        for row in stuck {
            let reference = row.bank_reference.clone().unwrap_or_else(|| row.id.clone());
            if self.charge_in_flight(&reference) {
                continue;
            }
            tracing::info!(
                payment_id = row.id,
                "asking the bank about a payment left processing"
            );
            let id = row.id.clone();
            if let Err(e) = self.resolve_card_payment(row).await {
                tracing::error!(payment_id = id, error = %e, "cannot settle a payment left processing; will retry");
            }
        }
        let stuck = self
            .db()
            .read(move |c| top_ups::processing_top_ups(c, &older_than))
            .await?;
        for row in stuck {
            if self.charge_in_flight(&row.bank_reference) {
                continue;
            }
            let outcome = self.ask_bank(&row.bank_reference).await;
            if !matches!(outcome, ChargeOutcome::Unknown) {
                let id = row.id.clone();
                if let Err(e) = self.settle_top_up(row, outcome).await {
                    tracing::error!(top_up_id = id, error = %e, "cannot settle a top-up left processing; will retry");
                }
            }
        }
        self.resolve_repayments().await
    }

    async fn resolve_repayments(&self) -> Result<(), crate::CoreError> {
        let age = chrono::Duration::from_std(self.config().resolve_after)
            .unwrap_or(chrono::Duration::seconds(15));
        let older_than = time_text(chrono::Utc::now() - age);
        let stuck = self
            .db()
            .read(move |c| finepay_store::repo::credit::processing_repayments(c, &older_than))
            .await?;
        for row in stuck {
            let reference = row.bank_reference.clone().unwrap_or_else(|| row.id.clone());
            if self.charge_in_flight(&reference) {
                continue;
            }
            let outcome = self.ask_bank(&reference).await;
            let id = row.id.clone();
            if let Err(e) = self.settle_card_repayment(row, outcome).await {
                tracing::error!(repayment_id = id, error = %e, "cannot settle a repayment left processing; will retry");
            }
        }
        Ok(())
    }
}
