-- A venue's city in Kazakh and Russian (kk/ru pages show it), and a certificate's copy of them from issuance
-- (one JSON object, {"kk": …, "ru": …}: the certificates table is at diesel's 32 columns).
ALTER TABLE venues ADD COLUMN city_kk TEXT;
ALTER TABLE venues ADD COLUMN city_ru TEXT;
ALTER TABLE certificates ADD COLUMN venue_cities TEXT;
