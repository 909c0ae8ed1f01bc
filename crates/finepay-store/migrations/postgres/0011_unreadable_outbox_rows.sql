-- An outbox row that cannot be read is set aside as 'unreadable' (never sent again) instead of
-- being retried for ever.
ALTER TABLE outbox DROP CONSTRAINT outbox_outcome_known;
ALTER TABLE outbox ADD CONSTRAINT outbox_outcome_known
    CHECK (outcome IS NULL OR outcome IN ('confirmed', 'rejected', 'refunded', 'refund_refused', 'published', 'unreadable'));
