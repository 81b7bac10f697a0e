-- After the award: each certificate keeps its surveillance interval and next due date (recorded at
-- issuance); audits have a kind (initial or surveillance, the latter naming the certificate it checks).
ALTER TABLE certificates ADD COLUMN surveillance_months INTEGER NOT NULL DEFAULT 12;
ALTER TABLE certificates ADD COLUMN surveillance_due DATE;
UPDATE certificates SET surveillance_due = date(valid_from, '+12 months');
ALTER TABLE assessments ADD COLUMN kind TEXT NOT NULL DEFAULT 'initial';
ALTER TABLE assessments ADD COLUMN certificate_number TEXT;
-- The scheduler reads only what is due: by status, then the date that makes it due.
CREATE INDEX certificates_surveillance_due ON certificates (status, surveillance_due);
CREATE INDEX certificates_expiry ON certificates (status, valid_until);
CREATE INDEX certificates_status_since ON certificates (status, status_changed_at);
