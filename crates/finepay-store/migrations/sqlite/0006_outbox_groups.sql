-- The dispatcher works per delivery group (kind and city): it asks which groups have due rows and
-- claims a group's rows oldest first. Both read this index; the old one (next_attempt_at alone)
-- made every claim walk the whole backlog of other groups.
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox(kind, city_code, next_attempt_at) WHERE delivered_at IS NULL;
