DROP TABLE log_witnesses;
DROP TABLE log_witness_refusals;
DROP TABLE log_cosignatures;
ALTER TABLE log_head DROP COLUMN origin;
