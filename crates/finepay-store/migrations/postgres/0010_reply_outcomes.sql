-- A stored idempotent reply keeps how the request ended by name ('created', or SPEC's error code),
-- not an HTTP status: the core knows no HTTP; the edge maps the name to a status on every replay.
ALTER TABLE idempotency_keys ADD COLUMN response_outcome TEXT;
UPDATE idempotency_keys
   SET response_outcome = CASE WHEN response_status < 300 THEN 'created' ELSE (response_body::json -> 'error' ->> 'code') END
 WHERE state = 'done';
ALTER TABLE idempotency_keys DROP COLUMN response_status;
