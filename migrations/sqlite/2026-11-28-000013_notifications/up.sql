-- Notifications: an outbox of e-mails written in the transaction of the change they tell about, sent by
-- the server when --smtp-url is set, shown in the portal either way. `dedup_key` keeps a reminder to once.
ALTER TABLE users ADD COLUMN language TEXT;
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    recipient_user_id BIGINT,
    recipient_email TEXT,
    language TEXT NOT NULL,
    params TEXT NOT NULL,
    dedup_key TEXT UNIQUE,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP,
    sent_at TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX notifications_due ON notifications (next_attempt_at);
CREATE INDEX notifications_user ON notifications (recipient_user_id, id);
