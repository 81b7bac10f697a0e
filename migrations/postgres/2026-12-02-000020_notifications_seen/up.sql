-- The newest notification a person has seen in the portal: the menu counts the ones after it.
ALTER TABLE users ADD COLUMN notifications_seen_id BIGINT NOT NULL DEFAULT 0;
