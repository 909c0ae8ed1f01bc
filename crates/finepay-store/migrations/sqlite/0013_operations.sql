-- Operators, their audit log, settlement batches and reconciliation runs (SPEC §9, issue 12).

-- An operator may use /admin and /api/v1/admin (`finepay admin grant PHONE`).
ALTER TABLE users ADD COLUMN is_operator INTEGER NOT NULL DEFAULT 0;

-- Every admin action, append-only: triggers refuse to change or delete a row.
CREATE TABLE admin_audit (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     TEXT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE TRIGGER admin_audit_no_update BEFORE UPDATE ON admin_audit
BEGIN SELECT RAISE(ABORT, 'admin_audit is append-only'); END;
CREATE TRIGGER admin_audit_no_delete BEFORE DELETE ON admin_audit
BEGIN SELECT RAISE(ABORT, 'admin_audit is append-only'); END;

-- The Asia/Shanghai date the payer paid on: the day a payment belongs to for settlement and
-- reconciliation (the authority files it by the same date of the notice's paid_at).
ALTER TABLE payments ADD COLUMN business_date TEXT;
UPDATE payments SET business_date = date(created_at, '+8 hours');
CREATE INDEX payments_by_city_day ON payments(city_code, business_date, id);

-- A settlement batch of one city and business day; its CSV is rebuilt from its items, byte for
-- byte, and its SHA-256 kept here.
CREATE TABLE settlement_batches (
    id                    TEXT PRIMARY KEY,
    city_code             TEXT NOT NULL,
    business_date         TEXT NOT NULL,
    closed_at             TEXT NOT NULL,
    closed_by             TEXT NOT NULL,
    end_of_day            INTEGER NOT NULL DEFAULT 0,
    count                 INTEGER NOT NULL,
    payments_total        INTEGER NOT NULL,
    refunds_total         INTEGER NOT NULL,
    net                   INTEGER NOT NULL,
    sha256                TEXT NOT NULL,
    ledger_tx_id          TEXT REFERENCES ledger_transactions(id),
    authority_status      TEXT NOT NULL DEFAULT 'pending'
        CHECK (authority_status IN ('pending', 'accepted', 'refused')),
    authority_reason      TEXT,
    authority_answered_at TEXT,
    CHECK (net = payments_total - refunds_total)
);
CREATE INDEX settlement_batches_by_day ON settlement_batches(city_code, business_date, closed_at);
CREATE INDEX settlement_batches_unanswered ON settlement_batches(authority_status)
    WHERE authority_status = 'pending';
CREATE UNIQUE INDEX settlement_batches_one_end_of_day ON settlement_batches(city_code, business_date)
    WHERE end_of_day = 1;

-- What a batch settled: each payment once, each refund once (the primary key).
CREATE TABLE settlement_items (
    kind            TEXT NOT NULL CHECK (kind IN ('payment', 'refund')),
    payment_id      TEXT NOT NULL REFERENCES payments(id),
    batch_id        TEXT NOT NULL REFERENCES settlement_batches(id),
    decision_number TEXT NOT NULL,
    amount          INTEGER NOT NULL CHECK (amount > 0),
    at              TEXT NOT NULL,
    PRIMARY KEY (kind, payment_id)
);
CREATE INDEX settlement_items_by_batch ON settlement_items(batch_id, kind, payment_id);

-- Every reconciliation run and its report (the admin page shows the last one per city).
CREATE TABLE reconciliation_runs (
    id               TEXT PRIMARY KEY,
    city_code        TEXT NOT NULL,
    business_date    TEXT NOT NULL,
    started_at       TEXT NOT NULL,
    finished_at      TEXT NOT NULL,
    run_by           TEXT NOT NULL,
    matched          INTEGER NOT NULL,
    discrepancies    INTEGER NOT NULL,
    mended           INTEGER NOT NULL,
    platform_total   INTEGER NOT NULL,
    authority_total  INTEGER NOT NULL,
    report_json      TEXT NOT NULL
);
CREATE INDEX reconciliation_runs_by_city ON reconciliation_runs(city_code, finished_at);

-- Settlement is a new reason for money to move.
DROP TRIGGER ledger_transactions_kind_known_insert;
DROP TRIGGER ledger_transactions_kind_known_update;
CREATE TRIGGER ledger_transactions_kind_known_insert BEFORE INSERT ON ledger_transactions
WHEN NEW.kind NOT IN ('top_up', 'payment', 'refund', 'credit_repayment', 'settlement')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: ledger_transactions_kind_known'); END;
CREATE TRIGGER ledger_transactions_kind_known_update BEFORE UPDATE OF kind ON ledger_transactions
WHEN NEW.kind NOT IN ('top_up', 'payment', 'refund', 'credit_repayment', 'settlement')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: ledger_transactions_kind_known'); END;
