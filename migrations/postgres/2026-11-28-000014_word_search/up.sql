-- Name search that stays flat: the words of each venue's search text (runs of letters and digits, written by
-- the application, which fills in older venues at start) in a GIN index of their tsvector, made without a
-- parser or dictionary so that the words are exactly the application's; pg_trgm stays for fragments.
ALTER TABLE venues ADD COLUMN search_words TEXT;
CREATE INDEX venues_words_missing ON venues (id) WHERE search_words IS NULL;
CREATE INDEX venues_search_words ON venues USING gin (array_to_tsvector(string_to_array(search_words, ' ')));
