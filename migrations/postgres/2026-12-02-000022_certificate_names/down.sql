ALTER TABLE certificates DROP COLUMN venue_name_en;
ALTER TABLE certificates DROP COLUMN venue_name_ru;
ALTER TABLE certificates DROP COLUMN venue_name_kk;
