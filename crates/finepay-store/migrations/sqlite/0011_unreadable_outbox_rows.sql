-- An outbox row that cannot be read is set aside as 'unreadable' (never sent again) instead of
-- being retried for ever.
DROP TRIGGER outbox_outcome_known_insert;
DROP TRIGGER outbox_outcome_known_update;
CREATE TRIGGER outbox_outcome_known_insert BEFORE INSERT ON outbox
WHEN NEW.outcome IS NOT NULL AND NEW.outcome NOT IN ('confirmed', 'rejected', 'refunded', 'refund_refused', 'published', 'unreadable')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: outbox_outcome_known'); END;
CREATE TRIGGER outbox_outcome_known_update BEFORE UPDATE OF outcome ON outbox
WHEN NEW.outcome IS NOT NULL AND NEW.outcome NOT IN ('confirmed', 'rejected', 'refunded', 'refund_refused', 'published', 'unreadable')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: outbox_outcome_known'); END;
