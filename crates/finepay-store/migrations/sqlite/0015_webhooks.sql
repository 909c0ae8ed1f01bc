-- Webhooks (SPEC §8): a user's URLs, each notification POSTed to them through the outbox.
CREATE TABLE webhooks (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id),
    url        TEXT NOT NULL,
    kinds      TEXT NOT NULL,
    secret     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    deleted_at TEXT
);
CREATE INDEX webhooks_by_user ON webhooks(user_id) WHERE deleted_at IS NULL;

-- Deliveries are outbox rows of kind 'webhook', grouped per user (`city_code` = 'user:{id}').
DROP TRIGGER outbox_kind_known_insert;
DROP TRIGGER outbox_kind_known_update;
CREATE TRIGGER outbox_kind_known_insert BEFORE INSERT ON outbox
WHEN NEW.kind NOT IN ('payment_notice', 'card_refund', 'orphan_charge_refund', 'event', 'webhook')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: outbox_kind_known'); END;
CREATE TRIGGER outbox_kind_known_update BEFORE UPDATE OF kind ON outbox
WHEN NEW.kind NOT IN ('payment_notice', 'card_refund', 'orphan_charge_refund', 'event', 'webhook')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: outbox_kind_known'); END;

-- Every payment has its business day: SQLite cannot add NOT NULL to a column it has, so a
-- trigger refuses a payment without one (an older binary would leave it out of settlement).
CREATE TRIGGER payments_business_date_known BEFORE INSERT ON payments
WHEN NEW.business_date IS NULL
BEGIN SELECT RAISE(ABORT, 'NOT NULL constraint failed: payments.business_date'); END;

-- A plate bound after its decisions were issued is reminded of them: watched by plate.
CREATE INDEX watched_decisions_by_plate ON watched_decisions(plate) WHERE status = 'unpaid';
