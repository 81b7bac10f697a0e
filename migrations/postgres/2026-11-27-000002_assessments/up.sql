CREATE TABLE criteria_versions (
    scheme TEXT NOT NULL,
    version INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    content TEXT NOT NULL,
    registered_at TIMESTAMP NOT NULL,
    PRIMARY KEY (scheme, version)
);

CREATE TABLE venues (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    name_kk TEXT,
    name_ru TEXT,
    name_en TEXT,
    address TEXT NOT NULL,
    city TEXT NOT NULL,
    country TEXT NOT NULL,
    category TEXT NOT NULL,
    contact_name TEXT,
    contact_email TEXT,
    contact_phone TEXT,
    search_text TEXT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX venues_city ON venues(city);

ALTER TABLE users ADD COLUMN venue_id BIGINT REFERENCES venues(id);

CREATE TABLE assessments (
    id BIGSERIAL PRIMARY KEY,
    venue_id BIGINT NOT NULL REFERENCES venues(id),
    assessor_id BIGINT NOT NULL REFERENCES users(id),
    status TEXT NOT NULL,
    scheme TEXT NOT NULL,
    scheme_version INTEGER NOT NULL,
    criteria_sha256 TEXT NOT NULL,
    measurements TEXT NOT NULL,
    outcome TEXT,
    overall TEXT,
    submitted_at TIMESTAMP,
    decided_by BIGINT REFERENCES users(id),
    decided_at TIMESTAMP,
    decision_reason TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    FOREIGN KEY (scheme, scheme_version) REFERENCES criteria_versions(scheme, version)
);
CREATE INDEX assessments_venue ON assessments(venue_id);
CREATE INDEX assessments_assessor ON assessments(assessor_id);

CREATE TABLE evidence (
    id BIGSERIAL PRIMARY KEY,
    assessment_id BIGINT NOT NULL REFERENCES assessments(id),
    criterion TEXT NOT NULL,
    filename TEXT NOT NULL,
    description TEXT,
    media_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    content BYTEA NOT NULL,
    uploaded_by BIGINT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (assessment_id, sha256)
);

-- Replies to POST requests sent with an Idempotency-Key, per caller token.
CREATE TABLE idempotency_keys (
    token_hash TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    body BYTEA NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (token_hash, idem_key)
);
