-- finepay platform schema, PostgreSQL (the same tables as SQLite's; see migrations/sqlite). Money columns are BIGINT fen. Times are RFC 3339 UTC text.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    phone         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    name          TEXT NOT NULL,
    id_number     TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE TABLE cards (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id),
    bank        TEXT NOT NULL,
    last4       TEXT NOT NULL,
    card_token  TEXT NOT NULL,
    holder_name TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX cards_by_user ON cards(user_id);

-- Ledger: an account's balance is the sum of its postings; `balance` is a cache kept in the same
-- transaction as every posting, and `finepay ledger check` proves the two agree.
CREATE TABLE accounts (
    key        TEXT PRIMARY KEY,
    balance    BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

CREATE TABLE ledger_transactions (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    reference  TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE postings (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id TEXT NOT NULL REFERENCES ledger_transactions(id),
    account_key    TEXT NOT NULL REFERENCES accounts(key),
    amount         BIGINT NOT NULL CHECK (amount <> 0)
);
CREATE INDEX postings_by_tx ON postings(transaction_id);
CREATE INDEX postings_by_account ON postings(account_key);

-- The platform's snapshot of a decision as last fetched from its authority.
CREATE TABLE decisions (
    number         TEXT PRIMARY KEY,
    city_code      TEXT NOT NULL,
    status         TEXT NOT NULL,
    plate          TEXT NOT NULL,
    owner_name     TEXT NOT NULL,
    violation_json TEXT NOT NULL,
    fine           BIGINT NOT NULL,
    points         BIGINT NOT NULL,
    issued_on      TEXT NOT NULL,
    fetched_at     TEXT NOT NULL
);

CREATE TABLE payments (
    id                     TEXT PRIMARY KEY,
    user_id                TEXT NOT NULL REFERENCES users(id),
    decision_number        TEXT NOT NULL,
    city_code              TEXT NOT NULL,
    amount                 BIGINT NOT NULL CHECK (amount > 0),
    fine                   BIGINT NOT NULL,
    late_fee               BIGINT NOT NULL,
    method_type            TEXT NOT NULL,
    card_id                TEXT,
    card_last4             TEXT,
    bank_reference         TEXT,
    status                 TEXT NOT NULL,
    failure_reason         TEXT,
    ledger_tx_id           TEXT REFERENCES ledger_transactions(id),
    receipt_id             TEXT,
    authority_status       TEXT NOT NULL,
    authority_confirmed_at TEXT,
    authority_reason       TEXT,
    idempotency_key        TEXT,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL
);
-- One payment per decision: at most one that is in flight or succeeded. A unique constraint, not a read.
CREATE UNIQUE INDEX payments_one_live_per_decision
    ON payments(decision_number) WHERE status IN ('processing', 'succeeded');
CREATE INDEX payments_by_user ON payments(user_id, created_at);
CREATE INDEX payments_processing ON payments(status) WHERE status = 'processing';

CREATE TABLE top_ups (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users(id),
    card_id        TEXT NOT NULL REFERENCES cards(id),
    amount         BIGINT NOT NULL CHECK (amount > 0),
    status         TEXT NOT NULL,
    bank_reference TEXT NOT NULL,
    failure_reason TEXT,
    ledger_tx_id   TEXT REFERENCES ledger_transactions(id),
    idempotency_key TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX top_ups_processing ON top_ups(status) WHERE status = 'processing';

CREATE TABLE receipts (
    id         TEXT PRIMARY KEY,
    payment_id TEXT NOT NULL UNIQUE REFERENCES payments(id),
    number     TEXT NOT NULL UNIQUE,
    body_json  TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE idempotency_keys (
    user_id         TEXT NOT NULL,
    key             TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('running', 'done')),
    response_status BIGINT,
    response_body   TEXT,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (user_id, key)
);

-- Transactional outbox: written in the same transaction as the payment it announces.
CREATE TABLE outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            TEXT NOT NULL,
    city_code       TEXT NOT NULL,
    payment_id      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    delivered_at    TEXT,
    outcome         TEXT,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    UNIQUE (kind, payment_id)
);
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE delivered_at IS NULL;
