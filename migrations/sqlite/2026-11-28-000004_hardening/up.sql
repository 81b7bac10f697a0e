-- A stored idempotent reply remembers the roles its request was made with: a replay must be
-- authorised like a first request. Replies expire after 24 hours (index for the cleaning job).
ALTER TABLE idempotency_keys ADD COLUMN roles TEXT NOT NULL DEFAULT '';
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
-- Secret-bearing replies stored before this change held bearer tokens in plain text: drop them.
DELETE FROM idempotency_keys WHERE body LIKE '%"token":"gel_%';
