DROP TABLE notifications;
ALTER TABLE users DROP COLUMN language;
