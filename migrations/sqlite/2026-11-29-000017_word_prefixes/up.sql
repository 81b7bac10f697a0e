-- The word index with prefix indexes of 3 to 6 characters: without them FTS5 answers "hotel*" by merging
-- the lists of every word that starts so (a sixth of a million venues: 33 ms); with them, by reading one
-- list (0.4 ms). A longer prefix is asked by its first 6 characters (the LIKE decides). Rebuilt from the
-- venues (content table); the triggers of 2026-11-28-000014 write to it by name and stay.
DROP TABLE venues_words;
CREATE VIRTUAL TABLE venues_words USING fts5(search_words, content='venues', content_rowid='id', tokenize='ascii', detail='none', prefix='3 4 5 6');
INSERT INTO venues_words(venues_words) VALUES ('rebuild');
