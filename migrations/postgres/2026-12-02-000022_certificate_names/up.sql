-- A certificate keeps its venue's Kazakh, Russian and English names as they were at issuance (beside the name
-- it was registered under), so that kk/ru/en pages, the PDF and e-mails name it in their language.
ALTER TABLE certificates ADD COLUMN venue_name_kk TEXT;
ALTER TABLE certificates ADD COLUMN venue_name_ru TEXT;
ALTER TABLE certificates ADD COLUMN venue_name_en TEXT;
UPDATE certificates SET
    venue_name_kk = (SELECT name_kk FROM venues WHERE venues.id = certificates.venue_id),
    venue_name_ru = (SELECT name_ru FROM venues WHERE venues.id = certificates.venue_id),
    venue_name_en = (SELECT name_en FROM venues WHERE venues.id = certificates.venue_id);
