DROP TABLE idempotency_keys;
DROP TABLE evidence;
DROP TABLE assessments;
ALTER TABLE users DROP COLUMN venue_id;
DROP TABLE venues;
DROP TABLE criteria_versions;
