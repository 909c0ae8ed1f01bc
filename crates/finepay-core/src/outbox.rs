//! The messages the core leaves in the outbox, in the writer job of the change they follow from,
//! for the dispatcher to deliver after commit: one enum, serde-tagged by the row's `kind`, its
//! content in the row's `payload`. Each variant has its deliver function (talk to the outside) and
//! its record function (write the outcome), in [`crate::dispatcher`]: adding a kind is adding a
//! variant, and the compiler then asks for both.

use crate::events::Event;
use crate::CoreError;
use finepay_authority::PaymentNotice;
use finepay_store::repo::outbox::{self, Kind, OutboxRow};
use finepay_store::Sql;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", content = "payload", rename_all = "snake_case")]
pub(crate) enum Message {
    /// Tell the city's authority of a payment (grouped by city; the authority dedupes by payment id).
    PaymentNotice(PaymentNotice),
    /// Ask the bank to return a card payment that is being refunded; the content is the reason,
    /// printed on the refund receipt once the bank has returned it.
    CardRefund(String),
    /// Ask the bank to return a charge it took after the platform had given the attempt up as
    /// failed: nothing of it is in the ledger.
    OrphanChargeRefund { reference: String, amount: i64 },
    /// Publish a notification's event on the bus (grouped by city).
    Event(Event),
    /// POST a notification to one of its user's webhooks (grouped by user, delivered in order).
    Webhook {
        webhook_id: String,
        notification: crate::views::NotificationView,
        /// When the notification was written: a delivery is given up 24 h after.
        enqueued_at: String,
    },
}

/// The delivery group of bank requests (they go to the one bank, not to a city).
pub(crate) const BANK_GROUP: &str = "bank";

impl Message {
    pub(crate) fn kind(&self) -> Kind {
        match self {
            Message::PaymentNotice(_) => Kind::PaymentNotice,
            Message::CardRefund(_) => Kind::CardRefund,
            Message::OrphanChargeRefund { .. } => Kind::OrphanChargeRefund,
            Message::Event(_) => Kind::Event,
            Message::Webhook { .. } => Kind::Webhook,
        }
    }

    /// The row's `payload`: the variant's content as JSON.
    fn payload(&self) -> Result<String, CoreError> {
        let mut tagged =
            serde_json::to_value(self).map_err(|e| CoreError::Internal(e.to_string()))?;
        Ok(tagged["payload"].take().to_string())
    }

    /// Enqueues the message for `group` (a city, or [`BANK_GROUP`]) about `subject` (the payment,
    /// notification or bank reference it concerns), in the caller's transaction.
    pub(crate) fn enqueue(
        &self,
        c: &dyn Sql,
        group: &str,
        subject: &str,
        now: &str,
    ) -> Result<(), CoreError> {
        outbox::enqueue(c, self.kind(), group, subject, &self.payload()?, now)?;
        Ok(())
    }

    /// As [`Message::enqueue`], unless a message of this kind about `subject` exists (a refund
    /// asked for twice is asked for once).
    pub(crate) fn enqueue_once(
        &self,
        c: &dyn Sql,
        group: &str,
        subject: &str,
        now: &str,
    ) -> Result<bool, CoreError> {
        Ok(outbox::enqueue_once(
            c,
            self.kind(),
            group,
            subject,
            &self.payload()?,
            now,
        )?)
    }

    /// The message a row holds. A card refund enqueued before payloads were JSON holds its reason
    /// as plain text: read as that text.
    pub(crate) fn of_row(row: &OutboxRow) -> Result<Message, String> {
        let content = serde_json::from_str::<Value>(&row.payload)
            .unwrap_or_else(|_| Value::String(row.payload.clone()));
        let tagged = serde_json::json!({ "kind": row.kind.as_str(), "payload": content });
        serde_json::from_value(tagged)
            .map_err(|e| format!("unreadable {} message: {e}", row.kind.as_str()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn row(kind: Kind, payload: &str) -> OutboxRow {
        OutboxRow {
            id: 1,
            kind,
            city_code: "110000".into(),
            payment_id: "pay_1".into(),
            payload: payload.into(),
            attempts: 0,
        }
    }

    #[test]
    fn every_kind_reads_back_what_was_written() {
        let notice = PaymentNotice {
            payment_id: "pay_1".into(),
            decision_number: "1100000000000015".into(),
            amount_fen: 20_000,
            paid_at: chrono::Utc::now(),
        };
        let messages = [
            Message::PaymentNotice(notice),
            Message::CardRefund("the authority revoked the decision".into()),
            Message::OrphanChargeRefund {
                reference: "top_1".into(),
                amount: 5_000,
            },
        ];
        for m in messages {
            let back = Message::of_row(&row(m.kind(), &m.payload().unwrap())).unwrap();
            assert_eq!(
                serde_json::to_value(&back).unwrap(),
                serde_json::to_value(&m).unwrap()
            );
        }
    }

    #[test]
    fn rows_written_before_the_enum_still_read() {
        // The payloads as earlier versions wrote them.
        let refund = Message::of_row(&row(Kind::CardRefund, "revoked by the authority")).unwrap();
        assert!(matches!(refund, Message::CardRefund(r) if r == "revoked by the authority"));
        let orphan = Message::of_row(&row(
            Kind::OrphanChargeRefund,
            r#"{"reference":"rpy_1","amount":300}"#,
        ))
        .unwrap();
        assert!(
            matches!(orphan, Message::OrphanChargeRefund { reference, amount } if reference == "rpy_1" && amount == 300)
        );
        assert!(Message::of_row(&row(Kind::PaymentNotice, "{}")).is_err());
    }
}
