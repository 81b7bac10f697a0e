-- Search ignores accents as well as case (domain::text::fold): every venue's search text and words are
-- written again at start (storage::venues::backfill_words finds them through the partial index on NULL words).
UPDATE venues SET search_words = NULL;
