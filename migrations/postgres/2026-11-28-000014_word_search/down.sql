DROP INDEX venues_search_words;
DROP INDEX venues_words_missing;
ALTER TABLE venues DROP COLUMN search_words;
