//! Building, fetching and verifying signed electronic receipts.

use crate::views::MethodView;
use crate::views::ViolationView;
use crate::{Authorities, CoreError};
use finepay_authority::ViolationRecord;
use finepay_documents::ReceiptDocument;
use finepay_domain::{mask_name, PayMethodKind};
use finepay_receipts::ReceiptSigner;
use finepay_store::repo::decisions;
use finepay_store::repo::{payments::PaymentRow, receipts};
use finepay_store::Db;
use serde_json::{json, Value};
use std::sync::Arc;

/// How many characters of the signature a verification link carries: 22 base64url characters
/// are 132 bits, far beyond guessing, so the links cannot be enumerated.
pub const VERIFY_CODE_CHARS: usize = 22;

/// The public verification page of a signed receipt: `/verify/{id}/{start of the signature}`.
pub fn verify_path(receipt: &Value) -> Option<String> {
    let id = receipt["id"].as_str()?;
    let code = receipt["signature"].as_str()?.get(..VERIFY_CODE_CHARS)?;
    Some(format!("/verify/{id}/{code}"))
}

/// Compares without stopping at the first difference, so timing tells nothing of the code.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

/// A receipt with what its page shows beside it.
#[derive(Clone, Debug)]
pub struct ReceiptDetails {
    /// The signed receipt, exactly as `GET /api/v1/receipts/{id}` answers it.
    pub receipt: Value,
    /// The violation, from the platform's copy of the decision.
    pub violation: Option<ViolationView>,
    /// The public verification page (`/verify/...`) the QR code opens.
    pub verify_path: String,
}

/// What the PDF prints of a receipt: every field, bilingual, the time in Beijing time.
pub fn receipt_document(details: &ReceiptDetails, base_url: &str) -> ReceiptDocument {
    let r = &details.receipt;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let last4 = text(&r["method"]["last4"]);
    let kind = r["method"]["type"].as_str().and_then(PayMethodKind::parse);
    let (method, method_zh) = match kind {
        Some(PayMethodKind::Balance) => ("Balance".to_string(), "余额".to_string()),
        Some(PayMethodKind::Credit) => ("Credit line".to_string(), "信用支付".to_string()),
        Some(PayMethodKind::Card) | None => (
            format!("Card ending {last4}"),
            format!("尾号{last4}的银行卡"),
        ),
    };
    let issued_at = chrono::DateTime::parse_from_rfc3339(&text(&r["issued_at"]))
        .map(|t| {
            t.with_timezone(&chrono_tz::Asia::Shanghai)
                .format("%Y-%m-%d %H:%M:%S (北京时间 Beijing time)")
                .to_string()
        })
        .unwrap_or_else(|_| text(&r["issued_at"]));
    let violation = details.violation.as_ref();
    ReceiptDocument {
        receipt_number: text(&r["number"]),
        issued_at,
        payee: text(&r["payee"]),
        payer_masked: text(&r["payer_masked"]),
        decision_number: text(&r["decision_number"]),
        city_name: text(&r["city"]["name"]),
        city_name_zh: text(&r["city"]["name_zh"]),
        violation: violation.map(|v| v.description.clone()).unwrap_or_default(),
        violation_zh: violation
            .map(|v| v.description_zh.clone())
            .unwrap_or_default(),
        fine_fen: r["fine"].as_i64().unwrap_or_default(),
        late_fee_fen: r["late_fee"].as_i64().unwrap_or_default(),
        amount_fen: r["amount"].as_i64().unwrap_or_default(),
        method,
        method_zh,
        kid: text(&r["kid"]),
        verify_url: format!("{}{}", base_url.trim_end_matches('/'), details.verify_path),
    }
}

/// What the public verification page shows of a genuine receipt (nothing more).
#[derive(Clone, Debug)]
pub struct PublicReceipt {
    pub number: String,
    pub refund: bool,
    pub amount: i64,
    pub city_name: String,
    pub city_name_zh: String,
    pub issued_at: String,
    pub payer_masked: String,
    pub payee: String,
}

/// A receipt ready to store: its id, number and the signed JSON.
#[derive(Clone)]
pub(crate) struct SignedReceipt {
    pub id: String,
    pub number: String,
    pub body: String,
}

/// Receipts: signed when a payment is prepared, shown, printed as a PDF and verified.
#[derive(Clone)]
pub struct Receipts {
    db: Db,
    signer: Arc<ReceiptSigner>,
    authorities: Arc<Authorities>,
}

impl Receipts {
    pub(crate) fn new(
        db: Db,
        signer: Arc<ReceiptSigner>,
        authorities: Arc<Authorities>,
    ) -> Receipts {
        Receipts {
            db,
            signer,
            authorities,
        }
    }

