-- SQLite's word index gained prefix indexes in this version; PostgreSQL's GIN index answers prefix lexemes
-- (`:*`) from its own sorted entries, so nothing changes here (the migration keeps both lists in step).
SELECT 1;
