DROP TABLE events;
DROP FUNCTION events_append_only();
DROP TABLE api_tokens;
DROP TABLE users;
