-- API keys (only a SHA-256 of each key is stored) and the read-only role the API runs as.
CREATE TABLE api_keys (
    id                  text        PRIMARY KEY,
    name                text        NOT NULL,
    key_hash            text        NOT NULL UNIQUE,
    rate_limit_per_min  integer     NOT NULL CHECK (rate_limit_per_min > 0),
    created_at          timestamptz NOT NULL DEFAULT now(),
    revoked_at          timestamptz
);

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'darkhorses_reader') THEN
        CREATE ROLE darkhorses_reader NOLOGIN;
    END IF;
END
$$;
-- The migrating user may switch to the reader role (the API does so on every connection).
GRANT darkhorses_reader TO CURRENT_USER;
GRANT USAGE ON SCHEMA public TO darkhorses_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO darkhorses_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO darkhorses_reader;
