-- The API logs in as the read-only role itself (DARKHORSES_API_DATABASE_URL, or DATABASE_URL's
-- server as darkhorses_reader) rather than as the owner switching to it with SET ROLE: a
-- compromised API process holds no credentials that can write. Its password, where the server
-- asks for one, comes from that URL (`darkhorses db migrate`, `darkhorses up`), never from here.
ALTER ROLE darkhorses_reader LOGIN;
ALTER ROLE darkhorses_reader SET default_transaction_read_only = on;
