DROP TRIGGER venues_words_update;
DROP TRIGGER venues_words_delete;
DROP TRIGGER venues_words_insert;
DROP TABLE venues_words;
DROP INDEX venues_words_missing;
ALTER TABLE venues DROP COLUMN search_words;
