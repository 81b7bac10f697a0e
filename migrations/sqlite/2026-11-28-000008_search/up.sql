-- Name search that scales: an FTS5 index with the trigram tokenizer over venues.search_text (the names in
-- every language and the city, lower-cased), kept in step by triggers; the register's city filter by index.
CREATE VIRTUAL TABLE venues_search USING fts5(search_text, content='venues', content_rowid='id', tokenize='trigram');
INSERT INTO venues_search(venues_search) VALUES ('rebuild');
CREATE TRIGGER venues_search_insert AFTER INSERT ON venues BEGIN
    INSERT INTO venues_search(rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER venues_search_delete AFTER DELETE ON venues BEGIN
    INSERT INTO venues_search(venues_search, rowid, search_text) VALUES ('delete', old.id, old.search_text);
END;
CREATE TRIGGER venues_search_update AFTER UPDATE OF search_text ON venues BEGIN
    INSERT INTO venues_search(venues_search, rowid, search_text) VALUES ('delete', old.id, old.search_text);
    INSERT INTO venues_search(rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE INDEX certificates_city ON certificates (venue_city, id);
