-- news-auth: API keys (news_auth.db.PostgresAPIKeyStore). Only the HMAC of a key is stored.
CREATE TABLE news_auth_api_keys (
    key_id       text PRIMARY KEY CHECK (key_id ~ '^[0-9a-f]{12}$'),
    name         text NOT NULL,
    subject      text NOT NULL,
    scopes       text[] NOT NULL DEFAULT '{}',
    digest       bytea NOT NULL CHECK (octet_length(digest) = 32),
    pepper_id    text NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz,
    rotated_from text
);

CREATE INDEX news_auth_api_keys_subject ON news_auth_api_keys (subject, created_at);
