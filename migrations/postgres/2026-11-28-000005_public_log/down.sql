DROP TABLE log_head;
DROP TABLE log_checkpoints;
DROP TABLE log_entries;
DROP FUNCTION log_append_only();
