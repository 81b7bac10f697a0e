DROP INDEX certificates_city;
DROP INDEX venues_search_trgm;
