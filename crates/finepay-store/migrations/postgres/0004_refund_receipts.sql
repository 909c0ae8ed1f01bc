-- Signed refund receipts: one per refunded payment, stored as the exact JSON that was signed.
CREATE TABLE refund_receipts (
    id         TEXT PRIMARY KEY,
    payment_id TEXT NOT NULL UNIQUE REFERENCES payments(id),
    body_json  TEXT NOT NULL,
    created_at TEXT NOT NULL
);
ALTER TABLE payments ADD COLUMN refund_receipt_id TEXT;
