-- The notification inbox (SPEC §3 GET /api/v1/notifications). Each row is written in the same
-- transaction as the state change it announces, with an outbox row that publishes it as an event.
CREATE TABLE notifications (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users(id),
    kind            TEXT NOT NULL,
    plate           TEXT,
    city_code       TEXT NOT NULL,
    decision_number TEXT,
    payment_id      TEXT,
    created_at      TEXT NOT NULL,
    read_at         TEXT
);
CREATE INDEX notifications_by_user ON notifications(user_id, created_at);
