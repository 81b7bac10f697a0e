-- Public halves of the signing keys (the private halves live only in the key directory).
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    public_key BLOB NOT NULL,
    status TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    retired_at TIMESTAMP
);

CREATE TABLE certificate_counters (
    year INTEGER PRIMARY KEY,
    last_seq BIGINT NOT NULL
);

CREATE TABLE certificates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number TEXT NOT NULL UNIQUE,
    assessment_id BIGINT NOT NULL UNIQUE REFERENCES assessments(id),
    venue_id BIGINT NOT NULL REFERENCES venues(id),
    venue_name TEXT NOT NULL,
    venue_address TEXT NOT NULL,
    venue_city TEXT NOT NULL,
    scheme TEXT NOT NULL,
    scheme_version INTEGER NOT NULL,
    criteria_sha256 TEXT NOT NULL,
    level TEXT NOT NULL,
    outcome TEXT NOT NULL,
    issued_at TIMESTAMP NOT NULL,
    valid_from DATE NOT NULL,
    valid_until DATE NOT NULL,
    issuer TEXT NOT NULL,
    issuer_address TEXT NOT NULL,
    signatory TEXT NOT NULL,
    signatory_title TEXT NOT NULL,
    kid TEXT NOT NULL REFERENCES signing_keys(kid),
    token BLOB NOT NULL,
    status TEXT NOT NULL,
    status_reason TEXT,
    status_changed_at TIMESTAMP,
    supersedes TEXT,
    superseded_by TEXT
);
CREATE INDEX certificates_venue ON certificates(venue_id);
