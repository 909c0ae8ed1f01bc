-- Operators, their audit log, settlement batches and reconciliation runs (SPEC §9, issue 12).
ALTER TABLE users ADD COLUMN is_operator BIGINT NOT NULL DEFAULT 0;

-- Every admin action, append-only: a trigger refuses to change or delete a row.
CREATE TABLE admin_audit (
    id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     TEXT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE FUNCTION admin_audit_append_only() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'admin_audit is append-only'; END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER admin_audit_append_only BEFORE UPDATE OR DELETE ON admin_audit
FOR EACH ROW EXECUTE FUNCTION admin_audit_append_only();

ALTER TABLE payments ADD COLUMN business_date TEXT;
UPDATE payments SET business_date =
    to_char((created_at::timestamptz AT TIME ZONE 'Asia/Shanghai')::date, 'YYYY-MM-DD');
CREATE INDEX payments_by_city_day ON payments(city_code, business_date, id);

CREATE TABLE settlement_batches (
    id                    TEXT PRIMARY KEY,
    city_code             TEXT NOT NULL,
    business_date         TEXT NOT NULL,
    closed_at             TEXT NOT NULL,
    closed_by             TEXT NOT NULL,
    end_of_day            BIGINT NOT NULL DEFAULT 0,
    count                 BIGINT NOT NULL,
    payments_total        BIGINT NOT NULL,
    refunds_total         BIGINT NOT NULL,
    net                   BIGINT NOT NULL,
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
-- One end-of-day batch per city and day, even with two instances' schedulers.
CREATE UNIQUE INDEX settlement_batches_one_end_of_day ON settlement_batches(city_code, business_date)
    WHERE end_of_day = 1;

CREATE TABLE settlement_items (
    kind            TEXT NOT NULL CHECK (kind IN ('payment', 'refund')),
    payment_id      TEXT NOT NULL REFERENCES payments(id),
    batch_id        TEXT NOT NULL REFERENCES settlement_batches(id),
    decision_number TEXT NOT NULL,
    amount          BIGINT NOT NULL CHECK (amount > 0),
    at              TEXT NOT NULL,
    PRIMARY KEY (kind, payment_id)
);
CREATE INDEX settlement_items_by_batch ON settlement_items(batch_id, kind, payment_id);

CREATE TABLE reconciliation_runs (
    id               TEXT PRIMARY KEY,
    city_code        TEXT NOT NULL,
    business_date    TEXT NOT NULL,
    started_at       TEXT NOT NULL,
    finished_at      TEXT NOT NULL,
    run_by           TEXT NOT NULL,
    matched          BIGINT NOT NULL,
    discrepancies    BIGINT NOT NULL,
    mended           BIGINT NOT NULL,
    platform_total   BIGINT NOT NULL,
    authority_total  BIGINT NOT NULL,
    report_json      TEXT NOT NULL
);
CREATE INDEX reconciliation_runs_by_city ON reconciliation_runs(city_code, finished_at);

ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_kind_known;
ALTER TABLE ledger_transactions ADD CONSTRAINT ledger_transactions_kind_known
    CHECK (kind IN ('top_up', 'payment', 'refund', 'credit_repayment', 'settlement'));
