-- Reminders (SPEC §8): the decisions of bound plates the feeds told of, each reminder sent once
-- per decision, user and kind, and the day of the last 09:00 sweep.
CREATE TABLE watched_decisions (
    decision_number TEXT PRIMARY KEY,
    city_code       TEXT NOT NULL,
    plate           TEXT NOT NULL,
    issued_on       TEXT NOT NULL,
    due_on          TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('unpaid', 'paid', 'revoked')),
    updated_at      TEXT NOT NULL
);
CREATE INDEX watched_decisions_unpaid ON watched_decisions(due_on) WHERE status = 'unpaid';

CREATE TABLE decision_reminders (
    user_id         TEXT NOT NULL,
    decision_number TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('decision.due_soon', 'decision.overdue')),
    notification_id TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (user_id, decision_number, kind)
);

CREATE TABLE reminder_sweeps (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    last_day TEXT NOT NULL
);
