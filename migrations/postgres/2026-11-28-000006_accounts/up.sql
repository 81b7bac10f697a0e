-- People sign in: e-mail (stored lower-case, unique), argon2id password hash, TOTP second factor.
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN password_hash TEXT;
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_pending TEXT;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
CREATE UNIQUE INDEX users_email ON users(email);

-- Single-use links (invitation or password reset); only the SHA-256 of the token is kept.
CREATE TABLE invitations (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    token_hash TEXT NOT NULL UNIQUE,
    purpose TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    voided_at TIMESTAMP
);
CREATE INDEX invitations_user ON invitations(user_id);

-- Server-side sessions: the cookie holds 256 random bits, the table their SHA-256.
CREATE TABLE sessions (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    id_hash TEXT NOT NULL UNIQUE,
    stage TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP,
    ended_reason TEXT,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE recovery_codes (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    code_hash TEXT NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX recovery_codes_user ON recovery_codes(user_id);

-- Failed sign-ins per e-mail address typed (account or not), so throttling reveals nothing.
CREATE TABLE signin_throttle (
    email_hash TEXT PRIMARY KEY NOT NULL,
    failures INTEGER NOT NULL,
    window_start TIMESTAMP NOT NULL,
    locks INTEGER NOT NULL,
    locked_until TIMESTAMP
);

-- Append-only record of sign-ins, failures, locks, password and factor changes, invitations, session ends.
CREATE TABLE auth_events (
    id BIGSERIAL PRIMARY KEY,
    at TIMESTAMP NOT NULL,
    user_id BIGINT REFERENCES users(id),
    actor_id BIGINT REFERENCES users(id),
    kind TEXT NOT NULL,
    outcome TEXT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX auth_events_user ON auth_events(user_id, id);
CREATE FUNCTION auth_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'auth events are append-only';
END;
$$;
CREATE TRIGGER auth_events_no_change BEFORE UPDATE OR DELETE ON auth_events FOR EACH ROW EXECUTE FUNCTION auth_events_append_only();
