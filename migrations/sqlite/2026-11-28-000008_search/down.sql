DROP INDEX certificates_city;
DROP TRIGGER venues_search_update;
DROP TRIGGER venues_search_delete;
DROP TRIGGER venues_search_insert;
DROP TABLE venues_search;
