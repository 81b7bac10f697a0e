-- The managers of a venue (who certificate notifications and reminders go to) by index, not a scan of users.
CREATE INDEX users_venue ON users (venue_id);
