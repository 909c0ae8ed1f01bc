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

ALTER TABLE outbox DROP CONSTRAINT outbox_kind_known;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_known
    CHECK (kind IN ('payment_notice', 'card_refund', 'orphan_charge_refund', 'event', 'webhook'));
