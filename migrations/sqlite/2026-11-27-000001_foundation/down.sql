DROP TABLE events;
DROP TABLE api_tokens;
DROP TABLE users;
