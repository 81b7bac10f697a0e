ALTER TABLE certificates DROP COLUMN venue_cities;
ALTER TABLE venues DROP COLUMN city_ru;
ALTER TABLE venues DROP COLUMN city_kk;
