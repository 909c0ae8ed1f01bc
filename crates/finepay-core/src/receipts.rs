//! Building, fetching and verifying signed electronic receipts.

use crate::views::MethodView;
use crate::{CoreError, Platform};
use finepay_authority::Catalogue;
use finepay_domain::mask_name;
use finepay_store::repo::{payments::PaymentRow, receipts};
use serde_json::{json, Value};

/// A receipt ready to store: its id, number and the signed JSON.
pub(crate) struct SignedReceipt {
    pub id: String,
    pub number: String,
    pub body: String,
}

impl Platform {
    /// Builds and signs the receipt of a payment (signed before the writer job, so the single
    /// writer thread never spends time on cryptography).
    pub(crate) fn sign_receipt(
        &self,
        payment: &PaymentRow,
        payer_name: &str,
    ) -> Result<SignedReceipt, CoreError> {
        let id = format!("rcp_{}", payment.id.trim_start_matches("pay_"));
        let issued_at = finepay_store::now_text();
        // The receipt number people quote: date and the last 12 hex digits of the payment id.
        let tail: String = payment
            .id
            .chars()
            .rev()
            .take(12)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let number = format!(
            "FP{}{}",
            &issued_at[..10].replace('-', ""),
            tail.to_uppercase()
        );
        let city = Catalogue::builtin().city(&payment.city_code);
        let method = MethodView {
            kind: payment.method_type.clone(),
            last4: payment.card_last4.clone(),
        };
        let unsigned = json!({
            "id": id,
            "number": number,
            "issued_at": issued_at,
            "payment_id": payment.id,
            "decision_number": payment.decision_number,
            "city": {
                "code": payment.city_code,
                "name": city.map(|c| c.name.as_str()).unwrap_or_default(),
                "name_zh": city.map(|c| c.name_zh.as_str()).unwrap_or_default(),
            },
            "payee": city.map(|c| c.payee.as_str()).unwrap_or_default(),
            "payer_masked": mask_name(payer_name),
            "fine": payment.fine,
            "late_fee": payment.late_fee,
            "amount": payment.amount,
            "currency": "CNY",
            "method": method,
        });
        let signed = self
            .signer()
            .sign(&unsigned)
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        Ok(SignedReceipt {
            id,
            number,
            body: signed.to_string(),
        })
    }

    /// A receipt of the user's own payment (another user's receipt is not found).
    pub async fn receipt(&self, user_id: &str, receipt_id: &str) -> Result<Value, CoreError> {
        let id = receipt_id.to_string();
        let found = self
            .db()
            .read(move |c| match receipts::find_receipt(c, &id)? {
                Some(found) => Ok(Some(found)),
                None => receipts::find_refund_receipt(c, &id),
            })
            .await?;
        match found {
            Some((body, owner)) if owner == user_id => {
                serde_json::from_str(&body).map_err(|e| CoreError::Internal(e.to_string()))
            }
            _ => Err(CoreError::NotFound(
                "no receipt with this id among your payments",
            )),
        }
    }

    /// Verifies a receipt against the platform's published keys: `(valid, reason)`.
    pub fn verify_receipt(&self, receipt: &Value) -> (bool, Option<&'static str>) {
        match finepay_receipts::verify(receipt, &self.signer().published_keys()) {
            Ok(()) => (true, None),
            Err(e) => (false, Some(e.reason())),
        }
    }
}
