//! What the API answers: the JSON shapes of SPEC §3. Money fields are integer fen.

use finepay_domain::{AuthoritySync, DecisionStatus, PayMethodKind, PaymentStatus};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub phone: String,
    pub name_masked: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct SessionView {
    pub token: String,
    pub user_id: String,
    pub expires_at: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct CardView {
    pub id: String,
    pub bank: String,
    pub last4: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct CreditView {
    pub limit: i64,
    pub available: i64,
    pub outstanding: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct WalletView {
    pub balance: i64,
    pub currency: String,
    pub credit: CreditView,
    pub cards: Vec<CardView>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct TopUpView {
    pub id: String,
    /// `processing`, `succeeded` or `failed`.
    pub status: String,
    pub amount: i64,
    pub currency: String,
    pub card_id: String,
    pub created_at: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct CityView {
    pub code: String,
    pub name: String,
    pub name_zh: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ViolationView {
    pub code: String,
    pub description: String,
    pub description_zh: String,
    pub occurred_at: String,
    pub location: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct DecisionView {
    pub number: String,
    /// `unpaid`, `paid` or `revoked`.
    #[serde(with = "named")]
    #[schema(schema_with = named_schema::<DecisionStatus>)]
    pub status: DecisionStatus,
    pub city: CityView,
    pub plate_masked: String,
    pub owner_masked: String,
    pub violation: ViolationView,
    pub fine: i64,
    pub late_fee: i64,
    pub amount_due: i64,
    pub currency: String,
    pub points: i64,
    pub issued_on: String,
    pub due_on: String,
    /// `authority` when just fetched; `feed` when read from the platform's copy while the
    /// authority's event feed is followed live (as current as the authority's record); `snapshot`
    /// when the authority is unreachable and the copy may be behind. With `feed` and `snapshot`
    /// the amount is computed from the kept fine and `issued_on` by the SPEC rule.
    pub source: String,
    /// False when the decision's plate is not among the caller's bound vehicles: the payer may
    /// be paying someone else's fine (the web app warns).
    pub plate_bound_to_you: bool,
    /// Days past `due_on` (0 while the fine alone is due); the late fee is 3 % of the fine per
    /// day late, at most the fine.
    pub days_late: i64,
    /// The authority that receives the fine (the receipt's payee), in Chinese and English.
    pub payee: String,
    pub payee_en: String,
    /// The caller's own payment of this decision that is `processing` or `succeeded`, if any
    /// (someone else's payment is never named).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub your_payment_id: Option<String>,
    /// True while the caller's payment is still being checked by the bank (`processing`).
    pub your_payment_processing: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct MethodView {
    /// `balance`, `credit` or `card`.
    #[serde(rename = "type", with = "named")]
    #[schema(schema_with = named_schema::<PayMethodKind>)]
    pub kind: PayMethodKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last4: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct PaymentView {
    pub id: String,
    /// `processing`, `succeeded`, `failed` or `refunded`.
    #[serde(with = "named")]
    #[schema(schema_with = named_schema::<PaymentStatus>)]
    pub status: PaymentStatus,
    pub decision_number: String,
    pub city_code: String,
    pub amount: i64,
    pub fine: i64,
    pub late_fee: i64,
    pub currency: String,
    pub method: MethodView,
    pub created_at: String,
    pub receipt_id: Option<String>,
    /// `pending`, `confirmed` or `rejected`.
    #[serde(with = "named")]
    #[schema(schema_with = named_schema::<AuthoritySync>)]
    pub authority_status: AuthoritySync,
    pub authority_confirmed_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// The signed refund receipt, once the payment is refunded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_receipt_id: Option<String>,
}

impl PaymentView {
    pub fn from_row(p: &finepay_store::repo::payments::PaymentRow) -> PaymentView {
        PaymentView {
            id: p.id.clone(),
            status: p.status,
            decision_number: p.decision_number.clone(),
            city_code: p.city_code.clone(),
            amount: p.amount.fen(),
            fine: p.fine.fen(),
            late_fee: p.late_fee.fen(),
            currency: "CNY".into(),
            method: MethodView {
                kind: p.method,
                last4: p.card_last4.clone(),
            },
            created_at: finepay_store::time_text(p.created_at),
            receipt_id: p.receipt_id.clone(),
            authority_status: p.authority_status,
            authority_confirmed_at: p.authority_confirmed_at.map(finepay_store::time_text),
            failure_reason: p.failure_reason.clone(),
            refund_receipt_id: p.refund_receipt_id.clone(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

/// The OpenAPI schema of a named enum: a string, one of its names.
pub(crate) fn named_schema<T: finepay_domain::Named>() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(T::all().iter().map(|v| v.name())))
        .build()
}

/// Serde for the domain's named enums (the domain knows no serde): written and read by name.
pub(crate) mod named {
    use finepay_domain::Named;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<T: Named, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v.name())
    }

    pub fn deserialize<'de, T: Named, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
        let name = String::deserialize(d)?;
        T::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown value {name:?}")))
    }
}

/// One entry of the inbox (SPEC §3).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct NotificationView {
    pub id: String,
    pub kind: String,
    pub plate: Option<String>,
    pub city_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    pub created_at: String,
    pub read: bool,
}

/// The inbox entry of a stored notification.
pub(crate) fn view_of(n: finepay_store::repo::notifications::NotificationRow) -> NotificationView {
    NotificationView {
        id: n.id,
        kind: n.kind,
        plate: n.plate,
        city_code: n.city_code,
        decision_number: n.decision_number,
        payment_id: n.payment_id,
        created_at: n.created_at,
        read: n.read,
    }
}
