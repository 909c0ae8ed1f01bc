//! The background round that settles card charges left `processing` (a bank timeout, or a crash
//! between the commit of the `processing` row and the commit of the outcome) — the card module's
//! step 4, [`Platform::resolve_charges`] — and purges expired idempotency keys.

use crate::card::{Charge, ChargeOutcome};
use crate::{CoreError, Platform};
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
    /// Step 4, resolve: settles every charge left `processing` longer than `resolve_after` by
    /// asking the bank about its reference (the resolver's one loop). Charges a request of this
    /// instance is still handling are left to it.
    pub(crate) async fn resolve_charges(&self) -> Result<(), CoreError> {
        let age = chrono::Duration::from_std(self.config().resolve_after)
            .unwrap_or(chrono::Duration::seconds(15));
        let now = self.db().clock().now();
        let older_than = time_text(now - age);
        let give_up = chrono::Duration::from_std(self.config().give_up_after)
            .unwrap_or(chrono::Duration::minutes(10));
        let desk = &self.inner.card_desk;
        // Asked and still unknown: to the back of the queue, so the next round asks others first.
        let mut unanswered: Vec<Box<dyn Charge>> = Vec::new();
        for charge in self.charges_left_processing(&older_than).await? {
            if desk.in_flight(charge.reference()) {
                continue;
            }
            tracing::info!(
                what = charge.what(),
                reference = charge.reference(),
                "asking the bank about a charge left processing"
            );
            let outcome = desk.ask_bank(charge.reference()).await;
            let young = self.db().clock().now() - charge.created_at() < give_up;
            if matches!(outcome, ChargeOutcome::Unknown)
                || (matches!(outcome, ChargeOutcome::NotReached) && young)
            {
                // Not seen yet is not "never": the bank may book it late; and no answer is no
                // answer. Asked again in a later round, after the others. The decision (or key)
                // stays held: giving it up without knowing could charge twice.
                if !young {
                    tracing::warn!(
                        what = charge.what(),
                        reference = charge.reference(),
                        "a charge is still in doubt after give_up_after: the bank does not answer about it; a person should ask the bank"
                    );
                }
                unanswered.push(charge);
                continue;
            }
            let (what, reference) = (charge.what(), charge.reference().to_string());
            if let Err(e) = desk.settle_charge(charge, outcome).await {
                tracing::error!(what, reference, error = %e, "cannot settle a charge left processing; will retry");
            }
        }
        if !unanswered.is_empty() {
            let now = self.db().clock().now_text();
            self.db()
                .writer()
                .run(move |c| -> Result<(), CoreError> {
                    for charge in &unanswered {
                        charge.note_asked(c, &now)?;
                    }
                    Ok(())
                })
                .await??;
        }
        Ok(())
    }

    /// Every payment, top-up and repayment `processing` since before `older_than`, as charges.
    async fn charges_left_processing(
        &self,
        older_than: &str,
    ) -> Result<Vec<Box<dyn Charge>>, CoreError> {
        let mut all: Vec<Box<dyn Charge>> = Vec::new();
        all.extend(self.payments().left_processing(older_than).await?);
        all.extend(self.wallet().top_ups_left_processing(older_than).await?);
        all.extend(self.credit().repayments_left_processing(older_than).await?);
        Ok(all)
    }

    async fn purge_old_keys(&self) {
        let now = self.db().clock().now();
        let before = time_text(now - KEEP_KEYS);
        let events_before = time_text(now - KEEP_EVENTS);
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
