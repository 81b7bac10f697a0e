DROP INDEX certificates_status_since;
DROP INDEX certificates_expiry;
DROP INDEX certificates_surveillance_due;
ALTER TABLE assessments DROP COLUMN certificate_number;
ALTER TABLE assessments DROP COLUMN kind;
ALTER TABLE certificates DROP COLUMN surveillance_due;
ALTER TABLE certificates DROP COLUMN surveillance_months;
