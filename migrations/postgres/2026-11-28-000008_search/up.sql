-- Name search that scales: a pg_trgm GIN index serves `search_text LIKE '%…%'` (the names in every language
-- and the city, lower-cased); the register's city filter by index. pg_trgm is a trusted extension (PG 13+).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX venues_search_trgm ON venues USING gin (search_text gin_trgm_ops);
CREATE INDEX certificates_city ON certificates (venue_city, id);
