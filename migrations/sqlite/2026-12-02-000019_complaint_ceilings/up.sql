-- Complaint ceilings: the photo's size kept beside it (the storage quota sums this, not the photos), and
-- indexes for counting complaints in the last hour, registry-wide and per certificate.
ALTER TABLE complaints ADD COLUMN photo_bytes BIGINT NOT NULL DEFAULT 0;
UPDATE complaints SET photo_bytes = COALESCE(length(photo), 0);
CREATE INDEX complaints_created ON complaints (created_at);
CREATE INDEX complaints_certificate_created ON complaints (certificate_number, created_at);
