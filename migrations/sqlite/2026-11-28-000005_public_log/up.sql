-- The public transparency log: entries (RFC 8785 JSON) with the tree hashes each one completed (tlog's
-- stored hashes: the leaf hash, then one node per subtree it closed), and signed checkpoints. Both are
-- append-only: triggers refuse updates and deletes.
CREATE TABLE log_entries (
    seq BIGINT PRIMARY KEY NOT NULL,
    number TEXT NOT NULL,
    entry BLOB NOT NULL,
    hashes BLOB NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX log_entries_number ON log_entries (number, seq);
CREATE TABLE log_checkpoints (
    size BIGINT PRIMARY KEY NOT NULL,
    note TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
-- One row: the tree size. Appends take it with an UPDATE, which serialises them.
CREATE TABLE log_head (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    size BIGINT NOT NULL
);
INSERT INTO log_head (id, size) VALUES (1, 0);
CREATE TRIGGER log_entries_no_update BEFORE UPDATE ON log_entries BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER log_entries_no_delete BEFORE DELETE ON log_entries BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER log_checkpoints_no_update BEFORE UPDATE ON log_checkpoints BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER log_checkpoints_no_delete BEFORE DELETE ON log_checkpoints BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;

