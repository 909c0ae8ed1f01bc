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