    /// Builds and signs the receipt of a payment (signed before the writer job, so the single
    /// writer thread never spends time on cryptography).
    pub(crate) fn sign(
        &self,
        payment: &PaymentRow,
        payer_name: &str,
    ) -> Result<SignedReceipt, CoreError> {
        let id = format!("rcp_{}", payment.id.trim_start_matches("pay_"));
        let issued_at = self.db.clock().now_text();
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
        let city = self.authorities.city(&payment.city_code);
        let method = MethodView {
            kind: payment.method,
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
            "fine": payment.fine.fen(),
            "late_fee": payment.late_fee.fen(),
            "amount": payment.amount.fen(),
            "currency": "CNY",
            "method": method,
        });
        let signed = self
            .signer
            .sign(&unsigned)
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        Ok(SignedReceipt {
            id,
            number,
            body: signed.to_string(),
        })
    }

    /// A payment receipt or a refund receipt by id, with the user who paid.
    async fn find_any_receipt(
        &self,
        receipt_id: &str,
    ) -> Result<Option<(String, String)>, CoreError> {
        let id = receipt_id.to_string();
        Ok(self
            .db
            .read(move |c| match receipts::find_receipt(c, &id)? {
                Some(found) => Ok(Some(found)),
                None => receipts::find_refund_receipt(c, &id),
            })
            .await?)
    }

    /// A receipt of the user's own payment (another user's receipt is not found).
    pub async fn get(&self, user_id: &str, receipt_id: &str) -> Result<Value, CoreError> {
        let found = self.find_any_receipt(receipt_id).await?;
        match found {
            Some((body, owner)) if owner == user_id => {
                serde_json::from_str(&body).map_err(|e| CoreError::Internal(e.to_string()))
            }
            _ => Err(CoreError::NotFound(
                "no receipt with this id among your payments",
            )),
        }
    }

    /// A receipt of the user's own payment with what the page and the PDF show beside it.
    pub async fn details(
        &self,
        user_id: &str,
        receipt_id: &str,
    ) -> Result<ReceiptDetails, CoreError> {
        let receipt = self.get(user_id, receipt_id).await?;
        let number = receipt["decision_number"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let kept = self
            .db
            .read(move |c| decisions::find_decision(c, &number))
            .await?;
        let violation = kept
            .and_then(|row| serde_json::from_str::<ViolationRecord>(&row.violation_json).ok())
            .map(|v| ViolationView {
                code: v.code,
                description: v.description,
                description_zh: v.description_zh,
                occurred_at: finepay_store::time_text(v.occurred_at),
                location: v.location,
            });
        let verify_path = verify_path(&receipt)
            .ok_or_else(|| CoreError::Internal(format!("receipt {receipt_id} has no signature")))?;
        Ok(ReceiptDetails {
            receipt,
            violation,
            verify_path,
        })
    }

    /// The receipt as a one-page PDF (SPEC §7), its QR code holding `base_url` + its
    /// verification path. Rendered on the blocking pool: subsetting the font takes milliseconds.
    pub async fn pdf(
        &self,
        user_id: &str,
        receipt_id: &str,
        base_url: &str,
    ) -> Result<Vec<u8>, CoreError> {
        let details = self.details(user_id, receipt_id).await?;
        let doc = receipt_document(&details, base_url);
        tokio::task::spawn_blocking(move || finepay_documents::receipt_pdf(&doc))
            .await
            .map_err(|e| CoreError::Internal(format!("the PDF task failed: {e}")))?
            .map_err(|e| CoreError::Internal(format!("receipt PDF: {e}")))
    }

    /// The public check behind a receipt's QR code: the receipt named by `receipt_id`, if `code`
    /// is the start of its signature and the signature verifies. Anything else — an unknown id,
    /// a wrong code, a forged receipt — is `None`, the same answer, so the link cannot be used
    /// to find receipts.
    pub async fn verify_link(
        &self,
        receipt_id: &str,
        code: &str,
    ) -> Result<Option<PublicReceipt>, CoreError> {
        if code.len() != VERIFY_CODE_CHARS {
            return Ok(None);
        }
        let found = self.find_any_receipt(receipt_id).await?;
        let Some(receipt) = found.and_then(|(body, _)| serde_json::from_str::<Value>(&body).ok())
        else {
            return Ok(None);
        };
        let expected = verify_path(&receipt).unwrap_or_default();
        let given = format!("/verify/{receipt_id}/{code}");
        if !same_bytes(expected.as_bytes(), given.as_bytes()) || !self.verify(&receipt).0 {
            return Ok(None);
        }
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        Ok(Some(PublicReceipt {
            number: text(&receipt["number"]),
            refund: receipt["kind"] == "refund",
            amount: receipt["amount"].as_i64().unwrap_or_default(),
            city_name: text(&receipt["city"]["name"]),
            city_name_zh: text(&receipt["city"]["name_zh"]),
            issued_at: text(&receipt["issued_at"]),
            payer_masked: text(&receipt["payer_masked"]),
            payee: text(&receipt["payee"]),
        }))
    }

    /// Verifies a receipt against the platform's published keys: `(valid, reason)`.
    pub fn verify(&self, receipt: &Value) -> (bool, Option<&'static str>) {
        match finepay_receipts::verify(receipt, &self.signer.published_keys()) {
            Ok(()) => (true, None),
            Err(e) => (false, Some(e.reason())),
        }
    }
}
