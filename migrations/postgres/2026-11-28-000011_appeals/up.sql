-- Appeals of a rejection, suspension or withdrawal by the venue (ISO/IEC 17065 7.13), with their files.
-- `decider_id` and `assessor_id` are who took part in the decision appealed: neither may decide the appeal.
CREATE TABLE appeals (
    id BIGSERIAL PRIMARY KEY,
    venue_id BIGINT NOT NULL REFERENCES venues(id),
    subject TEXT NOT NULL,
    assessment_id BIGINT REFERENCES assessments(id),
    certificate_number TEXT,
    appealed_at TIMESTAMP NOT NULL,
    decider_id BIGINT,
    assessor_id BIGINT,
    statement TEXT NOT NULL,
    filed_by BIGINT NOT NULL,
    status TEXT NOT NULL,
    decided_by BIGINT,
    decision_reason TEXT,
    decided_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX appeals_status ON appeals (status, id);
CREATE INDEX appeals_venue ON appeals (venue_id, id);
CREATE TABLE appeal_files (
    id BIGSERIAL PRIMARY KEY,
    appeal_id BIGINT NOT NULL REFERENCES appeals(id),
    filename TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    content BYTEA NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX appeal_files_appeal ON appeal_files (appeal_id);
