-- Repayments of the credit line, from the balance (one step) or a card (two steps around the bank).
CREATE TABLE credit_repayments (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users(id),
    amount          BIGINT NOT NULL CHECK (amount > 0),
    source_type     TEXT NOT NULL,
    card_id         TEXT,
    card_last4      TEXT,
    status          TEXT NOT NULL,
    bank_reference  TEXT,
    failure_reason  TEXT,
    ledger_tx_id    TEXT REFERENCES ledger_transactions(id),
    idempotency_key TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX credit_repayments_by_user ON credit_repayments(user_id, created_at);
CREATE INDEX ledger_transactions_by_time ON ledger_transactions(created_at);
