DROP TABLE venues_words;
CREATE VIRTUAL TABLE venues_words USING fts5(search_words, content='venues', content_rowid='id', tokenize='ascii', detail='none');
INSERT INTO venues_words(venues_words) VALUES ('rebuild');
