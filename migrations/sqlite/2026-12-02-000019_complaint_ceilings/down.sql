DROP INDEX complaints_certificate_created;
DROP INDEX complaints_created;
ALTER TABLE complaints DROP COLUMN photo_bytes;
