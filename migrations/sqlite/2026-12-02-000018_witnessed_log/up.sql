-- The log's identity: its origin line, fixed when the log is created (or, for a log that exists already,
-- taken from its first checkpoint) and never changed afterwards, whatever the public URL.
ALTER TABLE log_head ADD COLUMN origin TEXT;
-- Cosignatures from witnesses (C2SP tlog-cosignature), one line per witness and checkpoint size; append-only.
CREATE TABLE log_cosignatures (
    witness TEXT NOT NULL,
    size BIGINT NOT NULL,
    line TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (witness, size)
);
CREATE INDEX log_cosignatures_size ON log_cosignatures (size, witness);
-- What each witness refused (tlog-witness statuses), kept as evidence of what the log was shown; append-only.
CREATE TABLE log_witness_refusals (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    witness TEXT NOT NULL,
    size BIGINT NOT NULL,
    status INTEGER NOT NULL,
    detail TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX log_witness_refusals_witness ON log_witness_refusals (witness, id);
-- When each witness was last sent a checkpoint: a guarded update claims the next send, so replicas together
-- keep to the rate promised to the witness.
CREATE TABLE log_witnesses (
    witness TEXT PRIMARY KEY NOT NULL,
    sent_at TIMESTAMP NOT NULL
);
CREATE TRIGGER log_cosignatures_no_update BEFORE UPDATE ON log_cosignatures BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER log_cosignatures_no_delete BEFORE DELETE ON log_cosignatures BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER log_witness_refusals_no_update BEFORE UPDATE ON log_witness_refusals BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER log_witness_refusals_no_delete BEFORE DELETE ON log_witness_refusals BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
