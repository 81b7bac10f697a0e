-- Webhooks: subscribers an admin registers, and one delivery per subscriber per log entry, written in the
-- transaction of the change (an outbox), sent by the server with retries; the rows are the delivery log.
CREATE TABLE webhook_subscriptions (
    id BIGSERIAL PRIMARY KEY,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    secret TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    failures INTEGER NOT NULL DEFAULT 0,
    disabled_at TIMESTAMP,
    deleted_at TIMESTAMP,
    created_by BIGINT,
    created_at TIMESTAMP NOT NULL
);
CREATE TABLE webhook_deliveries (
    id BIGSERIAL PRIMARY KEY,
    subscription_id BIGINT NOT NULL REFERENCES webhook_subscriptions(id),
    msg_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP,
    delivered_at TIMESTAMP,
    last_status INTEGER,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (subscription_id, msg_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at);
CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries (subscription_id, id);
