ALTER TABLE users DROP COLUMN notifications_seen_id;
