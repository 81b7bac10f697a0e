-- Complaints about a label from the public (ISO/IEC 17065 7.13): the reporter's e-mail is for officers only.
CREATE TABLE complaints (
    id BIGSERIAL PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    certificate_number TEXT NOT NULL,
    venue_id BIGINT NOT NULL REFERENCES venues(id),
    category TEXT NOT NULL,
    description TEXT NOT NULL,
    email TEXT,
    language TEXT NOT NULL,
    photo BYTEA,
    photo_type TEXT,
    status TEXT NOT NULL,
    outcome TEXT,
    assessment_id BIGINT REFERENCES assessments(id),
    suspended BOOLEAN NOT NULL DEFAULT FALSE,
    handled_by BIGINT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX complaints_status ON complaints (status, id);
CREATE INDEX complaints_certificate ON complaints (certificate_number);
