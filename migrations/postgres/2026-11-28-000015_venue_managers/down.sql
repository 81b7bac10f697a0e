DROP INDEX users_venue;
