DROP TABLE certificates;
DROP TABLE certificate_counters;
DROP TABLE signing_keys;
