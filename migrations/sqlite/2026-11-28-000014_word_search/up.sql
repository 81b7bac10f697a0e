-- Name search that stays flat: the words of each venue's search text (runs of letters and digits, written by
-- the application, which fills in older venues at start) in an FTS5 index whose `ascii` tokenizer keeps them
-- whole; the trigram index stays for fragments inside one word. Kept in step by triggers.
ALTER TABLE venues ADD COLUMN search_words TEXT;
CREATE INDEX venues_words_missing ON venues (id) WHERE search_words IS NULL;
CREATE VIRTUAL TABLE venues_words USING fts5(search_words, content='venues', content_rowid='id', tokenize='ascii', detail='none');
CREATE TRIGGER venues_words_insert AFTER INSERT ON venues BEGIN
    INSERT INTO venues_words(rowid, search_words) VALUES (new.id, new.search_words);
END;
CREATE TRIGGER venues_words_delete AFTER DELETE ON venues BEGIN
    INSERT INTO venues_words(venues_words, rowid, search_words) VALUES ('delete', old.id, old.search_words);
END;
CREATE TRIGGER venues_words_update AFTER UPDATE OF search_words ON venues BEGIN
    INSERT INTO venues_words(venues_words, rowid, search_words) VALUES ('delete', old.id, old.search_words);
    INSERT INTO venues_words(rowid, search_words) VALUES (new.id, new.search_words);
END;
